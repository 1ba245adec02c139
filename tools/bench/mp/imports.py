"""Heap taken by importing modules from .mpy, after gc.collect() (MicroPython).

Run: imports.py <module> [<module> ...]  Prints "IMPORT <bytes>" for all of them
together, then "MODULE <name> <bytes>" per module in order (each after the ones
before it).
"""
import gc
import sys

gc.collect()
start = gc.mem_alloc()
prev = start
rows = []
for name in sys.argv[1:]:
    __import__(name)
    gc.collect()
    now = gc.mem_alloc()
    rows.append((name, now - prev))
    prev = now
print("IMPORT", prev - start)
for name, n in rows:
    print("MODULE", name, n)
