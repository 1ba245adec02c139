"""Transparent (data) mode: one TCP connection whose bytes the UART carries as they
are, with no AT framing - the fastest way to move bulk data (a firmware image, a
long-lived stream).

While a DataSocket is in data mode the AT engine is paused and the port belongs to
the socket: an AT command from anywhere raises InDataMode before a byte is written.
escape() sends "+++" with the family's guard times and returns to command mode with
the connection kept open; resume() (ATO) goes back, and so does the next read or
write. close() ends the connection and puts the module back in its normal socket
mode. When the peer closes, the module leaves data mode by itself with CLOSED or
NO CARRIER: reads return what came before that line, then b"" (EOF).

Rules (enforced): one data-mode connection per module; the family's own limits
(SIM7600 and Yuge: the mode is module-wide, so no other socket may be open, and
SIM7600 uses link 0); no AT commands while in data mode.

Usage:
    from cellmodem.datamode import DataSocket
    s = DataSocket(modem); s.connect(("example.com", 5000))
    s.write(b"hello"); print(s.read(5)); s.escape(); print(modem.signal()); s.close()
"""
import errno

from cellmodem.compat import const, ticks_ms, ticks_diff, ticks_add, sleep_ms
from cellmodem.errors import ATError, ATTimeout, InDataMode, ModemError
from cellmodem.sockets import Link, TCP
from cellmodem.validate import at_string, port_number, payload, seconds

_DATA = const(1)  # the UART carries the connection's bytes
_COMMAND = const(2)  # escaped with +++: the connection is open, the module takes AT commands
_GONE = const(3)  # the module left data mode by itself (peer closed, network lost)

_OK = const(b"\r\nOK\r\n")  # the answer to "+++" (A7600 6.2.3, Quectel UG 1.2, Yuge 9.37)
_OK_MS = const(2000)  # the OK may take this long after the guard time that follows "+++"
_MARGIN_MS = const(20)  # more silence than the guard asks for: ticks_ms counts whole ms
_SETTLE_MS = const(10)  # after a CLOSED line, bytes of payload (not URCs) would come this soon
_PARTIAL_MS = const(20)  # a held "\r\n" (maybe the start of CLOSED) is payload after this quiet
_WRITE_STEP = const(1024)  # bytes written between looks for the module's CLOSED line


_CONNECT = ((b"CONNECT FAIL", False), (b"CONNECT", True))  # V.250 data-mode results
_CLOSED = (b"\r\nCLOSED\r\n", b"\r\nNO CARRIER\r\n")  # leaving data mode by itself


# ---- the family's steps, from its Dialect.DATA table ----
def _enter_data(at, cmd, finals=_CONNECT, ok_final=True):
    """Send cmd, whose success final (CONNECT) puts the module in data mode: the
    engine pauses right after that line. Returns (the bytes already read past it,
    whether a LF of its line end is still to come). Raises as at.command() does."""
    eng = at.engine
    eng.pause_on_ok = True
    try:
        at.command(cmd, finals=finals, ok_final=ok_final)
    finally:
        eng.pause_on_ok = False
    return eng.detach()


def _switch(d, on):
    """A "wide" family: set the module up for data mode (or back), with the data
    context down and up again on the last connect()'s settings."""
    s = d.modem._settings
    if s is None:
        raise ModemError("transparent mode needs a connect() first")
    d.transparent = on
    d.deactivate()
    d.modem.ip = d.activate(s[0], s[1], s[2], s[3])


def _open(d, link, host, port):
    t = d.DATA
    m = d.modem
    for cmd in t.get("setup", ()):
        d.at.command(cmd)
    if t.get("wide"):
        if m.links:
            raise OSError(errno.EBUSY, "%s: transparent mode is module-wide here: close the "
                          "other %d socket(s) first" % (d.NAME, len(m.links)))
        _switch(d, True)
        link.id = 0
        m.links[0] = link
    elif "switch" in t:
        d.sock_open(link, host, port)
    else:
        d.claim(link)
    cmd = t.get("switch") or t["open"]
    try:
        first = _enter_data(d.at, cmd.format(link.id, host, port), t.get("finals", _CONNECT),
                            not t.get("ok_first"))
    except BaseException:
        _close(d, link)
        raise
    link.open = True
    link.peer = (host, port)
    return first


def _close(d, link):
    """Close link (already gone if the peer closed) and, for a "wide" family, put
    the module back in its normal socket mode."""
    try:
        d.sock_close(link)
    except (ModemError, OSError):
        pass
    d.release(link)
    if d.DATA.get("wide"):
        _switch(d, False)


def _drain(d, link, sink):
    """The connection ended while escaped: where the family keeps its data readable
    ("drain"), pass what the module still holds to sink(bytes); returns the count."""
    if not d.DATA.get("drain"):
        return 0
    m = d.modem
    ring = link.ring = m.take_ring()  # the data link's own ring is a stub
    total = 0
    try:
        while True:
            n = d.sock_fetch(link, link.room())
            if n <= 0:
                break
            out = bytearray(len(ring))
            ring.readinto(memoryview(out))
            sink(out)
            total += len(out)
    except (ModemError, OSError):
        pass  # gone for good: what came is kept
    finally:
        m.give_ring(ring)
        link.ring = None
    return total


class _Gate:
    """Stands in for the port while in data mode: a command's write raises
    InDataMode (and ends the command begun), reads give nothing - the bytes on the
    line are the data socket's."""

    def __init__(self, port, engine):
        self.port = port
        self.engine = engine

    def write(self, data):
        e = InDataMode("the modem is in data mode: escape() or close() its DataSocket first")
        self.engine.abort(e)
        raise e

    def readinto(self, buf):
        return 0


class DataSocket:
    """A TCP connection in the module's transparent mode (see the module docstring).

    modem: a connected Modem (default: the one most recently connected).
    rxbuf: receive buffer bytes (the socket reads the UART straight into it).
    guard_ms: silence before and after "+++" in ms (default: the family's, 1000).
    Raises OSError(EOPNOTSUPP) if the family has no transparent mode.
    """

    def __init__(self, modem=None, rxbuf=2048, guard_ms=None):
        if modem is None:
            from cellmodem.modem import current
            modem = current()
            if modem is None:
                raise OSError(errno.ENOTCONN, "no modem: call modem.connect() first")
        data = modem.dialect.DATA
        if data is None:
            raise OSError(errno.EOPNOTSUPP, "%s has no transparent mode" % modem.dialect.NAME)
        self._modem = modem
        self._guard = data["guard"] if guard_ms is None else guard_ms
        self._marks = data.get("closed", _CLOSED)  # the lines that end data mode from the module's side
        self._buf = bytearray(rxbuf)
        self._mv = memoryview(self._buf)
        self._h = 0  # first byte not read by the application
        self._t = 0  # end of received bytes
        self._keep = 0  # bytes at the tail held back: they may begin a CLOSED line
        self._mark_end = -1  # end of a CLOSED line held at the tail, waiting for quiet
        self._mark_seen = 0
        self._base = 0  # bytes compacted out of the buffer so far
        self._win = None  # _fill's view of the free space, kept while it stays put
        self._win_at = -1
        self._win_of = None
        self._skip_lf = False
        self._state = 0  # 0: not connected
        self._link = None
        self._port = None
        self._wait = None
        self._timeout = None  # None: block; 0: non-blocking; else ms
        self._last_tx = 0
        # "+" written alone after a quiet spell: if the line stays quiet the module
        # takes it for the escape (V.250 allows nothing else) - see _plus_check
        self._plus_at = -1  # when the last such write went out (-1: none pending)
        self._plus_pos = 0  # _base + _t at that time: its OK can only come after
        self._plus_run = 0  # how many '+' the run has
        self._resend = 0  # '+' the module ate as an escape, to go out with the next data
        self.peer = None

    # ---- set-up ----
    def settimeout(self, t):
        """None: block; 0: non-blocking; else seconds (int or float), as MicroPython's
        socket. TypeError for another type (a str), ValueError below 0."""
        t = seconds(t)
        self._timeout = None if t is None else int(t * 1000)

    def setblocking(self, flag):
        self._timeout = None if flag else 0

    @property
    def data_mode(self):
        """True while the UART carries the connection's bytes."""
        return self._state == _DATA

    def connect(self, addr):
        """Open a TCP connection to addr (host, port) in data mode; returns when the
        module answered CONNECT (within the open command's maximum response time from
        the manual). Raises ValueError for a bad address (nothing is sent),
        OSError(EBUSY) if the module already has a data-mode connection or the
        family's rules forbid one now, OSError(ECONNREFUSED) with the module's result
        (CONNECT FAIL, ERROR) when refused, OSError(ETIMEDOUT) when it never answers."""
        if not isinstance(addr, tuple) or len(addr) != 2:
            raise ValueError("address must be a (host, port) tuple, not %r" % (addr,))
        host = at_string(addr[0], "host", 253, empty=False)
        port = port_number(addr[1])
        m = self._modem
        if self._state:
            raise OSError(errno.EISCONN, "already connected")
        if m.data_socket is not None:
            raise OSError(errno.EBUSY, "the module has a data-mode connection already")
        link = Link(TCP, 16)  # the ring stays unused: the data goes to this socket's buffer
        m.data_socket = self
        try:
            first = _open(m.dialect, link, host, port)
        except ATError as e:
            m.data_socket = None
            raise OSError(errno.ECONNREFUSED, str(e))
        except ATTimeout as e:
            m.data_socket = None
            raise OSError(errno.ETIMEDOUT, str(e))
        except BaseException:
            m.data_socket = None
            raise
        self._link = link
        self.peer = (host, port)
        self._h = self._t = self._keep = self._base = 0
        self._mark_end = -1
        self._enter(first)

    def _enter(self, first):
        """The module answered CONNECT: take the port from the engine."""
        data, self._skip_lf = first
        at = self._modem.at
        self._port = at.port
        self._wait = getattr(self._port, "wait", None)
        at.port = _Gate(self._port, at.engine)
        self._state = _DATA
        self._last_tx = ticks_ms()  # CONNECT starts the silence before a "+++"
        if data:
            self._take(data)

    def _leave(self, rest):
        """The module is in command mode again: give the port and the bytes after its
        OK / CLOSED line back to the engine (held URCs among them are dispatched)."""
        at = self._modem.at
        if isinstance(at.port, _Gate):
            at.port = self._port
        at.engine.attach(rest)

    # ---- the receive buffer ----
    def _room(self):
        """Free bytes at the tail, compacting first (_base counts the bytes moved out,
        so a position kept as _base + index survives it)."""
        h = self._h
        if h:
            n = self._t - h
            if n:
                self._buf[0:n] = self._mv[h:self._t]
            self._h = 0
            self._t = n
            self._base += h
            self._mark_end -= h
        return len(self._buf) - self._t

    def _take(self, data):
        """Bytes read elsewhere (the engine's leftovers) into the buffer."""
        n = len(data)
        if self._room() < n:
            self._grow(n)
        self._mv[self._t:self._t + n] = data
        self._received(self._t, n)

    def _append(self, data):
        """Bytes read with commands (no CLOSED line can be among them)."""
        n = len(data)
        if self._room() < n:
            self._grow(n)
        self._mv[self._t:self._t + n] = data
        self._t += n

    def _grow(self, n):
        # Only while escaping with an application that read nothing: every byte
        # before the module's OK is kept ("nothing acknowledged is lost").
        buf = bytearray(len(self._buf) + n + 256)
        buf[0:self._t] = self._mv[0:self._t]
        self._buf = buf
        self._mv = memoryview(buf)

    def _fill(self, wait_ms=0):
        """Read what the port has into the buffer, waiting up to wait_ms for it.
        Returns the count (0: nothing, or no room)."""
        if self._state != _DATA:
            return 0
        n = 0
        if self._room():
            port = self._port
            t = self._t
            if self._win_at != t or self._win_of is not self._buf:
                # a new view only when the free space moved: waiting allocates nothing
                self._win = self._mv[t:]
                self._win_at = t
                self._win_of = self._buf
            n = port.readinto(self._win)
            if not n and wait_ms > 0:
                if self._wait:
                    self._wait(wait_ms)
                else:
                    sleep_ms(1)
                n = port.readinto(self._win)
        if n:
            eng = self._modem.at.engine
            if eng.trace:
                eng.trace(b"<", bytes(self._mv[self._t:self._t + n]), ticks_ms())
            self._received(self._t, n)
            if self._plus_at >= 0 and self._state == _DATA:
                self._plus_check()
        elif self._keep:
            quiet = ticks_diff(ticks_ms(), self._mark_seen)
            if self._mark_end >= 0:
                if quiet >= _SETTLE_MS:  # nothing after the whole line: the module's
                    self._gone(self._t - self._keep, self._mark_end)
            elif quiet >= _PARTIAL_MS:  # the module prints its line in one go: payload
                self._keep = 0
        return n or 0

    def _received(self, at, n):
        """n new bytes at buf[at:]: drop a LF owed to CONNECT, then look for the line
        with which the module leaves data mode."""
        if self._skip_lf and n:
            self._skip_lf = False
            if self._buf[at] == 10:
                self._mv[at:at + n - 1] = self._mv[at + 1:at + n]
                n -= 1
        self._t = at + n
        self._scan(at - self._keep)

    def _scan(self, start):
        """Look for the module's CLOSED / NO CARRIER line in buf[start:_t]. Followed by
        CR LF (the URCs it held come next) it ends data mode at once; at the very end
        of what came it is held back until _SETTLE_MS pass with nothing after it
        (bytes of payload right after it would mean the peer sent those characters);
        a tail that may be the start of such a line is held back too."""
        buf = self._buf
        t = self._t
        self._keep = 0
        self._mark_end = -1
        for mark in self._marks:
            i = buf.find(mark, start, t)
            while i >= 0:
                j = i + len(mark)
                if j + 2 <= t and buf[j] == 13 and buf[j + 1] == 10:
                    return self._gone(i, j)
                if j == t or j + 1 == t and buf[j] == 13:
                    self._keep = t - i
                    self._mark_end = j
                    self._mark_seen = ticks_ms()
                    return
                i = buf.find(mark, i + 1, t)
        k = t - 13 if t - 13 > start else start
        while k < t:
            if buf[k] == 13:
                m = t - k
                for mark in self._marks:
                    if m < len(mark) and buf[k:t] == mark[:m]:
                        self._keep = m
                        self._mark_seen = ticks_ms()
                        return
            k += 1

    def _gone(self, i, j):
        """The module left data mode with the line at buf[i:j]: payload ends at i."""
        rest = bytes(self._mv[j:self._t])
        self._t = i
        self._keep = 0
        self._mark_end = -1
        self._state = _GONE
        self._leave(rest)

    def _avail(self):
        return self._t - self._h - self._keep

    # ---- reading ----
    def _ready(self):
        """Wait (per the timeout) until bytes can be read or the stream ended.
        Returns False at EOF."""
        if self._avail() > 0:
            return True
        if self._state == _COMMAND:
            try:
                self.resume()
            except OSError:
                return False  # the peer closed while escaped: EOF
        if self._state != _DATA:
            return self._avail() > 0
        tmo = self._timeout
        deadline = None if tmo is None else ticks_add(ticks_ms(), tmo)
        idle = self._modem.at.idle
        while self._avail() <= 0:
            if self._state != _DATA:
                return self._avail() > 0
            if deadline is None:
                self._fill(20)
            else:
                left = ticks_diff(deadline, ticks_ms())
                self._fill(0 if left <= 0 else left if left < 20 else 20)
                if left <= 0 and self._avail() <= 0 and self._state == _DATA:
                    # (non-blocking: one look at the port first, then EAGAIN)
                    raise OSError(errno.EAGAIN if tmo == 0 else errno.ETIMEDOUT,
                                  "no data" if tmo == 0 else "timed out")
            if idle:
                idle()
        return True

    def readinto(self, buf, nbytes=0):
        """Read up to nbytes (default len(buf)) into buf; returns the count, 0 at EOF."""
        if not self._ready():
            return 0
        n = self._avail()
        want = nbytes or len(buf)
        if n > want:
            n = want
        h = self._h
        buf[0:n] = self._mv[h:h + n]
        self._h = h + n
        if self._state == _DATA and self._avail() <= 0:
            self._fill()  # keep the UART drained
        return n

    recv_into = readinto

    def recv(self, n):
        """Up to n bytes (b"" at EOF)."""
        out = bytearray(n)
        k = self.readinto(out)
        return bytes(out[:k])

    def read(self, n=-1):
        """n bytes, fewer only at EOF; n < 0: everything until EOF."""
        out = bytearray()
        chunk = bytearray(n if 0 < n < 2048 else 2048)
        mv = memoryview(chunk)
        while n < 0 or len(out) < n:
            k = self.readinto(mv, len(chunk) if n < 0 else min(len(chunk), n - len(out)))
            if not k:
                break
            out += mv[:k]
        return bytes(out)

    # ---- writing ----
    def write(self, data):
        """Write all of data (bytes-like or str) to the connection; returns its length.
        Raises OSError(ECONNRESET) once the module has left data mode by itself."""
        mv = payload(data)
        n = len(mv)
        if self._plus_at >= 0 and self._state == _DATA and n:
            self._plus_check(True)
        if self._state == _COMMAND:
            self.resume()
        i = 0
        port = self._port
        trace = self._modem.at.engine.trace
        quiet = ticks_diff(ticks_ms(), self._last_tx)
        if self._resend and n:
            k = self._resend
            self._resend = 0
            port.write(b"+++"[:k])  # right before the data: no quiet, no escape
            if trace:
                trace(b">", b"+++"[:k], ticks_ms())
        while i < n:
            self._fill()  # a CLOSED line must be seen before more bytes go out
            if self._state != _DATA:
                # the module takes commands now: what we would write could run as one
                raise OSError(errno.ECONNRESET, "the connection closed (the module left data mode)")
            k = n - i if n - i < _WRITE_STEP else _WRITE_STEP
            w = port.write(mv[i:i + k])
            if w and trace:
                trace(b">", bytes(mv[i:i + w]), ticks_ms())
            i += w or 0
            if not w:
                sleep_ms(1)
            self._last_tx = ticks_ms()
        if 0 < n <= 3 and bytes(mv) == b"+++"[:n]:
            if self._plus_at >= 0 and ticks_diff(self._last_tx, self._plus_at) < self._guard // 2:
                self._plus_run += n  # the run goes on
            elif quiet >= self._guard // 2:
                self._plus_run = n
                self._plus_pos = self._base + self._t
            else:
                self._plus_run = 4  # not after a quiet spell: data
            self._plus_at = self._last_tx if self._plus_run <= 3 else -1
        else:
            self._plus_at = -1
        return n

    send = write
    sendall = write

    # ---- command mode and back ----
    def escape(self):
        """Leave data mode with "+++" (guard_ms of silence before and after it); the
        connection stays open and bytes that arrive meanwhile are kept for read().
        Then AT commands work again. Returns at once if not in data mode.
        Raises ATTimeout if the module never answers OK."""
        while self.escape_quiet(20) > 0:  # silence before: nothing written for guard ms
            pass
        if self._state != _DATA:
            return
        step = self.escape_start()
        while not self.escape_poll(step, 20):
            pass
        self.escape_end(step)

    # The steps of escape(), public for a face that awaits between them instead of
    # waiting in _drain (aio.AsyncDataSocket).
    def escape_quiet(self, ms):
        """ms of silence still due before "+++" (<= 0: none; 0 when not in data mode);
        while some is due, read into the buffer for up to ms of it first."""
        if self._state != _DATA:
            return 0
        left = self._guard + _MARGIN_MS - ticks_diff(ticks_ms(), self._last_tx)
        if left > 0:
            self._drain(left if left < ms else ms)
        return left

    def escape_start(self):
        """Write "+++" (one write: the three well within the gap allowed); returns
        [where its OK can start, when it went, result]."""
        start = self._base + self._t  # the OK can only be in what arrives from now on
        self._port.write(b"+++")
        sent = ticks_ms()
        self._plus_at = -1
        if self._modem.at.engine.trace:
            self._modem.at.engine.trace(b">", b"+++", sent)
        return [start, sent, None]

    def escape_poll(self, step, ms):
        """Read for up to ms; True once the escape is over: step[2] is True (the
        module's OK), False (it left data mode for the peer's close meanwhile) or
        None (no OK within guard + _OK_MS)."""
        if self._state == _DATA:
            self._drain(ms)
        if self._state != _DATA:
            step[2] = self._state == _COMMAND
            return True
        i = self._find_ok(step[0])
        if i >= 0:
            self._escaped(i)
            step[2] = True
            return True
        return ticks_diff(ticks_ms(), step[1]) > self._guard + _OK_MS

    def escape_end(self, step):
        """The escape is over (escape_poll said so): ATTimeout if no OK came; in
        command mode, one AT to be in step (the URCs the module held come out)."""
        if step[2] is None and self._state == _DATA:
            raise ATTimeout("+++", self._guard + _OK_MS, "OK")
        if self._state == _COMMAND:
            self._modem.at.command("AT")

    def _find_ok(self, start):
        """Index of the module's OK in what arrived after position start (_base
        relative), or -1."""
        s = start - self._base
        return self._buf.find(_OK, s if s > self._h else self._h, self._t)

    def _escaped(self, i):
        """The module answered OK at buf[i]: command mode; the bytes before it are
        payload, the ones after go to the engine."""
        rest = bytes(self._mv[i + len(_OK):self._t])
        self._t = i
        self._keep = 0
        self._mark_end = -1
        self._state = _COMMAND
        self._leave(rest)

    def _await_ok(self, start, sent):
        """Read until the module's OK to a "+++" written at ticks sent (True), the
        module leaving data mode otherwise (False), or guard + _OK_MS (None)."""
        step = [start, sent, None]
        while not self.escape_poll(step, 20):
            pass
        return step[2]

    def _plus_check(self, wait=False):
        """After 1-3 '+' written alone following a quiet spell, the line stayed quiet:
        the module may have taken them for the escape. If its OK came (or comes,
        with wait), it did: command mode, and the '+' go out again in front of the
        next data (no quiet between them then, so they stay data)."""
        at = self._plus_at
        if ticks_diff(ticks_ms(), at) < self._guard // 2:
            return  # too soon for any module's guard time: still data mode
        if wait:
            self._plus_at = -1
            found = self._await_ok(self._plus_pos, at)
        else:
            i = self._find_ok(self._plus_pos)
            found = i >= 0
            if found:
                self._plus_at = -1
                self._escaped(i)
        if found:
            self._resend = self._plus_run

    def _drain(self, ms):
        """Read into the buffer (growing it if the application read nothing) for up
        to ms; used while waiting out guard times."""
        if self._room() < 64:
            self._grow(len(self._buf))
        self._fill(ms)

    def resume(self):
        """Back to data mode after escape() (ATO). Raises OSError(ENOTCONN) if the
        connection is gone (NO CARRIER), OSError(EBADF) if the socket is closed."""
        if self._state == _DATA:
            return
        if self._state != _COMMAND:
            raise OSError(errno.EBADF if not self._state else errno.ENOTCONN,
                          "the socket is closed" if not self._state else "the connection is gone")
        try:
            first = _enter_data(self._modem.at, "ATO")  # V.250: CONNECT or NO CARRIER
        except ATError as e:
            # The peer closed while we were in command mode. What the module still
            # holds is read with the family's ordinary read where it has one; reads
            # return it, then EOF.
            self._state = _GONE
            if _drain(self._modem.dialect, self._link, self._append):
                return
            raise OSError(errno.ENOTCONN, "%s: the connection is gone" % e)
        self._keep = 0
        self._enter(first)

    # ---- the end ----
    def close(self):
        """Leave data mode if still in it, close the connection and put the module back
        in its normal socket mode. Safe to call twice."""
        if not self._state:
            return
        m = self._modem
        try:
            if self._state == _DATA:
                try:
                    self.escape()
                except ModemError:
                    self._state = _GONE
                    self._leave(b"")
            _close(m.dialect, self._link)
        finally:
            at = m.at
            if isinstance(at.port, _Gate):
                at.port = self._port
                at.engine.attach(b"")
            m.data_socket = None
            self._state = 0
            self._h = self._t = self._keep = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
