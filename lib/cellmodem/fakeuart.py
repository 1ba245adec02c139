"""An in-memory UART for tests and the simulator: runs on MicroPython and CPython.

The host side looks like machine.UART (write, readinto, any); the modem side
feeds bytes in with feed() and sees what the host wrote through on_write or take().
Delivery can be cut into small pieces to prove the parser copes with fragments.

Usage:
    uart = FakeUART(chunk=1)            # every readinto returns at most 1 byte
    uart.on_write = lambda b: uart.feed(b"\\r\\nOK\\r\\n")
"""
from cellmodem.compat import allocate_lock, sleep_ms

_EIO = 5  # errno.EIO (Linux and MicroPython)


class FakeUART:
    """A fake serial port.

    chunk: None (deliver all that is waiting), an int (at most that many bytes per
    readinto), a (lo, hi, seed) tuple: seeded pseudo-random sizes in [lo, hi], or a
    list of sizes used once each, in order, before delivery becomes unlimited.
    """

    def __init__(self, chunk=None):
        self._rx = bytearray()  # modem -> host; bytes before _pos were read already
        self._pos = 0
        self.tx = bytearray()  # everything the host wrote, in order
        self._taken = 0
        self.on_write = None  # modem side: called with each write's bytes
        self.closed = False
        self.gone = False  # hangup(): the device went away
        self._lock = allocate_lock() if allocate_lock else None
        self.set_chunk(chunk)

    def set_chunk(self, chunk):
        self._lo = self._hi = 0
        self._sizes = None
        if isinstance(chunk, list):
            self._sizes = chunk[:]
        elif isinstance(chunk, int):
            self._lo = self._hi = chunk
        elif chunk:
            self._lo, self._hi, self._seed = chunk[0], chunk[1], (chunk[2] & 0x7FFFFFFF) or 1

    def _next_size(self):
        if self._lo == self._hi:
            return self._lo
        # Park-Miller LCG: reproducible on both interpreters, no random module needed
        self._seed = (self._seed * 48271) % 0x7FFFFFFF
        return self._lo + self._seed % (self._hi - self._lo + 1)

    # ---- host side (what the library sees) ----
    def write(self, buf):
        if self.gone:
            raise OSError(_EIO, "Input/output error")
        data = bytes(buf)
        self.tx.extend(data)
        cb = self.on_write
        if cb:
            cb(data)
        return len(data)

    def readinto(self, buf, nbytes=None):
        if self.gone:
            raise OSError(_EIO, "Input/output error")
        lock = self._lock
        if lock:
            lock.acquire()
        try:
            pos = self._pos
            n = len(self._rx) - pos
            if not n:
                return None
            if nbytes is not None and nbytes < n:
                n = nbytes
            if len(buf) < n:
                n = len(buf)
            if self._sizes:
                k = self._sizes.pop(0)
                if k < n:
                    n = k
            elif self._lo:
                k = self._next_size()
                if k < n:
                    n = k
            buf[0:n] = memoryview(self._rx)[pos:pos + n]
            pos += n
            if pos == len(self._rx):
                self._rx = bytearray()  # MicroPython's bytearray has no slice deletion
                pos = 0
            elif pos > 16384:  # a long stream that is never fully drained
                self._rx = self._rx[pos:]
                pos = 0
            self._pos = pos
            return n
        finally:
            if lock:
                lock.release()

    def any(self):
        return len(self._rx) - self._pos

    def wait(self, ms):
        """Block up to ms milliseconds for input; True when some is waiting."""
        while self.any() <= 0 and ms > 0:  # another thread (the simulator) may feed us
            sleep_ms(1)
            ms -= 1
        return self.any() > 0

    def close(self):
        self.closed = True

    def hangup(self):
        """The device goes away, as a USB serial adapter unplugged: every later read
        and write raises OSError(EIO)."""
        self.gone = True

    def __repr__(self):
        return "FakeUART"  # what a port error names (no address: the same in both interpreters)

    # ---- modem side (what a script or the simulator drives) ----
    def feed(self, data):
        """Queue bytes for the host to read."""
        lock = self._lock
        if lock:
            lock.acquire()
        self._rx.extend(data)
        if lock:
            lock.release()

    def take(self):
        """Bytes the host wrote since the last take()."""
        data = bytes(self.tx[self._taken:])
        self._taken = len(self.tx)
        return data


class Responder:
    """A scripted modem on a FakeUART, for tests and the placeholder demo.

    Steps, in order:
      (cmd, reply)                  the host sends cmd (bytes, no CR): queue reply
      (cmd, prompt, n, reply)       queue prompt, take n payload bytes, then queue reply
      (None, reply)                 queue reply at once (a banner, a URC)
    Payloads taken after prompts are kept in .payloads; the first command that does
    not match the script is kept in .mismatch as (got, expected).
    Usage: Responder(uart, [(b"AT", b"\r\nOK\r\n")])
    """

    def __init__(self, uart, steps):
        self.uart = uart
        self.steps = list(steps)
        self.pending = b""
        self.payloads = []
        self.mismatch = None
        self._payload = None  # (bytes still wanted, reply after them)
        uart.on_write = self._on_write
        self._run_immediate()

    def _run_immediate(self):
        while self.steps and self.steps[0][0] is None:
            self.uart.feed(self.steps.pop(0)[1])

    def _on_write(self, data):
        self.pending += data
        while True:
            if self._payload:
                want, reply = self._payload
                if len(self.pending) < want:
                    return
                self.payloads.append(self.pending[:want])
                self.pending = self.pending[want:]
                self._payload = None
                self.uart.feed(reply)
                self._run_immediate()
                continue
            i = self.pending.find(b"\r")
            if i < 0:
                return
            cmd = self.pending[:i]
            self.pending = self.pending[i + 1:]
            if not self.steps or self.steps[0][0] != cmd:
                if self.mismatch is None:
                    self.mismatch = (cmd, self.steps[0][0] if self.steps else None)
                continue
            step = self.steps.pop(0)
            self.uart.feed(step[1])
            if len(step) == 4:
                self._payload = (step[2], step[3])
            else:
                self._run_immediate()
