"""Regression tests for the crashes the fuzz targets (tools/fuzz) found.

Each test is one crash input, reduced by hand to the bytes that matter, and says
what the library must do with it instead. The original fuzz inputs are named in
each test (target, and the bytes as the target read them).

Each failed before the fix it names (engine: safe text, garbled URCs dropped and
counted, payload lengths capped, abort clears a pending payload; base: no payload
into a listening link; requests: header text, redirect and line-limit checks, the
connection closed on every error).
"""
import pytest

from cellmodem.engine import Engine
from cellmodem.errors import ATError, ModemError
from cellmodem.fakeuart import Responder
from cellmodem.httpbase import HTTPError
from cellmodem import requests
from tools.fuzz.fuzz_engine import build

OK = b"\r\nOK\r\n"


# ---- the engine: a final result that is not UTF-8 ----

def test_cme_error_text_that_is_not_utf8_is_an_aterror():
    # fuzz engine: b'\x02\x02\x03\r\n+CME ERROR: \x8450\r\n'
    eng = Engine(256)
    eng.begin(b"AT+X")
    eng.feed(b"\r\n+CME ERROR: \x8450\r\n")
    assert eng.done and isinstance(eng.error, ATError)


def test_error_detail_that_is_not_utf8_is_an_aterror():
    # fuzz engine (sim7600): b'... +IP ERROR: No\xff\xff...\r\nERROR\r\n'
    eng = Engine(256)
    eng.detail_prefixes = (b"+IP ERROR:",)
    eng.begin(b"AT+X")
    eng.feed(b"\r\n+IP ERROR: No\xff data\r\n\r\nERROR\r\n")
    assert eng.done and isinstance(eng.error, ATError)


# ---- dialect URC handlers: noise on the line must not raise out of poll() ----

@pytest.mark.parametrize("variant,noise", [
    ("sim7600", b"\r\nRDY\xb9\r\n"),  # base.Dialect._on_rebooted: line.str()
    ("sim7080", b"\r\n+CDNSGIP: 1\r\n"),  # sim7080._on_dns: line.field(2) of no field
    ("sim7080", b'\r\n+CDNSGIP: 1,"a.example","1.2.3\x81.4"\r\n'),  # ... not UTF-8
    ("yuge", b"\r\n+CDNSGIP: 1\r\n"),  # yuge._on_dns: the same
    ("sim7080", b'\r\n+CANEW: 2,5,"10.0.0.9\xff",40000\r\n'),  # sim7080._on_canew: field(2)
    ("yuge-mqtt", b"\r\nSTATE: \xff\r\n"),  # native.yuge_mqtt._on_state: line.str()
    ("sim7600", b"\r\n+RECEIVE,10,6\r\nabcdef\r\n"),  # payload for the listening link
])
def test_urc_noise_is_absorbed_and_the_next_command_runs(variant, noise):
    uart, modem = build(variant)
    uart.feed(noise)
    modem.at.poll()  # must not raise: a URC handler's error is not the application's
    Responder(uart, [(b"AT", OK)])
    assert modem.at.command("AT", timeout=500) == []


def test_payload_length_beyond_any_module_does_not_wedge_the_channel():
    # fuzz engine (yuge): b'\x03\x00\x02\r\n+RECEIVE,0,59999999999:\r\n...'
    # A garbled length makes the engine swallow everything after it as payload, so
    # no command ever completes again.
    uart, modem = build("yuge")
    uart.feed(b"\r\n+RECEIVE,0,59999999999:\r\nhello\r\n")
    modem.at.poll()
    Responder(uart, [(b"AT", OK)])
    assert modem.at.command("AT", timeout=500) == []


# ---- cellmodem.requests: malformed responses ----

class ServerSock:
    def __init__(self, data):
        self.data = bytearray(data)
        self.closed = False

    def settimeout(self, t):
        pass

    def write(self, data, n=None):
        return len(data) if n is None else n

    def recv_into(self, buf, nbytes=0):
        k = min(len(buf), len(self.data))
        buf[:k] = self.data[:k]
        del self.data[:k]
        return k

    def ioctl(self, req, arg):
        return 0

    def close(self):
        self.closed = True


class OneServer(requests.Session):
    def __init__(self, data):
        super().__init__(keep_alive=False)
        self.sock = ServerSock(data)

    def _connect(self, scheme, host, port, timeout):
        return requests._Conn(self.sock, (scheme, host, port))


def test_header_and_reason_bytes_that_are_not_text_are_read_as_question_marks():
    # fuzz http: UnicodeDecodeError (a ValueError) from requests.py _one/_status_line.
    # Header text is ASCII (RFC 9110): other bytes become "?", the response is usable.
    r = OneServer(b"HTTP/1.1 200 \x89OK\r\nX-A: \xd8\xd8\r\nContent-Length: 0\r\n\r\n").get(
        "http://h.example/")
    assert (r.status_code, r.reason, r.headers["x-a"]) == (200, "?OK", "??")


def test_redirect_to_an_unusable_location_is_an_httperror():
    # fuzz http: ValueError from split_url for a redirect the server sent
    s = OneServer(b"HTTP/1.1 302 Found\r\nLocation: /\xd1\x99\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(HTTPError):
        s.get("http://h.example/")


def test_header_line_just_over_8_kib_is_an_httperror():
    # requests._Conn.readline checks _MAX_LINE only per full 1 KiB buffer: up to
    # 8192 + 1023 bytes pass
    s = OneServer(b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * 8200 + b"\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(HTTPError):
        s.get("http://h.example/")


@pytest.mark.parametrize("wire", [
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabBBBc\r\n0\r\n\r\n",  # data > size
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",  # bad size
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",  # EOF at a size line
])
def test_malformed_chunked_body_closes_the_connection(wire):
    # fuzz http: b'\x00\tHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabBBB...'
    s = OneServer(wire)
    with pytest.raises(HTTPError):
        s.get("http://h.example/")
    assert s.sock.closed, "the modem socket is left open (leaked) after the error"


def test_over_long_status_line_closes_the_connection():
    s = OneServer(b"HTTP/1.1 200 " + b"a" * 20000 + b"\r\n\r\n")
    with pytest.raises(HTTPError):
        s.get("http://h.example/")
    assert s.sock.closed, "the modem socket is left open (leaked) after the error"


def test_garbage_after_the_last_chunk_is_not_a_trailer():
    # fuzz http (30-minute run): b'...Transfer-Encoding: chunked\r\n\r\n0\r\nchunk one\r/1;ext=1\r\n|...'
    # was accepted as a complete body: lines without a colon are no trailer fields
    s = OneServer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nchunk one\r\n|\r\n\r\n")
    with pytest.raises(HTTPError):
        s.get("http://h.example/")
    assert s.sock.closed


def test_a_real_trailer_is_still_accepted():
    s = OneServer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nX-T: 1\r\n\r\n")
    assert s.get("http://h.example/").content == b"ab"


def test_bare_lf_line_ends_in_a_chunked_body_are_accepted():
    # RFC 9112 2.2: a recipient may take a bare LF as a line end; the client does so
    # for the chunk-size line and the CRLF after chunk data alike
    s = OneServer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"2\nab\n1;e=1\n|\r\n0\n\n")
    assert s.get("http://h.example/").content == b"ab|"


# A finding of the fuzz target's own check, not of the library: its reference
# decoder read a 302 and the 200 that followed it on the same kept-alive
# connection as one response (30-minute run, crash-e162dbd74f7503a3).
REDIRECT_THEN_CHUNKED = (
    b"\x00\x07HTTP/1.1 302 Fod,\x07\x00\x05HHTT[ Found\r\nLocation:\xd0/nt\r\n"
    b"Content-Length: 0\r\n\r\nHTTP/1.TTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"9\r\nchunk ne\r\n1;e\n|\r\n0\r\nXer: t\r\n\r\n1 302 \r\nLocation:\xd0/\x00\x00\x00\x00\x00"
    b"xt\r\nContent-Length: 0\r\n\r\nHTTP/1.1 302 FoCt\x03: \r\nLocation:\xd0ht0\r\n\r\n\r\nLo"
    b"\xbc\nokk")


def test_the_http_target_checks_chunked_framing_only_for_a_single_request():
    from tools.fuzz import fuzz_http
    fuzz_http.one_input(REDIRECT_THEN_CHUNKED)  # raised AssertionError before


# ---- the modem: a DNS answer garbled on the line (the fault soak, not the fuzzer) ----

def test_a_garbled_dns_answer_is_an_oserror_not_a_valueerror_later(device):
    # fault soak (sim7080, seed 6, quirks real): UART noise inside the +CDNSGIP answer
    # gave '"127.0.0.1"<noise>' as the address; the socket's own check then raised
    # ValueError out of MQTT's reconnect, which only expects OSError from the link
    import errno
    sim, modem, uart = device("sim7080")
    modem.dialect.resolve = lambda host: '"127.0.0.1"\x01\x02[R'
    with pytest.raises(OSError) as e:
        modem.resolve("soak.example")
    assert e.value.args[0] == errno.EIO and "garbled" in str(e.value)
