"""PSM and eDRX: sleeping on the network's terms (3GPP TS 27.007 +CPSMS, +CEREG,
+CEDRXS, +CEDRXRDP; the timer codes of 24.008).

None of the project's manuals covers them: this follows 27.007 and 24.008, which the
LTE-M/NB-IoT families (SIM7080/SIM7000, Quectel BG9x) implement. On the others
(POWER table without "psm") every call raises OSError(EOPNOTSUPP).

Usage:
    from cellmodem import psm
    psm.request(modem, tau=24 * 3600, active=60)  # periodic TAU and active time, s
    tau, active = psm.granted(modem) or (None, None)  # what the network gave, s
    psm.edrx(modem, 81920)                        # LTE-M eDRX cycle, ms
"""
import errno

from cellmodem.line import Line

# GPRS Timer 3 (T3412 extended, 24.008 10.5.7.4a): (unit code, seconds), finest first
_T3412 = ((3, 2), (4, 30), (5, 60), (0, 600), (1, 3600), (2, 36000), (6, 1152000))
# GPRS Timer 2 (T3324, 24.008 10.5.7.3)
_T3324 = ((0, 2), (1, 60), (2, 360))
# eDRX cycle of WB-S1 (LTE-M), 24.008 table 10.5.5.32: ms for codes 0-15
_EDRX_MS = (5120, 10240, 20480, 40960, 61440, 81920, 102400, 122880, 143360, 163840,
            327680, 655360, 1310720, 2621440, 5242880, 10485760)


def _need(modem):
    if not modem.dialect.POWER.get("psm"):
        raise OSError(errno.EOPNOTSUPP, "%s modules have no PSM/eDRX (27.007 +CPSMS)"
                      % modem.dialect.NAME)


def _bits(value, width):
    return ("0" * width + bin(value)[2:])[-width:]


def encode_timer(seconds, units):
    """seconds (int >= 0) as the 8-bit string of a GPRS timer (units: _T3412 or
    _T3324): the finest unit that holds it, rounded up. ValueError if none does."""
    if type(seconds) is not int or seconds < 0:
        raise ValueError("a PSM timer is an int of seconds >= 0")
    for code, mult in units:
        v = (seconds + mult - 1) // mult
        if v <= 31:
            return _bits(code, 3) + _bits(v, 5)
    raise ValueError("%d s is longer than this timer can say (%d s)"
                     % (seconds, 31 * units[-1][1]))


def decode_timer(bits, units):
    """Seconds of a GPRS timer's 8-bit string, None when deactivated (unit 111) or
    the string is empty; ValueError for anything else."""
    if not bits:
        return None
    if len(bits) != 8 or any(c not in "01" for c in bits):
        raise ValueError("not an 8-bit timer: %r" % bits)
    code = int(bits[:3], 2)
    for c, mult in units:
        if c == code:
            return mult * int(bits[3:], 2)
    return None  # 111: deactivated (and codes this timer does not define)


def request(modem, tau, active):
    """Ask the network for PSM: a periodic TAU (T3412, s) and an active time after
    each wake (T3324, s), rounded up to what the timers can say (AT+CPSMS=1, 27.007
    10.1.67). The network decides: granted() says what it gave. ValueError for a
    time the timers cannot say; OSError(EOPNOTSUPP) on a family without PSM."""
    _need(modem)
    t = encode_timer(tau, _T3412)
    a = encode_timer(active, _T3324)
    modem.at.command('AT+CPSMS=1,,,"%s","%s"' % (t, a))


def disable(modem):
    """No PSM (AT+CPSMS=0)."""
    _need(modem)
    modem.at.command("AT+CPSMS=0")


def granted(modem):
    """(tau, active) in s that the network granted, from +CEREG's PSM fields (AT+CEREG=4
    for the read, then back to what it was); None when it granted no PSM."""
    _need(modem)
    at = modem.at
    got = []
    at.command("AT+CEREG?", resp=b"+CEREG:", on_line=lambda ln: got.append(ln.int(0, 0)))
    at.command("AT+CEREG=4")
    try:
        lines = at.command("AT+CEREG?", resp=b"+CEREG:")
    finally:
        at.command("AT+CEREG=%d" % (got[0] if got else 0))
    if not lines:
        return None
    ln = Line(lines[0], 0, len(lines[0]))
    if ln.nfields() < 9:
        return None
    tau = decode_timer(ln.field(8), _T3412)
    active = decode_timer(ln.field(7), _T3324)
    if tau is None or active is None:
        return None
    return tau, active


def edrx(modem, cycle):
    """Ask for eDRX on LTE-M with a cycle of at least cycle ms (the next one 24.008
    has, 5120-10485760 ms; AT+CEDRXS=1,4, 27.007 7.40); 0 turns eDRX off. ValueError
    for a cycle over the longest."""
    _need(modem)
    if type(cycle) is not int or cycle < 0:
        raise ValueError("an eDRX cycle is an int of ms >= 0")
    if not cycle:
        modem.at.command("AT+CEDRXS=0")
        return
    for code in range(16):
        if _EDRX_MS[code] >= cycle:
            modem.at.command('AT+CEDRXS=1,4,"%s"' % _bits(code, 4))
            return
    raise ValueError("eDRX cycle %d ms: the longest is %d ms" % (cycle, _EDRX_MS[-1]))


def edrx_granted(modem):
    """(requested, granted) eDRX cycle in ms from AT+CEDRXRDP (27.007 7.41), None
    when eDRX is not in use."""
    _need(modem)
    lines = modem.at.command("AT+CEDRXRDP", resp=b"+CEDRXRDP:")
    if not lines:
        return None
    ln = Line(lines[0], 0, len(lines[0]))
    if ln.int(0, 0) == 0 or ln.nfields() < 3:
        return None
    return _EDRX_MS[int(ln.field(1), 2)], _EDRX_MS[int(ln.field(2), 2)]
