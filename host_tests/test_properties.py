"""Property tests (hypothesis) of the parsers that take bytes from outside: the AT
engine (from the modem's UART), the MQTT decoder (from the broker) and the HTTP
response parser (from the server). Issue 9, "Fuzzing".

Every test draws a bounded, derandomized set of examples, so the suite is fast and
gives the same examples on every run. The coverage-guided fuzz targets for the same
code are in tools/fuzz/ (python -m tools.fuzz --minutes N).
"""
import errno

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from cellmodem.at import AT
from cellmodem.engine import Engine, _NO_LINES
from cellmodem.fakeuart import FakeUART, Responder
from cellmodem.httpbase import HTTPError, IncompleteRead
from cellmodem.mqtt import MQTTClient
from cellmodem.mqttbase import MQTTException
from cellmodem import requests

FAST = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
OK = b"\r\nOK\r\n"
RXBUF = 128

# Pieces a modem really sends, mixed with arbitrary bytes: the examples reach line
# ends, finals, URCs, payload headers and over-long lines, not only noise.
TOKENS = [b"\r\n", b"\r", b"\n", b"OK", b"ERROR", b"+CME ERROR: 10", b"> ", b">",
          b"+URC: 1,2", b"+RAW: 5", b"+RAW: 0", b"+INL: 3,", b"+INL: ", b",", b"AT+X",
          b"SEND OK", b"1, SEND OK", b"hello", b"X" * 200, b"\x00", b"\xff"]
stream_parts = st.lists(st.one_of(st.binary(max_size=40), st.sampled_from(TOKENS)), max_size=30)


def chunked(data, cuts):
    """data cut at the sorted positions in cuts."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, last = [], 0
    for p in points + [len(data)]:
        out.append(data[last:p])
        last = p
    return [p for p in out if p]


class Observed:
    """An Engine with a URC table (a plain URC, a header followed by a counted raw
    payload, an inline header whose payload follows the comma) that records all it
    sees."""

    def __init__(self, size=RXBUF):
        self.eng = Engine(size)
        self.urcs = []
        self.raw = bytearray()
        self.unknown = []
        self.eng.urc(b"+URC:", lambda line: self.urcs.append(line.bytes()))
        self.eng.urc(b"+RAW:", self._raw_header)
        self.eng.inline(b"+INL: ", b",", self._raw_header)
        self.eng.on_unknown = lambda line: self.unknown.append(line.bytes())

    def _raw_header(self, line):
        self.urcs.append(line.bytes())
        self.eng.expect_raw(min(line.int(0, 0), 64),
                            lambda buf, off, n: self.raw.extend(buf[off:off + n]))

    def feed_all(self, pieces):
        for p in pieces:
            self.eng.feed(p)

    def result(self):
        e = self.eng
        return (e.done, e.final, list(e.lines), None if e.error is None else str(e.error),
                self.urcs, bytes(self.raw), self.unknown, e.overflows, e._raw_left)


# ---- the AT engine ----

@FAST
@given(stream_parts, st.lists(st.integers(0, 10 ** 6), max_size=20))
def test_idle_engine_takes_any_bytes_in_any_chunking_without_an_exception(parts, cuts):
    o = Observed()
    o.feed_all(chunked(b"".join(parts), cuts))


@FAST
@given(stream_parts, st.lists(st.integers(0, 10 ** 6), max_size=20), st.booleans())
def test_engine_memory_stays_within_its_buffer_and_tables(parts, cuts, in_flight):
    o = Observed()
    eng = o.eng
    if in_flight:
        eng.begin(b"AT+X", resp=b"+")
    tables = (len(eng._urcs), len(eng._inline))
    data = b"".join(parts)
    try:
        o.feed_all(chunked(data, cuts))
    except Exception:  # which exceptions may leave the engine is not this test's business
        pass
    assert len(eng.buf) == RXBUF and len(eng._mv) == RXBUF
    assert 0 <= eng._head <= eng._tail <= RXBUF
    assert (len(eng._urcs), len(eng._inline)) == tables
    assert _NO_LINES == []  # the shared empty list of a command without lines
    assert sum(len(l) for l in eng.lines) <= len(data)
    if not in_flight:
        assert eng.lines is _NO_LINES


@FAST
@given(stream_parts, st.lists(st.integers(0, 10 ** 6), max_size=20), st.booleans(),
       st.booleans())
def test_same_bytes_in_any_chunking_give_the_same_lines_urcs_and_payloads(parts, cuts,
                                                                          in_flight, collect_all):
    data = b"".join(parts)
    runs = []
    for pieces in ([data], chunked(data, cuts), [data[i:i + 1] for i in range(len(data))]):
        o = Observed()
        if in_flight:
            o.eng.begin(b"AT+X", resp=None if collect_all else b"+")
        try:
            o.feed_all(pieces)
            runs.append(o.result())
        except Exception as e:  # the same failure, if any, in every chunking
            runs.append(type(e).__name__)
    assert runs[0] == runs[1] == runs[2]


@FAST
@given(st.lists(st.binary(min_size=0, max_size=64), min_size=1, max_size=6),
       st.lists(st.integers(0, 10 ** 6), max_size=20))
def test_counted_payloads_arrive_byte_exact_whatever_they_hold(payloads, cuts):
    # headers "+RAW: n" and inline "+INL: n,<payload>" with payloads that may hold
    # CR LF, OK, ERROR or another header: delivered untouched, in order
    wire = b""
    for i, p in enumerate(payloads):
        wire += (b"\r\n+RAW: %d\r\n" % len(p) + p) if i % 2 else (b"\r\n+INL: %d," % len(p) + p)
    wire += OK
    o = Observed()
    o.eng.begin(b"AT+X", resp=b"+NONE")
    o.feed_all(chunked(wire, cuts))
    assert bytes(o.raw) == b"".join(payloads)
    assert o.eng.done and o.eng.error is None and o.eng.final == b"OK"


@FAST
@given(stream_parts, st.lists(st.integers(1, 16), max_size=30))
def test_after_noise_between_commands_and_a_line_end_the_next_command_gets_its_ok(parts, sizes):
    uart = FakeUART(sizes)
    at = AT(uart, rxbuf=RXBUF)
    noise = b"".join(p for p in parts if not p.startswith((b"+RAW", b"+INL")))
    uart.feed(noise)
    at.poll()
    uart.feed(b"\r\n")
    Responder(uart, [(b"AT+CSQ", b"\r\n+CSQ: 20,99" + OK)])
    assert at.command("AT+CSQ", resp=b"+CSQ:", timeout=500) == [b"+CSQ: 20,99"]


# ---- the MQTT decoder (cellmodem.mqtt) ----

class BrokerSock:
    """The broker's side of one connection: hands out `data` in pieces, then EOF."""

    def __init__(self, data, sizes=()):
        self.data = bytearray(data)
        self.sizes = list(sizes)
        self.closed = False

    def settimeout(self, t):
        pass

    def write(self, data):
        return len(data)

    def recv_into(self, buf, nbytes=0):
        if not self.data:
            return 0
        k = min(len(buf), len(self.data), self.sizes.pop(0) if self.sizes else 1 << 30)
        buf[:k] = self.data[:k]
        del self.data[:k]
        return k

    def close(self):
        self.closed = True


class OneConnection(MQTTClient):
    def __init__(self, sock):
        super().__init__("c1", "broker", reconnect=False, timeout=200, max_payload=64)
        self.the_sock = sock

    def _open_socket(self, timeout):
        return self.the_sock


CONNACK = b"\x20\x02\x00\x00"


def mqtt_outcome(broker_bytes, sizes=(), action=None):
    """Connect (the broker's bytes start with its CONNACK or not), optionally run
    action(client), then read packets until the connection fails. Returns the error,
    the client and its socket."""
    sock = BrokerSock(broker_bytes, sizes)
    c = OneConnection(sock)
    c.set_callback(lambda t, m: None)
    try:
        c.connect()
        if action:
            action(c)
        for _ in range(200):
            c.wait_msg()
    except (OSError, MQTTException, ValueError) as e:
        return e, c, sock
    raise AssertionError("200 packets from %d bytes" % len(broker_bytes))


@FAST
@given(st.binary(min_size=4, max_size=8).map(lambda b: bytes(x | 0x80 for x in b)),
       st.integers(0, 255))
def test_mqtt_remaining_length_over_four_bytes_is_an_oserror_and_closes(cont, first):
    e, c, sock = mqtt_outcome(CONNACK + bytes([first]) + cont + b"\x00" * 8)
    assert isinstance(e, OSError) and sock.closed and not c.isconnected()


PACKETS = [b"\x30\x07\x00\x03a/bhi", b"\x32\x09\x00\x03a/b\x00\x07hi", b"\x34\x06\x00\x01q\x00\x05x",
           b"\x62\x02\x00\x05", b"\x40\x02\x00\x01", b"\xd0\x00", b"\x30\x82\x01\x00\x01t" + b"p" * 127]


@FAST
@given(st.lists(st.sampled_from(PACKETS), min_size=1, max_size=5), st.integers(0, 10 ** 6),
       st.lists(st.integers(1, 7), max_size=20))
def test_mqtt_frame_cut_anywhere_is_an_oserror_and_closes(packets, cut, sizes):
    wire = CONNACK + b"".join(packets)
    e, c, sock = mqtt_outcome(wire[:len(CONNACK) + 1 + cut % (len(wire) - len(CONNACK) - 1)], sizes)
    assert isinstance(e, OSError) and sock.closed and not c.isconnected()


@FAST
@given(st.integers(0, 255), st.binary(max_size=6))
def test_mqtt_packet_of_any_type_ends_in_a_library_error_and_closes(first, body):
    e, c, sock = mqtt_outcome(CONNACK + bytes([first, len(body)]) + body)
    assert isinstance(e, (OSError, MQTTException, ValueError))
    assert sock.closed and not c.isconnected()


@FAST
@given(st.binary(max_size=200), st.lists(st.integers(1, 9), max_size=20))
def test_mqtt_any_broker_bytes_end_in_a_library_error_and_a_closed_connection(data, sizes):
    e, c, sock = mqtt_outcome(data, sizes, action=lambda c: c.publish(b"t", b"x", qos=1))
    assert isinstance(e, (OSError, MQTTException, ValueError))
    assert sock.closed and not c.isconnected()


# ---- the HTTP response parser (cellmodem.requests) ----

class ServerSock:
    """The server's side of one connection: `data` in pieces of `sizes`, then EOF."""

    def __init__(self, data, sizes=()):
        self.data = bytearray(data)
        self.sizes = list(sizes)
        self.closed = False

    def settimeout(self, t):
        pass

    def write(self, data, n=None):
        return len(data) if n is None else n

    def recv_into(self, buf, nbytes=0):
        if not self.data:
            return 0
        k = min(len(buf), len(self.data), self.sizes.pop(0) if self.sizes else 1 << 30)
        buf[:k] = self.data[:k]
        del self.data[:k]
        return k

    def ioctl(self, req, arg):
        return 0

    def close(self):
        self.closed = True


class OneServer(requests.Session):
    """A Session whose every connection is one scripted socket (no modem)."""

    def __init__(self, data, sizes=()):
        super().__init__(keep_alive=False, max_redirects=0)
        self.sock = ServerSock(data, sizes)

    def _connect(self, scheme, host, port, timeout):
        return requests._Conn(self.sock, (scheme, host, port))


def http_get(data, sizes=()):
    s = OneServer(data, sizes)
    try:
        r = s.get("http://h.example/")
    except (HTTPError, OSError) as e:
        return e, s.sock
    return r, s.sock


@FAST
@given(st.sampled_from([b"", b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 OK\r\nA: b\r\n"]),
       st.sampled_from([b"X-Long: ", b"", b"HTTP/1.1 "]), st.integers(16384, 65536))
def test_http_line_of_16_to_64_kib_is_an_httperror(before, start, n):
    e, sock = http_get(before + start + b"a" * n + b"\r\n\r\n")
    assert isinstance(e, HTTPError) and not isinstance(e, IncompleteRead)


@FAST
@given(st.binary(max_size=40).filter(lambda b: b"\n" not in b))
def test_http_bad_status_line_is_an_httperror_and_closes(line):
    if line.startswith(b"HTTP/1.") and len(line.split(None, 2)) >= 2 \
            and len(line.split(None, 2)[1]) == 3 and line.split(None, 2)[1].isdigit():
        return  # a well-formed status line is another test's business
    e, sock = http_get(line + b"\r\nContent-Length: 0\r\n\r\n")
    assert isinstance(e, HTTPError) and sock.closed


@FAST
@given(st.binary(min_size=1, max_size=300), st.integers(0, 10 ** 6),
       st.lists(st.integers(1, 50), max_size=20))
def test_http_body_cut_short_of_its_content_length_is_an_incompleteread(body, cut, sizes):
    short = body[:cut % len(body)]
    e, sock = http_get(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + short, sizes)
    assert isinstance(e, IncompleteRead) and sock.closed


@FAST
@given(st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=4),
       st.integers(0, 3), st.integers(1, 1000), st.lists(st.integers(1, 50), max_size=20))
def test_http_chunk_size_larger_than_its_data_is_an_incompleteread(chunks, which, extra, sizes):
    which %= len(chunks)
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    for i, c in enumerate(chunks):
        size = len(c) + (extra if i == which else 0)
        wire += b"%x\r\n" % size + c + b"\r\n"
        if i == which:
            break  # the server promised more and hung up
    e, sock = http_get(wire, sizes)
    assert isinstance(e, IncompleteRead)


@FAST
@given(st.binary(min_size=2, max_size=40), st.integers(1, 100))
def test_http_chunk_size_smaller_than_its_data_is_an_httperror(data, less):
    size = max(1, len(data) - less) if len(data) > 1 else 1
    if size >= len(data):
        size = len(data) - 1
    wire = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"%x\r\n" % size + data + b"\r\n0\r\n\r\n")
    e, sock = http_get(wire)
    assert isinstance(e, HTTPError)
