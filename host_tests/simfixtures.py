"""Fixtures for tests that drive the modem simulator (tools/modemsim).

Real servers on 127.0.0.1 free ports, for the simulator's real sockets to reach:
  tcp_echo    -> (host, port)  TCP echo server (many clients, echoes every byte)
  sink        -> a listening TCP socket; the test accepts and reads (sends nothing)
  udp_echo    -> (host, port)  UDP echo server (sends each datagram back)
  http_server -> (host, port)  http.server in a thread; paths:
                   GET  /hello        "hello world\\n" (text/plain)
                   GET  /json         {"ok": true, "n": 42}
                   GET  /large        200000 bytes, byte i = i % 251 (deterministic)
                   GET  /status/<n>   empty body with status n
                   GET  /slow         "slow\\n" after 0.5 s
                   POST /echo         the request body back, same Content-Type
                   anything else      404
  peers       -> make(addr, client_id, subscribe=[(topic, qos)], will=None, tls=False):
                   a connected paho-mqtt Peer (.get(timeout) -> message, .publish(...))
  cert        -> (certfile, keyfile) self-signed for localhost (module scope)
  https_server, mosquitto_tls -> (host, port) the same servers behind TLS
  mosquitto   -> (host, port)  Debian's /usr/sbin/mosquitto on a free loopback port
                   (apt-get installs it when missing; the fixture fails clearly if not)
Simulator plumbing:
  modem_factory -> make(dialect, **kw) returns (sim, uart, at): a personality attached
                   to a FakeUART, and a RawAT client on it; all closed after the test.
"""
import http.server
import json
import os
import queue
import shutil
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time

import paho.mqtt.client as paho
import pytest

LOOPBACK = "127.0.0.1"
LARGE_BODY = bytes(i % 251 for i in range(200000))


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes several seconds on purpose (pacing)")


def split_line_end(data):
    """A traced write as [command, its line end] when it is a command line (at.trace
    sees a command and its CR, or CR LF, as one event), else [data] (a payload)."""
    data = bytes(data)
    if data[:2].upper() == b"AT":
        for end in (b"\r\n", b"\r"):
            if data.endswith(end) and b"\r" not in data[:-len(end)]:
                return [data[:-len(end)], end]
    return [data]


def free_port(kind=socket.SOCK_STREAM):
    """A port nobody listens on right now (bind to 0, read it, release it)."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind((LOOPBACK, 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- TCP sink
@pytest.fixture
def sink():
    """A TCP server socket that accepts and keeps connections, sending nothing by
    itself (accept() times out after 5 s)."""
    srv = socket.socket()
    srv.bind((LOOPBACK, 0))
    srv.listen(8)
    srv.settimeout(5)
    yield srv
    srv.close()


# ---------------------------------------------------------------- TCP echo
class _TCPEcho(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        while True:
            try:
                data = s.recv(65536)
            except OSError:
                return
            if not data:
                return
            try:
                s.sendall(data)
            except OSError:
                return


@pytest.fixture
def tcp_echo():
    srv = _TCPEcho((LOOPBACK, 0), _EchoHandler)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield srv.server_address
    srv.shutdown()
    srv.server_close()


# ---------------------------------------------------------------- UDP echo
@pytest.fixture
def udp_echo():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LOOPBACK, 0))
    s.settimeout(0.1)
    stop = threading.Event()

    def run():
        while not stop.is_set():
            try:
                data, addr = s.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                s.sendto(data, addr)
            except OSError:
                pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    yield s.getsockname()
    stop.set()
    t.join(1)
    s.close()


# ---------------------------------------------------------------- HTTP
class _HTTPHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):  # keep pytest output clean
        pass

    def _send(self, status, body=b"", ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        p = self.path.split("?", 1)[0]
        if p == "/hello":
            return self._send(200, b"hello world\n")
        if p == "/json":
            return self._send(200, json.dumps({"ok": True, "n": 42}).encode(),
                              "application/json")
        if p == "/large":
            return self._send(200, LARGE_BODY, "application/octet-stream")
        if p.startswith("/status/"):
            try:
                return self._send(int(p[8:]))
            except ValueError:
                pass
        if p == "/slow":
            time.sleep(0.5)
            return self._send(200, b"slow\n")
        self._send(404, b"not found\n")

    do_HEAD = do_GET

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.path.split("?", 1)[0] == "/echo":
            return self._send(200, body, self.headers.get("Content-Type", "text/plain"))
        self._send(404, b"not found\n")


class _HTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


@pytest.fixture
def http_server():
    srv = _HTTPServer((LOOPBACK, 0), _HTTPHandler)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield srv.server_address
    srv.shutdown()
    srv.server_close()


# ---------------------------------------------------------------- mosquitto
MOSQUITTO = "/usr/sbin/mosquitto"
_apt_updated = []


def _ensure_mosquitto():
    path = MOSQUITTO if os.path.exists(MOSQUITTO) else shutil.which("mosquitto")
    if path:
        return path
    log = []
    try:
        if not _apt_updated:
            r = subprocess.run(["apt-get", "update"], capture_output=True, text=True,
                               timeout=600)
            log.append(r.stdout[-2000:] + r.stderr[-2000:])
            _apt_updated.append(True)
        r = subprocess.run(["apt-get", "install", "-y", "mosquitto"], capture_output=True,
                           text=True, timeout=900,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        log.append(r.stdout[-2000:] + r.stderr[-2000:])
    except (OSError, subprocess.SubprocessError) as e:
        log.append(repr(e))
    path = MOSQUITTO if os.path.exists(MOSQUITTO) else shutil.which("mosquitto")
    if not path:
        pytest.fail("mosquitto broker not available: %s is missing and "
                    "`apt-get install -y mosquitto` did not provide it:\n%s"
                    % (MOSQUITTO, "\n".join(log)), pytrace=False)
    return path


@pytest.fixture
def mosquitto():
    exe = _ensure_mosquitto()
    port = free_port()
    d = tempfile.mkdtemp(prefix="modemsim-mosq-")
    conf = os.path.join(d, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("listener %d %s\nallow_anonymous true\npersistence false\n"
                "max_queued_messages 100000\nmax_inflight_messages 0\n"
                "log_dest stderr\n" % (port, LOOPBACK))
    logf = open(os.path.join(d, "mosquitto.log"), "w+")
    proc = subprocess.Popen([exe, "-c", conf], stdout=logf, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection((LOOPBACK, port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                logf.seek(0)
                pytest.fail("mosquitto did not start on port %d:\n%s" % (port, logf.read()),
                            pytrace=False)
            time.sleep(0.05)
    yield (LOOPBACK, port)
    proc.kill()
    proc.wait(5)
    logf.close()
    shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- MQTT peer (paho-mqtt)
class Peer:
    """paho-mqtt client on the broker: the other side of the simulated module."""

    def __init__(self, addr, client_id="peer", subscribe=(), will=None, tls=False):
        self.msgs = queue.Queue()
        self.c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id)
        if tls:
            self.c.tls_set(cert_reqs=ssl.CERT_NONE)
            self.c.tls_insecure_set(True)
        self.c.on_message = lambda c, u, m: self.msgs.put(m)
        subs = queue.Queue()
        self.c.on_subscribe = lambda c, u, mid, rc, p: subs.put(mid)
        connected = threading.Event()
        self.c.on_connect = lambda c, u, f, rc, p: connected.set()
        self.c.connect(addr[0], addr[1], keepalive=30)
        self.c.loop_start()
        assert connected.wait(5), "paho did not connect"
        for topic, qos in subscribe:
            self.c.subscribe(topic, qos)
            subs.get(timeout=5)

    def get(self, timeout=5):
        return self.msgs.get(timeout=timeout)

    def publish(self, topic, payload, qos=0, retain=False):
        info = self.c.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(5)

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def peers():
    made = []

    def make(*a, **kw):
        p = Peer(*a, **kw)
        made.append(p)
        return p
    yield make
    for p in made:
        p.close()


# ---------------------------------------------------------------- TLS servers
@pytest.fixture(scope="module")
def cert():
    """(certfile, keyfile): a self-signed certificate for 127.0.0.1 / localhost."""
    exe = shutil.which("openssl")
    if not exe:
        pytest.skip("openssl command line tool not available")
    d = tempfile.mkdtemp(prefix="yuge-tls-")
    os.chmod(d, 0o755)
    crt, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
    r = subprocess.run([exe, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", crt, "-days", "2", "-subj", "/CN=localhost"],
                       capture_output=True, timeout=60)
    if r.returncode:
        pytest.skip("openssl could not make a certificate: %r" % r.stderr[-300:])
    for f in (crt, key):
        os.chmod(f, 0o644)
    yield crt, key
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def https_server(cert):
    """The http_server handler behind TLS on a free loopback port."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*cert)
    srv = _HTTPServer((LOOPBACK, 0), _HTTPHandler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True)
    t.start()
    yield srv.server_address
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def mosquitto_tls(cert, mosquitto):
    """A second mosquitto with a TLS listener (the `mosquitto` fixture made sure the
    broker is installed)."""
    port = free_port()
    d = tempfile.mkdtemp(prefix="yuge-mosq-tls-")
    conf = os.path.join(d, "m.conf")
    with open(conf, "w") as f:
        f.write("listener %d %s\ncertfile %s\nkeyfile %s\nallow_anonymous true\n"
                "persistence false\n" % (port, LOOPBACK, cert[0], cert[1]))
    log = open(os.path.join(d, "log"), "w+")
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([exe, "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection((LOOPBACK, port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.seek(0)
                pytest.fail("TLS mosquitto did not start: %s" % log.read())
            time.sleep(0.05)
    yield LOOPBACK, port
    proc.kill()
    proc.wait(5)
    log.close()
    shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- simulator plumbing
@pytest.fixture
def modem_factory():
    """make(dialect, chunk=None, **sim_kwargs) -> (sim, uart, at)."""
    from cellmodem.fakeuart import FakeUART
    from tools.modemsim import get_personality
    from tools.modemsim.rawat import RawAT
    made = []

    def make(dialect, chunk=None, timeout=5.0, **kw):
        cls = get_personality(dialect) if isinstance(dialect, str) else dialect
        uart = FakeUART(chunk=chunk)
        sim = cls(**kw)
        made.append(sim)
        sim.attach(uart)
        return sim, uart, RawAT(uart, timeout=timeout)

    yield make
    for sim in made:
        sim.close()


@pytest.fixture
def connected_modem():
    """make(dialect, hosts, rx_mode=None, sock_rxbuf=4096) -> (sim, modem, log): a
    Modem connected (APN "internet") to an in-process simulator whose command log
    goes to log (an io.StringIO; sim_commands() reads it)."""
    import io
    import cellmodem.socket as msocket
    from cellmodem.fakeuart import FakeUART
    from cellmodem.modem import Modem
    from tools.modemsim import get_personality
    made = []

    def make(dialect, hosts, rx_mode=None, sock_rxbuf=4096):
        log = io.StringIO()
        uart = FakeUART()
        sim = get_personality(dialect)(seed=8, hosts=hosts, verbose=True, log=log)
        made.append(sim)
        sim.attach(uart)
        m = Modem(uart, dialect=dialect, sock_rxbuf=sock_rxbuf)
        m.connect(apn="internet", rx_mode=rx_mode)
        return sim, m, log
    yield make
    msocket.use(None)
    for sim in made:
        sim.close()


def sim_commands(log, since=0):
    """Command lines the simulator parsed, from its log after position since."""
    out = []
    for line in log.getvalue()[since:].splitlines():
        i = line.find("-> '")
        if i < 0:
            i = line.find('-> "')
        if i >= 0:
            out.append(line[i + 4:-1])
    return out


def echo_through(s, data, window=4096):
    """Send data through socket s and read the echo back, at most window bytes
    outstanding."""
    got = bytearray()
    sent = 0
    while len(got) < len(data):
        room = window - (sent - len(got))  # never more in flight than the window
        if sent < len(data) and room > 0:
            sent += s.send(data[sent:sent + min(1460, room)])
            continue
        chunk = s.recv(4096)
        assert chunk, "EOF after %d of %d bytes" % (len(got), len(data))
        got += chunk
    return bytes(got)


# ---------------------------------------------------------------- a connected modem
@pytest.fixture
def device():
    """make(family, attrs=None, **sim_kw) -> (sim, modem, uart): the family's simulator
    personality on a FakeUART (seed 4, echo.example on loopback, registered after 50
    ms unless sim_kw say otherwise), attrs set on the simulator before it starts, and
    a Modem on it, connected (APN "internet"). Every simulator is closed after the
    test."""
    from cellmodem.fakeuart import FakeUART
    from cellmodem.modem import Modem
    from tools.modemsim import get_personality
    made = []

    def make(family, attrs=None, **kw):
        kw.setdefault("seed", 4)
        kw.setdefault("hosts", {"echo.example": LOOPBACK})
        kw.setdefault("reg_delay_ms", 50)
        uart = FakeUART()
        sim = get_personality(family)(**kw)
        made.append(sim)
        for name, value in (attrs or {}).items():
            setattr(sim, name, value)
        sim.attach(uart)
        modem = Modem(uart, dialect=family)
        modem.connect(apn="internet")
        return sim, modem, uart
    yield make
    for sim in made:
        sim.close()
