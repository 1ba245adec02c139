"""The parser's own ceiling: the library against a modem that costs nothing (MicroPython).

Run: parse_ceiling.py <dialect> <buffered|push> <bytes>
A port in memory plays the module: it answers the bring-up commands with OK and
serves the dialect's data (pushed "+RECEIVE,0,<n>" / '+QIURC: "recv",0,<n>' pieces,
or the answer to each AT+CARECV / AT+CIPRXGET=2 / AT+QIRD pull) as fast as it is
read, holding back pushed data while the socket's receive ring is nearly full (as
hardware flow control would). The socket reads it all with recv_into; then the same
bytes are copied from the same kind of port with nothing but readinto. Prints
"PARSE <payload bytes> <us>" and "COPY <stream bytes> <us>".
"""
import sys
import time

from cellmodem.modem import Modem
from cellmodem.sockets import Link, TCP
import cellmodem.socket as socket

dialect, mode, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
CHUNK = 1460
DATA = bytes(i * 7 & 255 for i in range(CHUNK))
PUSH = {"sim7600": b"\r\n+RECEIVE,0,%d\r\n", "quectel": b'\r\n+QIURC: "recv",0,%d\r\n',
        "yuge": b"\r\n+RECEIVE,0,%d:\r\n"}
# what ends a pushed payload: Quectel's own CR LF (UG 2.8: <data> CR LF), which the
# library waits for before the bytes are readable; the others' next line starts with it
PUSH_END = {"quectel": b"\r\n"}
PULL = {"sim7080": (b"AT+CARECV=", b"\r\n+CARECV: %d,", b"\r\n\r\nOK\r\n"),
        "sim7600": (b"AT+CIPRXGET=2", b"\r\n+CIPRXGET: 2,0,%d,0\r\n", b"\r\n\r\nOK\r\n"),
        "quectel": (b"AT+QIRD=", b"\r\n+QIRD: %d\r\n", b"\r\n\r\nOK\r\n"),
        "yuge": (b"AT+CIPRXGET=2", b"\r\n+CIPRXGET: 2,0,%d,0\r\n", b"\r\n\r\nOK\r\n")}
if dialect not in PULL:
    # a family built on the Yuge dialect (its subclass) speaks the Yuge forms
    from cellmodem.dialects import load
    from cellmodem.dialects.yuge import Yuge
    if issubclass(load(dialect), Yuge):
        PUSH[dialect], PULL[dialect] = PUSH["yuge"], PULL["yuge"]


def _reply(n):
    """What the module sends for one piece of n payload bytes, as a view."""
    if mode == "push":
        return memoryview(PUSH[dialect] % n + DATA[:n] + PUSH_END.get(dialect, b""))
    return memoryview(PULL[dialect][1] % n + DATA[:n] + PULL[dialect][2])


FULL = _reply(CHUNK)  # made once: the port allocates nothing per piece but a slice
OK = memoryview(b"\r\nOK\r\n")


class Port:
    """The module: answers commands, serves the data stream. Its replies are views
    made once (the last, shorter piece excepted) and queued, so its own allocation
    does not change the heap the library works in from one version to the next."""

    def __init__(self):
        self.q = []  # views to serve, in order
        self.pos = 0  # into q[0]
        self.left = total  # payload bytes still to serve
        self.link = None

    def _piece(self):
        n = min(CHUNK, self.left)
        self.left -= n
        self.q.append(FULL if n == CHUNK else _reply(n))

    def write(self, b):
        if mode == "buffered" and self.link is not None and b[:len(PULL[dialect][0])] == \
                PULL[dialect][0]:
            self._piece()
        elif b[-1:] in (b"\r", b"\n"):
            self.q.append(OK)
        return len(b)

    def readinto(self, buf):
        q = self.q
        if not q:
            if mode == "push" and self.link is not None and self.left \
                    and self.link.ring.free() >= 4 * CHUNK:
                self._piece()
            else:
                return 0
        src = q[0]
        n = min(len(buf), len(src) - self.pos)
        buf[:n] = src[self.pos:self.pos + n]
        self.pos += n
        if self.pos == len(src):
            q.pop(0)
            self.pos = 0
        return n


port = Port()
modem = Modem(port, dialect=dialect)
modem.dialect.push = mode == "push"
# A connected link 0, as after a socket open (the bring-up is not what is measured)
link = Link(TCP, 8192)
link.id = 0
link.open = True
link.pending = mode == "buffered"
modem.links[0] = link
if mode == "push" and dialect == "quectel":
    modem.dialect._direct.add(0)  # opened in access mode 1 (direct push)
port.link = link
modem.ip = "10.0.0.1"
s = socket.socket(modem=modem)
s._link = link
buf = bytearray(4096)
mv = memoryview(buf)
got = 0
t0 = time.ticks_us()
while got < total:
    if mode == "buffered" and not link.ring.count and port.left:
        link.pending = True
    n = s.recv_into(mv)
    if not n:
        break
    got += n
us = time.ticks_diff(time.ticks_us(), t0)
print("PARSE", got, us)
# The same bytes, copied with nothing but readinto
stream = bytearray()
left = total
while left:
    n = min(CHUNK, left)
    left -= n
    if mode == "push":
        stream += PUSH[dialect] % n + DATA[:n] + PUSH_END.get(dialect, b"")
    else:
        stream += PULL[dialect][1] % n + DATA[:n] + PULL[dialect][2]
src = memoryview(stream)
pos = 0
t0 = time.ticks_us()
while pos < len(stream):
    k = min(len(buf), 1536, len(stream) - pos)  # reads the size of the library's rx buffer
    mv[:k] = src[pos:pos + k]
    pos += k
us = time.ticks_diff(time.ticks_us(), t0)
print("COPY", len(stream), us)
