"""Transports: an in-process FakeUART, or a pseudo terminal another process opens.

Both directions can be paced at a baud rate. A UART frame is 10 bits (start, 8 data,
stop), so 115200 baud moves 11520 bytes per second. Pacing keeps a running schedule
(each piece is released when the line would have finished shifting it out), so long
transfers do not accumulate sleep overshoot: 100 KiB at 115200 takes 8.89 s.
"""
import os
import select
import threading
import time
import tty


class Pacer(threading.Thread):
    """Delivers queued bytes to sink(bytes) in order, at `baud` (None: unpaced).

    Queue items are bytes, or a float: a pause in seconds (delay/chunk faults).
    """

    def __init__(self, sink, baud=None, name="modemsim-pacer"):
        super().__init__(name=name, daemon=True)
        self.sink = sink
        self.bps = baud / 10.0 if baud else None
        self.q = []
        self.cv = threading.Condition()
        self.stopped = False
        self.idle = threading.Event()
        self.idle.set()
        self._due = 0.0

    def put(self, item):
        with self.cv:
            self.q.append(item)
            self.idle.clear()
            self.cv.notify()

    def stop(self):
        with self.cv:
            self.stopped = True
            self.cv.notify()

    def wait_idle(self, timeout=None):
        return self.idle.wait(timeout)

    def run(self):
        while True:
            with self.cv:
                while not self.q and not self.stopped:
                    self.idle.set()
                    self.cv.wait()
                if self.stopped:
                    return
                item = self.q.pop(0)
                # merge adjacent byte pieces when unpaced: fewer sink calls
                if self.bps is None and isinstance(item, bytes):
                    while self.q and isinstance(self.q[0], bytes):
                        item += self.q.pop(0)
            if isinstance(item, float):
                time.sleep(item)
                self._due = time.monotonic()
                continue
            if self.bps is None:
                self._send(item)
                continue
            # paced: slices of ~5 ms of line time so the receiver sees a trickle
            step = max(1, int(self.bps / 200))
            now = time.monotonic()
            if self._due < now:
                self._due = now  # line was idle: the schedule restarts now
            for i in range(0, len(item), step):
                piece = item[i:i + step]
                self._due += len(piece) / self.bps
                d = self._due - time.monotonic()
                if d > 0:
                    time.sleep(d)
                self._send(piece)

    def _send(self, data):
        try:
            self.sink(data)
        except Exception:
            pass


def attach_fakeuart(sim, uart, baud=None, chunk=None):
    """Connect sim to a cellmodem.fakeuart.FakeUART and power the modem on."""
    if chunk is not None:
        uart.set_chunk(chunk)
    out = Pacer(uart.feed, baud, "modemsim-out")
    out.start()
    sim._out = out.put
    sim._pacer = out
    if baud:
        inp = Pacer(sim.receive, baud, "modemsim-in")
        inp.start()
        uart.on_write = inp.put
        sim._in_pacer = inp
    else:
        uart.on_write = sim.receive
    sim.transport = _FakeTransport(uart, out, getattr(sim, "_in_pacer", None))
    sim.start()


class _FakeTransport:
    def __init__(self, uart, out, inp):
        self.uart = uart
        self.out = out
        self.inp = inp

    def close(self):
        self.out.stop()
        if self.inp:
            self.inp.stop()
        self.uart.on_write = None

    def hangup(self):
        self.close()
        self.uart.hangup()  # its reads and writes raise OSError(EIO) from now on


class PtyTransport:
    """The modem on a pseudo terminal in raw mode; self.path is the device to open."""

    def __init__(self, sim, baud=None):
        self.sim = sim
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.stopped = False
        self.closed = False
        self._closing = threading.Lock()
        self.out = Pacer(self._write, baud, "modemsim-pty-out")
        self.out.start()
        self.inp = None
        if baud:
            self.inp = Pacer(sim.receive, baud, "modemsim-pty-in")
            self.inp.start()
        sim._out = self.out.put
        sim._pacer = self.out
        sim.transport = self
        self.reader = threading.Thread(target=self._read, name="modemsim-pty-in", daemon=True)
        self.reader.start()
        sim.start()

    def _write(self, data):
        view = memoryview(data)
        while view and not self.stopped:
            try:
                n = os.write(self.master, view)
            except BlockingIOError:
                time.sleep(0.001)
                continue
            except OSError:
                return
            view = view[n:]

    def _read(self):
        # We keep our copy of the slave fd open, so reading the master does not fail
        # with EIO while no client has the device open. The master is polled with a
        # timeout, so close() finds this thread outside os.read and can close the fds
        # at once (a blocked read would keep the pty alive behind a closed fd).
        poller = select.poll()
        poller.register(self.master, select.POLLIN)
        while not self.stopped:
            try:
                if not poller.poll(50):
                    continue
                if self.stopped:
                    return
                data = os.read(self.master, 4096)
            except OSError:
                if self.stopped:
                    return
                time.sleep(0.05)
                continue
            if not data:
                time.sleep(0.01)
                continue
            if self.inp:
                self.inp.put(data)
            else:
                self.sim.receive(data)

    def close(self):
        with self._closing:
            if self.closed:
                return
            self.closed = True
            self.stopped = True
            self.out.stop()
            if self.inp:
                self.inp.stop()
            if threading.current_thread() is not self.reader:
                self.reader.join(2)  # out of its poll: no thread holds the master
            for fd in (self.master, self.slave):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def hangup(self):
        """Both ends close: the host's fd reads end of file (POLLHUP), writes fail
        with EIO, as for a USB serial device that was unplugged."""
        self.close()
