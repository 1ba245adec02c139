"""cellmodem.native.yuge_http: HTTP through the Yuge EC716S module's own client
(manual ch.10 AT+SAPBR, ch.11 AT+HTTP*).

A Modem with the yuge dialect drives the simulator (tools/modemsim/yuge_http.py), which
makes real HTTP/1.1 requests to the http_server / https_server fixtures on 127.0.0.1
(and to a small recording server defined here, for what reaches the wire: the
http_server's /echo sends back the body only, not the headers). Each test is one
behaviour. Bad-input tests check that nothing at all was written to the UART.
"""
import errno
import hashlib
import re
import socket
import threading
import time
import tracemalloc

import pytest

from cellmodem import modem as modem_mod
from cellmodem import tls
from cellmodem.errors import ATError
from cellmodem.fakeuart import FakeUART
from cellmodem.httpbase import HTTPError, Response
from cellmodem.modem import Modem
from cellmodem.native import yuge_http
from simfixtures import LARGE_BODY, LOOPBACK, free_port, split_line_end
from tools.modemsim import get_personality

HOSTS = {"api.example": LOOPBACK, "secure.example": LOOPBACK}
NASTY = b"\r\nOK\r\n\x1a\x1b\x03\r\nERROR\r\n+HTTPACTION: 0,200,1\r\n+HTTPREAD: 9\x00\xff"


@pytest.fixture
def yuge():
    """make(faults=(), **sim_opts) -> (sim, modem): yuge personality, data link up."""
    made = []

    def make(faults=(), **opts):
        uart = FakeUART()
        sim = get_personality("yuge")(seed=5, hosts=HOSTS, faults=list(faults), opts=opts)
        made.append(sim)
        sim.attach(uart)
        m = Modem(uart, dialect="yuge")
        m.connect(apn="internet")
        return sim, m

    yield make
    for sim in made:
        sim.close()


def written_by(modem):
    """A list that fills with every byte string written to the UART."""
    out = []
    modem.at.trace = lambda d, data, t: out.extend(split_line_end(data)) if d == b">" \
        else None
    return out


def commands(out):
    return [b.decode("latin-1") for b in out if b not in (b"\r", b"\r\n")]


class Recorder:
    """A TCP server on 127.0.0.1 that keeps each request (head and body) and answers
    with answer(request_bytes) -> bytes."""

    def __init__(self, answer):
        self.answer = answer
        self.requests = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(5)
            buf = b""
            try:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        break
                    buf += d
                m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", buf)
                if m:
                    want = buf.index(b"\r\n\r\n") + 4 + int(m.group(1))
                    while len(buf) < want:
                        buf += c.recv(65536)
                self.requests.append(buf)
                c.sendall(self.answer(buf))
            except OSError:
                pass
            c.close()

    def head_lines(self, i=-1):
        return self.requests[i].split(b"\r\n\r\n")[0].split(b"\r\n")

    def close(self):
        self.sock.close()


@pytest.fixture
def recorder():
    made = []

    def make(answer=lambda req: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"):
        r = Recorder(answer)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def url(server, path, host=LOOPBACK, scheme="http"):
    return "%s://%s:%d%s" % (scheme, host, server[1], path)


# ---------------------------------------------------------------- GET
def test_get_returns_status_text_and_headers(yuge, http_server):
    sim, modem = yuge()
    r = yuge_http.get(url(http_server, "/hello"), modem=modem)
    assert isinstance(r, Response)
    assert (r.status_code, r.reason) == (200, "OK")
    assert r.headers["Content-Type"] == "text/plain"
    assert r.headers["content-length"] == "12"
    assert r.text == "hello world\n"


def test_get_json_decodes_the_body(yuge, http_server):
    sim, modem = yuge()
    r = yuge_http.get(url(http_server, "/json", "api.example"), modem=modem)
    assert r.json() == {"ok": True, "n": 42}


def test_get_writes_the_11_15_command_sequence(yuge, http_server):
    sim, modem = yuge()
    out = written_by(modem)
    u = url(http_server, "/hello")
    yuge_http.get(u, modem=modem, timeout=5).content
    assert commands(out) == [
        "AT+SAPBR=2,1", "AT+HTTPINIT", "AT+HTTPSSL=0", 'AT+HTTPPARA="CID",1',
        'AT+HTTPPARA="URL","%s"' % u, 'AT+HTTPPARA="TIMEOUT",7', 'AT+HTTPPARA="REDIR",1',
        "AT+HTTPACTION=0", "AT+HTTPHEAD", "AT+HTTPREAD=0,12", "AT+HTTPTERM"]


def test_params_are_urlencoded_into_the_url(yuge, recorder):
    sim, modem = yuge()
    srv = recorder()
    yuge_http.get(url(("", srv.port), "/q?a=1"), params={"b": "x y", "c": "ä&"},
                  modem=modem).content
    assert srv.head_lines()[0] == b"GET /q?a=1&b=x%20y&c=%C3%A4%26 HTTP/1.1"


def test_default_timeout_is_the_modules_120_s(yuge, http_server):
    sim, modem = yuge()
    out = written_by(modem)
    yuge_http.get(url(http_server, "/hello"), modem=modem).close()
    assert b'AT+HTTPPARA="TIMEOUT",122' in out


def test_bearer_is_opened_with_the_connect_apn_when_down(yuge, http_server):
    sim, modem = yuge(sapbr_default_open=False)
    out = written_by(modem)
    assert yuge_http.get(url(http_server, "/hello"), modem=modem).text == "hello world\n"
    cmds = commands(out)
    assert cmds[:6] == ["AT+SAPBR=2,1", 'AT+SAPBR=3,1,"CONTYPE","GPRS"',
                        'AT+SAPBR=3,1,"APN","internet"', "AT+SAPBR=1,1", "AT+SAPBR=2,1",
                        "AT+HTTPINIT"]


def test_head_gives_headers_and_an_empty_body(yuge, http_server):
    sim, modem = yuge()
    out = written_by(modem)
    r = yuge_http.head(url(http_server, "/hello"), modem=modem)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == "12"
    assert r.content == b""
    assert b"AT+HTTPACTION=2" in out
    assert commands(out)[-1] == "AT+HTTPTERM"  # nothing to read: the session ended


# ---------------------------------------------------------------- POST
def test_post_bytes_are_echoed_with_their_content_type(yuge, http_server):
    sim, modem = yuge()
    body = bytes(range(256)) + NASTY
    r = yuge_http.post(url(http_server, "/echo"), data=body,
                       headers={"Content-Type": "application/octet-stream"}, modem=modem)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.content == body


def test_post_body_of_the_module_limit_is_sent_whole(yuge, http_server):
    sim, modem = yuge()
    body = (b"\n" + bytes(range(256)) * 14)[:yuge_http.MAX_BODY]  # a leading LF too
    r = yuge_http.post(url(http_server, "/echo"), data=body, modem=modem)
    assert r.content == body


def test_post_json_is_sent_as_application_json(yuge, http_server):
    sim, modem = yuge()
    r = yuge_http.post(url(http_server, "/echo"), json={"a": [1, 2], "b": "c"},
                       modem=modem)
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {"a": [1, 2], "b": "c"}


def test_post_str_is_sent_as_utf8(yuge, http_server):
    sim, modem = yuge()
    r = yuge_http.post(url(http_server, "/echo"), data="中国", modem=modem)
    assert r.content == "中国".encode()


# ---------------------------------------------------------------- status
@pytest.mark.parametrize("code", [404, 500])
def test_error_status_is_returned_and_raise_for_status_raises(yuge, http_server, code):
    sim, modem = yuge()
    r = yuge_http.get(url(http_server, "/status/%d" % code), modem=modem)
    assert r.status_code == code
    with pytest.raises(HTTPError) as e:
        r.raise_for_status()
    assert e.value.response is r


def test_redirect_is_followed_by_the_module(yuge, recorder, http_server):
    sim, modem = yuge()
    target = url(http_server, "/hello").encode()
    srv = recorder(lambda req: b"HTTP/1.1 302 Found\r\nLocation: " + target +
                   b"\r\nContent-Length: 0\r\n\r\n")
    r = yuge_http.get(url(("", srv.port), "/old"), modem=modem)
    assert (r.status_code, r.text) == (200, "hello world\n")


# ---------------------------------------------------------------- headers on the wire
def test_custom_headers_reach_the_server(yuge, recorder):
    sim, modem = yuge()
    srv = recorder()
    out = written_by(modem)
    yuge_http.get(url(("", srv.port), "/h"), headers={"X-One": "1", "Accept": "text/*"},
                  modem=modem).content
    lines = srv.head_lines()
    assert b"X-One: 1" in lines and b"Accept: text/*" in lines
    assert b'AT+HTTPPARA="USERDATA","X-One: 1\\r\\nAccept: text/*"' in out


def test_user_agent_goes_as_the_ua_parameter(yuge, recorder):
    sim, modem = yuge()
    srv = recorder()
    yuge_http.get(url(("", srv.port), "/"), headers={"User-Agent": "dev/1.0"},
                  modem=modem).content
    assert srv.head_lines().count(b"User-Agent: dev/1.0") == 1


def test_auth_is_sent_as_basic_authorization(yuge, recorder):
    sim, modem = yuge()
    srv = recorder()
    yuge_http.get(url(("", srv.port), "/"), auth=("user", 'p"w:\r\n'), modem=modem).content
    # base64 of user:p"w:\r\n - the password itself never goes into AT quotes
    assert b"Authorization: Basic dXNlcjpwInc6DQo=" in srv.head_lines()


# ---------------------------------------------------------------- large bodies
def test_large_body_streams_byte_for_byte(yuge, http_server):
    sim, modem = yuge()
    r = yuge_http.get(url(http_server, "/large"), modem=modem)
    got = bytearray()
    sizes = set()
    for piece in r.iter_content(4096):
        sizes.add(len(piece))
        got += piece
    assert bytes(got) == LARGE_BODY
    assert max(sizes) == yuge_http.MAX_READ  # one AT+HTTPREAD at most per piece


def test_large_body_streams_through_one_buffer_without_growing_the_heap(yuge, http_server):
    sim, modem = yuge()
    r = yuge_http.get(url(http_server, "/large"), modem=modem)
    buf = bytearray(2048)
    total = 0
    tracemalloc.start()
    try:
        while True:
            n = r.readinto(buf)
            if not n:
                break
            total += n
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == len(LARGE_BODY)
    # everything the simulator thread and the reads allocated (about 10 kB): far
    # below the 200000-byte body
    assert peak < 20000, peak


def test_large_body_is_exact_on_a_chunked_line(yuge, http_server):
    # 1-64 byte pieces and noise URCs between lines (never inside a +HTTPREAD reply)
    sim, modem = yuge(faults=["chunk=1-64", "urc=0.3"])
    r = yuge_http.get(url(http_server, "/large"), modem=modem)
    assert r.content == LARGE_BODY


def test_reply_forms_the_11_15_examples_print_are_read(yuge, http_server):
    """No space after +HTTPACTION: / +HTTPREAD:, and the URC repeated until read."""
    sim, modem = yuge(httpaction_space=False, httpread_space=False,
                      httpaction_repeat_ms=20)
    r = yuge_http.get(url(http_server, "/large"), modem=modem)
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.content == LARGE_BODY


def test_action_urc_held_into_the_next_reply_is_found(yuge, http_server):
    sim, modem = yuge(faults=["hold=1"])
    r = yuge_http.get(url(http_server, "/hello"), modem=modem, timeout=5)
    assert r.text == "hello world\n"


def test_body_too_large_for_the_module_is_enomem_602(yuge, http_server):
    sim, modem = yuge(http_body_max=100000)
    with pytest.raises(OSError) as e:
        yuge_http.get(url(http_server, "/large"), modem=modem)
    assert e.value.args[0] == errno.ENOMEM
    assert "602" in str(e.value) and "No memory" in str(e.value)


# ---------------------------------------------------------------- TLS
def test_https_unverified_by_name_uses_httpssl_seclevel_0_and_sni(yuge, https_server):
    sim, modem = yuge()
    out = written_by(modem)
    r = yuge_http.get(url(https_server, "/json", "secure.example", "https"), modem=modem,
                      verify=False)
    assert r.json() == {"ok": True, "n": 42}
    assert b"AT+HTTPSSL=1" in out
    assert b'AT+SSLCFG="seclevel",153,0' in out
    assert b'AT+SSLCFG="hostname",153,"secure.example"' in out


def test_https_without_a_module_tls_or_verify_false_is_refused_before_the_uart(yuge):
    sim, modem = yuge()
    out = written_by(modem)
    with pytest.raises(ValueError) as e:
        yuge_http.get("https://secure.example/json", modem=modem)
    assert "ModuleTLS" in str(e.value) and "verify=False" in str(e.value)
    with pytest.raises(TypeError):
        yuge_http.get("https://secure.example/json", modem=modem, context=object())
    with pytest.raises(ValueError):  # seclevel 2 verifies the server too (9.7)
        yuge_http.get("https://secure.example/json", modem=modem,
                      context=tls.ModuleTLS(cert="c.crt", key="c.key", verify=False))
    assert out == []


def test_https_verifies_the_server_with_the_ca_uploaded_to_the_module(yuge, pki, https_ca):
    sim, modem = yuge()
    tls.cert_upload(modem, "ca.crt", pki.ca_pem, "ca")
    out = written_by(modem)
    r = yuge_http.get(https_ca.url("/bytes/70000?seed=3"), modem=modem,
                      context=tls.ModuleTLS(ca="ca.crt"))
    body = r.content
    assert r.status_code == 200 and len(body) == 70000
    assert hashlib.sha256(body).hexdigest() == r.headers["X-SHA256"]
    assert https_ca.handshake_errors == []
    # context 153 (9.7) set from the ModuleTLS before the action
    for line in (b'AT+SSLCFG="sslversion",153,3', b'AT+SSLCFG="seclevel",153,1',
                 b'AT+SSLCFG="cacert",153,"ca.crt"', b'AT+SSLCFG="hostname",153,"localhost"'):
        assert line in out


def test_https_mutual_tls_presents_the_uploaded_client_certificate(yuge, pki, https_ca):
    sim, modem = yuge()
    tls.cert_upload(modem, "ca.crt", pki.ca_pem, "ca")
    tls.cert_upload(modem, "client.crt", pki.client_cert_der, "cert")
    tls.cert_upload(modem, "client.key", pki.client_key_der, "key")
    out = written_by(modem)
    r = yuge_http.get(https_ca.url("/bytes/100?seed=1"), modem=modem,
                      context=tls.ModuleTLS(ca="ca.crt", cert="client.crt", key="client.key"))
    assert r.status_code == 200 and len(r.content) == 100
    assert b'AT+SSLCFG="seclevel",153,2' in out
    assert b'AT+SSLCFG="clientkey",153,"client.key"' in out


def test_https_server_the_uploaded_ca_does_not_sign_is_605_as_econnaborted(yuge, pki,
                                                                             https_ca):
    sim, modem = yuge()
    tls.cert_upload(modem, "other.crt", pki.other_ca_pem, "ca")
    with pytest.raises(OSError) as e:
        yuge_http.get(https_ca.url("/bytes/10"), modem=modem,
                      context=tls.ModuleTLS(ca="other.crt"))
    assert e.value.args[0] == errno.ECONNABORTED
    assert str(e.value).endswith("TLS handshake failed: +HTTPACTION: 0,605,0 (SSL channel "
                                 "set-up failed, manual 11.5)")
    assert https_ca.requests == 0
    # the module's HTTP works again after the refusal
    tls.cert_upload(modem, "ca.crt", pki.ca_pem, "ca")
    r = yuge_http.get(https_ca.url("/bytes/10"), modem=modem, context=tls.ModuleTLS(ca="ca.crt"))
    assert r.status_code == 200


def test_https_to_another_name_than_the_certificates_is_605(yuge, pki, https_ca):
    # the server's certificate is for localhost; the module checks the name it
    # was asked for (sent as SNI: AT+SSLCFG "hostname")
    sim, modem = yuge()
    tls.cert_upload(modem, "ca.crt", pki.ca_pem, "ca")
    with pytest.raises(OSError) as e:
        yuge_http.get("https://secure.example:%d/bytes/10" % https_ca.port, modem=modem,
                      context=tls.ModuleTLS(ca="ca.crt"))
    assert e.value.args[0] == errno.ECONNABORTED and "605" in str(e.value)
    assert https_ca.requests == 0


# ---------------------------------------------------------------- errors
def test_slow_answer_with_a_tiny_timeout_is_etimedout_and_the_next_request_works(
        yuge, http_server):
    sim, modem = yuge()
    t0 = time.monotonic()
    with pytest.raises(OSError) as e:
        yuge_http.get(url(http_server, "/slow"), timeout=0.1, modem=modem)
    assert e.value.args[0] == errno.ETIMEDOUT
    assert "+HTTPACTION" in str(e.value)
    assert time.monotonic() - t0 < 0.45
    time.sleep(0.6)  # the abandoned answer would have come by now
    assert yuge_http.get(url(http_server, "/hello"), modem=modem).text == "hello world\n"


def test_unknown_host_is_ehostunreach_with_the_modules_603(yuge):
    sim, modem = yuge()
    with pytest.raises(OSError) as e:
        yuge_http.get("http://no.such.host/x", modem=modem)
    assert e.value.args[0] == errno.EHOSTUNREACH
    assert "+HTTPACTION: 0,603,0 (DNS Error" in str(e.value)


def test_refused_port_is_econnrefused_with_the_modules_601(yuge):
    sim, modem = yuge()
    with pytest.raises(OSError) as e:
        yuge_http.get("http://127.0.0.1:%d/" % free_port(), modem=modem)
    assert e.value.args[0] == errno.ECONNREFUSED
    assert "+HTTPACTION: 0,601,0 (Network Error" in str(e.value)


def test_module_refusal_carries_the_11_14_code_and_text(yuge, http_server):
    """The module answers AT+HTTPREAD of a session ended behind our back with
    `ERROR: 0` (11.14 "Unknown session id")."""
    sim, modem = yuge()
    r = yuge_http.get(url(http_server, "/hello"), modem=modem)
    modem.at.command("AT+HTTPTERM")
    with pytest.raises(ATError) as e:
        r.content
    assert e.value.code == 0
    assert "Unknown session id" in e.value.text


def test_plain_error_firmware_gives_atError_with_its_text(yuge, http_server):
    sim, modem = yuge(http_error_codes=False)
    r = yuge_http.get(url(http_server, "/hello"), modem=modem)
    modem.at.command("AT+HTTPTERM")
    with pytest.raises(ATError) as e:
        r.content
    assert (e.value.code, e.value.text) == (None, "ERROR")


def test_network_drop_mid_request_is_econnaborted_with_601(yuge, http_server):
    sim, modem = yuge()
    threading.Timer(0.2, sim.network_drop).start()
    with pytest.raises(OSError) as e:
        yuge_http.get(url(http_server, "/slow"), modem=modem, timeout=5)
    assert e.value.args[0] == errno.ECONNABORTED
    assert "601" in str(e.value)


def test_a_newer_request_ends_the_unread_one(yuge, http_server):
    sim, modem = yuge()
    first = yuge_http.get(url(http_server, "/large"), modem=modem)
    second = yuge_http.get(url(http_server, "/hello"), modem=modem)
    assert second.text == "hello world\n"
    with pytest.raises(OSError) as e:
        first.content
    assert e.value.args[0] == errno.ENOTCONN
    assert "newer request" in str(e.value)


def test_a_module_restart_ends_the_unread_response_with_econnreset(yuge, http_server):
    # the module's one HTTP session goes with a restart: the old response must not
    # read from whatever session a later request opens
    sim, modem = yuge()
    first = yuge_http.get(url(http_server, "/large"), modem=modem)
    sim.reboot()
    modem.connect(apn="internet")
    second = yuge_http.get(url(http_server, "/hello"), modem=modem)
    with pytest.raises(OSError) as e:
        first.content
    assert e.value.args[0] == errno.ECONNRESET and "restarted" in str(e.value)
    assert second.text == "hello world\n"


def test_a_busy_session_left_by_someone_else_is_ended_first(yuge, http_server):
    sim, modem = yuge()
    modem.at.command("AT+HTTPINIT")
    out = written_by(modem)
    assert yuge_http.get(url(http_server, "/hello"), modem=modem).text == "hello world\n"
    assert commands(out)[1:4] == ["AT+HTTPINIT", "AT+HTTPTERM", "AT+HTTPINIT"]


# ---------------------------------------------------------------- refused before the UART
def refused(modem, exc, *args, **kw):
    out = written_by(modem)
    with pytest.raises(exc) as e:
        yuge_http.request(*args, modem=modem, **kw)
    assert out == []
    return e.value


@pytest.mark.parametrize("bad", ["http://h/a\r\nAT+CFUN=0", "http://h/a\nb",
                                 'http://h/a"b', "http://h/a\\b", "http://h/a b",
                                 "ftp://h/", "http:///x", "http://h:99999/"])
def test_bad_url_is_refused_before_the_uart(yuge, bad):
    sim, modem = yuge()
    refused(modem, ValueError, "GET", bad)


@pytest.mark.parametrize("headers", [{"X": "a\r\nAT+CFUN=0"}, {"X\r\n": "a"},
                                     {"X": 'a"b'}, {"X": "a\\b"}, {"X": "a\x1ab"},
                                     {"X": "ä"}, {"Host": "other"},
                                     {"Content-Length": "5"}])
def test_bad_header_is_refused_before_the_uart(yuge, headers):
    sim, modem = yuge()
    refused(modem, ValueError, "GET", "http://h/", headers=headers)


def test_body_over_the_limit_is_refused_before_the_uart(yuge):
    sim, modem = yuge()
    e = refused(modem, ValueError, "POST", "http://h/",
                data=b"x" * (yuge_http.MAX_BODY + 1))
    assert "streaming uploads past 3356 bytes are not possible natively" in str(e)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS"])
def test_unsupported_method_is_refused_before_the_uart(yuge, method):
    sim, modem = yuge()
    e = refused(modem, NotImplementedError, method, "http://h/")
    assert "GET, POST and HEAD" in str(e)


def test_body_with_get_is_refused_before_the_uart(yuge):
    sim, modem = yuge()
    refused(modem, NotImplementedError, "GET", "http://h/", data=b"x")


@pytest.mark.parametrize("timeout,error", [(0, ValueError), (-1, ValueError),
                                           ("5", TypeError), (True, TypeError)])
def test_bad_timeout_is_refused_before_the_uart(yuge, timeout, error):
    sim, modem = yuge()
    refused(modem, error, "GET", "http://h/", timeout=timeout)  # the wrong type: TypeError


def test_a_modem_of_another_dialect_is_refused():
    uart = FakeUART()
    sim = get_personality("sim7080")()
    sim.attach(uart)
    try:
        m = Modem(uart, dialect="sim7080")
        with pytest.raises(ValueError, match="yuge"):
            yuge_http.get("http://h/", modem=m)
    finally:
        sim.close()


def test_no_modem_at_all_is_enotconn(monkeypatch):
    monkeypatch.setattr(modem_mod, "current", lambda: None)
    with pytest.raises(OSError) as e:
        yuge_http.get("http://h/")
    assert e.value.args[0] == errno.ENOTCONN


def test_no_data_link_is_enotconn_before_the_uart(yuge):
    sim, modem = yuge()
    modem.disconnect()
    e = refused(modem, OSError, "GET", "http://h/")
    assert e.args[0] == errno.ENOTCONN


# ---------------------------------------------------------------- MicroPython
MPY_SCRIPT = """
import sys
from cellmodem.modem import Modem
from cellmodem.ports import open_serial
from cellmodem.native import yuge_http

modem = Modem(open_serial(sys.argv[1]), dialect="yuge")
modem.connect(apn="internet")
r = yuge_http.get("http://api.example:%s/large" % sys.argv[2], timeout=30)
assert r.status_code == 200, r.status_code
buf = bytearray(1024)
total = 0
bad = 0
while True:
    n = r.readinto(buf)
    if not n:
        break
    for j in range(n):
        if buf[j] != (total + j) % 251:
            bad += 1
    total += n
assert total == 200000 and bad == 0, (total, bad)
print("NATIVE HTTP OK", total)
"""



def test_micropython_streams_large_from_mpy_files_in_a_heap_smaller_than_the_body(
        tmp_path, http_server):
    """The real micropython binary, the modules it needs as .mpy files, a 160k heap (112k before the modem gained power and sleep, 128k before the error vocabulary and module TLS, 144k before issue 20's shared waits and reads in the dialect base and issue 19's push framing check; 152k passed, 148k failed)
    (the body is 200000 bytes): /large through the simulator on a pty, every byte
    checked against i % 251."""
    import os
    import subprocess
    from mpy import LIB, compile_tree, tool
    # the whole library as .mpy (what it imports loads lazily; a hand-written list
    # went stale whenever a module was added)
    compile_tree(LIB, str(tmp_path))
    script = tmp_path / "native_http.py"
    script.write_text(MPY_SCRIPT)
    sim = get_personality("yuge")(seed=3, hosts=HOSTS)
    try:
        pty = sim.open_pty()
        p = subprocess.run([tool("micropython"), "-X", "heapsize=160k", str(script), pty,
                            str(http_server[1])], env={"MICROPYPATH": str(tmp_path)},
                           capture_output=True, text=True, timeout=120)
    finally:
        sim.close()
    assert p.returncode == 0 and "NATIVE HTTP OK 200000" in p.stdout, p.stdout + p.stderr
