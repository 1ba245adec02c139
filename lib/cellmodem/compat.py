"""Shims so lib/ runs unchanged on MicroPython and CPython.

MicroPython has micropython.const and time.ticks_*; CPython has neither. Store is
io.BytesIO with MicroPython's stream calls that copy at an offset, write(buf, off, n)
and readinto(buf, n) (a C copy, no memoryview slice on the heap). CPython gets them
all from cellmodem._cpython, which a board never loads.
Usage: from cellmodem.compat import const, ticks_ms, ticks_diff, ticks_add, sleep_ms
"""
import time

try:
    from micropython import const
    from io import BytesIO as Store
except ImportError:  # CPython
    from cellmodem._cpython import const, Store

try:
    ticks_ms = time.ticks_ms
    ticks_diff = time.ticks_diff
    ticks_add = time.ticks_add
    sleep_ms = time.sleep_ms
except AttributeError:  # CPython: same wrap-around arithmetic as MicroPython's ticks
    from cellmodem._cpython import ticks_ms, ticks_diff, ticks_add, sleep_ms

try:
    from _thread import allocate_lock
except ImportError:  # a port built without threads
    allocate_lock = None
