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
    tls.cert_upload(modem, "ca.pem", "/certs/ca.pem", "ca")   # module TLS
    s.connect(("example.com", 443), tls=tls.ModuleTLS(ca="ca.pem"))
"""
from cellmodem.compat import const
import errno

from cellmodem.validate import at_string, payload, seconds

_POLL = const(3)  # MP_STREAM_POLL
_POLLIN = const(1)


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


def pem(data, what="certificate"):
    """PEM bytes from PEM or DER bytes (or a file name): a module's file system
    takes certificates and keys as PEM text. what: "...key" for a private key, whose
    DER form picks its label (PKCS#8, SEC1 or PKCS#1)."""
    b = load(data, what)
    if b.find(b"-----BEGIN ") >= 0:
        return b
    if not b:
        raise ValueError("%s is empty" % what)
    from binascii import b2a_base64
    label = (_key_label(b) if what[-3:] == "key" else "CERTIFICATE").encode()
    out = [b"-----BEGIN %s-----\n" % label]
    for i in range(0, len(b), 48):
        out.append(b2a_base64(b[i:i + 48]))
    out.append(b"-----END %s-----\n" % label)
    return b"".join(out)


def send_secret(at, cmd, data, **kw):
    """at.send_data(cmd, data, **kw) with data shown as *** in the engine's trace
    (an uploaded private key must never reach a log)."""
    eng = at.engine
    tr = eng.trace
    if tr:
        eng.trace = lambda d, b, ms: tr(d, b"***" if b == data else b, ms)
    try:
        return at.send_data(cmd, data, **kw)
    finally:
        eng.trace = tr


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
    # MicroPython's load_cert_chain takes the bytes; CPython's takes file names only
    # (bytes there are a path: FileNotFoundError, or ValueError for a NUL in DER)
    cpython = hasattr(ctx, "wrap_bio")
    try:
        if cpython:
            _cpython_chain(ctx, cert, key)
        else:
            ctx.load_cert_chain(cert, key)
    except ValueError:  # MicroPython: "invalid key" / "invalid cert"
        raise ValueError("client certificate or key not accepted (key text not shown)")
    except OSError:
        if not cpython:
            raise
        raise ValueError("client certificate or key not accepted (key text not shown)")


def _why(e):
    return str(e).strip() or type(e).__name__


def _key_label(key):
    # the PEM label of a DER private key: PKCS#8 (version 0, then the algorithm's
    # SEQUENCE), SEC1 (EC: version 1, then an OCTET STRING) or PKCS#1 (RSA: INTEGERs)
    if key[:1] == b"\x30" and len(key) > 8:
        t = key[5 + (key[1] & 0x7F if key[1] & 0x80 else 0)]
        if t == 4:
            return "EC PRIVATE KEY"
        if t == 2:
            return "RSA PRIVATE KEY"
    return "PRIVATE KEY"


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
            f.write(pem(key, "client key"))
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


# ---- module TLS: certificates stored on the module, per-connection settings ----
def _certs(modem):
    # A family with module TLS names, in its dialect's TLS attribute, the module
    # that holds its certificate commands - cert_upload(d, name, data, kind),
    # cert_list(d), cert_delete(d, name) - imported only when one is used.
    name = getattr(modem.dialect, "TLS", None)
    if name is None:
        from cellmodem.dialects.base import _NO_MODULE_TLS
        raise OSError(errno.EOPNOTSUPP, _NO_MODULE_TLS % modem.dialect.NAME)
    return __import__(name, None, None, ("cert_list",))


def cert_upload(modem, name, data, kind="cert"):
    """Store a certificate or key on modem's module for module TLS (ModuleTLS names
    it). data: bytes (PEM or DER) or a file name on the board; kind: "ca", "cert" or
    "key" (how the module's TLS takes it). Safe to repeat: a file of that name is
    replaced. Raises ValueError for a bad name (nothing sent), OSError(EOPNOTSUPP)
    where the family has no module TLS, ATError with the module's words. Key bytes
    never reach a trace."""
    if kind not in ("ca", "cert", "key"):
        raise ValueError("kind must be 'ca', 'cert' or 'key', not %r" % (kind,))
    name = at_string(name, "certificate file name", 64, False)
    return _certs(modem).cert_upload(modem.dialect, name, load(data, kind), kind)


def cert_list(modem):
    """Names of the certificates and keys stored on the module."""
    return _certs(modem).cert_list(modem.dialect)


def cert_delete(modem, name):
    """Remove a stored certificate or key; OSError(ENOENT) if there is none."""
    name = at_string(name, "certificate file name", 64, False)
    return _certs(modem).cert_delete(modem.dialect, name)


class ModuleTLS:
    """Module TLS for one connection: the module does the handshake with the
    certificates stored on it (cert_upload). ca, cert, key: names of files on
    the module, stored with cert_upload (cert and key together; on SIM7080 the key
    goes with the client certificate). verify: check the server against ca (on by default; without a ca
    it must be turned off by name). sni: send the host name (default True).
    Raises ValueError for a name that could break an AT command."""

    def __init__(self, ca=None, cert=None, key=None, verify=True, sni=True):
        if verify and ca is None:
            raise ValueError("module TLS verifies the server: give ca= (a certificate "
                             "stored with tls.cert_upload), or verify=False")
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
    if type(e) is OSError and e.args and isinstance(e.args[0], int) and e.args[0] > 0:
        return e  # the link's own error (timeout, reset, ...); mbedTLS's codes are < 0
    return OSError(errno.ECONNABORTED, "TLS handshake failed: %s" % _why(e))


def wrap(sock, server_hostname, context):
    """Host TLS over a connected cellmodem socket: the handshake runs now (within the
    socket's timeout, or 60 s if it has none), with SNI and the server's name checked
    against server_hostname. Returns a TLSSocket; the socket belongs to it from now
    on. Raises OSError(ECONNABORTED, "TLS handshake failed: ...") when the server is
    refused (wrong CA, name, expired), OSError of the link otherwise; the socket is
    closed then. ValueError/TypeError for bad arguments (nothing sent)."""
    if not isinstance(server_hostname, str) or not server_hostname:
        raise ValueError("server_hostname must be the server's name (str)")
    return TLSSocket(sock, server_hostname, context)


class TLSSocket:
    """A cellmodem socket with host TLS: the socket methods MicroPython code calls
    (recv, recv_into, send, sendall, read, readinto, readline, write, settimeout,
    setblocking, close, select.poll through ioctl). Timeouts in seconds, as
    socket.settimeout; OSError(ETIMEDOUT) / EAGAIN as the plain socket raises them."""

    def __init__(self, sock, host, ctx):
        self._raw = sock
        self._timeout = sock._timeout
        self._poller = None
        self._one = bytearray(1)
        t = sock._timeout
        if not t:  # the handshake blocks: bound it
            sock.settimeout(60)
        try:
            try:
                import ssl
                if hasattr(ssl, "MemoryBIO"):  # CPython: TLS objects over memory buffers
                    from cellmodem.tlsbio import BIOStream
                    self._ss = BIOStream(ctx, sock, host)
                else:
                    self._ss = ctx.wrap_socket(sock, server_hostname=host)
            except Exception as e:
                raise tls_error(e)
        except BaseException:
            sock.close()
            raise
        # From here the raw socket never blocks: waits happen in _wait, so a timeout
        # never interrupts mbedTLS in the middle of a record.
        sock.setblocking(False)

    @property
    def raw(self):
        """The cellmodem socket underneath (for its link state)."""
        return self._raw

    def settimeout(self, t):
        """Seconds (int or float), 0 non-blocking, None blocking; TypeError for a str."""
        t = seconds(t)
        self._timeout = None if t is None else int(t * 1000)

    def _stream(self):
        if self._ss is None:
            raise OSError(errno.EBADF, "socket is closed")
        return self._ss

    def setblocking(self, flag):
        self._timeout = None if flag else 0

    def _wait(self):
        # Wait until the modem holds more bytes of the connection (or EOF / error).
        raw = self._raw
        if self._timeout == 0:
            raise OSError(errno.EAGAIN, "no data yet")
        raw._timeout = self._timeout
        try:
            raw._fill(raw._need(None))
        finally:
            raw._timeout = 0

    def recv_into(self, buf, nbytes=0):
        """Decrypted bytes into buf (up to nbytes); returns the count, 0 at EOF."""
        mv = buf if isinstance(buf, memoryview) else memoryview(buf)
        if nbytes and nbytes < len(mv):
            mv = mv[:nbytes]
        if not len(mv):
            return 0
        while True:
            n = self._stream().readinto(mv)
            if n is not None:
                return n
            self._wait()

    def recv(self, n):
        buf = bytearray(n)
        got = self.recv_into(buf)
        return bytes(buf) if got == n else bytes(buf[:got])

    def readinto(self, buf, nbytes=0):
        """Fill buf (or nbytes of it) unless EOF comes first; None if non-blocking
        and nothing is there."""
        mv = memoryview(buf)
        if nbytes and nbytes < len(mv):
            mv = mv[:nbytes]
        got = 0
        while got < len(mv):
            try:
                n = self.recv_into(mv[got:])
            except OSError as e:
                if e.args[0] == errno.EAGAIN:
                    return got if got else None
                raise
            if not n:
                break
            got += n
        return got

    def read(self, n=-1):
        if n is not None and n >= 0:
            buf = bytearray(n)
            got = self.readinto(buf)
            if got is None:
                return None
            return bytes(buf) if got == n else bytes(buf[:got])
        parts = []
        while True:
            chunk = self.recv(1024)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)

    def readline(self):
        """Up to and including b"\\n" (or to EOF); None if non-blocking and nothing
        is there (a partial line stays readable)."""
        out = bytearray()
        one = self._one
        while True:
            try:
                n = self.recv_into(one)
            except OSError as e:
                if e.args[0] != errno.EAGAIN or not out:
                    raise
                return bytes(out)
            if not n:
                return bytes(out)
            out += one
            if one[0] == 10:
                return bytes(out)

    def send(self, data):
        """Encrypt and send data; returns the count taken (all of it, in records)."""
        mv = payload(data)
        while True:
            n = self._stream().write(mv)
            if n is not None:
                return n
            self._wait()  # mbedTLS wants to read first (post-handshake messages)

    def sendall(self, data):
        mv = payload(data)
        i = 0
        while i < len(mv):
            i += self.send(mv[i:])

    def write(self, data, n=None):
        mv = payload(data)
        if n is not None:
            mv = mv[:n]
        self.sendall(mv)
        return len(mv)

    def getpeername(self):
        return self._raw.getpeername()

    def cipher(self):
        """(cipher suite, protocol version) as mbedTLS names them."""
        return self._ss.cipher()

    def ioctl(self, req, arg):
        """select.poll support: readable when decrypted bytes wait or the link has
        news (data, EOF, an error)."""
        if req != _POLL:
            return self._raw.ioctl(req, arg)
        ss = self._ss
        if arg & _POLLIN and hasattr(ss, "pending"):
            if ss.pending():
                return _POLLIN
            return self._raw.ioctl(req, arg)
        if self._poller is None:
            import select
            self._poller = select.poll()
            self._poller.register(ss, 1)
        self._poller.modify(ss, arg)
        r = self._poller.poll(0)
        return r[0][1] if r else 0

    def close(self):
        """Close the connection (no close_notify wait: the module link is freed)."""
        ss = self._ss
        if ss is not None:
            self._ss = None
            try:
                ss.close()
            except Exception:
                pass
            self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def choose(ssl, params=None):
    """(host context, ModuleTLS) from an ssl= argument: True (host TLS from params,
    umqtt.simple's ssl_params: a CA is needed unless verify=False), an SSLContext
    (host TLS), a ModuleTLS (module TLS). ValueError/TypeError otherwise."""
    if ssl is True:
        return from_params(params), None
    if isinstance(ssl, ModuleTLS):
        return None, ssl
    if hasattr(ssl, "wrap_socket") or hasattr(ssl, "wrap_bio"):
        return ssl, None
    raise TypeError("ssl= takes True (with ssl_params), an ssl.SSLContext or a "
                    "cellmodem.tls.ModuleTLS, not %s" % type(ssl).__name__)


def open_socket(modem, host, port, timeout, ssl_ctx, module_tls):
    """A connected cellmodem socket to host:port (resolved by the modem), with host
    TLS (ssl_ctx) or module TLS when given; timeout in seconds. Closes what it
    opened on any failure."""
    from cellmodem import socket as _socket
    s = _socket.socket(modem=modem)
    try:
        s.settimeout(timeout)
        # module TLS: the module gets the name, which it sends as SNI and checks
        # the server's certificate against (an address would fail the name check)
        s.connect((host if module_tls else modem.resolve(host), port), module_tls)
    except BaseException:
        s.close()
        raise
    if ssl_ctx is not None:
        return wrap(s, host, ssl_ctx)  # closes s if the handshake fails
    return s
