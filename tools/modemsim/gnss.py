"""GNSS for the personalities that have a receiver, each in its family's own form.

None of the project's manuals covers GNSS: these forms are the families' public
command behaviour (SIMCom's and Quectel's GNSS application notes as publicly
described), written independently of the library:
  SIM7080/SIM7000  AT+CGNSPWR=<0|1>; AT+CGNSINF: +CGNSINF: <run>,<fix>,<UTC
      yyyyMMddhhmmss.sss>,<lat>,<lon>,<alt m>,<speed km/h>,<course>,<fix mode>,,
      <HDOP>,<PDOP>,<VDOP>,,<sats in view>,<GPS sats used>,<GLONASS used>,,<C/N0>,
      <HPA>,<VPA>. The receiver shares the radio with LTE: while a data context is
      active it gets no fix (run 1, fix 0), as users of the SIM7080 report.
  A76xx (A7600/A7670 models of the SIM7600 personality)  AT+CGNSSPWR=<0|1>: OK,
      then "+CGNSSPWR: READY!" once the receiver is up (gnss_ready_ms later); AT+CGNSSPWR?
      +CGNSSPWR: <on>,0,1; AT+CGNSSINFO: +CGNSSINFO: <mode>,<GPS SVs>,<GLONASS SVs>,
      <BEIDOU SVs>,<GALILEO SVs>,<lat deg>,<N|S>,<lon deg>,<E|W>,<ddmmyy>,<hhmmss.ss>,
      <alt>,<knots>,<course>,<PDOP>,<HDOP>,<VDOP>,<used>, "+CGNSSINFO: ,,,,,,,," without
      a fix; these models have no AT+CGPS. A model named "-LASE" has no receiver: every
      GNSS command answers ERROR (as A7670E-LASE users report).
  SIM7600         AT+CGPS=<0|1> (ERROR when already in that state); AT+CGPSINFO:
      +CGPSINFO: <lat ddmm.mmmmmm>,<N|S>,<lon dddmm.mmmmmm>,<E|W>,<date ddmmyy>,
      <UTC hhmmss.s>,<alt m>,<speed knots>,<course>; all fields empty without a fix.
  Quectel         AT+QGPS=1 (+CME ERROR: 504 when a session runs), AT+QGPSEND;
      AT+QGPSLOC=2: +QGPSLOC: <UTC hhmmss.sss>,<lat>,<lon>,<HDOP>,<alt>,<fix 2|3>,
      <COG>,<spkm>,<spkn>,<date ddmmyy>,<nsat>; +CME ERROR: 516 before a fix, 505
      when GNSS is off.
The test side: gnss_position (lat, lon, alt m), gnss_ttff_ms (time to first fix).
"""
import time

from .core import command


class _Receiver:
    gnss_position = (52.520008, 13.404954, 34.5)
    gnss_ttff_ms = 1500
    gnss_sats = 9

    def gnss_reset(self):
        self.gnss_on_at = None  # time.monotonic() the receiver was powered, or None

    def _gnss_error(self, code, text):
        # Quectel's GNSS errors: numeric with AT+CMEE=1, their text with AT+CMEE=2
        self._final_result("+CME ERROR: %s" % (text if self.cmee == 2 else code)
                           if self.cmee else "ERROR")

    def _gnss_fix(self):
        """(lat, lon, alt, utc struct) once the receiver has a fix, else None."""
        if self.gnss_on_at is None:
            return None
        if (time.monotonic() - self.gnss_on_at) * 1000 < self.gnss_ttff_ms:
            return None
        lat, lon, alt = self.gnss_position
        return lat, lon, alt, time.gmtime()


class CGNSReceiver(_Receiver):
    """SIM7080/SIM7000: AT+CGNSPWR, AT+CGNSINF; no fix while LTE data is active."""

    @command("+CGNSPWR")
    def at_cgnspwr(self, c):
        if c.kind == "read":
            return self.answer("+CGNSPWR: %d" % (self.gnss_on_at is not None))
        if c.kind == "test":
            return self.answer("+CGNSPWR: (0,1)")
        on = c.int(0, 0)
        if on and self.gnss_on_at is None:
            self.gnss_on_at = time.monotonic()
        elif not on:
            self.gnss_on_at = None
        self.ok()

    @command("+CGNSINF")
    def at_cgnsinf(self, c):
        run = self.gnss_on_at is not None
        f = None if self.contexts else self._gnss_fix()  # the radio is LTE's
        if f is None:
            return self.answer("+CGNSINF: %d,0,,,,,,,,,,,,,,,,,,," % run)
        lat, lon, alt, t = f
        utc = "%04d%02d%02d%02d%02d%02d.000" % t[:6]
        self.answer("+CGNSINF: 1,1,%s,%.6f,%.6f,%.3f,0.00,0.0,1,,0.9,1.2,0.8,,%d,%d,2,,38,2.1,3.0"
                    % (utc, lat, lon, alt, self.gnss_sats + 3, self.gnss_sats - 2))  # +2 GLONASS


def _ddmm(v, width):
    v = abs(v)
    d = int(v)
    return "%0*d%09.6f" % (width, d, (v - d) * 60)


class CGPSReceiver(_Receiver):
    """SIM7600: AT+CGPS, AT+CGPSINFO; A76xx models: AT+CGNSSPWR, AT+CGNSSINFO."""

    gnss_ready_ms = 200

    def _a76(self):
        return self.model.upper().startswith("A76")

    @command("+CGPS")
    def at_cgps(self, c):
        if self._a76():
            return self.error()
        if c.kind == "read":
            return self.answer("+CGPS: %d,1" % (self.gnss_on_at is not None))
        if c.kind == "test":
            return self.answer("+CGPS: (0,1),(1-3)")
        on = c.int(0, 0)
        if bool(on) == (self.gnss_on_at is not None):
            return self.error()  # already in that state
        self.gnss_on_at = time.monotonic() if on else None
        self.ok()

    @command("+CGNSSPWR")
    def at_cgnsspwr(self, c):
        if not self._a76() or "LASE" in self.model.upper():
            return self.error()
        if c.kind == "read":
            return self.answer("+CGNSSPWR: %d,0,1" % (self.gnss_on_at is not None))
        if c.kind != "set" or c.int(0, -1) not in (0, 1):
            return self.error()
        if not c.int(0):
            self.gnss_on_at = None
            return self.ok()
        self.ok()
        if self.gnss_on_at is None:
            self.gnss_on_at = time.monotonic()
            self.after(self.gnss_ready_ms, self.urc, "+CGNSSPWR: READY!")

    @command("+CGNSSINFO")
    def at_cgnssinfo(self, c):
        if not self._a76() or "LASE" in self.model.upper() or self.gnss_on_at is None:
            return self.error()
        f = self._gnss_fix()
        if f is None:
            return self.answer("+CGNSSINFO: ,,,,,,,,")
        lat, lon, alt, t = f
        self.answer("+CGNSSINFO: 3,%02d,,02,00,%.7f,%s,%.7f,%s,%02d%02d%02d,%02d%02d%02d.00,"
                    "%.1f,0.000,,1.80,0.90,1.50,%02d"
                    % (self.gnss_sats - 2, abs(lat), "N" if lat >= 0 else "S", abs(lon),
                       "E" if lon >= 0 else "W", t[2], t[1], t[0] % 100, t[3], t[4], t[5],
                       alt, self.gnss_sats))

    @command("+CGPSINFO")
    def at_cgpsinfo(self, c):
        if self._a76():
            return self.error()
        f = self._gnss_fix()
        if f is None:
            return self.answer("+CGPSINFO: ,,,,,,,,")
        lat, lon, alt, t = f
        self.answer("+CGPSINFO: %s,%s,%s,%s,%02d%02d%02d,%02d%02d%02d.0,%.1f,0.0,0.0"
                    % (_ddmm(lat, 2), "N" if lat >= 0 else "S", _ddmm(lon, 3),
                       "E" if lon >= 0 else "W", t[2], t[1], t[0] % 100, t[3], t[4], t[5], alt))


class QGPSReceiver(_Receiver):
    """Quectel: AT+QGPS, AT+QGPSEND, AT+QGPSLOC=2."""

    @command("+QGPS")
    def at_qgps(self, c):
        if c.kind == "read":
            return self.answer("+QGPS: %d" % (self.gnss_on_at is not None))
        if c.kind == "test":
            return self.answer("+QGPS: (0,1),(1-3),(0-3),(1-1000),(1-65535)")
        if self.gnss_on_at is not None:
            return self._gnss_error(504, "Session is ongoing")
        self.gnss_on_at = time.monotonic()
        self.ok()

    @command("+QGPSEND")
    def at_qgpsend(self, c):
        if self.gnss_on_at is None:
            return self._gnss_error(505, "Session not active")
        self.gnss_on_at = None
        self.ok()

    @command("+QGPSLOC")
    def at_qgpsloc(self, c):
        if self.gnss_on_at is None:
            return self._gnss_error(505, "Session not active")
        f = self._gnss_fix()
        if f is None:
            return self._gnss_error(516, "Not fixed now")
        lat, lon, alt, t = f
        self.answer("+QGPSLOC: %02d%02d%02d.000,%.5f,%.5f,0.9,%.1f,3,0.00,0.0,0.0,%02d%02d%02d,%02d"
                    % (t[3], t[4], t[5], lat, lon, alt, t[2], t[1], t[0] % 100, self.gnss_sats))
