"""Real client-side TLS for a simulated module's connection (Python's ssl).

A personality whose module does TLS itself opens the connection with open_tls():
a real TCP connection, a real handshake (its SSLContext says what is verified), and
then a Conn (net.py) whose .sock is a TLSSock, so that the reader thread and the
personality keep working as for a plain connection: the reader thread's recv()
gets decrypted bytes (BlockingIOError while a record is incomplete), send/sendall
encrypt. The SSL object lives on memory BIOs and is only used under a lock; socket
I/O happens outside it, so a blocked send never stops the reader thread.

Usage (under the personality's lock, as the plain opens are):
    ctx = client_context(cafile_pem_bytes, chain=(cert_pem, key_pem), version=(min, max))
    conn, peer_cert = open_tls(self.net, host, port, ctx, sni="example.com")
    ... conn.send(b"..."); the reader thread calls sim.net_data(conn, plaintext)
Failures raise TLSFailure(kind, text) with kind "verify" (ssl's verify_code is in
.code), "handshake" (any other TLS error), or NetError for the TCP part.
"""
import datetime
import ipaddress
import os
import shutil
import socket
import ssl
import tempfile
import threading

from .net import Conn, NetError


class TLSFailure(Exception):
    def __init__(self, kind, text, code=None):
        super().__init__("%s: %s" % (kind, text))
        self.kind = kind
        self.code = code


def client_context(ca_pem=None, chain=None, minimum=None, maximum=None, check_time=True):
    """A client SSLContext. ca_pem: CA certificate(s) as PEM text; None verifies
    nothing (CERT_NONE). The host name is never checked by OpenSSL here (the caller
    checks the verified certificate: check_name). check_time=False leaves the
    validity dates to the caller too (OpenSSL's X509_V_FLAG_NO_CHECK_TIME), so that
    a certificate both expired and for another name can be told from either alone.
    chain: (cert PEM, key PEM) presented to a server that asks. minimum, maximum:
    ssl.TLSVersion bounds."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if ca_pem is None:
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=ca_pem.decode("ascii") if isinstance(ca_pem, bytes)
                                  else ca_pem)
        if not check_time:
            ctx.verify_flags |= 0x200000  # X509_V_FLAG_NO_CHECK_TIME
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    if chain is not None:
        load_chain(ctx, chain[0], chain[1])
    return ctx


def load_chain(ctx, cert_pem, key_pem):
    """ctx.load_cert_chain from PEM bytes (it reads files: a private temp dir)."""
    d = tempfile.mkdtemp(prefix="modemsim-tls-")
    try:
        cf, kf = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
        with open(cf, "wb") as f:
            f.write(cert_pem)
        with open(kf, "wb") as f:
            f.write(key_pem)
        ctx.load_cert_chain(cf, kf)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _asn1_time(s):
    return datetime.datetime.fromtimestamp(ssl.cert_time_to_seconds(s), datetime.timezone.utc)


def expired(cert, now=None):
    """True when now is outside the certificate's notBefore..notAfter (getpeercert())."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return not _asn1_time(cert["notBefore"]) <= now <= _asn1_time(cert["notAfter"])


def _dns_match(pattern, host):
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern == host:
        return True
    # RFC 6125: one leftmost "*" label matches exactly one label
    if pattern.startswith("*.") and "." in host:
        return host.split(".", 1)[1] == pattern[2:] and "*" not in pattern[2:]
    return False


def check_name(cert, host):
    """True when the verified certificate (getpeercert()) is for host: its DNS or IP
    subjectAltNames, or its commonName when it has no DNS name (older stacks do so)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    sans = cert.get("subjectAltName", ())
    if ip is not None:
        return any(k == "IP Address" and ipaddress.ip_address(v.strip()) == ip
                   for k, v in sans)
    dns = [v for k, v in sans if k == "DNS"]
    if not dns:
        dns = [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]
    return any(_dns_match(p, host) for p in dns)


class TLSSock:
    """The socket face of a TLS connection, for net.Conn and its reader thread."""

    def __init__(self, raw, ctx, sni, timeout):
        self.raw = raw
        self.lock = threading.Lock()  # the SSL object and BIOs
        self.wlock = threading.Lock()  # keeps records in order on the wire
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=sni)
        self.eof = False
        self.early = b""  # plaintext that came with the handshake's last flight
        raw.settimeout(timeout)
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._push()
                d = raw.recv(65536)
                if not d:
                    raise TLSFailure("handshake", "the server closed the connection")
                self.inc.write(d)
            except ssl.SSLCertVerificationError as e:
                self._push()  # the alert
                raise TLSFailure("verify", e.verify_message or str(e), e.verify_code)
            except ssl.SSLError as e:
                self._push()
                raise TLSFailure("handshake", e.reason or str(e))
        self._push()
        self.early = self._plain()

    def _push(self):
        d = self.out.read()
        if d:
            try:
                self.raw.sendall(d)
            except OSError:
                pass

    def _plain(self):
        parts = []
        while True:
            try:
                d = self.obj.read(65536)
            except ssl.SSLWantReadError:
                break
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                self.eof = True
                break
            except ssl.SSLError:
                self.eof = True  # a broken record: the connection is over
                break
            if not d:
                self.eof = True
                break
            parts.append(d)
        return b"".join(parts)

    def getpeercert(self):
        return self.obj.getpeercert()

    def cipher(self):
        return self.obj.cipher()

    # ---- what net.Conn and its reader thread use
    def fileno(self):
        return self.raw.fileno()

    def getsockname(self):
        return self.raw.getsockname()

    def setblocking(self, flag):
        pass  # the raw socket keeps its timeout: sends may wait, reads never do

    def recv(self, n):
        """Decrypted bytes (called when the raw socket is readable); b"" at EOF,
        BlockingIOError while only part of a record is here."""
        if self.eof:
            return b""
        d = self.raw.recv(65536)
        if not d:
            return b""
        with self.lock:
            self.inc.write(d)
            data = self._plain()
            out = self.out.read()  # (TLS 1.2 sends nothing back here but alerts)
        if out:
            with self.wlock:
                self.raw.sendall(out)
        if data:
            return data
        if self.eof:
            return b""
        raise BlockingIOError

    def sendall(self, data):
        with self.wlock:
            with self.lock:
                self.obj.write(data)
                out = self.out.read()
            self.raw.sendall(out)

    send = sendall

    def shutdown(self, how):
        self.raw.shutdown(how)

    def close(self):
        try:
            with self.lock:
                try:
                    self.obj.unwrap()  # close_notify
                except ssl.SSLError:
                    pass
                out = self.out.read()
            if out:
                self.raw.settimeout(0.2)
                self.raw.sendall(out)
        except OSError:
            pass
        self.raw.close()


def open_tls(net, host, port, ctx, sni=None, timeout=10.0):
    """A real TCP connection to host:port (loopback only, as every simulated
    connection), a real TLS handshake with ctx (sni: the server name sent, or None),
    then a Conn registered with net's reader thread. Returns (conn, tlssock).
    Raises NetError for the TCP part, TLSFailure for the handshake."""
    ip = net.resolve(host)
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.settimeout(timeout)
    try:
        raw.connect((ip, int(port)))
    except ConnectionRefusedError:
        raw.close()
        raise NetError("refused", "%s:%s" % (ip, port))
    except socket.timeout:
        raw.close()
        raise NetError("timeout", "%s:%s" % (ip, port))
    except OSError as e:
        raw.close()
        raise NetError("error", str(e))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        ts = TLSSock(raw, ctx, sni, timeout)
    except TLSFailure:
        raw.close()
        raise
    except socket.timeout:
        raw.close()
        raise TLSFailure("handshake", "no answer from the server within %g s" % timeout)
    except OSError as e:
        raw.close()
        raise TLSFailure("handshake", str(e))
    conn = Conn(net, "tcp", ts, (ip, int(port)))
    return net._add(conn), ts


def connect_checked(sim, host, port, ca_pem, chain, versions, sni, check_time):
    """A TLS connection for a simulated module that checks the server as module TLS
    stacks do: the chain against ca_pem (None: nothing checked), then the name
    against host and, with check_time, the dates. Returns (None, conn, tlssock), or
    (failure, None, None) with failure "context" (the settings make no context),
    "resolve", "connect" (the TCP part), "handshake" or "refused" (name or dates);
    each logged through sim.log. versions: (minimum, maximum) ssl.TLSVersion."""
    try:
        ctx = client_context(ca_pem, chain, versions[0], versions[1], check_time=False)
    except (ssl.SSLError, ValueError) as e:
        sim.log("-- TLS context: %s" % e)
        return "context", None, None
    try:
        conn, ts = open_tls(sim.net, host, port, ctx, sni, 10.0)
    except NetError as e:
        return ("resolve" if e.kind == "resolve" else "connect"), None, None
    except TLSFailure as e:
        sim.log("-- TLS handshake failed: %s" % e)
        return "handshake", None, None
    if ca_pem is not None:
        cert = ts.getpeercert()
        old = check_time and expired(cert)
        if old or not check_name(cert, host):
            sim.log("-- TLS server refused: %s" % ("expired" if old else "wrong name"))
            conn.close()
            return "refused", None, None
    sim.log("-- TLS %s %s" % (ts.cipher()[1], ts.cipher()[0]))
    return None, conn, ts


# The "sslversion" setting of the SIMCom and Quectel SSL contexts (both families number
# them alike): 0 SSL 3.0 (Python's ssl has none: TLS 1.0), 1 TLS 1.0, 2 TLS 1.1,
# 3 TLS 1.2, 4 all of them; (minimum, maximum) for connect_checked
SSL_VERSIONS = {0: (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1),
                1: (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1),
                2: (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1),
                3: (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2),
                4: (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_2)}
