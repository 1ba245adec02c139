"""The TLS fixtures (tlsfixtures.py) do what they say, checked with CPython's own ssl
(and, for the DER formats, with the real MicroPython binary's mbedTLS)."""
import socket
import ssl
import threading

import pytest

from mpy import run_micropython

TIMEOUT = 60  # liveness only: generous, never a measure of speed


def _handshake(server_ctx, client_ctx, hostname="localhost"):
    """One handshake over a socketpair, then one round trip; (client_exc, server_exc)."""
    a, b = socket.socketpair()
    a.settimeout(TIMEOUT)
    b.settimeout(TIMEOUT)
    out = {}

    def server():
        try:
            with server_ctx.wrap_socket(b, server_side=True) as s:
                s.sendall(s.recv(100))
        except Exception as e:  # noqa: BLE001 - reported to the test
            out["server"] = e
        finally:
            b.close()
    t = threading.Thread(target=server, daemon=True)
    t.start()
    try:
        with client_ctx.wrap_socket(a, server_hostname=hostname) as s:
            s.sendall(b"ping")
            if s.recv(100) != b"ping":
                raise AssertionError("no echo")
    except Exception as e:  # noqa: BLE001
        out["client"] = e
    finally:
        a.close()
    t.join(TIMEOUT)
    assert not t.is_alive()
    return out.get("client"), out.get("server")


# ---------------------------------------------------------------- pki
def test_pki_files_and_bytes_agree(pki):
    assert pki.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert open(pki.ca_file, "rb").read() == pki.ca_pem
    assert ssl.DER_cert_to_PEM_cert(pki.ca_der).encode().strip() == pki.ca_pem.strip()
    assert ssl.DER_cert_to_PEM_cert(pki.other_ca_der).encode().strip() == \
        pki.other_ca_pem.strip()
    assert pki.other_ca_der != pki.ca_der
    assert pki.client_cert_der[0] == 0x30 and pki.client_key_der[0] == 0x30
    assert b"BEGIN PRIVATE KEY" in pki.client_key_pem
    for f in ("server_cert_file", "server_key_file", "wrongname_cert_file",
              "wrongname_key_file", "expired_cert_file", "expired_key_file",
              "client_cert_file", "client_key_file"):
        assert open(getattr(pki, f), "rb").read().startswith(b"-----BEGIN ")


def test_pki_good_server_verifies_by_name_and_by_ip(pki):
    for host in ("localhost", "127.0.0.1"):
        c, s = _handshake(pki.server_context(), pki.client_context(), host)
        assert c is None and s is None, (c, s)


def test_pki_wrong_ca_wrong_name_and_expired_are_told_apart(pki):
    c, _ = _handshake(pki.server_context(), pki.client_context(ca="other_ca"))
    assert isinstance(c, ssl.SSLCertVerificationError)
    assert c.verify_code == 20, c  # unable to get local issuer certificate
    c, _ = _handshake(pki.server_context("wrongname"), pki.client_context())
    assert isinstance(c, ssl.SSLCertVerificationError)
    assert c.verify_code == 62 and "localhost" in c.verify_message, c  # hostname mismatch
    c, _ = _handshake(pki.server_context("expired"), pki.client_context())
    assert isinstance(c, ssl.SSLCertVerificationError)
    assert c.verify_code == 10 and "expired" in c.verify_message, c
    with pytest.raises(ValueError):
        pki.server_context("nonsense")


def test_pki_client_certificate_is_required_and_accepted(pki):
    c, s = _handshake(pki.server_context(require_client=True), pki.client_context())
    assert isinstance(s, ssl.SSLError), (c, s)  # the server refused a client without one
    assert c is not None
    c, s = _handshake(pki.server_context(require_client=True),
                      pki.client_context(client_cert=True))
    assert c is None and s is None, (c, s)


def test_micropython_mbedtls_takes_the_der_ca_client_cert_and_both_key_forms(pki, tmp_path):
    for name in ("ca_der", "client_cert_der", "client_key_der", "client_key_sec1_der"):
        (tmp_path / name).write_bytes(getattr(pki, name))
    (tmp_path / "pem").write_bytes(pki.client_key_pem)
    script = tmp_path / "load.py"
    script.write_text(
        "import ssl, sys\n"
        "d = sys.argv[1]\n"
        "def r(n):\n"
        "    with open(d + '/' + n, 'rb') as f:\n"
        "        return f.read()\n"
        "for k in ('client_key_der', 'client_key_sec1_der', 'pem'):\n"
        "    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\n"
        "    c.load_verify_locations(cadata=r('ca_der'))\n"
        "    try:\n"
        "        c.load_cert_chain(r('client_cert_der'), r(k))\n"
        "        print('LOADED', k)\n"
        "    except Exception as e:\n"
        "        print('REFUSED', k, repr(e))\n")
    p = run_micropython([str(script), str(tmp_path)], timeout=TIMEOUT)
    out = p.stdout + p.stderr
    assert "LOADED client_key_der" in out and "LOADED client_key_sec1_der" in out, out
    assert "REFUSED pem" in out, out  # MicroPython's load_cert_chain wants DER


# ---------------------------------------------------------------- tls_echo
def _connect(port, ctx, hostname="localhost"):
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        return ctx.wrap_socket(raw, server_hostname=hostname)
    except BaseException:
        raw.close()
        raise


def _echo(s, data):
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        piece = s.recv(65536)
        assert piece, "EOF after %d of %d bytes" % (len(got), len(data))
        got += piece
    return got


def test_tls_echo_echoes_every_byte_after_a_verified_handshake(pki, tls_echo):
    port = tls_echo()
    data = bytes(range(256)) * 400
    with _connect(port, pki.client_context()) as s:
        assert _echo(s, data) == data
        assert _echo(s, b"again\n") == b"again\n"
    srv = tls_echo.server(port)
    srv.wait_for(lambda: srv.echoed == len(data) + 6)
    assert srv.handshakes == 1 and srv.handshake_errors == [] and srv.connections == 1
    # many clients at once, each its own thread
    socks = [_connect(port, pki.client_context()) for _ in range(5)]
    for i, s in enumerate(socks):
        assert _echo(s, b"client %d" % i) == b"client %d" % i
        s.close()
    assert srv.handshakes == 6


def test_tls_echo_a_wrong_ca_client_fails_and_no_data_passes(pki, tls_echo):
    port = tls_echo()
    with pytest.raises(ssl.SSLCertVerificationError) as e:
        _connect(port, pki.client_context(ca="other_ca"))
    assert e.value.verify_code == 20  # unable to get local issuer certificate
    srv = tls_echo.server(port)
    srv.wait_outcomes(1)
    assert srv.handshakes == 0 and len(srv.handshake_errors) == 1 and srv.echoed == 0
    assert "unknown ca" in srv.handshake_errors[0].lower(), srv.handshake_errors


@pytest.mark.parametrize("kind,code,words", [("wrongname", 62, "hostname mismatch"),
                                             ("expired", 10, "expired")])
def test_tls_echo_wrongname_and_expired_servers_are_refused_and_told_apart(
        pki, tls_echo, kind, code, words):
    port = tls_echo(kind=kind)
    with pytest.raises(ssl.SSLCertVerificationError) as e:
        _connect(port, pki.client_context())
    assert e.value.verify_code == code and words in e.value.verify_message.lower(), e.value
    srv = tls_echo.server(port)
    srv.wait_outcomes(1)
    assert srv.handshakes == 0 and srv.echoed == 0
    # the same server, not verified: the certificate is the only thing wrong with it
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with _connect(port, ctx) as s:
        assert _echo(s, b"unverified") == b"unverified"


def test_tls_echo_require_client_refuses_a_client_without_a_certificate(pki, tls_echo):
    port = tls_echo(require_client=True)
    srv = tls_echo.server(port)
    with pytest.raises(ssl.SSLError):
        # TLS 1.3: the client's handshake may end before the server has checked;
        # the refusal then comes with the first read
        with _connect(port, pki.client_context()) as s:
            _echo(s, b"let me in")
    srv.wait_outcomes(1)
    assert srv.handshakes == 0 and srv.echoed == 0
    assert "certificate" in srv.handshake_errors[0].lower(), srv.handshake_errors
    with _connect(port, pki.client_context(client_cert=True)) as s:
        assert _echo(s, b"with my certificate") == b"with my certificate"
        assert s.version() in ("TLSv1.2", "TLSv1.3")
    srv.wait_for(lambda: srv.handshakes == 1)


MPY_ECHO = r"""
import socket, ssl, sys
d, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def r(name):
    with open(d + '/' + name, 'rb') as f:
        return f.read()
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.verify_mode = ssl.CERT_REQUIRED
ctx.load_verify_locations(cadata=r('ca_der'))
ctx.load_cert_chain(r('client_cert_der'), r('client_key_der'))
s = socket.socket()
s.connect(socket.getaddrinfo('127.0.0.1', port)[0][-1])
ss = ctx.wrap_socket(s, server_hostname='localhost')
data = bytes((i * 7) & 0xff for i in range(n))
ss.write(data)
got = b''
while len(got) < n:
    piece = ss.read(n - len(got))
    if not piece:
        break
    got += piece
print('MPY TLS ECHO', len(got), got == data)
ss.close()
"""


def test_micropython_mbedtls_mutual_tls_handshake_and_echo(pki, tls_echo, tmp_path):
    for name in ("ca_der", "client_cert_der", "client_key_der"):
        (tmp_path / name).write_bytes(getattr(pki, name))
    script = tmp_path / "echo.py"
    script.write_text(MPY_ECHO)
    port = tls_echo(require_client=True)
    p = run_micropython([str(script), str(tmp_path), str(port), "5000"], timeout=300)
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "MPY TLS ECHO 5000 True" in p.stdout, out
    srv = tls_echo.server(port)
    srv.wait_for(lambda: srv.echoed == 5000)
    assert srv.handshakes == 1 and srv.handshake_errors == []


def test_micropython_mbedtls_refuses_the_wrong_ca(pki, tls_echo, tmp_path):
    (tmp_path / "ca_der").write_bytes(pki.other_ca_der)
    (tmp_path / "client_cert_der").write_bytes(pki.client_cert_der)
    (tmp_path / "client_key_der").write_bytes(pki.client_key_der)
    script = tmp_path / "echo.py"
    script.write_text(MPY_ECHO)
    port = tls_echo()
    p = run_micropython([str(script), str(tmp_path), str(port), "10"], timeout=300)
    assert p.returncode != 0 and "MPY TLS ECHO" not in p.stdout, p.stdout + p.stderr
    srv = tls_echo.server(port)
    srv.wait_outcomes(1)
    assert srv.handshakes == 0 and srv.echoed == 0


# ---------------------------------------------------------------- https_ca
def test_https_ca_serves_bytes_redirects_echo_and_chunked_on_one_connection(pki, https_ca):
    import hashlib
    import http.client
    import urllib.request
    from tlsfixtures import det_bytes
    body = urllib.request.urlopen(https_ca.url("/bytes/100000?seed=7"),
                                  context=pki.client_context(), timeout=TIMEOUT)
    data = body.read()
    assert len(data) == 100000 and data == det_bytes(100000, 7)
    assert hashlib.sha256(data).hexdigest() == body.headers["X-SHA256"]
    assert data != det_bytes(100000, 8)
    assert https_ca.url("/x") == "https://localhost:%d/x" % https_ca.port
    before_req, before_conn = https_ca.requests, https_ca.connections

    c = http.client.HTTPSConnection("localhost", https_ca.port, context=pki.client_context(),
                                    timeout=TIMEOUT)
    c.request("GET", "/redirect/2")
    r = c.getresponse()
    assert r.status == 302 and r.getheader("Location") == "/redirect/1"
    r.read()
    c.request("GET", "/redirect/1")
    r = c.getresponse()
    assert r.status == 302 and r.getheader("Location") == "/redirect/0"
    r.read()
    c.request("GET", "/redirect/0")
    r = c.getresponse()
    assert r.status == 200 and r.read() == b"done"
    c.request("POST", "/echo", body=b"\x00posted\xff" * 1000)
    r = c.getresponse()
    assert r.read() == b"\x00posted\xff" * 1000
    c.request("GET", "/chunked/50000?seed=3")
    r = c.getresponse()
    assert r.getheader("Transfer-Encoding") == "chunked" and r.getheader("Content-Length") is None
    data = r.read()
    assert data == det_bytes(50000, 3) and hashlib.sha256(data).hexdigest() == \
        r.getheader("X-SHA256")
    c.request("GET", "/nothing")
    r = c.getresponse()
    assert r.status == 404
    r.read()
    c.close()
    assert https_ca.requests == before_req + 6
    assert https_ca.connections == before_conn + 1  # keep-alive: one connection for all
    assert https_ca.handshake_errors == [] and https_ca.errors == []


def test_https_ca_is_refused_by_a_client_trusting_the_other_ca(pki, https_ca):
    import urllib.error
    import urllib.request
    with pytest.raises(urllib.error.URLError) as e:
        urllib.request.urlopen(https_ca.url("/bytes/10"), context=pki.client_context("other_ca"),
                               timeout=TIMEOUT)
    assert isinstance(e.value.reason, ssl.SSLCertVerificationError)
    https_ca.wait_outcomes(1)
    assert https_ca.requests == 0


# ---------------------------------------------------------------- mosquitto_mtls
def test_mosquitto_mtls_refuses_a_client_without_a_certificate(pki, mosquitto_mtls, tls_peer):
    from tlsfixtures import PeerRefused
    with pytest.raises(PeerRefused):
        tls_peer(mosquitto_mtls.port_mtls, mtls=False)
    # the broker logs this line before it drops the connection
    assert "peer did not return a certificate" in mosquitto_mtls.log()
    with pytest.raises(PeerRefused):  # and a peer that trusts the other CA refuses it
        tls_peer(mosquitto_mtls.port_tls, mtls=False, ca="other_ca")
    # the server-auth-only listener takes a client without a certificate
    p = tls_peer(mosquitto_mtls.port_tls, mtls=False)
    assert p.subscribe("anon/#", qos=1) == 1


def test_mosquitto_mtls_peer_publishes_and_receives_qos1(pki, mosquitto_mtls, tls_peer):
    p = tls_peer(mosquitto_mtls.port_mtls)
    assert p.subscribe("self/#", qos=1) == 1
    for i in range(3):
        p.publish("self/%d" % i, b"payload %d" % i, qos=1)
    msgs = p.wait_messages(3)
    assert sorted(msgs) == [("self/%d" % i, b"payload %d" % i, 1) for i in range(3)]
    # both listeners are one broker; a callback may publish (answer) itself
    other = tls_peer(mosquitto_mtls.port_tls)
    other.subscribe("down", qos=1)
    p.on_message(lambda t, pl, q: t == "up" and p.publish("down", pl + b"!", qos=1))
    p.subscribe("up", qos=1)
    other.publish("up", b"ping", qos=1)
    assert other.wait_messages(1) == [("down", b"ping!", 1)]
    assert p.callback_errors == []
