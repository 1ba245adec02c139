"""examples/ntp_time.py, https_get.py and data_mode_download.py in real MicroPython
against the simulator on a pty, through the unix board file (as
host_tests/test_examples.py runs the others): the NTP time comes from a real SNTP
responder on loopback (servicefixtures.ntp_server), the HTTPS page from a real TLS
server (simfixtures.https_server).
"""
import os
import re

import pytest

from mpy import run_example
from servicefixtures import FIXED_UTC, ntp_server  # noqa: F401 (fixture)
from simfixtures import LOOPBACK
from tools.modemsim import get_personality

import time
from tools import families

DIALECTS = list(families.NAMES)  # every family in the registry (tools/families.py)
HOSTS = {"ntp.example": LOOPBACK, "secure.example": LOOPBACK, "localhost": LOOPBACK}


def run(example, *args, timeout=60):
    """examples/<example> in micropython through the unix board file; args[0] is the pty."""
    return run_example(example, *args, timeout=timeout)


def output(p):
    return "exit status %d\n--- stdout\n%s--- stderr\n%s" % (p.returncode, p.stdout, p.stderr)


@pytest.fixture
def sims():
    made = []

    def make(dialect, **kw):
        sim = get_personality(dialect)(seed=9, hosts=HOSTS, **kw)
        made.append(sim)
        return sim, sim.open_pty()
    yield make
    for sim in made:
        sim.close()


# ---------------------------------------------------------------- ntp_time.py
def test_ntp_time_on_yuge_sets_the_module_clock_from_the_ntp_server(sims, ntp_server):
    sim, pty = sims("yuge", opts={"ntp_port": ntp_server.port})
    p = run("ntp_time.py", pty, "ntp.example")
    assert p.returncode == 0, output(p)
    assert ntp_server.queries >= 1
    want = time.gmtime(FIXED_UTC)
    m = re.search(r"NTP time from ntp\.example: (\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+) "
                  r"\(tz \+0 quarter hours\)", p.stdout)
    assert m, output(p)
    assert tuple(int(x) for x in m.groups()[:4]) == (want.tm_year, want.tm_mon,
                                                     want.tm_mday, want.tm_hour), output(p)
    # the unix port has no machine.RTC: the example says so rather than failing
    assert "machine.RTC set: False" in p.stdout, output(p)
    clock = re.search(r'module clock: "?(\d\d)/(\d\d)/(\d\d),', p.stdout)
    assert clock and int(clock.group(1)) == want.tm_year % 100, output(p)


def test_ntp_time_on_yuge_reports_an_unreachable_server_and_exits_1(sims, ntp_server):
    ntp_server.mode = "silent"
    sim, pty = sims("yuge", opts={"ntp_port": ntp_server.port})
    p = run("ntp_time.py", pty, "ntp.example", timeout=90)
    assert p.returncode == 1, output(p)
    assert "NTP failed:" in p.stdout and "module clock" not in p.stdout, output(p)


@pytest.mark.parametrize("dialect", ["sim7080", "sim7600", "quectel"])
def test_ntp_time_elsewhere_shows_the_network_time_from_cclk(sims, dialect):
    sim, pty = sims(dialect)
    p = run("ntp_time.py", pty)
    assert p.returncode == 0, output(p)
    assert "network time comes from modem.network_time() (AT+CCLK?)" in p.stdout, output(p)
    t = time.gmtime()
    m = re.search(r'module clock: "?(\d\d)/(\d\d)/(\d\d),(\d\d):', p.stdout)
    assert m and (int(m.group(1)), int(m.group(2))) == (t.tm_year % 100, t.tm_mon), output(p)


# ---------------------------------------------------------------- https_get.py
@pytest.mark.parametrize("dialect", DIALECTS)
def test_https_get_fetches_the_page_with_the_server_verified(sims, https_server, cert, dialect):
    sim, pty = sims(dialect)
    p = run("https_get.py", pty, "https://localhost:%d/json" % https_server[1], cert[0],
            timeout=120)
    assert p.returncode == 0, output(p)
    assert "status 200" in p.stdout and "application/json" in p.stdout, output(p)
    assert '{"ok": true, "n": 42}' in p.stdout, output(p)


def test_https_get_refuses_a_server_its_ca_did_not_sign(sims, https_server, tmp_path):
    import subprocess
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(tmp_path / "k.pem"), "-out", str(other), "-days", "2", "-subj",
                    "/CN=localhost"], check=True, capture_output=True, timeout=60)
    sim, pty = sims("sim7080")
    p = run("https_get.py", pty, "https://localhost:%d/json" % https_server[1], other,
            timeout=120)
    assert p.returncode == 1, output(p)
    assert "HTTPS failed:" in p.stdout and "TLS handshake failed" in p.stdout, output(p)
    assert "status" not in p.stdout, output(p)


# ---------------------------------------------------------------- data_mode_download.py
@pytest.mark.parametrize("dialect", DIALECTS)
def test_data_mode_download_saves_the_file_and_checks_the_signal_on_the_way(sims, tmp_path, dialect):
    import hashlib
    from test_datamode import GUARD, GUARD_OPT, SIM_GUARD, Server

    body = os.urandom(600 * 1024)  # past two 256 KiB checkpoints: two +++ / ATO rounds
    requests = []

    def serve(server, c):
        f = c.makefile("rb")
        requests.append(f.readline())
        c.sendall(b"%d\n" % len(body) + body)
        c.recv(1)  # until the device closes
        c.close()

    srv = Server(serve)
    sim, pty = sims(dialect, opts={GUARD_OPT[dialect]: SIM_GUARD})
    out = tmp_path / "fw.bin"
    p = run("data_mode_download.py", pty, LOOPBACK, srv.addr[1], str(out), "GET fw.bin", GUARD,
            timeout=120)
    srv.close()
    assert p.returncode == 0, output(p)
    assert requests == [b"GET fw.bin\r\n"]
    assert out.read_bytes() == body
    assert "sha256 " + hashlib.sha256(body).hexdigest() in p.stdout, output(p)
    assert len(re.findall(r"\d+ bytes, signal -\d+ dBm", p.stdout)) == 2, output(p)
