"""A large HTTP download through cellmodem.requests, streamed into a fixed buffer.

Run (MicroPython): http_download.py <tty> <dialect> <url> [chunk]
Prints "DOWNLOAD <bytes> <sha256 hex> peak=<bytes>", peak being the most heap in
use seen after a collection every 64 KiB, then "DONE".
"""
import gc
import sys

import hashlib
from binascii import hexlify

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
import cellmodem.requests as requests

tty, dialect, url = sys.argv[1], sys.argv[2], sys.argv[3]
chunk = int(sys.argv[4]) if len(sys.argv) > 4 else 1024
modem = Modem(open_serial(tty), dialect=dialect, sock_rxbuf=2048)
modem.connect(apn="internet")
buf = bytearray(chunk)
h = hashlib.sha256()
total = 0
peak = 0
mark = 0
r = requests.get(url, stream=True, timeout=20)
while True:
    n = r.readinto(buf)
    if not n:
        break
    h.update(memoryview(buf)[:n])
    total += n
    if total >= mark:
        mark += 65536
        gc.collect()
        used = gc.mem_alloc()
        if used > peak:
            peak = used
r.close()
modem.disconnect()
print("DOWNLOAD", total, hexlify(h.digest()).decode(), "peak=%d" % peak)
print("DONE")
