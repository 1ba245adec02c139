"""MicroPython only: parsing URC lines in steady state allocates no heap.

Fills the engine's buffer directly (as readinto would) with 100 URC lines and
measures gc.mem_alloc() around process(); the handler parses a number in place.
"""
import gc

from cellmodem.engine import Engine

eng = Engine(4096)
total = [0]


def on_cereg(line):
    total[0] += line.int(1)


eng.urc(b"+CADATAIND:", on_cereg)
eng.urc(b"+CEREG:", on_cereg)
chunk = b"\r\n+CEREG: 2,5\r\n" * 100
n = len(chunk)


def once():
    w = eng.rx_window()
    w[0:n] = chunk
    eng.rx_commit(n)
    gc.collect()
    before = gc.mem_alloc()
    eng.process()
    return gc.mem_alloc() - before


once()  # warm up
used = once()
assert total[0] == 1000, total
print("bytes per line:", used // 100)
