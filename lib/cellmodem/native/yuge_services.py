"""The Yuge EC716S module's own network services: time by NTP (manual 7.1 AT+CNTP,
3.10 AT+CCLK), ping (9.31 AT+CIPPING), TCP keepalive (9.32 AT+CIPTKA) and the
heartbeat it sends on a connection by itself (9.33-9.36 AT^HEARTCONFIG,
AT^HEARTBEAT, AT^HEARTBEATHEX, AT^HEARTINQUIRE).

Every function takes modem= (default: the modem connected last) and checks its
arguments before anything reaches the UART (ValueError). Module refusals raise
ATError with its code and text.

Usage:
    from cellmodem.native import yuge_services as svc
    t = svc.ntp_sync("pool.ntp.org", tz=32, modem=modem)  # also sets machine.RTC
    for r in svc.ping("example.com", count=4): print(r)   # (id, ip, ms, ttl)
    svc.tcp_keepalive(True, idle=60, interval=30, count=3)
    svc.heartbeat(0, 60, b"\\x01ping")                     # link 0, every 60 s
"""
import errno

from cellmodem.errors import ATError, ATTimeout
from cellmodem.native.yuge_fs import yuge
from cellmodem.validate import at_string, millis

# 7.1 <code>
_NTP_TEXT = {61: "network error", 62: "DNS error", 63: "connection error",
             64: "server response error", 65: "server response timeout"}
_NTP_ERRNO = {61: errno.ENOTCONN, 62: errno.EHOSTUNREACH, 63: errno.ECONNREFUSED,
              64: errno.EIO, 65: errno.ETIMEDOUT}
NO_REPLY = (600, 255)  # 9.31: a ping without answer prints <replyTime> 600, <ttl> 255


def _int(v, what, lo, hi):
    if not isinstance(v, int) or isinstance(v, bool):
        raise TypeError("%s must be an int in %d-%d, not %s" % (what, lo, hi, type(v).__name__))
    if not lo <= v <= hi:
        raise ValueError("%s must be an int in %d-%d, not %r" % (what, lo, hi, v))
    return v


# ---------------------------------------------------------------- 7.1 NTP, 3.10 CCLK
def ntp_sync(server, tz=0, cid=1, timeout=15000, rtc=True, modem=None):
    """Set the module's clock from an NTP server (AT+CNTPCID, AT+CNTP=<server>,<tz>,
    AT+CNTP, 7.1) and return clock(). tz: the local zone in quarter hours, -47..48
    (+32 is UTC+8). rtc: also set machine.RTC where the board has one (its local
    time). Raises OSError with the 7.1 code's errno and text (61 ENOTCONN, 62
    EHOSTUNREACH, 63 ECONNREFUSED, 64 EIO, 65 ETIMEDOUT) or ETIMEDOUT after timeout
    ms (int) without +CNTP."""
    server = at_string(server, "NTP server", 255, empty=False)
    millis(timeout)
    _int(tz, "tz (quarter hours)", -47, 48)
    _int(cid, "cid", 1, 3)
    at = yuge(modem).at
    at.command("AT+CNTPCID=%d" % cid)  # 7.1 example: the bearer to use
    at.command('AT+CNTP="%s",%d' % (server, tz))
    got = []
    at.urc(b"+CNTP:", lambda line: got.append(line.int(0, -1)))
    try:
        at.command("AT+CNTP")
        at.wait_until(lambda: got, timeout, "+CNTP", "AT+CNTP")
    except ATTimeout:
        raise OSError(errno.ETIMEDOUT, "AT+CNTP: no +CNTP within %d ms" % timeout)
    finally:
        at.remove_urc(b"+CNTP:")
    code = got[0]
    if code != 1:
        raise OSError(_NTP_ERRNO.get(code, errno.EIO), "+CNTP: %d (%s, manual 7.1)"
                      % (code, _NTP_TEXT.get(code, "unknown")))
    t = clock(modem)
    if rtc:
        set_rtc(t)
    return t


def clock(modem=None):
    """The module's clock (AT+CCLK?, 3.10) as (year, month, day, hour, minute,
    second, tz quarter hours), local time."""
    at = yuge(modem).at
    lines = at.command("AT+CCLK?", resp=b"+CCLK:")
    if not lines:
        raise ATError(None, "no +CCLK line", "AT+CCLK?")
    s = lines[0][6:].strip().strip(b'"').decode()  # "18/05/16,15:49:28+32"
    try:
        tz = int(s[17:])
        return (2000 + int(s[0:2]), int(s[3:5]), int(s[6:8]), int(s[9:11]),
                int(s[12:14]), int(s[15:17]), tz)
    except ValueError:
        raise ATError(None, "bad +CCLK: %s" % s, "AT+CCLK?")


def weekday(y, m, d):
    """0 Monday .. 6 Sunday (what machine.RTC.datetime takes)."""
    t = (0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4)
    if m < 3:
        y -= 1
    return (y + y // 4 - y // 100 + y // 400 + t[m - 1] + d + 6) % 7  # Sakamoto, shifted


def set_rtc(t):
    """Put clock()'s tuple into machine.RTC; False where there is no machine.RTC."""
    try:
        from machine import RTC
    except ImportError:  # CPython, or a port without machine.RTC
        return False
    RTC().datetime((t[0], t[1], t[2], weekday(t[0], t[1], t[2]), t[3], t[4], t[5], 0))
    return True


# ---------------------------------------------------------------- 9.31 CIPPING
def ping(host, count=4, size=32, timeout=1000, ttl=64, modem=None):
    """Ping host count times (1-100) with size data bytes (0-1024), waiting timeout
    ms (100-60000, in 100 ms steps) for each reply. Returns [(reply id, ip, ms, ttl)]
    in order; a lost reply has ms and ttl None (the module prints 600, 255). Raises
    ATError if the module refuses (no PDP context, unknown host)."""
    host = at_string(host, "host", 253, empty=False)
    _int(count, "count", 1, 100)  # 0 ("ping forever") never ends the command: refused
    _int(size, "size", 0, 1024)
    _int(timeout, "timeout (ms)", 100, 60000)
    _int(ttl, "ttl", 1, 255)
    out = []

    def on(line):
        ms, t = line.int(2, -1), line.int(3, -1)
        lost = (ms, t) == NO_REPLY
        out.append((line.int(0, -1), line.field(1), None if lost else ms, None if lost else t))
    t100 = (timeout + 99) // 100
    yuge(modem).at.command('AT+CIPPING="%s",%d,%d,%d,%d' % (host, count, size, t100, ttl),
                           resp=b"+CIPPING:", on_line=on,
                           timeout=count * (t100 * 100 + 1000) + 10000)
    return out


# ---------------------------------------------------------------- 9.32 CIPTKA
def tcp_keepalive(on, idle=7200, interval=75, count=9, modem=None):
    """Switch the module's TCP keepalive on or off (AT+CIPTKA, 9.32): the first probe
    after idle s (30-7200) without traffic, then every interval s (30-600), count
    probes (1-9)."""
    if on not in (True, False):
        raise ValueError("on must be True or False")
    _int(idle, "idle (s)", 30, 7200)
    _int(interval, "interval (s)", 30, 600)
    _int(count, "count", 1, 9)
    yuge(modem).at.command("AT+CIPTKA=%d,%d,%d,%d" % (1 if on else 0, idle, interval, count))


def tcp_keepalive_config(modem=None):
    """(on, idle, interval, count) from AT+CIPTKA? (9.32)."""
    return _fields(yuge(modem).at, "AT+CIPTKA?", b"+CIPTKA:", 4)


def _fields(at, cmd, prefix, n):
    lines = at.command(cmd, resp=prefix)
    if not lines:
        raise ATError(None, "no %s line" % prefix.decode(), cmd)
    v = lines[0][len(prefix):].split(b",")
    if len(v) < n:
        raise ATError(None, "bad %s" % lines[0].decode(), cmd)
    return tuple(int(x.strip()) for x in v[:n])


# ---------------------------------------------------------------- 9.33-9.36 heartbeat
def _link(link):
    return _int(getattr(link, "id", link), "link", 0, 5)  # 9.33 <socket_id> 0~5


def heartbeat(link, period=120, data=None, modem=None):
    """Have the module send data on link (0-5, or a cellmodem socket Link with .id)
    every period s (5-600) by itself (AT^HEARTCONFIG=1, 9.33). data: bytes/str of
    at most 256 bytes, sent as AT^HEARTBEATHEX (9.35, any bytes; it also goes out
    once at once, 9.35 example); None keeps the content (the IMEI by default)."""
    n = _link(link)
    _int(period, "period (s)", 5, 600)
    at = yuge(modem).at
    at.command("AT^HEARTCONFIG=1,%d,%d" % (n, period))
    if data is not None:
        heartbeat_hex(n, data, modem)


def heartbeat_text(link, text, modem=None):
    """Set the heartbeat content to printable text (AT^HEARTBEAT, 9.34): at most 256
    characters, no quotes, backslashes, commas or control characters (it goes
    unquoted, as in the 9.34 example)."""
    n = _link(link)
    text = at_string(text, "heartbeat text", 256, empty=False)
    if "," in text:
        raise ValueError("heartbeat text must not hold a comma (AT^HEARTBEAT, 9.34)")
    yuge(modem).at.command("AT^HEARTBEAT=%d,%s" % (n, text))


def heartbeat_hex(link, data, modem=None):
    """Set the heartbeat content to any bytes (AT^HEARTBEATHEX, 9.35), at most 256."""
    n = _link(link)
    if isinstance(data, str):
        data = data.encode()
    if not isinstance(data, (bytes, bytearray, memoryview)) or not 0 < len(data) <= 256:
        raise ValueError("heartbeat data must be 1-256 bytes")
    import binascii
    hx = binascii.hexlify(data).decode().upper()
    at = yuge(modem).at
    mux = _fields(at, "AT+CIPMUX?", b"+CIPMUX:", 1)[0]
    # 9.35: <socket_id> only in multi-link mode (AT+CIPMUX=1)
    if mux:
        at.command("AT^HEARTBEATHEX=%d,%d,%s" % (n, len(data), hx))
    elif n:
        raise ValueError("single-link mode (AT+CIPMUX=0) has link 0 only")
    else:
        at.command("AT^HEARTBEATHEX=%d,%s" % (len(data), hx))


def heartbeat_off(modem=None):
    """Stop the heartbeat (AT^HEARTCONFIG=0); the module clears its counts (9.36)."""
    yuge(modem).at.command("AT^HEARTCONFIG=0")


def heartbeat_config(modem=None):
    """(on, link, period s) from AT^HEARTCONFIG? (9.33)."""
    return _fields(yuge(modem).at, "AT^HEARTCONFIG?", b"^HEARTCONFIG:", 3)


def heartbeat_status(modem=None):
    """(s since the last one went out, s until the next, how many went) from
    AT^HEARTINQUIRE? (9.36); all 0 when it is off."""
    return _fields(yuge(modem).at, "AT^HEARTINQUIRE?", b"^HEARTINQUIRE:", 3)
