"""Real TLS parts for the TLS tests (registered in conftest.py, so every test can ask
for these fixtures by name).

  pki   (session) -> PKI: a throwaway PKI made with the `openssl` command line tool
          (EC P-256 keys, SHA-256 signatures) in a temporary directory:
            ca_pem, ca_der, ca_file                  the CA the tests trust
            other_ca_pem, other_ca_der, other_ca_file an unrelated CA ("wrong CA")
            server_cert_file, server_key_file         CN=localhost, SAN DNS:localhost,
                                                      IP:127.0.0.1, valid now
            wrongname_cert_file, wrongname_key_file   SAN DNS:wrong.example only
            expired_cert_file, expired_key_file       CN/SAN localhost, notAfter yesterday
            client_cert_pem/_der/_file, client_key_pem/_der/_file
                                                      extendedKeyUsage clientAuth; the
                                                      key is PKCS#8 (PEM and DER), which
                                                      MicroPython's mbedTLS load_cert_chain
                                                      takes (SEC1 DER too: client_key_sec1_der)
            server_context(kind="good"|"wrongname"|"expired", require_client=False)
                                                      -> CPython ssl.SSLContext (server)
          Every file is world-readable (mosquitto drops root to its own user).
          No openssl -> the fixture FAILS (it does not skip).

  tls_echo (function) -> TLSEchoFactory: port = tls_echo(kind="good", require_client=False)
          starts a threaded TLS echo server on 127.0.0.1 (each connection: handshake,
          then every byte echoed until EOF). tls_echo.server(port) -> TLSEchoServer with
          .connections (TCP accepted), .handshakes (completed), .handshake_errors (list
          of str, one per refused/failed handshake), .echoed (application bytes echoed),
          .wait_for(predicate, timeout) and .wait_outcomes(n, timeout) (n handshakes
          finished either way). All stopped at teardown.
  https_ca (function) -> HTTPSServer: http.server (threaded, HTTP/1.1 keep-alive) behind
          TLS with pki's server certificate; .port, .host, .url(path) ->
          "https://localhost:<port><path>", .requests, .connections,
          .handshake_errors:
            GET  /bytes/<n>?seed=<s>  n bytes det_bytes(n, s) + X-SHA256 (hex digest)
            GET  /redirect/<k>        302 Location /redirect/<k-1>; /redirect/0 -> "done"
            POST /echo                the body back (Content-Length or chunked upload)
            GET  /chunked/<n>?seed=<s> det_bytes(n, s), Transfer-Encoding: chunked,
                                      + X-SHA256
            anything else             404
  mosquitto_mtls (function) -> MosquittoMTLS: one Debian mosquitto with two TLS
          listeners (pki server certificate): .port_tls (server auth only, anonymous)
          and .port_mtls (require_certificate, cafile = pki.ca); .host, .log().
  tls_peer (function) -> make(port, mtls=True, client_id=None, ca="ca", timeout=60):
          a connected paho-mqtt TLSPeer verifying the broker against pki.ca_file
          (presenting pki's client certificate when mtls); raises PeerRefused when the
          broker refuses it. Methods: subscribe(topic, qos=1), publish(topic, payload,
          qos=0, retain=False), on_message(cb(topic, payload, qos)), .messages (list of
          (topic, payload bytes, qos)), wait_messages(n, timeout) -> list,
          wait_for(predicate, timeout), close(). Callbacks run on their own thread, so
          they may publish (and wait) themselves.
"""
import hashlib
import http.server
import itertools
import os
import queue
import select
import shutil
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import parse_qs, urlsplit

import paho.mqtt.client as paho
import pytest

from simfixtures import LOOPBACK, _ensure_mosquitto, free_port

OPENSSL_TIMEOUT = 120
TIMEOUT = 60  # liveness only (handshakes, start-up, waits): never a measure of speed
KINDS = ("good", "wrongname", "expired")

_CNF = """\
[ ca ]
default_ca = CA_default

[ CA_default ]
dir             = {dir}
database        = {dir}/index.txt
new_certs_dir   = {dir}/newcerts
serial          = {dir}/serial
default_md      = sha256
policy          = policy_any
unique_subject  = no
copy_extensions = none
email_in_dn     = no
preserve        = yes

[ policy_any ]
commonName = supplied

[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused

[ v3_ca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier   = hash

[ server_localhost ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid, issuer

[ server_wrongname ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:wrong.example
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid, issuer

[ client ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid, issuer
"""


def _openssl():
    exe = shutil.which("openssl")
    if not exe:
        pytest.fail("the `openssl` command line tool is missing: the TLS tests need it to "
                    "make their PKI (apt-get install -y openssl)", pytrace=False)
    return exe


def _run(exe, *args):
    r = subprocess.run([exe] + list(args), capture_output=True, timeout=OPENSSL_TIMEOUT)
    if r.returncode:
        pytest.fail("openssl %s failed (exit %d):\n%s%s" % (
            " ".join(args), r.returncode, r.stdout.decode(errors="replace"),
            r.stderr.decode(errors="replace")), pytrace=False)
    return r.stdout


def _asn1_time(t):
    """UTCTime for openssl ca -startdate/-enddate (YYMMDDHHMMSSZ, years < 2050)."""
    return time.strftime("%y%m%d%H%M%SZ", time.gmtime(t))


def _read(path):
    with open(path, "rb") as f:
        return f.read()


class _CA:
    """One CA made with `openssl ca` (which, unlike `x509 -req` in OpenSSL 3.0, takes
    explicit -startdate/-enddate: that is how the expired certificate is made)."""

    def __init__(self, exe, top, name, cn, start, end):
        self.exe = exe
        self.dir = os.path.join(top, name)
        os.makedirs(os.path.join(self.dir, "newcerts"))
        open(os.path.join(self.dir, "index.txt"), "w").close()
        self.cnf = os.path.join(self.dir, "openssl.cnf")
        with open(self.cnf, "w") as f:
            f.write(_CNF.format(dir=self.dir))
        self.key_file = self.path("ca.key.pem")
        self.cert_file = self.path("ca.pem")
        self.genkey(self.key_file)
        csr = self.path("ca.csr")
        _run(exe, "req", "-new", "-config", self.cnf, "-key", self.key_file, "-subj",
             "/CN=%s" % cn, "-out", csr)
        _run(exe, "ca", "-batch", "-notext", "-selfsign", "-rand_serial", "-config", self.cnf,
             "-keyfile", self.key_file, "-in", csr, "-out", self.cert_file,
             "-extensions", "v3_ca", "-startdate", _asn1_time(start),
             "-enddate", _asn1_time(end))

    def path(self, name):
        return os.path.join(self.dir, name)

    def genkey(self, path):
        """EC P-256 private key, PEM PKCS#8 ("BEGIN PRIVATE KEY")."""
        _run(self.exe, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", path)

    def issue(self, name, cn, extensions, start, end):
        """(cert_file, key_file) for a new key, signed by this CA."""
        key, csr, crt = (self.path(name + s) for s in (".key.pem", ".csr", ".pem"))
        self.genkey(key)
        _run(self.exe, "req", "-new", "-config", self.cnf, "-key", key, "-subj", "/CN=%s" % cn,
             "-out", csr)
        _run(self.exe, "ca", "-batch", "-notext", "-rand_serial", "-config", self.cnf,
             "-cert", self.cert_file, "-keyfile", self.key_file, "-in", csr, "-out", crt,
             "-extensions", extensions, "-startdate", _asn1_time(start),
             "-enddate", _asn1_time(end))
        return crt, key


class PKI:
    """The throwaway PKI (see the module docstring for the attributes)."""

    def __init__(self, top):
        exe = _openssl()
        self.dir = top
        now = time.time()
        day = 86400
        # everything valid from well before now (no clock-skew surprises)
        ca = _CA(exe, top, "ca", "cellmodem test CA", now - 60 * day, now + 3650 * day)
        other = _CA(exe, top, "other", "cellmodem other CA", now - 60 * day, now + 3650 * day)
        self._ca = ca
        self.ca_file = ca.cert_file
        self.ca_pem = _read(self.ca_file)
        self.ca_der = ssl.PEM_cert_to_DER_cert(self.ca_pem.decode())
        self.other_ca_file = other.cert_file
        self.other_ca_pem = _read(self.other_ca_file)
        self.other_ca_der = ssl.PEM_cert_to_DER_cert(self.other_ca_pem.decode())

        self.server_cert_file, self.server_key_file = ca.issue(
            "server", "localhost", "server_localhost", now - day, now + 365 * day)
        self.wrongname_cert_file, self.wrongname_key_file = ca.issue(
            "wrongname", "wrong.example", "server_wrongname", now - day, now + 365 * day)
        self.expired_cert_file, self.expired_key_file = ca.issue(
            "expired", "localhost", "server_localhost", now - 30 * day, now - day)
        self.client_cert_file, self.client_key_file = ca.issue(
            "client", "cellmodem test client", "client", now - day, now + 365 * day)
        self.client_cert_pem = _read(self.client_cert_file)
        self.client_cert_der = ssl.PEM_cert_to_DER_cert(self.client_cert_pem.decode())
        self.client_key_pem = _read(self.client_key_file)  # PKCS#8 PEM
        self.client_key_der = _run(exe, "pkey", "-in", self.client_key_file,
                                   "-outform", "DER")  # PKCS#8 DER (PrivateKeyInfo)
        self.client_key_sec1_der = _run(exe, "ec", "-in", self.client_key_file,
                                        "-outform", "DER")  # SEC1 DER (ECPrivateKey)
        for base, dirs, files in os.walk(top):
            os.chmod(base, 0o755)
            for f in files:
                os.chmod(os.path.join(base, f), 0o644)

    def cert_and_key(self, kind="good"):
        """(cert_file, key_file) of a server certificate kind."""
        try:
            return {"good": (self.server_cert_file, self.server_key_file),
                    "wrongname": (self.wrongname_cert_file, self.wrongname_key_file),
                    "expired": (self.expired_cert_file, self.expired_key_file)}[kind]
        except KeyError:
            raise ValueError("kind must be one of %s, not %r" % (KINDS, kind)) from None

    def server_context(self, kind="good", require_client=False):
        """A CPython server ssl.SSLContext for that certificate; with require_client it
        asks for a client certificate and verifies it against ca."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*self.cert_and_key(kind))
        if require_client:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cafile=self.ca_file)
        return ctx

    def client_context(self, ca="ca", client_cert=False):
        """A verifying CPython client context trusting `ca` ("ca" or "other_ca"),
        presenting the client certificate when client_cert."""
        ctx = ssl.create_default_context(cafile=getattr(self, ca + "_file"))
        if client_cert:
            ctx.load_cert_chain(self.client_cert_file, self.client_key_file)
        return ctx


@pytest.fixture(scope="session")
def pki():
    top = tempfile.mkdtemp(prefix="cellmodem-pki-")
    try:
        yield PKI(top)
    finally:
        shutil.rmtree(top, ignore_errors=True)


class _Counters:
    """Thread-safe counters with a condition to wait on (no sleeps)."""

    def __init__(self):
        self._cond = threading.Condition()
        self.connections = 0
        self.handshakes = 0
        self.handshake_errors = []

    def _bump(self, name, n=1):
        with self._cond:
            setattr(self, name, getattr(self, name) + n)
            self._cond.notify_all()

    def _handshake_failed(self, exc):
        with self._cond:
            self.handshake_errors.append("%s: %s" % (type(exc).__name__, exc))
            self._cond.notify_all()

    def wait_for(self, predicate, timeout=TIMEOUT):
        """Wait until predicate() is true (re-checked at every change); AssertionError
        after timeout seconds."""
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise AssertionError("%r still false after %s s (%s)" % (
                    predicate, timeout, self._state()))
        return True

    def wait_outcomes(self, n=1, timeout=TIMEOUT):
        """Wait until n handshakes have finished, completed or failed."""
        return self.wait_for(lambda: self.handshakes + len(self.handshake_errors) >= n,
                             timeout)

    def _state(self):
        return "connections=%d handshakes=%d handshake_errors=%r" % (
            self.connections, self.handshakes, self.handshake_errors)


# ---------------------------------------------------------------- TLS echo
class TLSEchoServer(_Counters):
    """Threaded TLS echo server on 127.0.0.1 (handshake in each connection's thread)."""

    def __init__(self, ctx, kind="good", require_client=False):
        super().__init__()
        self.ctx = ctx
        self.kind = kind
        self.require_client = require_client
        self.echoed = 0
        self.echo_errors = []
        self._conns = set()
        self._threads = []
        self._stopping = False
        self.sock = socket.create_server((LOOPBACK, 0), backlog=64)
        self.host, self.port = self.sock.getsockname()[:2]
        self._wake_r, self._wake_w = socket.socketpair()
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True,
                                          name="tls-echo-%d" % self.port)
        self._acceptor.start()

    def _state(self):
        return super()._state() + " echoed=%d" % self.echoed

    def _accept_loop(self):
        while True:
            r, _, _ = select.select([self.sock, self._wake_r], [], [])
            if self._wake_r in r or self._stopping:
                return
            try:
                raw, _ = self.sock.accept()
            except OSError:
                continue
            self._bump("connections")
            t = threading.Thread(target=self._serve, args=(raw,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, raw):
        raw.settimeout(TIMEOUT)
        try:
            s = self.ctx.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        except OSError as e:
            raw.close()
            self._handshake_failed(e)
            return
        with self._cond:
            self._conns.add(s)
        try:
            try:
                s.do_handshake()
            except (OSError, ValueError) as e:
                self._handshake_failed(e)
                return
            self._bump("handshakes")
            s.settimeout(None)  # idle clients are woken by stop()
            while True:
                try:
                    data = s.recv(65536)
                    if not data:
                        return
                    s.sendall(data)
                except (OSError, ValueError) as e:
                    if not self._stopping:
                        with self._cond:
                            self.echo_errors.append("%s: %s" % (type(e).__name__, e))
                    return
                self._bump("echoed", len(data))
        finally:
            with self._cond:
                self._conns.discard(s)
            s.close()

    def stop(self):
        self._stopping = True
        self._wake_w.send(b"x")
        self._acceptor.join(TIMEOUT)
        self.sock.close()
        with self._cond:
            conns = list(self._conns)
        for s in conns:
            try:  # the plain socket's shutdown: wakes a thread blocked in recv
                socket.socket.shutdown(s, socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(TIMEOUT)
        self._wake_r.close()
        self._wake_w.close()


class TLSEchoFactory:
    """port = factory(kind="good", require_client=False); factory.server(port)."""

    def __init__(self, pki):
        self.pki = pki
        self.servers = {}

    def __call__(self, kind="good", require_client=False):
        srv = TLSEchoServer(self.pki.server_context(kind, require_client), kind,
                            require_client)
        self.servers[srv.port] = srv
        return srv.port

    def server(self, port):
        return self.servers[port]

    def stop(self):
        for srv in self.servers.values():
            srv.stop()


@pytest.fixture
def tls_echo(pki):
    f = TLSEchoFactory(pki)
    yield f
    f.stop()


# ---------------------------------------------------------------- HTTPS
def tls_socket(m, port, spec, host="localhost"):
    """A cellmodem socket on modem m connected to host:port with module TLS spec (a
    ModuleTLS), 30 s timeout."""
    import cellmodem.socket as msocket
    s = msocket.socket(modem=m)
    s.settimeout(30)
    s.connect((host, port), tls=spec)
    return s


def tls_refused(m, port, spec, host="localhost"):
    """The OSError a module TLS connect to host:port raises (the test fails if none)."""
    import cellmodem.socket as msocket
    s = msocket.socket(modem=m)
    s.settimeout(30)
    with pytest.raises(OSError) as e:
        s.connect((host, port), tls=spec)
    return e.value


def det_bytes(n, seed="0"):
    """n deterministic pseudo-random bytes: SHA-256("<seed>/<i>") for i = 0, 1, ...
    concatenated (what /bytes/<n>?seed=<seed> and /chunked/<n> serve)."""
    seed = str(seed).encode()
    blocks = (n + 31) // 32
    return b"".join(hashlib.sha256(b"%s/%d" % (seed, i)).digest() for i in range(blocks))[:n]


CHUNK_SIZES = (1000, 1, 4096, 333, 16384)  # /chunked/<n> cuts its body in these sizes


class _HTTPSHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _send(self, status, body=b"", ctype="text/plain", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _parts(self):
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        return u.path, q.get("seed", ["0"])[0]

    def do_GET(self):
        self.server._bump("requests")
        path, seed = self._parts()
        head, _, arg = path.rpartition("/")
        try:
            n = int(arg)
        except ValueError:
            n = None
        if head == "/bytes" and n is not None and n >= 0:
            body = det_bytes(n, seed)
            return self._send(200, body, "application/octet-stream",
                              [("X-SHA256", hashlib.sha256(body).hexdigest())])
        if head == "/redirect" and n is not None and n >= 0:
            if n == 0:
                return self._send(200, b"done")
            return self._send(302, b"", headers=[("Location", "/redirect/%d" % (n - 1))])
        if head == "/chunked" and n is not None and n >= 0:
            body = det_bytes(n, seed)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("X-SHA256", hashlib.sha256(body).hexdigest())
            self.end_headers()
            pos = 0
            for size in itertools.cycle(CHUNK_SIZES):
                if pos >= n:
                    break
                piece = body[pos:pos + size]
                pos += len(piece)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
        self._send(404, b"not found\n")

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(out)
                out.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_POST(self):
        self.server._bump("requests")
        body = self._read_body()
        if self._parts()[0] == "/echo":
            return self._send(200, body,
                              self.headers.get("Content-Type", "application/octet-stream"))
        self._send(404, b"not found\n")


class HTTPSServer(_Counters, socketserver.ThreadingMixIn, http.server.HTTPServer):
    """The https_ca server: TLS handshakes in each connection's own thread."""
    daemon_threads = True
    block_on_close = False

    def __init__(self, ctx):
        _Counters.__init__(self)
        self.requests = 0
        self.errors = []  # exceptions in handlers after the handshake
        self.ctx = ctx
        self._conns = set()
        http.server.HTTPServer.__init__(self, (LOOPBACK, 0), _HTTPSHandler)
        self.host, self.port = self.server_address[:2]
        self._thread = threading.Thread(target=self.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path="/"):
        return "https://localhost:%d%s" % (self.port, path)

    def process_request(self, request, client_address):
        self._bump("connections")
        super().process_request(request, client_address)

    def finish_request(self, request, client_address):
        request.settimeout(TIMEOUT)
        try:
            s = self.ctx.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        except OSError as e:
            self._handshake_failed(e)
            return
        with self._cond:
            self._conns.add(s)
        try:
            try:
                s.do_handshake()
            except (OSError, ValueError) as e:
                self._handshake_failed(e)
                return
            self._bump("handshakes")
            s.settimeout(None)  # keep-alive: idle connections are woken by stop()
            self.RequestHandlerClass(s, client_address, self)
        finally:
            with self._cond:
                self._conns.discard(s)
            s.close()

    def handle_error(self, request, client_address):
        if not getattr(self, "_stopping", False):
            with self._cond:
                self.errors.append(repr(sys.exc_info()[1]))

    def stop(self):
        self._stopping = True
        self.shutdown()
        self._thread.join(TIMEOUT)
        with self._cond:
            conns = list(self._conns)
        for s in conns:
            try:
                socket.socket.shutdown(s, socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()


@pytest.fixture
def https_ca(pki):
    srv = HTTPSServer(pki.server_context("good"))
    yield srv
    srv.stop()


# ---------------------------------------------------------------- mosquitto with mTLS
class MosquittoMTLS:
    def __init__(self, proc, port_tls, port_mtls, logfile):
        self.host = LOOPBACK
        self.proc = proc
        self.port_tls = port_tls
        self.port_mtls = port_mtls
        self.logfile = logfile

    def log(self):
        with open(self.logfile, errors="replace") as f:
            return f.read()


def _wait_listening(proc, ports, log, timeout=TIMEOUT):
    """Until every port accepts a TCP connection (re-tried while mosquitto runs)."""
    deadline = time.monotonic() + timeout
    waiting = list(ports)
    while waiting:
        try:
            socket.create_connection((LOOPBACK, waiting[0]), timeout=TIMEOUT).close()
            waiting.pop(0)
            continue
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait(TIMEOUT)
            pytest.fail("mosquitto (mTLS) did not listen on %s:\n%s" % (waiting, log()),
                        pytrace=False)
        try:  # wait for the broker to exit or a moment to pass, then try again
            proc.wait(0.05)
        except subprocess.TimeoutExpired:
            pass


@pytest.fixture
def mosquitto_mtls(pki):
    exe = _ensure_mosquitto()
    d = tempfile.mkdtemp(prefix="cellmodem-mosq-mtls-")
    os.chmod(d, 0o755)
    port_tls, port_mtls = free_port(), free_port()
    while port_mtls == port_tls:
        port_mtls = free_port()
    conf = os.path.join(d, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("per_listener_settings false\nallow_anonymous true\npersistence false\n"
                "max_queued_messages 100000\nmax_inflight_messages 0\n"
                "log_dest stderr\nlog_type all\n"
                "listener %d %s\ncertfile %s\nkeyfile %s\n"
                "listener %d %s\ncertfile %s\nkeyfile %s\ncafile %s\n"
                "require_certificate true\n"
                % (port_tls, LOOPBACK, pki.server_cert_file, pki.server_key_file,
                   port_mtls, LOOPBACK, pki.server_cert_file, pki.server_key_file,
                   pki.ca_file))
    logfile = os.path.join(d, "mosquitto.log")
    logf = open(logfile, "w")
    proc = subprocess.Popen([exe, "-c", conf], stdout=logf, stderr=subprocess.STDOUT)
    broker = MosquittoMTLS(proc, port_tls, port_mtls, logfile)
    try:
        _wait_listening(proc, [port_tls, port_mtls], broker.log)
        yield broker
    finally:
        proc.terminate()
        try:
            proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(TIMEOUT)
        logf.close()
        shutil.rmtree(d, ignore_errors=True)


class PeerRefused(ConnectionError):
    """The broker did not accept the TLSPeer (TLS or MQTT refused it)."""


_peer_ids = itertools.count(1)


class TLSPeer:
    """A paho-mqtt client over TLS (see the module docstring)."""

    def __init__(self, port, pki, mtls=True, client_id=None, ca="ca", host=LOOPBACK,
                 timeout=TIMEOUT):
        self.timeout = timeout
        self.messages = []  # (topic, payload, qos), in arrival order
        self.callback_errors = []
        self._callbacks = []
        self._cond = threading.Condition()
        self._granted = {}
        self._connected = None  # None: waiting; else True / the reason it failed
        self._queue = queue.Queue()
        self._closed = False
        cid = client_id or "tlspeer-%d-%d" % (os.getpid(), next(_peer_ids))
        self.c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=cid)
        kw = {}
        if mtls:
            kw = {"certfile": pki.client_cert_file, "keyfile": pki.client_key_file}
        self.c.tls_set(ca_certs=getattr(pki, ca + "_file"), cert_reqs=ssl.CERT_REQUIRED, **kw)
        self.c.on_connect = self._on_connect
        self.c.on_connect_fail = lambda c, u: self._set_connected("connect failed")
        self.c.on_disconnect = self._on_disconnect
        self.c.on_subscribe = self._on_subscribe
        self.c.on_message = lambda c, u, m: self._queue.put(
            (m.topic, bytes(m.payload), m.qos))
        self._dispatcher = threading.Thread(target=self._dispatch, daemon=True,
                                            name="tlspeer-%s" % cid)
        self._dispatcher.start()
        try:
            self.c.connect(host, port, keepalive=60)
        except (OSError, ValueError) as e:  # ssl.SSLError is an OSError
            self._stop_dispatcher()
            raise PeerRefused("connect to %s:%d: %s: %s" % (host, port, type(e).__name__, e)) \
                from e
        self.c.loop_start()
        with self._cond:
            self._cond.wait_for(lambda: self._connected is not None, timeout)
            outcome = self._connected
        if outcome is not True:
            self.c.loop_stop()
            self.c.disconnect()
            self._stop_dispatcher()
            raise PeerRefused("broker %s:%d refused the peer: %s" % (
                host, port, "no CONNACK within %s s" % timeout if outcome is None
                else outcome))

    # paho callbacks (paho's network thread)
    def _set_connected(self, value):
        with self._cond:
            if self._connected is None:
                self._connected = value
            self._cond.notify_all()

    def _on_connect(self, c, u, flags, rc, props):
        self._set_connected(True if not rc.is_failure else "CONNACK %s" % rc)

    def _on_disconnect(self, c, u, flags, rc, props):
        self._set_connected("disconnected: %s" % rc)
        with self._cond:
            self._cond.notify_all()

    def _on_subscribe(self, c, u, mid, rcs, props):
        with self._cond:
            self._granted[mid] = rcs
            self._cond.notify_all()

    # messages are handed to callbacks (and recorded) on this thread
    def _dispatch(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            for cb in list(self._callbacks):
                try:
                    cb(*item)
                except Exception as e:  # noqa: BLE001 - kept for the test to see
                    self.callback_errors.append(e)
            with self._cond:
                self.messages.append(item)
                self._cond.notify_all()

    def _stop_dispatcher(self):
        self._queue.put(None)
        self._dispatcher.join(self.timeout)

    # the API
    def on_message(self, cb):
        """cb(topic, payload, qos) for every message from now on (on the peer's own
        dispatch thread, so it may publish). Returns cb."""
        self._callbacks.append(cb)
        return cb

    def subscribe(self, topic, qos=1, timeout=None):
        """Subscribe and wait for the SUBACK; returns the granted QoS."""
        rc, mid = self.c.subscribe(topic, qos)
        assert rc == paho.MQTT_ERR_SUCCESS, "subscribe %r: %s" % (topic, paho.error_string(rc))
        self.wait_for(lambda: mid in self._granted, timeout)
        granted = self._granted.pop(mid)[0]
        assert not granted.is_failure, "subscribe %r refused: %s" % (topic, granted)
        return granted.value

    def publish(self, topic, payload, qos=0, retain=False, timeout=None):
        """Publish; with qos > 0 waits until the broker acknowledged it."""
        info = self.c.publish(topic, payload, qos=qos, retain=retain)
        if qos and threading.current_thread() is not getattr(self.c, "_thread", None):
            info.wait_for_publish(timeout or self.timeout)
            assert info.is_published(), "publish %r not acknowledged" % topic
        return info

    def wait_for(self, predicate, timeout=None):
        """Wait until predicate() is true (checked at every message and MQTT event);
        AssertionError after timeout seconds."""
        timeout = timeout or self.timeout
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise AssertionError("%r still false after %s s; messages: %r" % (
                    predicate, timeout, self.messages[-10:]))
        return True

    def wait_messages(self, n, timeout=None):
        """The messages received so far, once there are at least n."""
        self.wait_for(lambda: len(self.messages) >= n, timeout)
        with self._cond:
            return list(self.messages)

    def close(self):
        if self._closed:
            return
        self._closed = True
        self.c.disconnect()
        self.c.loop_stop()
        self._stop_dispatcher()


@pytest.fixture
def tls_peer(pki):
    made = []

    def make(port, mtls=True, client_id=None, ca="ca", timeout=TIMEOUT):
        p = TLSPeer(port, pki, mtls=mtls, client_id=client_id, ca=ca, timeout=timeout)
        made.append(p)
        return p
    yield make
    for p in made:
        p.close()
