"""UDP echo: send a few datagrams to an echo server and check that each comes back.

Each datagram carries its number and some binary bytes; the reply is waited for
with recvfrom() for at most TIMEOUT_S seconds (UDP may lose datagrams: a missing
one is reported, not waited for forever). Replies that are not the datagram just
sent (a late echo of an earlier one) are skipped. Exits with status 1 unless every
datagram came back intact from the server's address.

On a board: set APN, HOST and PORT below, then
    python -m tools.deploy --board <board> --example udp_echo.py --port <usb port>
copies it as main.py with the board file, whose pins, power key and baud bring
the modem up (boards/README.md).
On a PC, with boards/unix.py as the board file:
    python -m tools.deploy --board unix --example udp_echo.py
    micropython build/unix/main.py <tty> <host> <port> [count [timeout_s]]
"""
import errno
import sys

import board  # the board file (boards/, copied as board.py): pins, power key, baud
from cellmodem.compat import ticks_ms, ticks_diff
import cellmodem.socket as socket

APN = "internet"
HOST, PORT = "example.com", 7
COUNT = 3
TIMEOUT_S = 5


def datagram(n):
    return b"datagram %d \x00\xff\r\n" % n + bytes(range(n % 7, 64 + n % 7))


def wait_echo(s, sent, addr):
    """The round trip in ms when sent comes back from addr, None after TIMEOUT_S."""
    start = ticks_ms()
    while True:
        left = TIMEOUT_S * 1000 - ticks_diff(ticks_ms(), start)
        if left <= 0:
            return None
        s.settimeout(left / 1000)
        try:
            data, peer = s.recvfrom(1500)
        except OSError as e:
            if e.args[0] == errno.ETIMEDOUT:
                return None
            raise
        if data == sent and peer == addr:
            return ticks_diff(ticks_ms(), start)
        print("  skipped %d bytes from %s:%d (not this datagram's echo)"
              % (len(data), peer[0], peer[1]))


def main():
    global HOST, PORT, COUNT, TIMEOUT_S
    if len(sys.argv) > 3:
        HOST, PORT = sys.argv[2], int(sys.argv[3])
    if len(sys.argv) > 4:
        COUNT = int(sys.argv[4])
    if len(sys.argv) > 5:
        TIMEOUT_S = float(sys.argv[5])
    modem = board.modem()
    print("IP address:", modem.connect(apn=APN))
    addr = socket.getaddrinfo(HOST, PORT, 0, socket.SOCK_DGRAM)[0][-1]
    print("echo server %s:%d (%s)" % (HOST, PORT, addr[0]))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ok = 0
    try:
        for n in range(1, COUNT + 1):
            msg = datagram(n)
            s.sendto(msg, addr)
            ms = wait_echo(s, msg, addr)
            if ms is None:
                print("datagram %d: %d bytes sent, no echo within %s s" % (n, len(msg), TIMEOUT_S))
            else:
                ok += 1
                print("datagram %d: %d bytes back intact in %d ms" % (n, len(msg), ms))
    finally:
        s.close()
        modem.disconnect()
    print("%d of %d datagrams came back" % (ok, COUNT))
    if ok != COUNT:
        sys.exit(1)


main()
