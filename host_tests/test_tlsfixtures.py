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
