"""Bring-up with the dialect detected, then UDP datagrams through cellmodem.socket and a
UDP echo server, in real MicroPython.

Run: micropython udp_echo.py <tty> <host> <port> <rx_mode> <size> [<size> ...]
Prints "DIALECT <name>" (the dialect detected), then "DGRAM <size> OK" per datagram echoed whole (one
send, one recv of the same bytes), then "DONE".
"""
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
import cellmodem.socket as socket

tty, host, port, rx_mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
modem = Modem(open_serial(tty), dialect="auto", sock_rxbuf=2048)
print("DIALECT", modem.dialect.NAME)  # detected from its AT+CGMM answer
modem.connect(apn="internet", rx_mode=rx_mode)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(20)
s.connect(socket.getaddrinfo(host, port)[0][-1])
buf = bytearray(2048)  # one receive buffer, made once (the heap is small)
for size in sys.argv[5:]:
    n = int(size)
    data = bytes((i * 7 + n) & 255 for i in range(n))
    if s.send(data) != n:
        raise AssertionError("short send")
    got = s.recv_into(buf)
    if got != n or buf[:n] != data:
        raise AssertionError("datagram of %d came back as %d bytes" % (n, got))
    print("DGRAM", n, "OK")
s.close()
modem.disconnect()
print("DONE")
