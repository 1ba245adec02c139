"""The blocking face of the AT engine: each call pumps the port until it is done.

Usage:
    from cellmodem.at import AT
    at = AT(uart)                                  # machine.UART, open_serial(...), FakeUART
    at.command("AT+CSQ", resp=b"+CSQ:")            # -> [b"+CSQ: 20,99"]
    at.send_data("AT+CASEND=0,5", b"hello")        # command, "> ", payload, final result
    at.poll()                                      # dispatch URCs that arrived meanwhile
"""
from cellmodem.compat import ticks_ms, ticks_diff, ticks_add, sleep_ms
from cellmodem.engine import Engine, RAW_STALL_MS
from cellmodem.errors import ATTimeout
from cellmodem.timeouts import BASE_TIMEOUTS, DEFAULT_TIMEOUT, command_name


def _refuse(kind, value, what="timeout"):
    # the TypeError/ValueError for a bad argument (its messages load only then)
    from cellmodem._rare import refuse
    refuse(kind, value, what)


class AT:
    """A modem's command channel over a port. Every time here is in milliseconds.

    port: an object with write(buf) and readinto(buf) -> count or None; optional
    any() and wait(ms). rxbuf: receive buffer size in bytes (the longest line).
    idle: callback() run while a call waits (feed a watchdog here).
    Raises TypeError for a port without write/readinto.

    A port that fails (OSError such as EIO from a USB modem unplugged, a pty whose
    other end went away, or the port closed by the program) ends the command in
    flight, and that call and every later one raise OSError(EIO, "port closed:
    <path>") before touching the port again.
    """

    def __init__(self, port, rxbuf=1024, idle=None):
        if not (hasattr(port, "write") and hasattr(port, "readinto")):
            _refuse("uart", port, "port")
        self.port = port
        self.closed = None  # once the port failed: the text every call raises with
        self.engine = Engine(rxbuf)
        self.idle = idle
        self.timeouts = dict(BASE_TIMEOUTS)
        self._tmo = []  # timeouts' names as (bytes, key), rebuilt when the table grows
        self._tcmd = None  # the last command timeout_for() saw, and its key there
        self._tkey = None
        self._trace = None
        self._secrets = []  # bytes the trace never shows (secret())
        self._wait = getattr(port, "wait", None)

    # URC table, straight through to the engine
    def urc(self, prefix, callback):
        self.engine.urc(prefix, callback)

    def inline(self, prefix, terminator, callback):
        self.engine.inline(prefix, terminator, callback)

    def remove_urc(self, prefix):
        self.engine.remove_urc(prefix)

    @property
    def trace(self):
        return self._trace

    @trace.setter
    def trace(self, fn):
        """fn(direction, data, ticks_ms): every byte written (b">") and read (b"<"),
        with each secret (passwords, see secret()) replaced by b"***"."""
        self._trace = fn
        self.engine.trace = self._redacted if fn else None

    def secret(self, value):
        """Keep value (a password, a token) out of the trace: it shows as ***."""
        if value:
            v = value.encode() if isinstance(value, str) else bytes(value)
            if len(v) >= 3 and v not in self._secrets:  # 1-2 bytes would mask anything
                self._secrets.append(v)

    def _redacted(self, direction, data, ms):
        for v in self._secrets:
            if v in data:
                data = data.replace(v, b"***")
        self._trace(direction, data, ms)

    def timeout_for(self, cmd):
        """Maximum response time in ms for cmd, from the per-command table."""
        if cmd is not self._tcmd or len(self._tmo) != len(self.timeouts):
            # a new command: found in the table (the stream commands a dialect
            # repeats are one object each, Dialect.command_for, so this runs once)
            self._tkey = self._timeout_key(cmd)
            # (a bytearray may change under the same identity: not kept)
            self._tcmd = cmd if isinstance(cmd, (bytes, str)) else None
        return self.timeouts.get(self._tkey, DEFAULT_TIMEOUT)

    def _timeout_key(self, cmd):
        if isinstance(cmd, str):
            return command_name(cmd)
        # bytes: matched in place against the table's names, no allocation per command
        table = self._tmo
        if len(table) != len(self.timeouts):
            # (bytes name, key): the value is read from the table at each use, so a
            # changed limit counts at once; only added names rebuild this
            table = self._tmo = [(k.encode(), k) for k in self.timeouts]
        start = 2 if len(cmd) > 1 and cmd[0] | 0x20 == 0x61 and cmd[1] | 0x20 == 0x74 else 0
        end = len(cmd)
        for sep in (b"=", b"?"):
            i = cmd.find(sep, start)
            if 0 <= i < end:
                end = i
        for name, key in table:
            if len(name) == end - start and cmd.startswith(name, start):
                return key
        return None

    # ---- the port failing ----
    def port_failed(self, exc=None):
        """The OSError(EIO, "port closed: <path>") to raise for a port that failed (exc:
        its OSError, or ValueError - both interpreters' I/O on a closed file): ends the
        command in flight, and every later call raises the same text."""
        from cellmodem._rare import port_closed
        return port_closed(self)

    # ---- I/O ----
    def write(self, data, eol=None):
        """Write all of data to the port (loops over partial writes), then eol (a
        command line's end) if given: the trace sees the two as one event, one line.
        OSError(EIO, "port closed: ...") if the port failed, now or before."""
        if self.closed is not None:
            raise self.port_failed()
        port = self.port
        part = data
        try:  # only the port's own calls: a gate's ModemOff/InDataMode pass through
            while part is not None:
                n = len(part)
                w = port.write(part)
                if w is None or w < n:  # partial write: the rest through a view (rare)
                    mv = memoryview(part)
                    i = w or 0
                    while i < n:
                        w = port.write(mv[i:])
                        if w is None:  # non-blocking port with a full buffer
                            w = 0
                            sleep_ms(1)
                        i += w
                part = eol if part is data else None
        except (OSError, ValueError) as e:
            raise self.port_failed(e)
        if self.engine.trace:  # after the write: a port that refuses it (a gate) sent nothing
            self.engine.trace(b">", bytes(data) + eol if eol else bytes(data), ticks_ms())

    def poll(self, timeout_ms=0):
        """Read what the port has and dispatch it, waiting up to timeout_ms (int, ms)
        for the first byte. Returns True if anything was read. OSError(EIO, "port
        closed: ...") if the port failed, now or before."""
        if self.closed is not None:
            raise self.port_failed()
        if type(timeout_ms) is not int:  # (the library's own calls pass ints)
            _refuse("millis", timeout_ms, "timeout_ms")
        eng = self.engine
        got = False
        deadline = None
        while True:
            n = self._read()
            if n:
                got = True
                eng.rx_commit(n)
                eng.process()
                if eng.paused:  # data mode began: the rest is the data socket's to read
                    return True
                continue
            eng.process()  # a full buffer with no line end is resolved here (overflow)
            if got or timeout_ms <= 0:
                return got
            if deadline is None:
                deadline = ticks_add(ticks_ms(), timeout_ms)
            left = ticks_diff(deadline, ticks_ms())
            if left <= 0:
                return False
            if self._wait:
                self._wait(left if left < 10 else 10)
            else:
                sleep_ms(1)

    def _read(self):
        # One read into the engine's window. Its own method: the try's frame words
        # would take poll's frame over the 11 words MicroPython keeps on the C stack
        # (tools.bench.frames), and poll runs several times per piece of payload.
        try:  # only the port's own call: an error from a handler is not the port's
            return self.port.readinto(self.engine.rx_window())
        except (OSError, ValueError):
            raise self.port_failed()

    def wait_until(self, cond, timeout_ms, what="event", cmd=None):
        """Pump the port until cond() is true; ATTimeout after timeout_ms (int, ms)."""
        if type(timeout_ms) is not int:
            _refuse("millis", timeout_ms, "timeout_ms")
        deadline = ticks_add(ticks_ms(), timeout_ms)
        while not cond():
            left = ticks_diff(deadline, ticks_ms())
            if left <= 0:
                raise ATTimeout(cmd, timeout_ms, what)
            if self.idle:
                self.idle()
            self.poll(left if left < 20 else 20)
        return True

    # ---- commands ----
    def _start(self, cmd, resp, finals, ok_final, on_line, prompt, eol=b"\r"):
        if isinstance(cmd, str):
            cmd = cmd.encode()
        self.poll()  # dispatch URCs already waiting, so they are not read as our answer
        eng = self.engine
        if eng.in_raw:
            # A counted payload is still arriving: a command written now would have its
            # echo, "> " or result taken as payload if this one was cut short (a lost
            # "> " left the module waiting for data, every later command eaten as it).
            # The module writes a payload in one piece, so it ends or stalls soon; one
            # never checked (no frame()) is given up after the same stall time.
            deadline = ticks_add(ticks_ms(), RAW_STALL_MS + 1000)
            while eng.in_raw and ticks_diff(deadline, ticks_ms()) > 0:
                self.poll(20)
            if eng.in_raw:
                eng.abort(None)
        eng.begin(cmd, resp, finals, ok_final, on_line, prompt)
        self.write(cmd, eol)
        return cmd

    def _pump(self, cmd, timeout, prompt):
        """Pump the port until the command is done (or, with prompt, has its "> ");
        on timeout abort it and raise ATTimeout. No allocation while it waits."""
        deadline = ticks_add(ticks_ms(), timeout)
        while not (self.engine.done or prompt and self.engine.prompted):
            left = ticks_diff(deadline, ticks_ms())
            if left <= 0:
                # (left holds the error: a local more would take this frame over the
                # 11 words MicroPython keeps on the C stack, tools.bench.frames)
                left = ATTimeout(cmd.decode(), timeout, "prompt" if prompt else "final result")
                self.engine.abort(left)
                raise left
            if self.idle:
                self.idle()
            self.poll(left if left < 20 else 20)

    def _finish(self, cmd, timeout):
        eng = self.engine
        self._pump(cmd, timeout, False)
        if eng.error is not None:
            raise eng.error
        return eng.lines

    def command(self, cmd, resp=None, timeout=None, finals=None, ok_final=True, on_line=None):
        """Send cmd (str or bytes, no CR) and wait for its final result.

        Returns the response lines (bytes; with resp, only those starting with it).
        Raises ATError with the modem's code and text, ATTimeout after timeout ms
        (an int; default: the command's maximum response time from the table),
        OSError(EIO, "port closed: ...") if the port failed; TypeError for a timeout
        that is no int (nothing sent).
        """
        if timeout is not None and type(timeout) is not int:
            _refuse("millis", timeout)
        cmd = self._start(cmd, resp, finals, ok_final, on_line, False)
        return self._finish(cmd, timeout or self.timeout_for(cmd))

    def send_data(self, cmd, data, finals=None, ok_final=True, resp=None, timeout=None,
                  prompt_timeout=None, on_line=None, eol=b"\r"):
        """Send cmd, wait for the data prompt, write data, wait for the final result.

        eol: what ends the command line (a module that would take the LF of a CR LF
        as payload wants CR; one that swallows a payload's leading LF wants CR LF).
        Returns the response lines; engine.final holds the final result line.
        Raises ATError if the modem refuses before the prompt, ATTimeout if no prompt
        within prompt_timeout ms (default 5000) or no result within timeout ms (ints).
        """
        if timeout is not None and type(timeout) is not int:
            _refuse("millis", timeout)
        if prompt_timeout is not None and type(prompt_timeout) is not int:
            _refuse("millis", prompt_timeout, "prompt_timeout")
        eng = self.engine
        cmd = self._start(cmd, resp, finals, ok_final, on_line, True, eol)
        short = eng.short_payloads
        try:
            self._pump(cmd, prompt_timeout or 5000, True)
        except ATTimeout:
            if eng.short_payloads != short:
                # A pushed payload cut short came between the command and its "> " and
                # took the prompt as payload. The module waits for exactly len(data)
                # bytes: every send the dialects make names its length, and ESC
                # cancels only the variable-length form (7600 CIPSEND L1105 NOTE:
                # "Single <ESC> is used to cancel" where <length> is empty), so ESC
                # would be payload. Quectel's fixed-length AT+QISEND=<id>,<len> has
                # no cancel and no input time (family's public behaviour: our UG
                # manual stops before 2.7); SIM7080 AT+CASEND waits <inputtime>, 5000
                # ms by default (7080 manual CASEND). Writing the data is the one way
                # out that the peer sees no wrong byte from.
                eng.begin(cmd, resp, finals, ok_final, on_line, False)
                self.write(data)
                return self._finish(cmd, timeout or self.timeout_for(cmd))
            # The modem may still be waiting for payload: ESC cancels the data mode
            # (SIMCom, Quectel, Yuge manuals: "ESC to cancel sending").
            self.write(b"\x1b")
            raise
        if not eng.done:
            eng.data_sent()
            self.write(data)
        return self._finish(cmd, timeout or self.timeout_for(cmd))
