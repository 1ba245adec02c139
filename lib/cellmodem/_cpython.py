"""What MicroPython has built in and CPython lacks, for cellmodem.compat on CPython
(the tests, a desktop): micropython.const, time.ticks_*/sleep_ms with MicroPython's
wrap-around arithmetic, and io.BytesIO's stream calls that copy at an offset. Never
imported on MicroPython, so a board spends no heap on it (its code in compat.py was
loaded there with the module, unused).
Usage: from cellmodem._cpython import const, Store  # (compat does this)
"""
import time
from io import BytesIO

_PERIOD = 1 << 30
_HALF = 1 << 29
_mono = time.monotonic_ns


def const(x):
    return x


def ticks_ms():
    return (_mono() // 1000000) & (_PERIOD - 1)


def ticks_add(t, delta):
    return (t + delta) % _PERIOD


def ticks_diff(a, b):
    return ((a - b + _HALF) % _PERIOD) - _HALF


def sleep_ms(ms):
    time.sleep(ms / 1000)


class Store(BytesIO):
    """io.BytesIO with MicroPython's BytesIO(n), write(buf, off, n), readinto(buf, n)."""

    def __init__(self, size):  # n bytes of room on MicroPython: nothing to do here
        super().__init__()

    def write(self, buf, off=0, n=None):
        mv = memoryview(buf)
        return super().write(mv[off:] if n is None else mv[off:off + n])

    def readinto(self, buf, n=None):
        return super().readinto(buf if n is None else memoryview(buf)[:n])
