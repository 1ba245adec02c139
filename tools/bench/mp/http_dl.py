"""A 2 MiB HTTP download streamed through a 1 KiB buffer (MicroPython).

Run: http_dl.py <tty> <dialect> <url> <cellmodem|urequests> <bytes>
urequests is micropython-lib's urequests 0.9.1 (from PyPI, on the path) over our
socket module; it has no streaming API, so its body is read from r.raw in the same
buffer (the best it can do; r.content would hold all of it). Prints
"CLIENT_IMPORT <bytes>", "DOWNLOAD <bytes> <ms> <sha256>" and "PEAK <bytes>" (most
heap in use after a collection, sampled every 64 KiB).
"""
import gc
import hashlib
import sys
from binascii import hexlify

from cellmodem.compat import ticks_ms, ticks_diff
from cellmodem.modem import Modem
from cellmodem.ports import open_serial
import cellmodem.socket

tty, dialect, url, which, total = sys.argv[1:6]
total = int(total)
modem = Modem(open_serial(tty), dialect=dialect, sock_rxbuf=2048)
modem.connect(apn="internet")
gc.collect()
before = gc.mem_alloc()
if which == "urequests":
    sys.modules["usocket"] = cellmodem.socket
    sys.modules["socket"] = cellmodem.socket
    import urequests as requests
else:
    import cellmodem.requests as requests
gc.collect()
print("CLIENT_IMPORT", gc.mem_alloc() - before)
buf = bytearray(1024)
mv = memoryview(buf)
h = hashlib.sha256()
got = 0
peak = 0
mark = 0
t0 = ticks_ms()
if which == "urequests":
    r = requests.get(url)
    raw = r.raw
else:
    r = requests.get(url, stream=True)
    raw = r
while got < total:
    n = raw.readinto(mv[:min(len(buf), total - got)])
    if not n:
        break
    h.update(mv[:n])
    got += n
    if got >= mark:
        mark += 65536
        gc.collect()
        used = gc.mem_alloc()
        if used > peak:
            peak = used
ms = ticks_diff(ticks_ms(), t0)
r.close()
print("DOWNLOAD", got, ms, hexlify(h.digest()).decode())
print("PEAK", peak)
