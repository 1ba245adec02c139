"""Bring-up plus a TCP echo through cellmodem.socket, in real MicroPython.

Run: micropython [-X heapsize=48k] socket_echo.py <tty> <host> <port> <bytes> [rx_mode]
The payload is generated and checked on the fly (all 256 byte values, pseudo-random),
so the heap holds only the library and its buffers. Prints "ECHO OK <bytes> <peak>"
where peak is the most heap in use seen between rounds.
"""
import gc
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
import cellmodem.socket as socket

tty, host, port, total = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rx_mode = sys.argv[5] if len(sys.argv) > 5 else None


class Stream:
    """xorshift32 bytes: the same sequence for the sender and the checker."""

    def __init__(self):
        self.x = 2463534242

    def fill(self, buf, n):
        x = self.x
        for i in range(n):
            x ^= (x << 13) & 0xFFFFFFFF
            x ^= x >> 17
            x ^= (x << 5) & 0xFFFFFFFF
            buf[i] = x & 255
        self.x = x


modem = Modem(open_serial(tty), sock_rxbuf=2048)
modem.connect(apn="internet", rx_mode=rx_mode)
s = socket.socket()
s.settimeout(20)
s.connect(socket.getaddrinfo(host, port)[0][-1])
out = bytearray(512)
back = bytearray(512)
want = bytearray(512)
tx, rx = Stream(), Stream()
sent = got = 0
peak = 0
gc.collect()
while got < total:
    if sent < total and sent - got < 1024:
        n = min(512, total - sent)
        tx.fill(out, n)
        s.write(out, n)
        sent += n
        continue
    n = s.recv_into(back, min(512, sent - got))
    if not n:
        raise SystemExit("EOF after %d bytes" % got)
    rx.fill(want, n)
    if back[:n] != want[:n]:
        raise SystemExit("MISMATCH at byte %d" % got)
    got += n
    used = gc.mem_alloc()
    if used > peak:
        peak = used
s.close()
modem.disconnect()
print("ECHO OK", got, peak)
