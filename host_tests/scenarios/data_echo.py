"""Transparent data mode through cellmodem.datamode, in real MicroPython.

Run: micropython data_echo.py <tty> <host> <echo port> <bytes> <guard ms> <burst port> <burst bytes>
1. <bytes> each way through the echo server in data mode (4 KiB blocks of random bytes,
   each numbered), hashing what went and what came back: "SHA <sent> <received>".
2. "+++" to command mode, a command ("CSQ <dBm>"), ATO, 5 more bytes echoed.
3. A second connection to a server that sends <burst bytes> and closes: everything is
   read, then EOF, and the modem answers a command again ("BURST <n>").
Prints "DATA OK <bytes>" at the end.
"""
import binascii
import hashlib
import random
import sys

from cellmodem.datamode import DataSocket
from cellmodem.modem import Modem
from cellmodem.ports import open_serial

tty, host, port, total, guard, bport, btotal = sys.argv[1:8]
port, total, guard, bport, btotal = int(port), int(total), int(guard), int(bport), int(btotal)

modem = Modem(open_serial(tty))
modem.connect(apn="internet")
s = DataSocket(modem, rxbuf=4096, guard_ms=guard)
s.connect((host, port))
s.settimeout(20)
blk = bytearray(4096)
for i in range(len(blk)):
    blk[i] = random.getrandbits(8)
back = bytearray(4096)
mv = memoryview(back)
tx, rx = hashlib.sha256(), hashlib.sha256()
sent = got = 0
while got < total:
    if sent < total and sent - got < 8192:
        blk[0:4] = sent.to_bytes(4, "big")
        s.write(blk)
        tx.update(blk)
        sent += len(blk)
        continue
    n = s.readinto(back)
    if not n:
        raise SystemExit("EOF after %d bytes" % got)
    rx.update(mv[:n])
    got += n
print("SHA", binascii.hexlify(tx.digest()).decode(), binascii.hexlify(rx.digest()).decode())

s.escape()
print("CSQ", modem.signal())
s.resume()
s.write(b"again")
if s.read(5) != b"again":
    raise SystemExit("no echo after ATO")
s.close()

b = DataSocket(modem, guard_ms=guard)
b.connect((host, bport))
b.settimeout(20)
b.write(b"go")
n = 0
while True:
    k = b.readinto(back)
    if not k:
        break
    n += k
print("BURST", n, modem.signal())
b.close()
print("DATA OK", got)
