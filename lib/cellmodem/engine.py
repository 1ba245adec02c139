"""The AT engine: a sans-IO line parser and command state machine.

Bytes from the port are read straight into the engine's buffer (rx_window then
rx_commit); process() frames lines in place and routes each one: the command in
flight first (its echo, final result and response lines), then the URC table,
then on_unknown. A handler may call expect_raw() to take exactly n bytes of
payload that follow, whatever they contain. No I/O happens here, so the blocking
face (at.py) and an asyncio face drive the same engine.

Usage:
    eng = Engine(1024)
    eng.urc(b"+CEREG:", lambda line: print(line.int(1)))
    eng.begin(b"AT+CSQ", resp=b"+CSQ:")   # then write b"AT+CSQ\\r" to the port
    n = port.readinto(eng.rx_window()); eng.rx_commit(n); eng.process()
    eng.done, eng.error, eng.lines
"""
from cellmodem.compat import const, ticks_ms, ticks_diff
from cellmodem.errors import ATError, ATLineTooLong, ATBusy, ModemError
from cellmodem.line import Line, parse_int, text as _text

_CR = const(13)
_LF = const(10)
_GT = const(62)
_SPACE = const(32)

IDLE = const(0)  # no command in flight
WAIT = const(1)  # command sent, waiting for its final result
PROMPT = const(2)  # command sent, waiting for the data prompt ("> " or ">")

# Final result codes common to every 3GPP modem (27.007 / V.250). A dialect adds its
# own per command (SEND OK, CONNECT OK, DATA ACCEPT, ...) through begin(finals=...).
_ERRORS = (b"ERROR", b"NO CARRIER", b"BUSY", b"NO ANSWER", b"NO DIALTONE")
_OK = const(b"OK")
# The longest payload one module reply carries (the biggest: Yuge AT+FSREAD 10240
# bytes); a length above this in a header is line noise.
MAX_RAW = const(65535)
# A checked payload (frame()) that stops arriving for this long is given up as short:
# a module writes a header and its payload as one piece, so a gap this long inside one
# means the bytes that would end it were lost (even at 9600 baud bytes come every ms).
# Liveness only: without it a short pushed payload would wait for the next reply and
# swallow its bytes.
RAW_STALL_MS = const(2000)
# A trailer's optional tail (frame(must=)) that has not come after this much quiet is
# taken as absent: the payload is accepted (see frame())
_QUIET_MS = const(50)
# The lines of a command that collected none: one shared empty list (no allocation
# per command); callers read it, never change it.
_NO_LINES = []


class Engine:
    """One receive buffer, one command in flight, a URC table.

    size: receive buffer bytes; a line longer than that is dropped and reported
    (ATLineTooLong on the command in flight, else on_overflow).
    """

    def __init__(self, size=1024):
        self.buf = bytearray(size)
        self._mv = memoryview(self.buf)
        self._size = size
        self._head = 0  # first byte not parsed yet
        self._tail = 0  # end of valid data
        self._scan = 0  # where the search for a line end resumes
        self._line = Line(self.buf)
        self._urcs = []  # [prefix, callback]
        self._inline = []  # [prefix, terminator byte, callback]: headers whose payload follows mid-line
        self._raw_left = 0
        self._raw_sink = None
        self._raw_done = None
        # Framing check after a counted payload (frame()): the bytes that must follow
        # it, the next one to match, the callback told the verdict, and whether the
        # payload answers the command in flight (a pull) or came unasked (a push).
        self._arm = None  # _armv once frame() armed the next expect_raw
        # [trailer, callback, pulled, must], filled in place by frame(): a tuple per
        # payload would allocate (BENCHMARKS.md section 3)
        self._armv = [None, None, False, 0]
        self._raw_check = None
        self._chk = None
        self._chk_i = 0
        self._chk_cb = None
        self._chk_pull = False
        # at_once checks: how many trailer bytes must come (the rest only if not quiet);
        # 0: the trailer starts the next reply, whenever that comes
        self._chk_must = 0
        self._chk_end = 0  # trailer bytes that end the check (len(_chk) or _chk_must)
        self._raw_at = 0  # ticks_ms of the last payload byte (checked payloads)
        self.short_payloads = 0  # payloads whose framing did not follow (counted)
        self._skip_lf = False  # a line ended in CR as the last byte: drop the LF that follows
        self._discard = False  # dropping the rest of an over-long line
        self._eat_space = False  # the space of a "> " prompt may come in the next read
        # Lines that explain a following plain ERROR ("+IP ERROR: No data" then "ERROR",
        # SIM7600 manual 4.x); a dialect sets these, the ERROR then carries their text.
        self.detail_prefixes = ()
        self.on_unknown = None  # callback(line) for lines nobody claimed
        self.on_overflow = None  # callback() when a line overflowed with no command in flight
        self.trace = None  # callback(direction, data, ticks_ms): b"<" read, b">" written
        self.overflows = 0
        self.urc_count = 0  # URCs dispatched (inline and table), for benchmarks
        self.bad_urcs = 0  # URCs whose handler found them garbled (dropped)
        self.on_bad_urc = None  # callback(line, exception) for those
        self._win = None  # rx_window()'s memoryview, kept while _tail stays put
        self._win_at = -1
        self.unknown = 0
        # Transparent (data) mode: a command whose success is CONNECT sets pause_on_ok;
        # once it ends the engine is paused and process() leaves every byte after
        # that final alone - they are the data socket's (cellmodem.datamode).
        self.paused = False
        self.pause_on_ok = False
        self.state = IDLE
        self._last_final = None  # the last final other than OK (_finish)
        self._reset_command(None)

    # ---- the URC table ----
    def urc(self, prefix, callback):
        """Route lines that start with prefix (bytes) to callback(line); replaces an old entry."""
        self.remove_urc(prefix)
        self._urcs.append((prefix, callback))

    def inline(self, prefix, terminator, callback):
        """A header whose payload follows on the same line after terminator (one byte),
        e.g. b"+CARECV: " with b"," for "+CARECV: 5,hello". callback(line) sees the header
        without the terminator and should call expect_raw(); a line that ends before the
        terminator is routed as an ordinary line."""
        self.remove_urc(prefix)
        self._inline.append((prefix, bytes(terminator[:1]), callback))

    def remove_urc(self, prefix):
        for table in (self._urcs, self._inline):
            for i in range(len(table)):
                if table[i][0] == prefix:
                    table.pop(i)
                    break

    # ---- raw payloads ----
    def frame(self, trailer, callback=None, pulled=False, at_once=True, must=0):
        """The payload of the next expect_raw must be followed by trailer (bytes, e.g.
        b"\r\n\r\n": its line end and the CR LF that starts the next line). A payload
        shorter than its header said (a UART overrun, firmware that counts differently)
        swallows part of what follows, so the bytes after it do not match: then
        callback(False) (the owner drops what the payload delivered), the rest of that
        line is dropped (the parser starts again on the next line), and a pulled
        payload's command ends with a ModemError. callback(True) when it matched.
        A payload that never ends (its framing was swallowed too) is given up, the same
        way, when its command is aborted or when it stops arriving for RAW_STALL_MS;
        at_once: the trailer comes right after the payload, so it is given up too when
        it has not come within RAW_STALL_MS (False: it starts the next reply, whenever
        that comes). must (at_once only): only the first must bytes of the trailer are
        certain to come; the rest (the CR LF that starts a next line) is checked when
        it comes, and taken as absent after _QUIET_MS without a byte. A 2-byte trailer
        alone cannot catch a payload short by exactly 2 bytes with a line right behind
        it: the payload's own CR LF passes as payload, the next line's as the trailer.
        Only a payload that ends in CR LF can be that one, so only it waits for the rest."""
        a = self._armv
        a[0] = trailer
        a[1] = callback
        a[2] = pulled
        a[3] = (must or len(trailer)) if at_once else 0
        self._arm = a

    def expect_raw(self, n, sink, done=None):
        """Deliver the next n bytes to sink(buf, off, k) without parsing them, then call
        done(). sink is called for each piece as it comes: k bytes at buf[off:] (buf a
        memoryview of the engine's buffer; copy what you keep, e.g. Ring.write).
        ValueError for n over MAX_RAW: a garbled length must not swallow the line."""
        arm = self._arm
        self._arm = None
        if n > MAX_RAW:
            raise ValueError("payload length %d: no module sends that much at once" % n)
        if n > 0:
            self._raw_left = n
            self._raw_sink = sink
            self._raw_done = done
            self._raw_check = arm
            if arm is not None:
                self._raw_at = ticks_ms()
        elif done:
            done()

    def _checked(self, ok):
        cb = self._chk_cb
        pulled = self._chk_pull
        self._chk = self._chk_cb = None
        self._chk_pull = False
        self._chk_must = 0
        if not ok:
            self.short_payloads += 1
            self._discard = True  # resynchronise on the next line
        if cb is not None:
            cb(ok)
        if not ok and pulled and self.state != IDLE:
            # its final result was (part of) what the payload swallowed
            self._finish(None, ModemError("payload shorter than its header: the reply's "
                                          "framing did not follow it"))

    @property
    def in_raw(self):
        """A counted payload, or the framing that must follow it at once, is arriving."""
        return self._raw_left > 0 or self._chk_must > 0

    # ---- commands ----
    def _reset_command(self, cmd):
        self._cmd = cmd
        self._resp = None
        self._finals = None
        self._ok_final = True
        self._on_line = None
        self.echo_seen = False  # the command came back as its echo (the module is at ATE1)
        self._foreign = False  # inside a late answer to an earlier command (its echo came)
        self._overflowed = False
        self._detail = None
        self.lines = _NO_LINES  # a list of its own once a line is taken (_take)
        self.final = None
        self.error = None
        self.done = cmd is None
        self.prompted = False

    def begin(self, cmd, resp=None, finals=None, ok_final=True, on_line=None, prompt=False):
        """Start tracking a command (bytes, without the trailing CR); the caller writes it.

        resp: prefix of the response lines to collect (None: collect every line that is
        not a URC). finals: extra final results as (prefix, ok) pairs, matched also after
        a link number ("1, SEND OK"). ok_final=False makes OK intermediate (the real
        result follows). on_line(line) replaces collecting. prompt: wait for "> " first.
        """
        if self.state != IDLE:
            raise ATBusy(self._cmd)
        self._reset_command(cmd)
        self._resp = resp
        self._finals = finals
        self._ok_final = ok_final
        self._on_line = on_line
        self.state = PROMPT if prompt else WAIT

    def data_sent(self):
        """The payload after the prompt was written; now wait for the final result."""
        self.state = WAIT

    def end(self, line):
        """End the command in flight successfully with line as its final result (a
        dialect's on_line hook: a result line that is final in meaning, no OK after it)."""
        if self.state != IDLE:
            self._finish(line, None)

    def _stalled(self):
        if self._raw_check is not None:
            self._chk_cb = self._raw_check[1]
            self._chk_pull = self._raw_check[2]
        self._raw_left = 0
        self._raw_sink = self._raw_done = self._raw_check = None
        self._checked(False)
        self._discard = False  # what comes next starts a line

    def abort(self, error):
        """End the command in flight with error (e.g. a timeout decided by the face).
        A payload still expected is given up too: the next line is parsed as a line."""
        if self._raw_left and self._raw_check is not None:
            self._chk_cb = self._raw_check[1]  # it never ended: its framing was lost
            self._chk_pull = False
            self._checked(False)
            self._discard = False
        elif self._chk is not None:
            self._chk_pull = False
            self._checked(False)
            self._discard = False
        self._raw_left = 0
        self._raw_sink = None
        self._raw_done = None
        self._raw_check = None
        if self.state != IDLE:
            self._finish(None, error)

    def _finish(self, line, error):
        if line is not None:
            f = _OK
            if not line.equals(f):
                # a stream repeats its sends' final ("SEND OK", "DATA ACCEPT:0,1460"):
                # the same bytes object again, no allocation per send
                f = self._last_final
                if f is None or not line.equals(f):
                    f = self._last_final = line.bytes()
            self.final = f
        if error is None and self._overflowed:
            error = ATLineTooLong("a line was longer than the %d byte buffer" % self._size)
        if error is not None and getattr(error, "command", 0) is None:
            error.command = self._cmd.decode()
        self.error = error
        self.done = True
        self.state = IDLE
        if self.pause_on_ok:
            self.pause_on_ok = False
            self.paused = error is None

    def _match_final(self, line):
        """True if line ends the command (sets result), False otherwise."""
        if line.equals(_OK):
            if self._ok_final:
                self._finish(line, None)
            return True  # an intermediate OK (the real result follows) is dropped
        f = self._finals
        if f:
            i = 0
            while i < len(f):  # (an index, not a for: its iterator takes 4 frame words)
                if _match_linked(line, f[i][0]):
                    self._finish(line, None if f[i][1] else ATError(None, line.str()))
                    return True
                i += 1
        if _is_error(line) or line.startswith(b"+CMS ERROR:"):
            self._finish(line, self._error_of(line))
            return True
        return False

    def _error_of(self, line):
        # the ATError a final error line carries: its code and text, or those of
        # the detail line before a plain ERROR
        if line.startswith(b"+CME ERROR:") or line.startswith(b"+CMS ERROR:"):
            return _cme(line)
        d = self._detail
        if d is not None:  # "+IP ERROR: No data" -> text "No data"
            i = d.find(b":")
            v = d[i + 1:].strip()
            code = parse_int(v, 0, len(v), -1)
            return ATError(None if code < 0 else code, _text(v))
        return ATError(None, line.str())

    # ---- transparent (data) mode ----
    def detach(self):
        """Data mode began (paused after the CONNECT of a pause_on_ok command): hand
        over what was read past that line and forget it. Returns (bytes, lf): lf is
        True when the LF of its CR LF has not come yet (the new reader drops it)."""
        h = self._head
        t = self._tail
        lf = self._skip_lf
        if lf and h < t:
            lf = False
            if self.buf[h] == _LF:
                h += 1
        data = bytes(self._mv[h:t])
        self._head = self._tail = self._scan = 0
        self._skip_lf = self._discard = self._eat_space = False
        return data, lf

    def attach(self, data):
        """Command mode again after detach(): parse, starting with data (the bytes
        read past the module's OK or CLOSED line)."""
        self.paused = self.pause_on_ok = False
        if data:
            self.feed(data)

    # ---- input ----
    def rx_window(self):
        """A memoryview of the free space to read into (compacts the buffer first)."""
        h = self._head
        if h:
            t = self._tail
            if h == t:
                self._head = self._tail = self._scan = 0
            elif t == self._size or self._size - t < (self._size >> 2):
                n = t - h
                self.buf[0:n] = self._mv[h:t]  # forward move: safe with overlap
                self._head = 0
                self._tail = n
                self._scan = self._scan - h if self._scan > h else 0
        t = self._tail
        if self._win_at != t:  # a new view only when the free space moved
            self._win = self._mv[t:]
            self._win_at = t
        return self._win

    def rx_commit(self, n):
        """n bytes were read into the window."""
        if n:
            if self.trace:
                self.trace(b"<", bytes(self._mv[self._tail:self._tail + n]), ticks_ms())
            self._tail += n

    def feed(self, data):
        """Copy data in and process it (for tests and sources that hand over bytes)."""
        i = 0
        while i < len(data):
            w = self.rx_window()
            n = min(len(w), len(data) - i)
            w[0:n] = data[i:i + n]
            self.rx_commit(n)
            i += n
            self.process()

    def process(self):
        """Parse everything buffered: lines, prompts and raw payloads."""
        # Split in parts so each keeps its frame within the 11 words MicroPython holds
        # on the C stack: a larger one takes it from the heap on every call
        # (tools.bench.frames, BENCHMARKS.md notes), and this runs several times a read.
        while True:
            h = self._head
            t = self._tail
            if h >= t or self.paused:
                # nothing more to parse: inside a payload or its framing, give up on a stall
                if self._chk is not None and self._chk_i >= self._chk_must > 0 and h >= t \
                        and ticks_diff(ticks_ms(), self._raw_at) > _QUIET_MS:
                    self._checked(True)  # what had to come came; no next line yet
                elif (self._raw_left and self._raw_check is not None or self._chk_must) \
                        and ticks_diff(ticks_ms(), self._raw_at) > RAW_STALL_MS:
                    self._stalled()
                return
            if self._raw_left:
                self._raw(h, t)
            elif self._chk is not None:
                # one byte of the framing that must follow a payload (t: its index)
                t = self._chk_i
                if self.buf[h] != self._chk[t]:
                    t = t and self._chk[t - 1] == _LF  # a CR LF just passed
                    self._checked(False)
                    if t:  # this byte starts a line
                        self._discard = False
                    continue
                self._head = self._scan = h + 1
                t += 1
                self._chk_i = t
                if t == self._chk_end:
                    self._checked(True)
                else:
                    self._raw_at = ticks_ms()  # quiet counts from the last byte
            elif not self._next(h, t):
                return

    def _raw(self, h, t):
        # payload bytes buf[h:t] (or the first of them) go to the sink
        if self._skip_lf:  # the LF of the header line came in this read
            self._skip_lf = False
            if self.buf[h] == _LF:
                self._head = self._scan = h + 1
                return
        n = t - h
        if n > self._raw_left:
            n = self._raw_left
        self._head = self._scan = h + n
        self._raw_left -= n
        self._raw_sink(self._mv, h, n)  # no view of the piece: the sink copies at offsets
        if self._raw_check is not None:
            self._raw_at = ticks_ms()
        if self._raw_left:
            return
        # the payload ended: arm its framing check, tell its owner
        self._raw_sink = None
        t = self._raw_done  # (names reused: a local more would take the frame over
        self._raw_done = None  # the 11 words of the C stack, tools.bench.frames)
        chk = self._raw_check
        if chk is not None:
            self._raw_check = None
            self._chk = chk[0]
            self._chk_cb = chk[1]
            self._chk_pull = chk[2]
            self._chk_must = chk[3]
            self._chk_i = 0
            # Only a payload ending in CR LF can be one short by exactly 2 bytes (its
            # own line end taken as data): any other is checked on the bytes that must
            # come, and no quiet wait holds it back.
            if not chk[3] or n < 2 or self.buf[h + n - 2] == _CR and self.buf[h + n - 1] == _LF:
                self._chk_end = len(chk[0])
            else:
                self._chk_end = chk[3]
        if t:
            t()

    def _next(self, h, t):
        # what starts at h: a line end, a prompt, a line. False: wait for more bytes
        buf = self.buf
        c = buf[h]
        if self._discard:
            e = _eol(buf, h, t)
            if e < 0:
                self._head = self._scan = t
                return False
            self._discard = False
            self._head = self._scan = e
            return True
        if c == _LF or c == _CR:  # line ends and blank lines
            self._head = self._scan = h + 1
            self._skip_lf = False
            return True
        self._skip_lf = False
        if c == _GT and self.state == PROMPT:
            self.prompted = True
            self._head = self._scan = h + 1
            self._eat_space = True
            return True
        if c == _SPACE and self._eat_space:
            self._eat_space = False
            self._head = self._scan = h + 1
            return True
        self._eat_space = False
        e = self._scan
        e = _eol(buf, e if e > h else h, t)
        if self._inline and self._inline_at(h, t, e):
            return True
        if e < 0:
            if t == self._size:  # no line end and no room left
                if h == 0:
                    self._overflow()
                else:
                    self.rx_window()
                return True
            self._scan = t
            return False
        self._line.start = h
        self._line.end = e
        h = e + 1
        if buf[e] == _CR:
            # consume the LF of CRLF now, so a raw payload that follows starts clean
            if h < t:
                if buf[h] == _LF:
                    h += 1
            else:
                self._skip_lf = True
        self._head = self._scan = h
        self._dispatch(self._line)
        return True

    def _inline_at(self, h, t, e):
        # a header whose payload follows on its line (inline()): dispatched if found
        if e < 0:
            e = t
        i = 0
        while i < len(self._inline):  # (an index, not a for: see _match_final)
            p = self._inline[i]
            if t - h >= len(p[0]) and self.buf.startswith(p[0], h):
                i = h + len(p[0])
                i = self.buf.find(p[1], i, e)  # its terminator
                if i < 0:  # not on the line: an ordinary line
                    return False
                self._line.start = h
                self._line.end = i
                self._head = self._scan = i + 1
                self.urc_count += 1
                self._call(p[2], self._line)
                return True
            i += 1
        return False

    def _overflow(self):
        self._head = self._tail = self._scan = 0
        self._discard = True
        self.overflows += 1
        if self.state != IDLE:
            self._overflowed = True
        elif self.on_overflow:
            self.on_overflow()

    def _dispatch(self, line):
        if self.state != IDLE and self._for_command(line):
            return
        i = 0
        while i < len(self._urcs):  # (an index, not a for: see _match_final)
            u = self._urcs[i]
            if line.startswith(u[0]):
                self.urc_count += 1
                self._call(u[1], line)
                return
            i += 1
        if self.state != IDLE and self._resp is None and not self._foreign:
            self._take(line)
            return
        self.unknown += 1
        if self.on_unknown:
            self.on_unknown(line)

    def _for_command(self, line):
        # True if line belongs to the command in flight (and was taken)
        if not self.echo_seen:
            if line.equals(self._cmd):
                self.echo_seen = True  # ATE1 echo of our own command
                self._foreign = False
                return True
            if self.lines is _NO_LINES and not self._foreign and _is_echo(line) \
                    and not self._cmd.startswith(line.bytes()):  # not ours cut short
                # The echo of another command in front of our reply: a module that
                # was slow (booting, busy) answers a command the host already gave
                # up on; its result follows and is not ours (issue 19 item 2:
                # public users' captures, not our manuals). Drop up to that result.
                self._foreign = True
                return True
        if self._foreign:
            if line.equals(_OK) or _is_error(line):
                self._foreign = False
                return True
            return False
        if self._match_final(line):
            return True
        i = 0
        while i < len(self.detail_prefixes):
            if line.startswith(self.detail_prefixes[i]):
                self._detail = line.bytes()
                return True
            i += 1
        if self._resp is not None and line.startswith(self._resp):
            self._take(line)
            return True
        return False

    def _call(self, callback, line):
        # A URC garbled by line noise (a field missing, a number or text that does not
        # parse, a length no module sends) is dropped and counted: its handler's
        # ValueError or IndexError must not come out of the application's unrelated
        # call (fuzzing found these, host_tests/test_fuzz_regressions.py).
        try:
            callback(line)
        except (ValueError, IndexError) as e:
            self.bad_urcs += 1
            if self.on_bad_urc:
                self.on_bad_urc(line, e)

    def _take(self, line):
        if self._on_line:
            self._on_line(line)
        else:
            if self.lines is _NO_LINES:
                self.lines = []
            self.lines.append(line.bytes())


def _is_echo(line):
    """An echoed command line: "AT", "ATE0", "AT+CGMM" (no space: answers have one)."""
    if not line.startswith(b"AT"):
        return False
    return line.find(b" ") < 0


def _is_error(line):
    if line.startswith(b"+CME ERROR:"):
        return True
    for text in _ERRORS:
        if line.equals(text):
            return True
    return False


def _eol(buf, s, t):
    """Index of the first CR or LF in buf[s:t], or -1."""
    i = buf.find(b"\r", s, t)
    j = buf.find(b"\n", s, t if i < 0 else i)
    return i if j < 0 else j


def _match_linked(line, prefix):
    """prefix at the line start, or after a link number: "1, SEND OK", "DATA ACCEPT:1,65"."""
    if line.startswith(prefix):
        return True
    buf = line.buf
    i = line.start
    while i < line.end and 48 <= buf[i] <= 57:
        i += 1
    if i == line.start or i >= line.end or buf[i] != 44:  # digits then ','
        return False
    i += 1
    if i < line.end and buf[i] == _SPACE:
        i += 1
    return line.end - i >= len(prefix) and buf.startswith(prefix, i)


def _cme(line):
    """ATError from "+CME ERROR: 10" or "+CME ERROR: SIM not inserted"."""
    i = line.start + 11
    buf = line.buf
    while i < line.end and buf[i] == _SPACE:
        i += 1
    code = parse_int(buf, i, line.end, -1)
    kind = "CMS ERROR" if buf[line.start + 3] == 83 else "CME ERROR"  # the S of +CMS
    if code >= 0:
        return ATError(code, kind)
    return ATError(None, _text(buf, i, line.end))
