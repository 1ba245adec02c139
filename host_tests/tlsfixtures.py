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
"""
import os
import shutil
import ssl
import subprocess
import tempfile
import time

import pytest

OPENSSL_TIMEOUT = 120
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
