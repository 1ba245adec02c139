"""GNSS position fixes on the families with a receiver: SIM7080/SIM7000, SIM7600,
A7600/A7670, Quectel.

None of the project's manuals covers GNSS: the commands and answer forms are each
family's public behaviour (SIMCom's and Quectel's GNSS application notes as publicly
described): SIM7080 AT+CGNSPWR/AT+CGNSINF, SIM7600 AT+CGPS/AT+CGPSINFO, A76xx
(the sim7600 family's A7600/A7670 modules, told by AT+CGMM) AT+CGNSSPWR (then the
"+CGNSSPWR: READY!" URC) and AT+CGNSSINFO, Quectel AT+QGPS/AT+QGPSLOC=2/AT+QGPSEND.
Other families, and A76xx variants without a receiver (AT+CGNSSPWR answers ERROR),
raise OSError(EOPNOTSUPP). The SIM7080 shares one radio between LTE and GNSS: fix() pauses the data
link for the fix and brings it back (sockets fail meanwhile; an MQTT client with
reconnect comes back with its session).

Usage:
    from cellmodem import gnss
    f = gnss.fix(modem, timeout=120000)  # a Fix, or OSError(ETIMEDOUT)
    print(f.lat, f.lon, f.alt, f.utc, f.sats)
    gnss.stop(modem)                     # the receiver off (it draws current)
    f = await gnss.afix(amodem)          # the same for asyncio (cellmodem.aio.AsyncModem)
"""
import errno

from cellmodem.compat import const, ticks_ms, ticks_diff, ticks_add
from cellmodem.errors import ATError
from cellmodem.line import Line

_CMDS = {  # family: (on, off, query, answer prefix)
    "sim7080": ("AT+CGNSPWR=1", "AT+CGNSPWR=0", "AT+CGNSINF", b"+CGNSINF:"),
    "sim7600": ("AT+CGPS=1", "AT+CGPS=0", "AT+CGPSINFO", b"+CGPSINFO:"),
    "quectel": ("AT+QGPS=1", "AT+QGPSEND", "AT+QGPSLOC=2", b"+QGPSLOC:"),
    "a7600": ("AT+CGNSSPWR=1", "AT+CGNSSPWR=0", "AT+CGNSSINFO", b"+CGNSSINFO:"),
}
_READY_MS = const(30000)  # AT+CGNSSPWR=1 to "+CGNSSPWR: READY!" (users' logs: a few seconds)


class Fix:
    """A position: lat, lon (decimal degrees, south and west negative), alt (m),
    speed (km/h), course (degrees), utc ("2026-12-06T21:30:05Z"), sats (satellites
    used, None where the family does not say), hdop (None likewise)."""

    def __init__(self, lat, lon, alt, speed, course, utc, sats, hdop):
        self.lat = lat
        self.lon = lon
        self.alt = alt
        self.speed = speed
        self.course = course
        self.utc = utc
        self.sats = sats
        self.hdop = hdop

    def __repr__(self):
        return "Fix(%.6f, %.6f, %s m, %s)" % (self.lat, self.lon, self.alt, self.utc)


def _form(modem):
    """The GNSS command form: the family's name, or "a7600" for the sim7600 family's
    A76xx modules (their model name, asked once per module session)."""
    name = modem.dialect.NAME
    if name == "sim7600":
        st = modem.module_state
        if "gnss_form" not in st:
            st["gnss_form"] = "a7600" if modem.model().upper().startswith("A76") else name
        name = st["gnss_form"]
    return name


def _cmds(modem):
    c = _CMDS.get(_form(modem))
    if c is None:
        raise OSError(errno.EOPNOTSUPP, "%s modules: no GNSS receiver the library drives"
                      % modem.dialect.NAME)
    return c


def _a76_start(modem):
    # AT+CGNSSPWR? answers +CGNSSPWR: <on>,...; after AT+CGNSSPWR=1 the receiver is
    # usable once "+CGNSSPWR: READY!" came (A76xx users' logs). A variant without a
    # receiver (A7670E-LASE ...) answers ERROR.
    at = modem.at
    st = modem.module_state
    try:
        on = at.command("AT+CGNSSPWR?", resp=b"+CGNSSPWR:")
    except ATError as e:
        raise OSError(errno.EOPNOTSUPP, "this A76xx variant has no GNSS receiver "
                      "(AT+CGNSSPWR?: %s)" % e.text)
    if on and on[0][11:].lstrip().startswith(b"1"):
        return
    st.pop("gnss_ready", None)

    def ready(line):
        st["gnss_ready"] = 1
    at.urc(b"+CGNSSPWR: READY", ready)
    at.command("AT+CGNSSPWR=1")
    at.wait_until(lambda: "gnss_ready" in st, _READY_MS, "+CGNSSPWR: READY!", "AT+CGNSSPWR=1")


def start(modem):
    """Power the receiver (once per module session). OSError(EOPNOTSUPP) on a family
    without one."""
    c = _cmds(modem)
    st = modem.module_state
    if st.get("gnss"):
        return
    if c[0] == "AT+CGNSSPWR=1":
        _a76_start(modem)
        st["gnss"] = 1
        return
    try:
        modem.at.command(c[0])
    except ATError as e:
        # already on: SIM7600 answers a plain ERROR, Quectel 504 "Session is ongoing"
        name = modem.dialect.NAME
        if not (name == "sim7600" and e.code is None and e.text == "ERROR"
                or name == "quectel" and (e.code == 504 or "ongoing" in e.text.lower())):
            raise
    st["gnss"] = 1


def stop(modem):
    """Power the receiver down (already off is fine)."""
    c = _cmds(modem)
    modem.module_state.pop("gnss", None)
    try:
        modem.at.command(c[1])
    except ATError:
        pass  # it was off (SIM7600 ERROR, Quectel 505 "Session not active")


def _num(ln, n, default=None):
    s = ln.field(n)
    return float(s) if s else default


def _deg(s, hemi):
    # SIM7600's ddmm.mmmmmm / dddmm.mmmmmm
    i = s.find(".") - 2
    v = int(s[:i]) + float(s[i:]) / 60
    return -v if hemi in ("S", "W") else v


def _utc(date, time):
    # date "yyyyMMdd", time "hhmmss[.s]" -> ISO 8601
    return "%s-%s-%sT%s:%s:%sZ" % (date[:4], date[4:6], date[6:8], time[:2], time[2:4],
                                   time[4:6])


def read(modem):
    """The receiver's position now, as a Fix; None while it has no fix. Powers the
    receiver first if it is off."""
    c = _cmds(modem)
    start(modem)
    name = _form(modem)
    try:
        lines = modem.at.command(c[2], resp=c[3])
    except ATError as e:
        if name == "quectel" and (e.code == 516 or "not fixed" in e.text.lower()):
            return None  # no fix yet: retry later
        raise
    if not lines:
        return None
    ln = Line(lines[0], 0, len(lines[0]))
    if name == "sim7080":
        # <run>,<fix>,<UTC yyyyMMddhhmmss.sss>,<lat>,<lon>,<alt>,<km/h>,<course>,<mode>,,
        # <HDOP>,<PDOP>,<VDOP>,,<in view>,<GPS used>,<GLONASS used>,...
        if ln.int(1, 0) != 1:
            return None
        t = ln.field(2)
        used = ln.int(15, -1)
        return Fix(_num(ln, 3), _num(ln, 4), _num(ln, 5), _num(ln, 6), _num(ln, 7),
                   _utc(t[:8], t[8:]), None if used < 0 else used + ln.int(16, 0),
                   _num(ln, 10))
    if name == "sim7600":
        # <lat>,<N/S>,<lon>,<E/W>,<ddmmyy>,<hhmmss.s>,<alt>,<knots>,<course>
        if not ln.field(0):
            return None
        d = ln.field(4)
        return Fix(_deg(ln.field(0), ln.field(1)), _deg(ln.field(2), ln.field(3)),
                   _num(ln, 6), _num(ln, 7, 0.0) * 1.852, _num(ln, 8),
                   _utc("20" + d[4:6] + d[2:4] + d[:2], ln.field(5)), None, None)
    if name == "a7600":
        # <mode>,<GPS SVs>,<GLONASS SVs>,<BEIDOU SVs>,<GALILEO SVs>,<lat>,<N/S>,<lon>,
        # <E/W>,<ddmmyy>,<hhmmss.ss>,<alt>,<knots>,<course>,<PDOP>,<HDOP>,<VDOP>,<used>
        # with decimal degrees (A76xx users' logs); all fields empty without a fix
        if not ln.field(5):
            return None
        d = ln.field(9)
        used = ln.int(17, -1)
        if used < 0:
            used = ln.int(1, 0) + ln.int(2, 0) + ln.int(3, 0) + ln.int(4, 0)
        lat = _num(ln, 5)
        lon = _num(ln, 7)
        return Fix(-lat if ln.field(6) == "S" else lat, -lon if ln.field(8) == "W" else lon,
                   _num(ln, 11), _num(ln, 12, 0.0) * 1.852, _num(ln, 13),
                   _utc("20" + d[4:6] + d[2:4] + d[:2], ln.field(10)), used, _num(ln, 15))
    # quectel: <hhmmss.sss>,<lat>,<lon>,<HDOP>,<alt>,<fix>,<COG>,<km/h>,<knots>,<ddmmyy>,<nsat>
    d = ln.field(9)
    return Fix(_num(ln, 1), _num(ln, 2), _num(ln, 4), _num(ln, 7), _num(ln, 6),
               _utc("20" + d[4:6] + d[2:4] + d[:2], ln.field(0)), ln.int(10, 0), _num(ln, 3))


def fix(modem, timeout=120000, every=1000):
    """Wait for a position: read() every `every` ms (polling the modem between) until
    the receiver has a fix; returns it. OSError(ETIMEDOUT) after timeout ms (int). On
    the SIM7080 the data link is paused for it (the receiver needs the radio) and
    brought back afterwards, also after a timeout."""
    _cmds(modem)
    paused = modem.dialect.NAME == "sim7080" and modem.ip is not None
    if paused:
        modem.disconnect()
    try:
        deadline = ticks_add(ticks_ms(), timeout)
        while True:
            f = read(modem)
            if f is not None:
                return f
            left = ticks_diff(deadline, ticks_ms())
            if left <= 0:
                raise OSError(errno.ETIMEDOUT, "no GNSS fix within %d ms" % timeout)
            modem.poll(min(every, left))
    finally:
        if paused:
            stop(modem)
            modem.reconnect()


async def afix(amodem, timeout=120000, every=1000):
    """fix() for asyncio, amodem a cellmodem.aio.AsyncModem: read() every `every` ms,
    awaiting between (other tasks and the reader task run meanwhile; one read is one
    AT command, run in one go as the asyncio face runs every command). On the SIM7080
    the data link is paused for it and brought back, its registration awaited as
    AsyncModem.connect() awaits it. OSError(ETIMEDOUT) after timeout ms (int)."""
    from cellmodem.aio import sleep_ms
    modem = amodem.modem
    _cmds(modem)
    paused = modem.dialect.NAME == "sim7080" and modem.ip is not None
    if paused:
        await amodem.disconnect()
    try:
        deadline = ticks_add(ticks_ms(), timeout)
        while True:
            f = read(modem)
            if f is not None:
                return f
            left = ticks_diff(deadline, ticks_ms())
            if left <= 0:
                raise OSError(errno.ETIMEDOUT, "no GNSS fix within %d ms" % timeout)
            await sleep_ms(min(every, left))
    finally:
        if paused:
            stop(modem)
            await amodem.wait_registered()
            modem.reconnect()
