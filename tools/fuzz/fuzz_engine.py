"""Fuzz target: the AT engine and every dialect's response and URC parsing.

Each input picks a URC table (every dialect in the registry, and the Yuge native MQTT client's
on a yuge modem), whether a pull is in progress (the dialect's CARECV / CIPRXGET=2 /
QIRD path), whether a command is in flight, and two chunkings; the rest is what the
modem "sends". The stream is fed through a FakeUART and AT.poll() as a real port is.

It fails (raises) when:
  * anything but the library's own exceptions (cellmodem.errors) leaves poll();
  * the receive buffer, the URC tables or a socket ring changed size, or the parser's
    indexes left the buffer;
  * the two chunkings give different results (lines, final, error, URCs dispatched,
    bytes delivered into each socket ring);
  * after the garbage (its promised payload delivered, then a line end) the next
    command does not get its OK.

Run: python -m tools.fuzz --target engine --minutes N
"""
import sys

from tools.fuzz.common import Input, cut, main  # sets sys.path for lib/
from tools import families

from cellmodem.errors import ModemError, ATTimeout
from cellmodem.fakeuart import FakeUART, Responder
from cellmodem.modem import Modem
from cellmodem.sockets import Link, TCP, UDP, LISTEN

OK = b"\r\nOK\r\n"
# every family in the registry (tools/families.py), and the Yuge native MQTT client's
VARIANTS = families.NAMES + ("yuge-mqtt",)
RXBUF = 256  # small, so over-long lines and buffer compaction are reached often
RING = 512
RAW_CAP = 1 << 16  # a pending payload longer than this is reported as a wedge


class Wedged(AssertionError):
    """The garbage left the engine waiting for more payload than any module sends."""


def build(variant):
    """A Modem on a FakeUART with the variant's URC table, an open TCP link 0, a UDP
    link 1 and a listening link numbered as the family numbers its server."""
    uart = FakeUART()
    Responder(uart, [(b"AT", OK), (b"ATE0", OK), (b"AT+CMEE=2", OK)])
    dialect = "yuge" if variant == "yuge-mqtt" else variant
    modem = Modem(uart, dialect=dialect, rxbuf=RXBUF, sock_rxbuf=RING, sync_timeout=1000)
    modem.ip = "10.0.0.2"
    modem.dialect.link_up = True
    # the listening link where each family numbers its server: sim7600's servers
    # after its links (LINKS + server index), yuge's one server at its own id (and a
    # family built on the Yuge dialect's), the others in the link id space
    server = {"sim7600": modem.dialect.LINKS}.get(dialect, 2)
    from cellmodem.dialects.yuge import Yuge, _SERVER
    if isinstance(modem.dialect, Yuge):
        server = _SERVER
    for i, kind in ((0, TCP), (1, UDP), (server, LISTEN)):
        link = Link(kind, RING)
        link.id = i
        link.open = True
        modem.links[i] = link
    if variant == "yuge-mqtt":
        from cellmodem.native.yuge_mqtt import MQTTClient
        MQTTClient("fuzz", "broker.example", modem=modem)
    return uart, modem


def _tables(at):
    eng = at.engine
    return len(eng.buf), len(eng._urcs), len([e for e in eng._inline if e[0]])


def run(variant, flags, stream, seed):
    """Feed stream (cut by seed) with the given flags; returns an observable summary."""
    uart, modem = build(variant)
    at = modem.at
    eng = at.engine
    before = _tables(at)
    d = modem.dialect
    if flags & 1 and hasattr(d, "_pulling"):
        d._pulling = modem.links[0]
        if hasattr(d, "_asked"):
            d._asked = 100
    if flags & 2:
        eng.begin(b"AT+FUZZ", resp=None if flags & 4 else b"+", prompt=bool(flags & 8))
    unknown = []
    eng.on_unknown = lambda line: unknown.append(line.bytes())
    for piece in cut(stream, seed):
        uart.feed(piece)
        at.poll()
    # invariants: sizes fixed, indexes inside the buffer
    assert _tables(at) == before, ("tables changed", before, _tables(at))
    assert 0 <= eng._head <= eng._tail <= len(eng.buf), (eng._head, eng._tail)
    for link in modem.links.values():
        if link.ring is not None:
            assert len(link.ring.buf) == RING and 0 <= link.ring.count <= RING
    from cellmodem.engine import _NO_LINES
    assert _NO_LINES == [], "the shared empty line list was changed"
    summary = (eng.done, eng.final, eng.lines if eng.lines else [],
               None if eng.error is None else (type(eng.error).__name__, str(eng.error)),
               eng.urc_count, eng.overflows, unknown, eng._raw_left,
               [(i, bytes(l.ring.buf[:0]) if l.ring is None else _ring(l.ring), l.pending, l.eof)
                for i, l in sorted(modem.links.items()) if l.ring is not None])
    return uart, modem, summary


def _ring(ring):
    out = bytearray(ring.count)
    h, c = ring.head, ring.count
    for i in range(c):
        out[i] = ring.buf[(h + i) % ring.size]
    return bytes(out)


def recover(uart, modem):
    """The modem finishes what it promised, ends the line, then answers AT with OK."""
    at = modem.at
    eng = at.engine
    if eng.state:
        eng.abort(ATTimeout("AT+FUZZ", 0))
    uart.feed(b"\r\n")  # ends a header cut short, which may then ask for its payload
    at.poll()
    left = eng._raw_left
    if left > RAW_CAP:
        raise Wedged("the engine waits for %d more payload bytes" % left)
    if left:
        uart.feed(b"\0" * left)
        at.poll()
    uart.feed(b"\r\n")
    at.poll()
    Responder(uart, [(b"AT", OK)])
    got = at.command("AT", timeout=500)
    assert got == [], got


def one_input(data):
    inp = Input(data)
    variant = VARIANTS[inp.byte() % len(VARIANTS)]
    flags = inp.byte()
    seed = inp.byte()
    stream = inp.rest()
    try:
        uart, modem, whole = run(variant, flags, stream, 0)
        uart2, modem2, pieces = run(variant, flags, stream, seed or 1)
    except ModemError:
        # the library's own exceptions are allowed to leave poll(); the rest is a bug
        return
    assert whole == pieces, ("chunking changed the result", whole, pieces)
    recover(uart, modem)


if __name__ == "__main__":
    main("engine", one_input)
