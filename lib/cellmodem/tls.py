"""TLS for the modem's connections, two ways: host TLS (the board's own mbedTLS over a
cellmodem socket, every family) and module TLS (the module does TLS itself, where
its family has the commands: SIM7080 AT+CASSLCFG, Yuge AT+CIPSSL/AT+SSLCFG).

Host TLS verifies the server unless verify=False is given by name: a context without
a CA is refused before anything is sent. Certificates and keys are bytes (PEM or
DER) or the name of a file on the board's file system; MicroPython's ssl takes DER,
so PEM is converted here.

Usage:
    from cellmodem import tls
    ctx = tls.context(ca="/certs/ca.pem")                  # host TLS, server verified
    s = cellmodem.socket.socket(); s.connect(("example.com", 443))
    ss = tls.wrap(s, "example.com", ctx)                   # SNI and name check
    ss.write(b"GET / HTTP/1.0\\r\\n\\r\\n"); print(ss.read())
    modem.cert_upload("ca.pem", open("/certs/ca.pem", "rb").read())   # module TLS
    s.connect(("example.com", 443), tls=tls.ModuleTLS(ca="ca.pem"))
"""
import errno

from cellmodem.validate import at_string

_POLL = 3  # MP_STREAM_POLL
_POLLIN = 1
_POLLHUP = 16


def load(data, what="certificate"):
    """bytes of data: bytes as given, a str is the name of a file to read."""
    if isinstance(data, str):
        try:
            with open(data, "rb") as f:
                return f.read()
        except OSError as e:
            raise OSError(e.args[0], "cannot read %s file %r" % (what, data))
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError("%s must be bytes (PEM or DER) or a file name, not %s"
                    % (what, type(data).__name__))


def der(data, what="certificate"):
    """DER bytes from PEM or DER bytes (or a file name). ValueError for a PEM block
    that is not base64. Only the first PEM block is taken."""
    b = load(data, what)
    i = b.find(b"-----BEGIN ")
    if i < 0:
        if not b:
            raise ValueError("%s is empty" % what)
        return b
    i = b.find(b"\n", i)
    j = b.find(b"-----END ", i)
    if i < 0 or j < 0:
        raise ValueError("%s: PEM block without its END line" % what)
    from binascii import a2b_base64
    try:
        return a2b_base64(b[i + 1:j])
    except ValueError:
        raise ValueError("%s: PEM block is not base64" % what)


def pem(data, label="CERTIFICATE", what="certificate"):
    """PEM bytes from PEM or DER bytes (or a file name): a module's file system
    takes certificates as PEM text."""
    b = load(data, what)
    if b.find(b"-----BEGIN ") >= 0:
        return b
    if not b:
        raise ValueError("%s is empty" % what)
    from binascii import b2a_base64
    out = [b"-----BEGIN %s-----\n" % label.encode()]
    for i in range(0, len(b), 48):
        out.append(b2a_base64(b[i:i + 48]))
    out.append(b"-----END %s-----\n" % label.encode())
    return b"".join(out)


def context(ca=None, cert=None, key=None, verify=True):
    """An ssl.SSLContext for host TLS (MicroPython's mbedTLS).

    ca: the CA certificate(s) that sign the server's (bytes PEM/DER or a file name);
    required unless verify=False. cert, key: a client certificate and its private key
    (mutual TLS, as AWS IoT asks). Raises ValueError before any connection when
    verify is on and no CA is given, or for unreadable certificate data."""
    import ssl
    if verify and ca is None:
        raise ValueError("host TLS verifies the server: give ca= (PEM/DER bytes or a "
                         "file name), or verify=False to connect unverified")
    if (cert is None) != (key is None):
        raise ValueError("a client certificate needs both cert= and key=")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        _load_ca(ctx, der(ca, "CA certificate"))
    else:
        ctx.verify_mode = ssl.CERT_NONE
        if hasattr(ctx, "check_hostname"):  # CPython refuses CERT_NONE otherwise
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        _load_chain(ctx, der(cert, "client certificate"), der(key, "client key"))
    return ctx


def _load_ca(ctx, cadata):
    try:
        ctx.load_verify_locations(cadata=cadata)
    except ValueError as e:
        raise ValueError("CA certificate not accepted: %s" % _why(e))


def _load_chain(ctx, cert, key):
    try:
        ctx.load_cert_chain(cert, key)
    except TypeError:  # CPython: file names only
        _cpython_chain(ctx, cert, key)
    except ValueError:
        raise ValueError("client certificate or key not accepted (key text not shown)")


def _why(e):
    return str(e).strip() or type(e).__name__


def _cpython_chain(ctx, cert, key):
    # CPython's load_cert_chain reads files: write PEM to a private temp dir
    import os
    import tempfile
    d = tempfile.mkdtemp()
    try:
        cf = os.path.join(d, "c.pem")
        kf = os.path.join(d, "k.pem")
        with open(cf, "wb") as f:
            f.write(pem(cert))
        with open(kf, "wb") as f:
            f.write(pem(key, "PRIVATE KEY", "client key"))
        ctx.load_cert_chain(cf, kf)
    finally:
        for n in os.listdir(d):
            os.remove(os.path.join(d, n))
        os.rmdir(d)


def from_params(params):
    """A context from umqtt.simple's legacy ssl_params dict (keys cadata/ca,
    cert/certfile, key/keyfile, cert_reqs, verify); the server name comes separately."""
    p = params or {}
    ca = p.get("cadata", p.get("ca", p.get("cafile")))
    verify = p.get("verify", True)
    if "cert_reqs" in p:
        verify = p["cert_reqs"] != 0  # ssl.CERT_NONE
    return context(ca, p.get("cert", p.get("certfile")), p.get("key", p.get("keyfile")),
                   verify)


class ModuleTLS:
    """Module TLS for one connection: the module does the handshake with the
    certificates stored on it (modem.cert_upload). ca, cert, key: names of files on
    the module (cert and key together; on SIM7080 the key goes with the client
    certificate). verify: check the server against ca (on by default; without a ca
    it must be turned off by name). sni: send the host name (default True).
    Raises ValueError for a name that could break an AT command."""

    def __init__(self, ca=None, cert=None, key=None, verify=True, sni=True):
        if verify and ca is None:
            raise ValueError("module TLS verifies the server: give ca= (a certificate "
                             "stored with modem.cert_upload), or verify=False")
        if (cert is None) != (key is None):
            raise ValueError("a client certificate needs both cert= and key=")
        self.ca = None if ca is None else at_string(ca, "CA file name", 64, False)
        self.cert = None if cert is None else at_string(cert, "certificate file name", 64, False)
        self.key = None if key is None else at_string(key, "key file name", 64, False)
        self.verify = bool(verify)
        self.sni = bool(sni)

    def __repr__(self):
        return "ModuleTLS(ca=%r, cert=%r, key=%r, verify=%r, sni=%r)" % (
            self.ca, self.cert, self.key, self.verify, self.sni)


def tls_error(e):
    """A handshake failure as OSError(ECONNABORTED) with mbedTLS's words (never key
    material: mbedTLS's messages name the check that failed)."""
    if isinstance(e, OSError) and e.args and isinstance(e.args[0], int) and e.args[0] > 0:
        return e  # the link's own error (timeout, reset, ...)
    return OSError(errno.ECONNABORTED, "TLS handshake failed: %s" % _why(e))
