"""The socket, status and download examples run unchanged in real MicroPython.

Each test starts the real servers an example talks to on free loopback ports, a
simulator personality on a pty, and runs examples/<name>.py in the micropython
binary through the unix board file (boards/unix.py as board.py: `board.modem()`
opens the pty given first on the command line), with the servers' addresses after
it (on a board the same files take them from their settings). The assertions are the facts the example
claims: the bytes that came back are the bytes sent (checked on the server's side
too), the checksum is the server's, the identity is the simulated module's, and a
failure is reported by its errno name with exit status 1.

Not covered here: tcp_server.py's "this family has no TCP server" branch, because
every family the library has (the registry, tools/families.py) has one.
"""
import calendar
import json
import os
import re
import socket
import socketserver
import subprocess
import threading
import time

import pytest

from httpserver import BIG, BIG_SHA256, HTTPTestServer
from mpy import EXAMPLES, ROOT, example_cmd, run_example
from simfixtures import LOOPBACK, free_port
from tools.modemsim import get_personality
from tools import families

DIALECTS = list(families.NAMES)  # every family in the registry (tools/families.py)
HERE = os.path.dirname(os.path.abspath(__file__))
HOSTS = {"lines.example": LOOPBACK, "echo.example": LOOPBACK, "web.example": LOOPBACK,
         "broker.example": LOOPBACK}


def run(example, pty, *args, timeout=60, cwd=None):
    """Run examples/<example> in micropython through the unix board file (board.py:
    boards/unix.py, which opens the pty given first on the command line)."""
    return run_example(example, pty, *args, timeout=timeout, cwd=cwd)


def output(p):
    return "exit status %d\n--- stdout\n%s--- stderr\n%s" % (p.returncode, p.stdout, p.stderr)


@pytest.fixture
def sims():
    """make(dialect, **kw) -> (sim, pty path); every simulator closed after the test."""
    made = []

    def make(dialect, **kw):
        sim = get_personality(dialect)(seed=8, hosts=HOSTS, **kw)
        made.append(sim)
        return sim, sim.open_pty()
    yield make
    for sim in made:
        sim.close()


# ---------------------------------------------------------------- every example
def test_every_example_gets_its_modem_from_the_board_file_and_a_test_runs_it():
    """No example opens a port itself: each imports board and calls board.modem()
    (on a board its pins, power key and baud; here boards/unix.py). Each is run by a
    test through the unix board file (run_example / example_cmd in mpy.py), or by
    make demo's (tools/demo.py, also through boards/unix.py)."""
    names = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py"))
    runners = []
    for f in sorted(os.listdir(HERE)):
        if f.startswith("test_") and f.endswith(".py"):
            with open(os.path.join(HERE, f)) as fh:
                text = fh.read()
            if "run_example" in text or "example_cmd" in text:
                runners.append(text)
    with open(os.path.join(ROOT, "tools", "demo.py")) as fh:
        runners.append(fh.read())  # its test: host_tests/test_demo.py
    for name in names:
        with open(os.path.join(EXAMPLES, name)) as fh:
            text = fh.read()
        assert "\nimport board" in text and "board.modem(" in text, name
        for opener in ("UART(", "open_serial", "from machine", "import machine"):
            assert opener not in text, (name, opener)
        assert any('"%s"' % name in r for r in runners), "no test runs " + name


# ---------------------------------------------------------------- hello_modem.py
@pytest.mark.parametrize("dialect", ["sim7080", "quectel"])
def test_hello_modem_shows_the_module_and_gets_its_echo_back_intact(sims, tcp_echo, dialect):
    sim, pty = sims(dialect)
    p = run("hello_modem.py", pty, "echo.example", tcp_echo[1])
    assert p.returncode == 0, output(p)
    assert "dialect %s" % dialect in p.stdout and "IMEI %s" % sim.imei in p.stdout, output(p)
    assert "IP address: %s" % sim.ip in p.stdout, output(p)
    assert "echo intact: True" in p.stdout, output(p)


# ---------------------------------------------------------------- mqtt_sensor.py
def test_mqtt_sensor_publishes_answers_a_ping_and_stops_on_command(sims, mosquitto, peers):
    sim, pty = sims("sim7600")
    peer = peers(mosquitto, subscribe=[("sensor1/#", 1)])
    cmd, env = example_cmd("mqtt_sensor.py", pty, "broker.example", mosquitto[1])
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    got = []
    try:
        while b"pong" not in [m.payload for m in got if m.topic == "sensor1/status"]:
            m = peer.get(timeout=30)
            got.append(m)
            if m.topic == "sensor1/reading":
                peer.publish("sensor1/cmd", b"ping", qos=1)
        peer.publish("sensor1/cmd", b"stop", qos=1)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    readings = [json.loads(m.payload) for m in got if m.topic == "sensor1/reading"]
    assert readings[0]["n"] == 1 and isinstance(readings[0]["value"], float), got
    assert b"online" in [m.payload for m in got if m.topic == "sensor1/status"], got
    assert proc.returncode == 0, out
    assert "command: b'ping'" in out and "command: b'stop'" in out, out
    assert out.rstrip().endswith("sensor done"), out


# ---------------------------------------------------------------- gps_tracker.py
@pytest.mark.parametrize("dialect", ["sim7080", "quectel"])
def test_gps_tracker_publishes_each_fix_at_qos1(sims, mosquitto, peers, dialect, tmp_path):
    # on the SIM7080 the data link is paused for each fix: the session carries on.
    # Two wakes (two runs, as the board's deep sleep restarts main.py): the second
    # resumes the module's context (PSM kept it) instead of bringing it up.
    sim, pty = sims(dialect)
    sim.gnss_ttff_ms = 300
    peer = peers(mosquitto, subscribe=[("tracker1/#", 1)])
    p = run("gps_tracker.py", pty, "broker.example", mosquitto[1], 1, 1, timeout=120,
            cwd=str(tmp_path))
    assert p.returncode == 0 and p.stdout.rstrip().endswith("tracker done"), output(p)
    assert "modem: brought up" in p.stdout and (tmp_path / "cm.state").exists(), output(p)
    assert sim.cpsms[0] == 1  # PSM asked for at the first wake
    p = run("gps_tracker.py", pty, "broker.example", mosquitto[1], 1, 1, timeout=120,
            cwd=str(tmp_path))
    assert p.returncode == 0 and "modem: resumed" in p.stdout, output(p)
    fixes = [json.loads(peer.get(timeout=20).payload) for _ in range(2)]
    for f in fixes:
        assert abs(f["lat"] - sim.gnss_position[0]) < 1e-5, fixes
        assert abs(f["lon"] - sim.gnss_position[1]) < 1e-5, fixes
        assert f["sats"] == sim.gnss_sats and f["utc"].endswith("Z"), fixes


# ---------------------------------------------------------------- sms_control.py
def test_sms_control_answers_its_owner_ignores_strangers_and_stops_on_command(sims):
    sim, pty = sims("quectel")
    owner = "+491701234567"
    sim.deliver_sms(owner, "ping")  # came while the device was off: found by list()
    cmd, env = example_cmd("sms_control.py", pty, owner)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    seen = []
    try:
        while not any(line.startswith("listening") for line in seen):
            line = proc.stdout.readline()
            assert line, "ended before listening:\n" + "".join(seen)
            seen.append(line)
        sim.deliver_sms("+4930999", "STOP")  # not the owner
        sim.deliver_sms(owner, "Status")
        sim.deliver_sms(owner, "dance")
        sim.deliver_sms(owner, "stop")
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    out = "".join(seen) + out
    assert proc.returncode == 0, out
    sent = [(to, text) for to, text, _ in sim.sms_sent]
    assert [to for to, _ in sent] == [owner] * 4, sent
    assert [sent[0][1], sent[2][1], sent[3][1]] == [
        "PONG", "unknown command 'DANCE': STATUS, PING or STOP", "BYE"], sent
    assert re.match(r"signal -?\d+ dBm, operator .+, IP %s$" % re.escape(sim.ip), sent[1][1]), sent
    assert "not the owner: ignored" in out and out.rstrip().endswith("sms control done"), out
    assert sim.sms_store == {}  # every message read and deleted


# ---------------------------------------------------------------- tcp_client.py
class _LineServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _LineHandler(socketserver.StreamRequestHandler):
    """Reads one request line, answers two lines and a tail without a newline, closes."""

    def handle(self):
        line = self.rfile.readline(1000)
        self.server.requests.append(line)
        self.wfile.write(b"you said: " + line + b"second line \x00\xff\r\nthe tail")


@pytest.fixture
def line_server():
    srv = _LineServer((LOOPBACK, 0), _LineHandler)
    srv.requests = []
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_tcp_client_prints_each_answer_line_until_the_server_closes(sims, line_server,
                                                                   dialect):
    sim, pty = sims(dialect)
    port = line_server.server_address[1]
    p = run("tcp_client.py", pty, "lines.example", port, "HELLO there")
    assert p.returncode == 0, output(p)
    assert line_server.requests == [b"HELLO there\r\n"]
    lines = p.stdout.splitlines()
    assert lines[1:] == [
        "connecting to lines.example:%d (127.0.0.1)" % port,
        "sent 13 bytes",
        r"line 1: b'you said: HELLO there\r\n'",
        r"line 2: b'second line \x00\xff\r\n'",
        "line 3: b'the tail'",
        "(connection closed by the server)",
        "received 3 lines",
    ], output(p)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_tcp_client_names_a_refused_connection_and_an_unknown_host(sims, dialect):
    sim, pty = sims(dialect)
    p = run("tcp_client.py", pty, "lines.example", free_port(), "x")
    assert p.returncode == 1, output(p)
    assert "FAILED: ECONNREFUSED: " in p.stdout and "received" not in p.stdout, output(p)
    p = run("tcp_client.py", pty, "nowhere.example", 80, "x")
    assert p.returncode == 1, output(p)
    assert "FAILED: EHOSTUNREACH: " in p.stdout and "nowhere.example" in p.stdout, output(p)


# ---------------------------------------------------------------- udp_echo.py
def datagram(n):
    """What udp_echo.py sends as datagram n."""
    return b"datagram %d \x00\xff\r\n" % n + bytes(range(n % 7, 64 + n % 7))


@pytest.fixture
def udp_server():
    """A UDP echo server on loopback; .got lists the datagrams received. .dup and .drop
    are sets of datagram numbers (1-based) to echo twice (the copy 0.3 s later) or not
    at all."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LOOPBACK, 0))
    s.settimeout(0.05)
    state = type("UDPEcho", (), {})()
    state.port, state.got, state.dup, state.drop = s.getsockname()[1], [], set(), set()
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                data, addr = s.recvfrom(65535)
            except socket.timeout:
                continue
            state.got.append(data)
            n = len(state.got)
            if n not in state.drop:
                s.sendto(data, addr)
            if n in state.dup:  # later, alone: a datagram, not glued to the first copy
                threading.Timer(0.3, s.sendto, (data, addr)).start()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield state
    stop.set()
    t.join(2)
    s.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_udp_echo_gets_every_datagram_back_intact(sims, udp_server, dialect):
    sim, pty = sims(dialect)
    p = run("udp_echo.py", pty, "echo.example", udp_server.port, 4)
    assert p.returncode == 0, output(p)
    assert udp_server.got == [datagram(n) for n in range(1, 5)]
    for n in range(1, 5):
        assert re.search(r"^datagram %d: 79 bytes back intact in \d+ ms$" % n, p.stdout, re.M), \
            output(p)
    assert "4 of 4 datagrams came back" in p.stdout, output(p)


@pytest.mark.parametrize("dialect", ["sim7080", "yuge"])
def test_udp_echo_skips_a_duplicate_and_reports_a_lost_datagram(sims, udp_server, dialect):
    sim, pty = sims(dialect)
    udp_server.dup.add(1)  # its copy comes while the example waits for datagram 2
    udp_server.drop.add(2)
    p = run("udp_echo.py", pty, "echo.example", udp_server.port, 3, 1)
    assert p.returncode == 1, output(p)
    lines = p.stdout.splitlines()
    assert lines[2] == "datagram 1: 79 bytes back intact in %s ms" % lines[2].split()[-2], \
        output(p)
    assert lines[3:5] == ["  skipped 79 bytes from 127.0.0.1:%d (not this datagram's echo)"
                          % udp_server.port,
                          "datagram 2: 79 bytes sent, no echo within 1.0 s"], output(p)
    assert lines[5].startswith("datagram 3: 79 bytes back intact"), output(p)
    assert lines[6:] == ["2 of 3 datagrams came back"], output(p)


# ---------------------------------------------------------------- tcp_server.py
def run_in_thread(*args, **kw):
    """Start run(*args) in a thread; returns (thread, result dict with "p")."""
    result = {}
    t = threading.Thread(target=lambda: result.update(p=run(*args, **kw)), daemon=True)
    t.start()
    return t, result


@pytest.mark.parametrize("dialect", DIALECTS)
def test_tcp_server_echoes_a_real_client_until_it_closes(sims, dialect):
    sim, pty = sims(dialect)
    port = free_port()
    t, result = run_in_thread("tcp_server.py", pty, port, 20)
    deadline = time.monotonic() + 20
    while True:  # the simulated module's listening socket is a real one on loopback
        try:
            c = socket.create_connection((LOOPBACK, port), timeout=10)
            break
        except ConnectionRefusedError:
            assert t.is_alive(), output(result["p"])
            assert time.monotonic() < deadline, "the example never listened on %d" % port
            time.sleep(0.05)
    pieces = [b"first\r\nOK\r\n", bytes(range(256)) * 20, b"\x1a\x1b+++\r\n> ", os.urandom(9000)]
    got = bytearray()
    for piece in pieces:
        c.sendall(piece)
        want = len(got) + len(piece)
        while len(got) < want:
            data = c.recv(65536)
            assert data, "the example closed after %d bytes" % len(got)
            got += data
    c.close()
    t.join(30)
    assert not t.is_alive()
    p = result["p"]
    sent = b"".join(pieces)
    assert bytes(got) == sent
    assert p.returncode == 0, output(p)
    assert "listening on %s:%d" % (sim.ip, port) in p.stdout, output(p)
    assert re.search(r"^client from 127\.0\.0\.1(:\d+)?$", p.stdout, re.M), output(p)
    assert "client closed the connection" in p.stdout, output(p)
    assert re.search(r"^echoed %d bytes in \d+ pieces$" % len(sent), p.stdout, re.M), output(p)


def test_tcp_server_gives_up_when_no_client_comes(sims):
    sim, pty = sims("quectel")
    p = run("tcp_server.py", pty, free_port(), 0.5)
    assert p.returncode == 1, output(p)
    assert "FAILED: ETIMEDOUT: " in p.stdout and "client from" not in p.stdout, output(p)


# ---------------------------------------------------------------- status_report.py
FIRMWARE = {"sim7080": "1951B04SIM7080", "sim7600": "LE20B04SIM7600M22",
            "quectel": "UG96LNAR02A06E1G", "yuge": "YM310.X09_AT.U60_R2.0.0.240820",
            "sim800": "1418B05SIM800L24"}  # public knowledge: "Revision:1418B05SIM800L24"
_reports = {}


def status_report(sims, dialect):
    """{field: value} printed by status_report.py for dialect (run once per dialect),
    and the simulator it ran against."""
    if dialect not in _reports:
        sim, pty = sims(dialect)
        p = run("status_report.py", pty)
        assert p.returncode == 0, output(p)
        fields = {}
        for line in p.stdout.splitlines():
            name, _, value = line.partition(":")
            fields[name] = value.strip()
        _reports[dialect] = fields, sim
    return _reports[dialect]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_status_report_shows_the_modules_facts(sims, dialect):
    fields, sim = status_report(sims, dialect)
    assert fields["dialect"] == dialect
    assert fields["maker"] == sim.manufacturer
    assert fields["model"] == sim.model
    assert (fields["IMEI"], fields["IMSI"], fields["ICCID"]) == (sim.imei, sim.imsi, sim.iccid)
    assert fields["SIM"] == "READY"
    assert fields["signal"] == ("-63 dBm" if dialect == "sim7600" else "-73 dBm")  # CSQ 25, 20
    assert fields["registered"] == "1 (registered, home)"
    assert fields["operator"] == sim.operator
    assert fields["IP address"] == sim.ip
    clock = time.strptime("20" + fields["clock"][:17], "%Y/%m/%d,%H:%M:%S")
    assert abs(calendar.timegm(clock) - time.time()) < 60  # the module's clock is UTC now


@pytest.mark.parametrize("dialect", DIALECTS)
def test_status_report_shows_the_firmware(sims, dialect):
    fields, sim = status_report(sims, dialect)
    assert fields["firmware"] == FIRMWARE[dialect]


def test_status_report_goes_on_without_a_sim(sims):
    sim, pty = sims("sim7600", sim="absent")
    p = run("status_report.py", pty)
    assert p.returncode == 0, output(p)
    assert "IMEI:        %s\nSIM:         NOT INSERTED\nsignal:" % sim.imei in p.stdout, output(p)
    assert "IMSI" not in p.stdout and "ICCID" not in p.stdout
    assert "registered:  0 (not registered)\n" in p.stdout, output(p)
    assert p.stdout.endswith("IP address:  - (SIM not ready: NOT INSERTED)\n"), output(p)


# ---------------------------------------------------------------- download_to_flash.py
@pytest.fixture(scope="module")
def web():
    s = HTTPTestServer()
    yield "http://web.example:%d" % s.port
    s.close()


def heap_in_use(stdout, when):
    return int(re.search(r"^heap %s: \d+ bytes free, (\d+) in use$" % when, stdout, re.M)
               .group(1))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_download_to_flash_saves_2_mib_with_the_servers_checksum(sims, web, tmp_path, dialect):
    sim, pty = sims(dialect)
    path = tmp_path / "download.bin"
    p = run("download_to_flash.py", pty, web + "/big", path, timeout=120)
    assert p.returncode == 0, output(p)
    assert path.read_bytes() == BIG
    assert "status 200, %d bytes" % len(BIG) in p.stdout, output(p)
    # a line each time another 64 KiB boundary is passed (pieces are up to 1 KiB)
    progress = [(int(n), int(pc)) for n, pc in
                re.findall(r"^ +(\d+) bytes \((\d+)%\) +\d+ KiB/s$", p.stdout, re.M)]
    assert len(progress) == 32, output(p)
    for k, (n, percent) in enumerate(progress, 1):
        assert k * 65536 <= n < k * 65536 + 1024 and percent == n * 100 // len(BIG), output(p)
    assert progress[-1] == (len(BIG), 100)
    assert "saved %d bytes to %s (size on flash %d)" % (len(BIG), path, len(BIG)) in p.stdout
    assert "sha256: %s\n" % BIG_SHA256 in p.stdout, output(p)
    assert "file read back from flash: sha256 matches" in p.stdout, output(p)
    # 2 MiB went through a 1 KiB buffer: the heap in use is what it was before
    grew = heap_in_use(p.stdout, "after") - heap_in_use(p.stdout, "before")
    assert grew < 8192, output(p)


def test_download_to_flash_of_a_chunked_body_of_unknown_size(sims, web, tmp_path):
    sim, pty = sims("quectel")
    path = tmp_path / "chunked.bin"
    p = run("download_to_flash.py", pty, web + "/big-chunked", path, timeout=120)
    assert p.returncode == 0, output(p)
    assert "status 200, unknown bytes" in p.stdout, output(p)
    assert len(re.findall(r"^ +\d+ bytes +\d+ KiB/s$", p.stdout, re.M)) == 32, output(p)
    assert "sha256: %s\n" % BIG_SHA256 in p.stdout and path.read_bytes() == BIG, output(p)


@pytest.mark.parametrize("what, message", [
    ("/drop", "FAILED: body ended after 500 of 1000 bytes"),
    ("/status/404", "FAILED: 404 Not Found"),
])
def test_download_to_flash_failure_removes_the_partial_file(sims, web, tmp_path, what, message):
    sim, pty = sims("sim7080" if what == "/drop" else "yuge")
    path = tmp_path / "download.bin"
    p = run("download_to_flash.py", pty, web + what, path)
    assert p.returncode == 1, output(p)
    assert message in p.stdout and "saved" not in p.stdout, output(p)
    assert not path.exists()
