"""The parser's ceiling: read n bytes from a pty with nothing but readinto (MicroPython).

Run: ptycopy.py <tty> <bytes>   Prints "COPY <bytes> <us>".
"""
import sys

import time
from cellmodem.ports import open_serial

port = open_serial(sys.argv[1])
total = int(sys.argv[2])
buf = bytearray(4096)
got = 0
while not port.any():
    port.wait(100)
t0 = time.ticks_us()
while got < total:
    n = port.readinto(buf)
    if n:
        got += n
    else:
        port.wait(50)
print("COPY", got, time.ticks_diff(time.ticks_us(), t0))
