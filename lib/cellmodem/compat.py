"""Shims so lib/ runs unchanged on MicroPython and CPython.

MicroPython has micropython.const and time.ticks_*; CPython has neither.
Usage: from cellmodem.compat import const, ticks_ms, ticks_diff, ticks_add, sleep_ms
"""
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

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
