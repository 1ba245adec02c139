"""Serial ports for unix MicroPython and CPython: a USB modem or the simulator's pty.

On a board, pass machine.UART(...) to the library directly; this module is for
hosts. The same open_serial() works on both interpreters: the tty is put in raw
mode with VMIN=0 and VTIME=0, so readinto returns what is waiting (MicroPython's
unix file readinto would otherwise block until the buffer is full).

Usage: from cellmodem.ports import open_serial; port = open_serial("/dev/ttyUSB0", 115200)
"""
import os
import select
import termios

from cellmodem.compat import const

# Linux errno numbers (MicroPython's errno has no ENOTTY, ENXIO or EBUSY) and what
# they mean for a serial port, the same words in both interpreters.
_EIO = const(5)
_ENOTTY = const(25)
# poll events of a device that hung up (POLLERR | POLLHUP; the same in both interpreters)
_GONE = select.POLLERR | select.POLLHUP
_WHY = {2: "no such file (is the modem plugged in? ls /dev/ttyUSB* /dev/ttyACM*)",
        6: "no such device", 13: "permission denied (is the user in the dialout group?)",
        16: "busy (another program has it open)", 19: "no such device",
        21: "is a directory"}

# Linux termios indices (MicroPython's termios module does not export them).
_CC = const(6)
_VTIME = const(5)
_VMIN = const(6)
_ISPEED = const(4)
_OSPEED = const(5)


class SerialPort:
    """A raw tty: write(buf), readinto(buf) -> count (0 when nothing waits), any(),
    wait(ms) -> True when input is waiting, close(); .path is the device, .stream
    the open tty file (for a poller: asyncio waits on it).
    readinto() raises OSError(EIO, "port closed: <path>") once the device hung up (a
    USB modem unplugged, the other end of a pty closed): its reads would only say 0."""

    def __init__(self, path, baud=115200):
        if not isinstance(path, str):
            raise TypeError("path must be a str, not %s" % type(path).__name__)
        if not isinstance(baud, int) or isinstance(baud, bool):
            raise TypeError("baud must be an int, not %s" % type(baud).__name__)
        self.path = path
        err = None
        try:
            if hasattr(os, "open"):  # CPython: O_NOCTTY so the modem never becomes our terminal
                fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
                os.set_blocking(fd, True)
                self._f = os.fdopen(fd, "r+b", buffering=0)
            else:  # MicroPython unix: files are unbuffered
                self._f = open(path, "r+b")
        except OSError as e:
            err = _errno(e)
        if err is not None:  # raised here, not in the except: one error, naming the path
            raise OSError(err, "cannot open %s: %s" % (path, _WHY.get(err, "error %d" % err)))
        self.fd = self._f.fileno()
        self.stream = self._f  # the tty file, pollable: cellmodem.aio's reader waits on it
        try:
            if hasattr(termios, "setraw"):  # MicroPython
                termios.setraw(self.fd)
            else:
                import tty  # CPython's raw-mode helper
                tty.setraw(self.fd)
            attrs = termios.tcgetattr(self.fd)
        except Exception as e:  # OSError on MicroPython, termios.error on CPython
            err = _errno(e)
        if err is not None:
            self._f.close()
            if err == _ENOTTY:
                raise OSError(err, "%s is not a tty (a serial device or pty)" % path)
            raise OSError(err, "cannot set %s to raw mode: error %d" % (path, err))
        attrs[_CC][_VMIN] = 0
        attrs[_CC][_VTIME] = 0
        speed = getattr(termios, "B%d" % baud, None)
        if speed is None:
            raise ValueError("unsupported baud rate %d" % baud)
        attrs[_ISPEED] = attrs[_OSPEED] = speed
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        self._poll = select.poll()
        self._poll.register(self._f, select.POLLIN)
        self._ipoll = hasattr(self._poll, "ipoll")

    def write(self, buf):
        return self._f.write(buf)

    def readinto(self, buf):
        if not len(buf):
            return 0
        n = self._f.readinto(buf)
        if not n and self._hung_up():  # end of file: the device went away
            raise OSError(_EIO, "port closed: %s" % self.path)
        return n or 0

    def _hung_up(self):
        if self._ipoll:  # MicroPython: an iterator over a reused tuple, no list
            for ev in self._poll.ipoll(0):
                return ev[1] & _GONE
            return False
        for ev in self._poll.poll(0):
            return ev[1] & _GONE
        return False

    def wait(self, ms):
        if self._ipoll:
            for _ in self._poll.ipoll(ms):
                return True
            return False
        return bool(self._poll.poll(ms))

    def any(self):
        return 1 if self.wait(0) else 0

    def fileno(self):
        return self.fd

    def close(self):
        self._f.close()


def _errno(e):
    n = e.args[0] if e.args else None
    return n if isinstance(n, int) else -1


def open_serial(path, baud=115200):
    """Open a serial device or pty in raw mode. Raises OSError(errno, text naming the
    path) if it cannot be opened or is not a tty (ENOTTY), ValueError for a baud rate
    the host does not know."""
    return SerialPort(path, baud)
