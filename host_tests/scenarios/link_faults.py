"""Issue 19 link faults in real MicroPython, against the simulator on a pty.

Run: micropython link_faults.py <tty> <host> <echo port> short|cgev [rx_mode]
(rx_mode: buffered or push, the family's default if left out)
short: the simulator runs with short=1:1 (the first counted payload loses 1-16
  bytes). Socket A's read of it is OSError(EIO) with nothing but A's own bytes before
  it; socket B then echoes intact. Prints "SHORT EIO <bytes read before>" and "B OK".
cgev: the simulator runs with cgev_urcs="only". Prints "OPEN" with a socket open and
  waits: the test drops the network (+CGEV: NW PDN DEACT 1 is the one sign); the
  socket fails with ECONNABORTED without a command, connect() works after and a new
  socket echoes. Prints "ABORTED" and "AGAIN OK".
"""
import errno
import sys
import time

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
import cellmodem.socket as socket

tty, host, port, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
modem = Modem(open_serial(tty))
modem.connect(apn="internet", rx_mode=sys.argv[5] if len(sys.argv) > 5 else None)
addr = socket.getaddrinfo(host, port)[0][-1]


def echo(s, data):
    s.send(data)
    got = b""
    while len(got) < len(data):
        chunk = s.recv(len(data) - len(got))
        if not chunk:
            raise OSError(errno.ECONNRESET, "EOF in echo")
        got += chunk
    return got


def short():
    a = socket.socket()
    a.settimeout(30)
    a.connect(addr)
    b = socket.socket()
    b.settimeout(30)
    b.connect(addr)
    a.send(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 2)
    got = b""
    try:
        while True:
            chunk = a.recv(64)
            if not chunk:
                raise AssertionError("EOF instead of EIO")
            got += chunk
    except OSError as e:
        if e.errno != errno.EIO:
            raise
    for c in got.rstrip(b"\r\n"):  # A's own bytes only, never a later reply's
        if not 65 <= c <= 90:
            raise AssertionError("not A's bytes: %r" % got)
    print("SHORT EIO %d" % len(got))
    if echo(b, b"the other socket") != b"the other socket":
        raise AssertionError("B's echo differs")
    print("B OK")


def cgev():
    s = socket.socket()
    s.settimeout(30)
    s.connect(addr)
    if echo(s, b"before") != b"before":
        raise AssertionError("echo before")
    print("OPEN")
    t0 = time.ticks_ms()
    while modem.isconnected():
        if time.ticks_diff(time.ticks_ms(), t0) > 30000:  # liveness only
            raise AssertionError("+CGEV not taken as a link event")
        modem.at.poll(20)
    written = []
    modem.at.engine.trace = lambda d, data, t: written.append(data) if d == b">" else None
    try:
        s.send(b"x")
        raise AssertionError("send worked")
    except OSError as e:
        if e.errno != errno.ECONNABORTED:
            raise
    if written:
        raise AssertionError("a command went out: %r" % written)
    modem.at.engine.trace = None
    s.close()
    print("ABORTED")
    modem.connect(apn="internet")
    s2 = socket.socket()
    s2.settimeout(30)
    s2.connect(addr)
    if echo(s2, b"after") != b"after":
        raise AssertionError("echo after")
    s2.close()
    print("AGAIN OK")


short() if mode == "short" else cgev()
