"""Shims so lib/ runs unchanged on MicroPython and CPython.

MicroPython has micropython.const and time.ticks_*; CPython has neither. Store is
io.BytesIO with MicroPython's stream calls that copy at an offset, write(buf, off, n)
and readinto(buf, n) (a C copy, no memoryview slice on the heap); CPython's BytesIO
takes them through a subclass.
Usage: from cellmodem.compat import const, ticks_ms, ticks_diff, ticks_add, sleep_ms
"""
try:
    from micropython import const
    from io import BytesIO as Store
except ImportError:  # CPython
    from io import BytesIO

    def const(x):
        return x

    class Store(BytesIO):
        def __init__(self, size):  # MicroPython's BytesIO(n): n bytes of room
            super().__init__()

        def write(self, buf, off=0, n=None):
            mv = memoryview(buf)
            return super().write(mv[off:] if n is None else mv[off:off + n])

        def readinto(self, buf, n=None):
            return super().readinto(buf if n is None else memoryview(buf)[:n])

import time

try:
    ticks_ms = time.ticks_ms
    ticks_diff = time.ticks_diff
    ticks_add = time.ticks_add
    sleep_ms = time.sleep_ms
except AttributeError:  # CPython: same wrap-around arithmetic as MicroPython's ticks
    _PERIOD = const(1 << 30)
    _HALF = const(1 << 29)
    _mono = time.monotonic_ns

    def ticks_ms():
        return (_mono() // 1000000) & (_PERIOD - 1)

    def ticks_add(t, delta):
        return (t + delta) % _PERIOD

    def ticks_diff(a, b):
        return ((a - b + _HALF) % _PERIOD) - _HALF

    def sleep_ms(ms):
        time.sleep(ms / 1000)

try:
    from _thread import allocate_lock
except ImportError:  # a port built without threads
    allocate_lock = None

