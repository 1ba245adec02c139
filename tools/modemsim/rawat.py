"""A tiny raw AT client for simulator tests (CPython only, not the cellmodem library).

    at = RawAT(uart)                       # a FakeUART the simulator is attached to
    at.wait_line("SMS Ready")              # power-on banner
    lines = at.cmd("AT+CSQ")               # -> ['+CSQ: 20,99', 'OK'] (echo dropped)
    at.cmd("AT+CASEND=0,5", until=b">")    # stops at the prompt
    at.write(b"hello")
    at.wait_line("OK")
    at.expect(b"+CARECV: ")                # byte level: skip to a marker
    n = int(at.read_until(b","))           # read up to a delimiter
    payload = at.read_exact(n)

Everything read is kept in one byte buffer, so line and byte level calls mix freely.
Lines seen while waiting for something else land in self.seen (URCs, mostly).
"""
import re
import time

FINAL_RE = re.compile(rb"^(OK|ERROR|\+CME ERROR: .*|\+CMS ERROR: .*|NO CARRIER|"
                      rb"CONNECT.*|SEND OK|SEND FAIL|CLOSE OK|SHUT OK|NO ANSWER|BUSY)$")


_EOL = re.compile(rb"\r\n|\r(?!\n|$)|\n")


class Timeout(AssertionError):
    pass


class RawAT:
    def __init__(self, uart, timeout=5.0, final_re=FINAL_RE):
        self.uart = uart
        self.timeout = timeout
        self.buf = bytearray()
        self.seen = []  # lines read but not returned to anybody
        self.final_re = final_re
        self._tmp = bytearray(4096)

    # ---- byte level
    def write(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.uart.write(data)

    def _fill(self, deadline):
        n = self.uart.readinto(self._tmp)
        if n:
            self.buf += self._tmp[:n]
            return True
        if time.monotonic() > deadline:
            raise Timeout("timed out; unread: %r; seen: %r" % (bytes(self.buf[-200:]),
                                                              self.seen[-10:]))
        time.sleep(0.0005)
        return False

    def _deadline(self, timeout):
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    def read_exact(self, n, timeout=None):
        dl = self._deadline(timeout)
        while len(self.buf) < n:
            self._fill(dl)
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_until(self, delim, timeout=None):
        """Bytes before delim (delim consumed, not returned)."""
        dl = self._deadline(timeout)
        while True:
            i = self.buf.find(delim)
            if i >= 0:
                data = bytes(self.buf[:i])
                del self.buf[:i + len(delim)]
                return data
            self._fill(dl)

    def expect(self, marker, timeout=None):
        """Skip to just after marker; returns the bytes skipped."""
        return self.read_until(marker, timeout)

    def drain(self, quiet=0.05):
        """Read everything until the line is quiet for `quiet` seconds."""
        end = time.monotonic() + quiet
        while time.monotonic() < end:
            n = self.uart.readinto(self._tmp)
            if n:
                self.buf += self._tmp[:n]
                end = time.monotonic() + quiet
            else:
                time.sleep(0.001)
        data = bytes(self.buf)
        self.buf.clear()
        return data

    # ---- line level
    def read_line(self, timeout=None):
        """Next non-empty line (without CR LF). A lone CR also ends a line (echo)."""
        dl = self._deadline(timeout)
        while True:
            m = _EOL.search(self.buf)
            if m:
                line = bytes(self.buf[:m.start()])
                del self.buf[:m.end()]
                if line:
                    return line.decode("latin-1")
                continue
            self._fill(dl)

    def wait_line(self, want, timeout=None):
        """Read lines until one matches `want` (str prefix, or compiled regex)."""
        dl = self._deadline(timeout)
        while True:
            line = self.read_line(max(0.0, dl - time.monotonic()))
            if _match(want, line):
                return line
            self.seen.append(line)

    def cmd(self, line, until=None, timeout=None, echo=True):
        """Send `line` + CR and return the response lines up to and including the
        final result (or up to `until`: a str/regex line, or a bytes prompt like b">").
        The echo of the command is dropped. Lines that look like nothing we asked for
        still come back: callers filter URCs themselves."""
        self.write(line + "\r")
        dl = self._deadline(timeout)
        out = []
        while True:
            if isinstance(until, bytes):
                i = self.buf.find(until)
                m = _EOL.search(self.buf)
                if i >= 0 and (m is None or m.start() >= i):
                    ln = bytes(self.buf[:i]).strip(b"\r\n")
                    if ln:
                        out.append(ln.decode("latin-1"))
                    del self.buf[:i + len(until)]
                    return out
                if m is None:
                    self._fill(dl)
                    continue
                ln = bytes(self.buf[:m.start()]).decode("latin-1")
                del self.buf[:m.end()]
                if not ln:
                    continue
            else:
                ln = self.read_line(max(0.0, dl - time.monotonic()))
            if echo and ln == line:
                continue
            out.append(ln)
            if until is not None and not isinstance(until, bytes) and _match(until, ln):
                return out
            if self.final_re.match(ln.encode("latin-1")):
                return out

    def ok(self, line, timeout=None):
        """cmd() that must end in OK; returns the lines before OK."""
        out = self.cmd(line, timeout=timeout)
        if out[-1] != "OK":
            raise AssertionError("%s -> %r" % (line, out))
        return out[:-1]


def _match(want, line):
    if hasattr(want, "search"):
        return want.search(line) is not None
    return line.startswith(want)
