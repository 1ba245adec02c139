"""Host TLS (the board's own mbedTLS over the modem's sockets) on every family.

Real parts: a throwaway CA (tlsfixtures.pki), TLS echo servers with good, wrong-name
and expired certificates, an HTTPS server, Debian's mosquitto with a mutual-TLS
listener and a paho-mqtt peer (the broker's log confirms QoS 1 both ways), a small
MQTT broker behind TLS that checks a password; the library runs in the real
micropython binary (host_tests/scenarios/tls_client.py) against the simulator on an
unpaced pty, and the same API is checked in CPython (ssl.MemoryBIO underneath)
through the in-process simulator.
"""
import binascii
import errno
import hashlib
import os
import re
import socket as pysocket
import ssl
import threading
import time

import pytest

import cellmodem.requests as requests
import cellmodem.socket as msocket
from cellmodem import tls
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from mpy import SCENARIOS, run_micropython
from simfixtures import LOOPBACK
from tlsfixtures import TIMEOUT, det_bytes
from tools.modemsim import get_personality
from tools import families

DIALECTS = list(families.NAMES)  # every family in the registry (tools/families.py)
HOSTS = {"localhost": LOOPBACK}


@pytest.fixture
def pty_sim():
    made = []

    def make(dialect):
        sim = get_personality(dialect)(seed=5, hosts=HOSTS)
        made.append(sim)
        return sim.open_pty()
    yield make
    for sim in made:
        sim.close()


@pytest.fixture
def modem():
    """make(dialect) -> a connected Modem on the in-process simulator (CPython)."""
    made = []

    def make(dialect="sim7080"):
        uart = FakeUART()
        sim = get_personality(dialect)(seed=6, hosts=HOSTS)
        made.append(sim)
        sim.attach(uart)
        m = Modem(uart, dialect=dialect)
        m.connect(apn="internet")
        return m
    yield make
    msocket.use(None)
    for sim in made:
        sim.close()


def mp(*args, timeout=300):
    p = run_micropython([os.path.join(SCENARIOS, "tls_client.py")] + [str(a) for a in args],
                        timeout=timeout)
    return p, "exit %d\n--- stdout\n%s--- stderr\n%s" % (p.returncode, p.stdout, p.stderr)


class SplitRecordEcho:
    """A TLS echo server (CPython's ssl over memory BIOs) that sends the bytes of
    every answer in two TCP pieces with `pause` seconds between them: a client whose
    socket timeout is shorter has its reads time out in the middle of a TLS record."""

    def __init__(self, certfile, keyfile, pause=0.6):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certfile, keyfile)
        self.pause = pause
        self.srv = pysocket.create_server((LOOPBACK, 0))
        self.port = self.srv.getsockname()[1]
        self.splits = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            c, _ = self.srv.accept()
        except OSError:
            return
        inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = self.ctx.wrap_bio(inb, outb, server_side=True)
        with c:
            while True:  # handshake
                try:
                    obj.do_handshake()
                    c.sendall(outb.read())
                    break
                except ssl.SSLWantReadError:
                    c.sendall(outb.read())
                    data = c.recv(4096)
                    if not data:
                        return
                    inb.write(data)
            while True:
                data = c.recv(4096)
                if not data:
                    return
                inb.write(data)
                while True:
                    try:
                        plain = obj.read(65536)
                    except ssl.SSLWantReadError:
                        break
                    except ssl.SSLError:
                        return
                    obj.write(plain)
                    out = outb.read()
                    half = len(out) // 2
                    c.sendall(out[:half])
                    self.splits += 1  # counted before the client can have it all
                    time.sleep(self.pause)
                    c.sendall(out[half:])

    def close(self):
        self.srv.close()


class PasswordBroker:
    """Just enough of an MQTT broker behind real TLS (pki's server certificate) to
    check a password: each connection's CONNECT is parsed and kept in .connects as
    (user, password); CONNACK 0 if the password is `password`, else 4 (bad user
    name or password) and the connection is closed."""

    def __init__(self, ctx, password):
        self.ctx = ctx
        self.password = password
        self.connects = []
        self.errors = []
        self.srv = pysocket.create_server((LOOPBACK, 0))
        self.port = self.srv.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @staticmethod
    def _read(c, n):
        out = b""
        while len(out) < n:
            data = c.recv(n - len(out))
            if not data:
                raise EOFError("closed after %d of %d bytes" % (len(out), n))
            out += data
        return out

    def _packet(self, c):
        first = self._read(c, 1)[0]
        n = shift = 0
        while True:
            b = self._read(c, 1)[0]
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return first, self._read(c, n)
            shift += 7

    @staticmethod
    def _strings(body, i, count):
        out = []
        for _ in range(count):
            n = body[i] << 8 | body[i + 1]
            out.append(body[i + 2:i + 2 + n])
            i += 2 + n
        return out, i

    def _serve(self):
        while True:
            try:
                raw, _ = self.srv.accept()
            except OSError:
                return
            raw.settimeout(TIMEOUT)
            try:
                with self.ctx.wrap_socket(raw, server_side=True) as c:
                    first, body = self._packet(c)
                    assert first == 0x10, "not a CONNECT: 0x%02x" % first
                    (name,), i = self._strings(body, 0, 1)
                    flags = body[i + 1]
                    (cid,), i = self._strings(body, i + 4, 1)
                    if flags & 0x04:
                        _, i = self._strings(body, i, 2)  # will topic and message
                    user, i = self._strings(body, i, 1) if flags & 0x80 else ([None], i)
                    pswd, i = self._strings(body, i, 1) if flags & 0x40 else ([None], i)
                    self.connects.append((user[0], pswd[0]))
                    ok = pswd[0] == self.password
                    c.sendall(bytes([0x20, 2, 0, 0 if ok else 4]))
                    while ok:  # until DISCONNECT or EOF
                        first, _ = self._packet(c)
                        if first == 0xE0:
                            break
            except (OSError, EOFError, AssertionError, IndexError) as e:
                self.errors.append(repr(e))

    def close(self):
        try:
            self.srv.shutdown(pysocket.SHUT_RDWR)  # wakes the accept() (Linux)
        except OSError:
            pass
        self.srv.close()
        self._thread.join(TIMEOUT)


def wait_for_log(broker, text):
    """The broker's log once it holds text (a hang guard, not a measure of speed)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        log = broker.log()
        if text in log or time.monotonic() > deadline:
            return log
        time.sleep(0.05)


# ---------------------------------------------------------------- real MicroPython
@pytest.mark.parametrize("dialect", DIALECTS)
def test_micropython_ssl_wrap_socket_over_a_cellmodem_socket_survives_mid_record_timeouts(
        pty_sim, pki, dialect):
    # MicroPython's own idiom (ssl.SSLContext.wrap_socket over the socket) with a 0.1 s
    # socket timeout against a server that pauses 0.6 s inside every TLS record: a
    # read that times out after part of a record must hand over the part it has
    # (as MicroPython's streams do), or mbedTLS loses those bytes.
    srv = SplitRecordEcho(pki.server_cert_file, pki.server_key_file)
    try:
        p, out = mp("plain", pty_sim(dialect), "localhost", srv.port, 16384, pki.ca_file)
    finally:
        srv.close()
    assert p.returncode == 0 and "PLAIN TLS OK 16384" in p.stdout, out
    assert srv.splits >= 4


@pytest.mark.parametrize("dialect", DIALECTS)
def test_micropython_256_kib_echo_over_host_tls_with_the_server_verified(pty_sim, pki, tls_echo,
                                                                          dialect):
    port = tls_echo()
    p, out = mp("echo", pty_sim(dialect), "localhost", port, 262144, pki.ca_file)
    assert p.returncode == 0 and "TLS ECHO OK 262144" in p.stdout, out
    srv = tls_echo.server(port)
    srv.wait_for(lambda: srv.echoed == 262144)  # every byte went through the server's TLS
    assert srv.handshakes == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_micropython_mutual_tls_echo_presents_the_client_certificate(pty_sim, pki, tls_echo,
                                                                      dialect):
    port = tls_echo(require_client=True)  # the server refuses a client without one
    p, out = mp("echo", pty_sim(dialect), "localhost", port, 16384, pki.ca_file,
                pki.client_cert_file, pki.client_key_file)
    assert p.returncode == 0 and "TLS ECHO OK 16384" in p.stdout, out
    srv = tls_echo.server(port)
    srv.wait_for(lambda: srv.echoed == 16384)
    assert srv.handshakes == 1 and srv.handshake_errors == []


REFUSALS = [  # (server, CA the client trusts, words mbedTLS uses)
    ("good", "other_ca_file", "not correctly signed"),
    ("wrongname", "ca_file", "Common Name"),
    ("expired", "ca_file", "expired"),
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("kind,ca,words", REFUSALS, ids=["wrong-ca", "wrong-name", "expired"])
def test_micropython_refuses_a_bad_server_before_any_application_data(pty_sim, pki, tls_echo,
                                                                       dialect, kind, ca, words):
    port = tls_echo(kind=kind)
    p, out = mp("refuse", pty_sim(dialect), "localhost", port, getattr(pki, ca))
    assert p.returncode == 0 and "REFUSED %d TLS handshake failed" % errno.ECONNABORTED \
        in p.stdout, out
    assert words.lower() in p.stdout.lower(), out
    srv = tls_echo.server(port)
    srv.wait_outcomes(1)  # the server's side of the handshake has ended
    assert srv.handshakes == 0 and len(srv.handshake_errors) == 1, srv._state()
    assert srv.echoed == 0  # not one byte of application data passed


@pytest.mark.parametrize("dialect", DIALECTS)
def test_micropython_mqtt_qos1_both_ways_over_mutual_tls(pty_sim, pki, mosquitto_mtls, tls_peer,
                                                          dialect):
    peer = tls_peer(mosquitto_mtls.port_mtls)
    answered = []

    def answer(topic, payload, qos):  # each "up N" is answered with "down N" at QoS 1
        if topic == "tls/up":
            answered.append((payload, qos))
            peer.publish("tls/down", payload.replace(b"up", b"down"), qos=1)
    peer.on_message(answer)
    assert peer.subscribe("tls/up", qos=1) == 1
    p, out = mp("mqtt", pty_sim(dialect), "localhost", mosquitto_mtls.port_mtls, pki.ca_file,
                pki.client_cert_file, pki.client_key_file, 20)
    assert p.returncode == 0 and "MQTT TLS OK 20 20" in p.stdout, out
    assert sorted(answered) == sorted((b"up %d" % i, 1) for i in range(20))
    # the broker's own account: 20 QoS 1 PUBLISHes from the board, each PUBACKed, and
    # 20 QoS 1 PUBLISHes to it, each PUBACKed by the board
    log = wait_for_log(mosquitto_mtls, "Client mp-tls disconnected")
    assert len(re.findall(r"Received PUBLISH from mp-tls \(d0, q1, r0, m\d+, 'tls/up'", log)) \
        == 20, log
    assert log.count("Sending PUBACK to mp-tls") == 20, log
    assert len(re.findall(r"Sending PUBLISH to mp-tls \(d0, q1, r0, m\d+, 'tls/down'", log)) \
        == 20, log
    assert log.count("Received PUBACK from mp-tls") == 20, log


@pytest.mark.parametrize("dialect", DIALECTS)
def test_micropython_https_get_of_1_mib_matches_its_sha256(pty_sim, pki, https_ca, dialect):
    want = hashlib.sha256(det_bytes(1048576, 7)).hexdigest()  # what the server sends
    p, out = mp("https", pty_sim(dialect), https_ca.url("/bytes/1048576?seed=7"), pki.ca_file)
    assert p.returncode == 0 and "HTTPS OK 1048576 %s" % want in p.stdout, out
    assert https_ca.handshakes == 1 and https_ca.requests == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_micropython_async_socket_over_host_tls(pty_sim, pki, tls_echo, dialect):
    port = tls_echo()
    p, out = mp("aio", pty_sim(dialect), "localhost", port, pki.ca_file, 40)
    assert p.returncode == 0 and "AIO TLS OK 40" in p.stdout, out
    srv = tls_echo.server(port)
    lines = sum(len(b"line %d %s\n" % (i, b"x" * (i % 200))) for i in range(40))
    srv.wait_for(lambda: srv.echoed == lines)
    assert srv.handshakes == 1


PASSWORD = "Tls-s3cret_Pw"


def secrets_in(data):
    """Where the password shows in data: as text, or as hex (the form some families
    send and receive socket data in)."""
    pw = PASSWORD.encode()
    forms = [pw, binascii.hexlify(pw), binascii.hexlify(pw).upper()]
    return [f for f in forms if f in data]


@pytest.fixture
def password_broker(pki):
    made = []

    def make():
        b = PasswordBroker(pki.server_context("good"), PASSWORD.encode())
        made.append(b)
        return b
    yield make
    for b in made:
        b.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_micropython_mqtt_password_over_host_tls_is_sent_but_never_traced(
        pty_sim, pki, password_broker, tmp_path, dialect):
    broker = password_broker()
    trace = tmp_path / "at.trace"
    p, out = mp("secret", pty_sim(dialect), "localhost", broker.port, pki.ca_file, "dev",
                PASSWORD, trace)
    assert p.returncode == 0 and "SECRET CONNECTED" in p.stdout, out
    assert broker.connects == [(b"dev", PASSWORD.encode())]  # it did reach the broker
    seen = trace.read_bytes()
    assert len(seen) > 1000  # the trace holds the session (AT commands and TLS records)
    assert secrets_in(seen) == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_micropython_mqtt_password_refused_over_host_tls_is_in_no_exception_text(
        pty_sim, pki, password_broker, tmp_path, dialect):
    broker = password_broker()
    broker.password = b"another one"
    trace = tmp_path / "at.trace"
    p, out = mp("secret", pty_sim(dialect), "localhost", broker.port, pki.ca_file, "dev",
                PASSWORD, trace)
    assert p.returncode == 0 and "SECRET REFUSED MQTT: bad user name or password (4)" \
        in p.stdout, out
    assert broker.connects == [(b"dev", PASSWORD.encode())]
    assert secrets_in((p.stdout + p.stderr).encode()) == []
    assert secrets_in(trace.read_bytes()) == []


# ---------------------------------------------------------------- the API, in CPython
def test_a_context_without_a_ca_is_refused_unless_verify_false_is_said():
    with pytest.raises(ValueError) as e:
        tls.context()
    assert "verify=False" in str(e.value)
    assert tls.context(verify=False).verify_mode == ssl.CERT_NONE


def test_a_client_certificate_without_its_key_is_refused():
    with pytest.raises(ValueError) as e:
        tls.context(verify=False, cert=b"x")
    assert "key=" in str(e.value)


@pytest.mark.parametrize("form", ["pem", "pkcs8_der", "sec1_der", "file"])
def test_a_client_key_loads_in_any_form_in_cpython(pki, form):
    key = {"pem": pki.client_key_pem, "pkcs8_der": tls.der(pki.client_key_pem),
           "sec1_der": pki.client_key_sec1_der, "file": pki.client_key_file}[form]
    ctx = tls.context(pki.ca_file, pki.client_cert_der, key)
    assert ctx.verify_mode == ssl.CERT_REQUIRED


def test_a_key_that_is_no_key_is_refused_without_showing_it(pki):
    with pytest.raises(ValueError) as e:
        tls.context(pki.ca_file, pki.client_cert_der, b"not-a-key-at-all")
    assert "not accepted" in str(e.value) and b"not-a-key" not in str(e.value).encode()


def test_pem_der_and_file_names_give_the_same_certificate(pki):
    assert tls.der(pki.ca_pem) == pki.ca_der
    assert tls.der(pki.ca_der) == pki.ca_der
    assert tls.der(pki.ca_file) == pki.ca_der
    assert tls.der(tls.pem(pki.ca_der)) == pki.ca_der


def test_an_unreadable_certificate_file_is_named_in_the_error():
    with pytest.raises(OSError) as e:
        tls.der("/no/such/ca.pem")
    assert e.value.args[0] == errno.ENOENT and "/no/such/ca.pem" in str(e.value)


def test_a_certificate_that_is_neither_bytes_nor_a_file_name_is_a_type_error():
    with pytest.raises(TypeError):
        tls.der(42)


def test_wrap_refuses_a_wrong_name_and_closes_the_link(modem, pki, tls_echo):
    m = modem()
    port = tls_echo(kind="wrongname")
    s = msocket.socket()
    s.settimeout(20)
    s.connect(("localhost", port))
    with pytest.raises(OSError) as e:
        tls.wrap(s, "localhost", tls.context(pki.ca_file))
    assert e.value.args[0] == errno.ECONNABORTED and "TLS handshake failed" in str(e.value)
    assert not m.links  # the module's link was closed


def test_tls_socket_timeouts_are_seconds_and_leave_the_stream_intact(modem, pki, tls_echo):
    modem()
    s = msocket.socket()
    s.settimeout(20)
    s.connect(("localhost", tls_echo()))
    ss = tls.wrap(s, "localhost", tls.context(pki.ca_der))
    ss.settimeout(0.3)
    with pytest.raises(OSError) as e:
        ss.recv(10)  # nothing sent: nothing to read
    assert e.value.args[0] == errno.ETIMEDOUT
    ss.setblocking(False)
    with pytest.raises(OSError) as e:
        ss.recv(10)
    assert e.value.args[0] == errno.EAGAIN
    ss.settimeout(20)
    ss.write(b"still in step\n")
    assert ss.readline() == b"still in step\n"
    ss.close()
    with pytest.raises(OSError) as e:
        ss.recv(1)
    assert e.value.args[0] == errno.EBADF


def test_requests_session_keeps_one_tls_connection_and_follows_redirects(modem, pki, https_ca):
    m = modem("quectel")
    with requests.Session(modem=m, verify=pki.ca_file) as s:
        r = s.get(https_ca.url("/redirect/2"))
        assert r.status_code == 200 and r.text == "done"
        r = s.get(https_ca.url("/bytes/5000?seed=3"))
        assert len(r.content) == 5000
        assert hashlib.sha256(r.content).hexdigest() == r.headers["X-SHA256"]
        assert s.opened == 1  # redirects and the next request reused the TLS connection
    assert https_ca.connections == 1


def test_requests_verifies_the_server_on_every_connection(modem, pki, https_ca):
    m = modem("sim7600")
    with pytest.raises(OSError) as e:
        requests.get(https_ca.url("/bytes/10"), modem=m, verify=pki.other_ca_file)
    assert e.value.args[0] == errno.ECONNABORTED
    r = requests.get(https_ca.url("/bytes/10?seed=1"), modem=m, verify=pki.ca_der)
    assert r.status_code == 200 and len(r.content) == 10


def test_mqtt_takes_an_ssl_context_with_a_client_certificate(modem, pki, mosquitto_mtls,
                                                              tls_peer):
    from cellmodem.mqtt import MQTTClient
    m = modem("yuge")
    got = []
    peer = tls_peer(mosquitto_mtls.port_tls)
    peer.on_message(lambda t, p, q: got.append((p, q)))
    peer.subscribe("cpy/#", qos=1)
    c = MQTTClient("cpy1", "localhost", mosquitto_mtls.port_mtls, modem=m,  # mutual TLS
                   ssl=tls.context(pki.ca_file, pki.client_cert_file, pki.client_key_file))
    c.connect()
    c.publish(b"cpy/a", b"one", qos=1)
    c.disconnect()
    peer.wait_for(lambda: got)
    assert got == [(b"one", 1)]


def test_mqtt_takes_umqtt_ssl_params(modem, pki, mosquitto_mtls, tls_peer):
    from cellmodem.mqtt import MQTTClient
    m = modem("sim7600")
    got = []
    peer = tls_peer(mosquitto_mtls.port_tls)
    peer.on_message(lambda t, p, q: got.append((p, q)))
    peer.subscribe("cpy/#", qos=1)
    c = MQTTClient("cpy2", "localhost", mosquitto_mtls.port_tls, modem=m, ssl=True,
                   ssl_params={"cadata": pki.ca_der})
    c.connect()
    c.publish(b"cpy/b", b"two", qos=1)
    c.disconnect()
    peer.wait_for(lambda: got)
    assert got == [(b"two", 1)]


def test_mqtt_over_tls_refuses_an_unverified_broker(modem, pki, mosquitto_mtls):
    from cellmodem.mqtt import MQTTClient
    m = modem("sim7080")
    c = MQTTClient("cpy3", "localhost", mosquitto_mtls.port_tls, modem=m,
                   ssl=tls.context(pki.other_ca_file))
    with pytest.raises(OSError) as e:
        c.connect()
    assert e.value.args[0] == errno.ECONNABORTED
    assert not c.isconnected()
