"""The modem's sockets as the library sees them: one Link per link id of the module.

A Link holds what the module told us about one connection (open, data waiting in
the module, closed by the peer, failed) and a receive ring the dialect fills, by
pulling (buffered mode: the module holds data until asked) or from pushed payloads
(direct mode). The faces (cellmodem.socket; later asyncio) wait on these flags; the
dialect sets them from URCs. Nothing here does I/O.

Usage (inside a dialect):
    link = self.modem.links.get(cid)
    link.ring.write(buf, off, n)             # in a raw sink: n bytes at buf[off:]
    link.peer_closed()                        # on the close URC
"""
import errno

from cellmodem.compat import const, Store

_LEN = const(2)  # bytes of the length prefix of a datagram record (UDP rings)

TCP = "TCP"
UDP = "UDP"
LISTEN = "LISTEN"


class Ring:
    """A byte ring of fixed size: write() copies in what fits, readinto() copies out in
    order. The bytes live in a stream (compat.Store, io.BytesIO) whose own calls copy
    at an offset in C, so a payload goes in and out with no memoryview slice on the
    heap per piece (issue 20). While holding, what write() adds is held: not readable
    (count) until commit(), gone with drop() - a payload waits there for the check
    of the framing after it."""

    def __init__(self, size):
        self.io = Store(size)
        self.size = size
        self.head = 0
        self.count = 0  # readable bytes
        self.held = 0  # bytes after them, written while holding
        self.holding = False
        self._scan = bytearray(32)  # find()'s look at the bytes

    def __len__(self):
        return self.count

    def free(self):
        return self.size - self.count - self.held

    def clear(self):
        self.head = self.count = self.held = 0
        self.holding = False

    def commit(self):
        self.count += self.held
        self.held = 0
        self.holding = False

    def drop(self):
        self.held = 0
        self.holding = False

    def write(self, src, off, n):
        """Copy what fits of the n bytes at src[off:] (bytes-like); returns the count."""
        # (these locals only: one more would take the frame over the 11 words
        # MicroPython keeps on the C stack, tools.bench.frames)
        t = self.size - self.count - self.held
        if n > t:
            n = t
        if n <= 0:
            return 0
        t = self.head + self.count + self.held
        if t >= self.size:
            t -= self.size
        self.io.seek(t)
        if t + n > self.size:  # to the end, the rest at the start
            t = self.size - t
            self.io.write(src, off, t)
            self.io.seek(0)
            self.io.write(src, off + t, n - t)
        else:
            self.io.write(src, off, n)
        if self.holding:
            self.held += n
        else:
            self.count += n
        return n

    def readinto(self, out, n=-1):
        """Move up to n (default len(out)) bytes into out (a writable memoryview)."""
        if n < 0 or n > len(out):
            n = len(out)
        if n > self.count:
            n = self.count
        if n <= 0:
            return 0
        self.io.seek(self.head)
        h = self.size - self.head  # bytes before the end
        if h >= n:
            self.io.readinto(out, n)
        else:  # wrapped: the rest from the start, through a view of out (rare: see below)
            self.io.readinto(out, h)
            self.io.seek(0)
            self.io.readinto(out[h:], n - h)
        self.count -= n
        if self.count or self.held:
            self.head += n
            if self.head >= self.size:
                self.head -= self.size
        else:
            self.head = 0  # empty: the next bytes go to the start, so a reader that keeps
            # up never sees them wrap
        return n

    def find(self, byte, start=0):
        """Offset of the first byte value `byte` at or after start, or -1."""
        sub = b"\n" if byte == 10 else bytes((byte,))
        buf = self._scan
        i = start
        while i < self.count:
            j = self.head + i  # read a piece into the scratch, look with bytes' find
            if j >= self.size:
                j -= self.size
            k = self.count - i
            if k > self.size - j:
                k = self.size - j
            if k > len(buf):
                k = len(buf)
            self.io.seek(j)
            self.io.readinto(buf, k)
            j = buf.find(sub, 0, k)
            if j >= 0:
                return i + j
            i += k
        return -1


class Link:
    """One connection of the module (a link / connect id) and its receive ring.

    kind: TCP, UDP or LISTEN. id: the module's link id (set when opened).
    pending: the module holds data for us (buffered mode) - a pull will get it.
    eof: the peer closed; error: an OSError to raise once the ring is drained.
    """

    def __init__(self, kind, rxbuf, ring=None):
        self.kind = kind
        self.id = None
        # "is None": an empty Ring is falsy (it has __len__)
        self.ring = None if kind == LISTEN else (ring if ring is not None else Ring(rxbuf))
        self.open = False
        self.pending = False
        self.eof = False
        self.error = None
        self.peer = None  # (ip, port)
        self.local_port = 0
        self.incoming = []  # LISTEN: accepted Links not yet taken by accept()
        self.dropped = 0  # datagrams (UDP) that did not fit the ring
        self._dgram_left = 0  # bytes of the datagram being written
        self._dgram_skip = False
        self._pay_n = 0  # bytes the payload being received put in the ring
        # UDP: the sender of each datagram in the ring, in order, where the family's
        # header names it (next_from, set by the dialect before the payload); last_from:
        # the sender of the datagram read last (recvfrom), None where not named
        self.next_from = None
        self.last_from = None
        self._froms = []
        self._sink = self.sink  # made once: a bound method per payload would allocate
        self._framed = self.framed

    # ---- state set by the dialect from URCs ----
    def peer_closed(self):
        """The peer closed. In buffered mode the module may still hold data: one more
        pull drains it before EOF is reported."""
        self.eof = True
        self.pending = True

    def fail(self, exc):
        """The link is gone (network lost, module rebooted): exc is raised on use,
        after any data already in the ring has been read."""
        if self.error is None:
            self.error = exc
        self.open = False
        self.pending = False

    # ---- payload into the ring ----
    def room(self):
        """Bytes the next pull may ask for without overflowing the ring."""
        f = self.ring.free()
        if self.kind == UDP:
            f -= _LEN
        return f if f > 0 else 0

    def begin_payload(self, n, hold=False):
        """A payload of n bytes follows (one datagram on UDP). Returns the sink to
        give engine.expect_raw. hold: its bytes stay unreadable until framed(True)
        (where the check comes right after the payload)."""
        self._pay_n = 0
        self.ring.drop()  # what an interrupted payload left unchecked goes
        self.ring.holding = hold
        if self.kind == UDP:
            self._dgram_left = n
            if self.ring.free() < n + _LEN:
                self._dgram_skip = True  # a datagram is kept whole or not at all
                self.dropped += 1
            else:
                self._dgram_skip = False
                self._pay_n = self.ring.write(bytes((n >> 8, n & 255)), 0, _LEN)
                self._froms.append(self.next_from)
            self.next_from = None
        return self._sink

    def framed(self, ok):
        """The engine's verdict on the framing after the payload (Engine.frame). A
        payload shorter than its header said took bytes of what followed: what it
        put in the ring goes (bytes of earlier payloads stay), and the link fails with
        EIO once those are read."""
        ring = self.ring
        if ok:
            ring.commit()
            return
        n = self._pay_n
        self._pay_n = 0
        if ring.holding:
            ring.drop()  # none of it was readable
        else:
            ring.count -= n if n < ring.count else ring.count
        if self.kind == UDP and n and self._froms:
            self._froms.pop()
        # Only bytes on the UART were lost: the module's connection is still up, so
        # the link stays open and close() frees it in the module too. (Failed as if
        # dropped, its id was forgotten while the module held it, and every later
        # open of that id was refused: Quectel +QIOPEN: <id>,563; the fault soak with
        # real quirks.)
        if self.error is None:
            self.error = OSError(errno.EIO, "payload shorter than its header: the module's "
                                            "reply framing did not follow it (bytes lost on the UART?)")
        self.pending = False

    def sink(self, buf, off, n):
        # the engine's raw sink (Engine.expect_raw): n payload bytes at buf[off:]
        if self.kind == UDP:
            if not self._dgram_skip:
                self._pay_n += self.ring.write(buf, off, n)
            return
        off = self.ring.write(buf, off, n)  # off: now the count taken (a local more
        self._pay_n += off  # would take this frame off the C stack, tools.bench.frames)
        if off < n:
            # Direct push mode has no flow control: the module sent more than the
            # ring holds. Say so rather than lose bytes silently.
            if self.error is None:
                self.error = OSError(errno.ENOBUFS, "receive ring full (%d bytes): read faster, use a "
                                          "larger rxbuf, or buffered mode" % self.ring.size)

    # ---- reading ----
    def readable(self):
        """Bytes (TCP) or datagrams (UDP) that can be read now without the module."""
        return self.ring.count > 0

    def read_into(self, out):
        """Read from the ring into out (memoryview): a stream chunk, or one whole
        datagram on UDP (truncated to out, like a real socket)."""
        # (self.ring each time: one local more would take this frame off the C stack,
        # tools.bench.frames; it runs once per recv)
        if self.kind != UDP:
            return self.ring.readinto(out)
        if self.ring.count < _LEN:
            return 0
        hdr = bytearray(_LEN)
        self.ring.readinto(memoryview(hdr))
        self.last_from = self._froms.pop(0) if self._froms else None
        n = (hdr[0] << 8) | hdr[1]
        got = self.ring.readinto(out, n)
        n -= got
        while n > 0:  # the tail of a datagram that did not fit out is dropped
            n -= self.ring.readinto(memoryview(hdr), n if n < _LEN else _LEN)
        return got
