"""Tests of the modem simulator core (tools/modemsim/core.py) through a toy personality."""
import errno
import os
import select
import socket
import subprocess
import sys
import termios
import time
import tty
import urllib.request

import pytest

from tools.modemsim import ModemSim, command, split_args, get_personality
from tools.modemsim.core import Faults
from tools.modemsim import PersonalityError


class Toy(ModemSim):
    """A minimal personality: one data command and a socket, to test the core."""
    name = "toy"
    model = "TOY-1"
    noise_urcs = ("+NOISE: 1",)

    def reset_state(self):
        super().reset_state()
        self.conn = None

    @command("+TSEND")
    def at_tsend(self, c):
        n = c.int(0) if len(c) else None

        def done(data, reason):
            if reason in ("len", "ctrlz"):
                self.got = data
                self.reply("+TSEND: %d" % len(data))
                self.ok()
            else:
                self.error()
        self.collect(done, n=n, etx=c.kind == "exec")

    @command("+TOPEN")
    def at_topen(self, c):
        self.conn = self.net.open_tcp(c.str(0), c.int(1))
        self.ok()

    @command("+TWRITE")
    def at_twrite(self, c):
        self.conn.send(c.str(0).encode())
        self.ok()

    @command("+TREAD")
    def at_tread(self, c):
        data = self.conn.read(c.int(0))
        self.reply("+TREAD: %d" % len(data))
        self.raw(data)
        self.ok()

    def net_data(self, conn, data):
        conn.rx += data
        self.urc("+TDATA: %d" % len(conn.rx))

    def net_closed(self, conn):
        self.urc("+TCLOSED")

    def on_network_drop(self, lost, conns):
        if lost:
            self.urc("+TDROP")


@pytest.fixture
def toy(modem_factory):
    def make(**kw):
        sim, uart, at = modem_factory(Toy, **kw)
        at.wait_line("SMS Ready")
        return sim, uart, at
    return make


def test_split_args():
    assert split_args('1,"a,b",,3') == (["1", "a,b", "", "3"], [False, True, False, False])
    assert split_args("") == ([], [])
    assert split_args('""') == ([""], [True])


def test_basics_echo_and_parse(toy):
    sim, uart, at = toy()
    uart.write(b"AT\r")
    assert at.read_exact(len(b"AT\r\r\nOK\r\n")) == b"AT\r\r\nOK\r\n"
    assert at.cmd("ATE0") == ["OK"]
    uart.write(b"AT\r")
    assert at.read_exact(6) == b"\r\nOK\r\n"
    assert at.cmd("AT+CGMM") == ["TOY-1", "OK"]
    assert at.cmd("ati") == ["SIMCOM INCORPORATED", "TOY-1", "Revision:SIM-1.0", "OK"]
    assert at.cmd("AT+NOPE") == ["ERROR"]
    at.write(b"hello\r")  # stray text: ignored, no answer
    assert at.drain() == b""
    # \r\n and \n line ends are tolerated
    at.write(b"AT+CSQ\r\n")
    assert at.wait_line("OK")
    at.write(b"AT+CGMM\n")
    assert at.wait_line("TOY-1")
    at.wait_line("OK")
    # chained commands: one final result
    assert at.cmd("AT+CMEE=2;+CEREG=1;+CEREG?") == ["+CEREG: 1,1", "OK"]
    assert at.cmd("AT+CMEE=2;+BAD;+CEREG?") == ["ERROR"]
    assert at.cmd("AT+CMEE?") == ["+CMEE: 2", "OK"]


def test_cmee_modes_and_pin(toy):
    sim, uart, at = toy(sim="locked")
    at.cmd("ATE0")
    assert at.cmd("AT+CPIN?") == ["+CPIN: SIM PIN", "OK"]
    assert at.cmd("AT+CIMI") == ["ERROR"]
    at.ok("AT+CMEE=1")
    assert at.cmd("AT+CIMI") == ["+CME ERROR: 11"]
    at.ok("AT+CMEE=2")
    assert at.cmd('AT+CPIN="0000"') == ["+CME ERROR: incorrect password"]
    assert at.cmd('AT+CPIN="1234"') == ["OK"]
    assert at.wait_line("+CPIN: READY")
    assert at.cmd("AT+CPIN?") == ["+CPIN: READY", "OK"]
    assert at.cmd("AT+CIMI") == ["001010123456789", "OK"]


def test_no_sim(toy):
    sim, uart, at = toy(sim="absent")
    at.cmd("ATE0;+CMEE=2")
    assert at.cmd("AT+CPIN?") == ["+CME ERROR: SIM not inserted"]
    assert at.cmd("AT+CEREG?") == ["+CEREG: 0,0", "OK"]


def test_registration_delay_and_urcs(toy):
    sim, uart, at = toy(reg_delay_ms=300)
    at.cmd("ATE0")
    assert at.cmd("AT+CEREG?") == ["+CEREG: 0,2", "OK"]
    at.ok("AT+CEREG=2")
    at.ok("AT+CREG=1")
    t0 = time.monotonic()
    urcs = {at.wait_line("+CREG: "), at.wait_line("+CEREG: ")}
    assert time.monotonic() - t0 > 0.15
    assert urcs == {"+CREG: 1", '+CEREG: 1,"1A2B","01A2D101",7'}
    assert at.cmd("AT+CEREG?") == ['+CEREG: 2,1,"1A2B","01A2D101",7', "OK"]
    assert at.cmd("AT+CGATT?") == ["+CGATT: 1", "OK"]
    at.ok("AT+CFUN=0")
    assert at.wait_line("+CEREG: ") == "+CEREG: 0"
    assert at.cmd("AT+COPS?") == ["+COPS: 0", "OK"]


def test_data_mode_fixed_and_ctrlz(toy):
    sim, uart, at = toy()
    at.cmd("ATE0")
    payload = bytes(range(256)) + b"\r\nOK\r\n\x1a\x1b\x03"
    assert at.cmd("AT+TSEND=%d" % len(payload), until=b"> ") == []
    at.write(payload)
    assert at.wait_line("+TSEND: ") == "+TSEND: %d" % len(payload)
    at.wait_line("OK")
    assert sim.got == payload
    # variable length: Ctrl-Z ends, ETX escapes (SIM7600 style), ESC cancels
    at.cmd("AT+TSEND", until=b"> ")
    at.write(b"ab\x03\x1a\x03\x1bc\x03\x03\x1a")
    assert at.wait_line("+TSEND: ") == "+TSEND: 6"
    assert sim.got == b"ab\x1a\x1bc\x03"
    at.wait_line("OK")
    at.cmd("AT+TSEND", until=b"> ")
    at.write(b"abc\x1b")
    assert at.wait_line("ERROR")
    # CR LF after the command in one write: the LF is not payload ...
    at.write(b"AT+TSEND=2\r\nab")
    assert at.wait_line("+TSEND: ") == "+TSEND: 2"
    assert sim.got == b"ab"
    at.wait_line("OK")
    # ... but data after the prompt may start with LF
    at.cmd("AT+TSEND=2", until=b"> ")
    at.write(b"\nb")
    assert at.wait_line("+TSEND: ") == "+TSEND: 2"
    assert sim.got == b"\nb"
    at.wait_line("OK")
    # the command line after data mode is parsed normally
    at.cmd("AT+TSEND=2", until=b"> ")
    at.write(b"xyAT+CGMM\r")
    assert at.wait_line("TOY-1")


def test_sockets_and_hooks(toy, tcp_echo):
    sim, uart, at = toy(hosts={"echo.test": "127.0.0.1"})
    at.cmd("ATE0")
    at.ok('AT+TOPEN="echo.test",%d' % tcp_echo[1])
    at.ok('AT+TWRITE="ping"')
    assert at.wait_line("+TDATA: ") == "+TDATA: 4"
    assert at.cmd("AT+TREAD=10", until="+TREAD: ") == ["+TREAD: 4"]
    assert at.read_exact(4) == b"ping"
    at.wait_line("OK")
    with pytest.raises(Exception):
        sim.net.resolve("example.com")  # never real DNS
    with pytest.raises(Exception):
        sim.net.resolve("8.8.8.8")  # never off loopback


def test_timers_and_reboot(toy):
    sim, uart, at = toy()
    at.cmd("ATE0")
    hits = []
    with sim.lock:
        sim.after(50, hits.append, 1)
        t = sim.after(50, hits.append, 2)
        t.cancel()
    time.sleep(0.2)
    assert hits == [1]
    sim.reboot()
    assert at.wait_line("RDY")
    at.wait_line("SMS Ready")
    # echo is back on after a reboot
    assert at.cmd("AT") == ["OK"]
    uart.write(b"AT\r")
    assert at.read_exact(3) == b"AT\r"


def test_fault_parse_and_cli_knobs():
    f = Faults(["chunk=1-4", "urc=0.5", "delay=5-10", "cme=CAOPEN:3:1", "reboot=4",
                "overflow=100", "drop=50", "peer-close=10", "hold=0.5", "garbage=0.1",
                "noeol=0.1", "reboot-ms=1000"])
    assert f.chunk == (1, 4) and f.cme == {"+CAOPEN": [3, 1]} and f.reboot == 4
    with pytest.raises(ValueError):
        Faults(["bogus=1"])
    assert Faults(["hangup=CASEND"]).hangup == ["+CASEND", 1]
    assert Faults(["hangup=+cipsend:2"]).hangup == ["+CIPSEND", 2]


def test_fault_hangup_takes_the_fakeuart_away(toy):
    # the N-th arrival of the command: no answer, then the port raises EIO both ways
    sim, uart, at = toy(faults=["hangup=+CGMM:2"])
    at.cmd("ATE0")
    assert at.cmd("AT+CGMM") == ["TOY-1", "OK"]
    uart.write(b"AT+CGMM\r")
    assert sim.hung_up and not sim.transport.uart.on_write
    for call in (lambda: uart.readinto(bytearray(8)), lambda: uart.write(b"AT\r")):
        with pytest.raises(OSError) as e:
            call()
        assert e.value.errno == errno.EIO


def test_fault_hangup_closes_the_pty(tmp_path):
    sim = get_personality("sim7080")(faults=["hangup=+CGMM"])
    try:
        fd = os.open(sim.open_pty(), os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd, termios.TCSANOW)
        assert _pty_ask(fd, b"ATE0\r", b"OK\r\n").endswith(b"OK\r\n")
        os.write(fd, b"AT+CGMM\r")
        end = time.monotonic() + 10  # liveness only
        p = select.poll()
        p.register(fd, select.POLLIN)
        while not any(ev & select.POLLHUP for _, ev in p.poll(100)):
            assert time.monotonic() < end
            os.read(fd, 4096) if p.poll(0) else None
        assert os.read(fd, 64) == b""  # end of file
        with pytest.raises(OSError) as e:
            os.write(fd, b"AT\r")
        assert e.value.errno == errno.EIO
        os.close(fd)
    finally:
        sim.close()
    assert sim.hung_up


def _pty_ask(fd, data, until, timeout=10):
    os.write(fd, data)
    buf = b""
    end = time.monotonic() + timeout  # liveness only
    while until not in buf:
        assert time.monotonic() < end, buf
        if select.select([fd], [], [], 0.1)[0]:
            buf += os.read(fd, 1024)
    return buf


def test_cli_rejects_an_apn_and_hangs_up_on_a_fault():
    # every refusal and fault the error tests use is on the command line too
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.Popen([sys.executable, "-m", "tools.modemsim", "--dialect", "quectel",
                          "--reject-apn", "blocked.apn", "--reg-delay-ms", "0",
                          "--sim", "locked", "--pin", "4321", "--fault", "hangup=+CGMM"],
                         cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        fd = os.open(p.stdout.readline().strip(), os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd, termios.TCSANOW)
        _pty_ask(fd, b"ATE0\r", b"OK\r\n")
        _pty_ask(fd, b"AT+CMEE=1\r", b"OK\r\n")
        assert b"+CME ERROR: 16" in _pty_ask(fd, b'AT+CPIN="1111"\r', b"ERROR")
        _pty_ask(fd, b'AT+CPIN="4321"\r', b"OK\r\n")
        _pty_ask(fd, b'AT+QICSGP=1,1,"blocked.apn","","",0\r', b"OK\r\n")
        deadline = time.monotonic() + 10  # registration (liveness only)
        while b"+CEREG: 0,1" not in _pty_ask(fd, b"AT+CEREG?\r", b"OK\r\n"):
            assert time.monotonic() < deadline
        assert b"\r\nERROR\r\n" in _pty_ask(fd, b"AT+QIACT=1\r", b"ERROR\r\n")
        assert b"+QIGETERROR: 561" in _pty_ask(fd, b"AT+QIGETERROR\r", b"OK\r\n")
        os.write(fd, b"AT+CGMM\r")
        assert p.wait(timeout=10) == 0  # the port went away: the simulator ends
        os.close(fd)
    finally:
        if p.poll() is None:
            p.terminate()
        _, err = p.communicate(timeout=10)
    assert "the port went away" in err


def test_fault_chunk_urc_delay_garbage_noeol_reproducible(toy):
    def run(seed):
        sim, uart, at = toy(seed=seed, faults=["chunk=1-3", "urc=0.5", "delay=1-3",
                                               "garbage=0.3"])
        at.cmd("ATE0")
        for _ in range(10):
            at.cmd("ATI")
        time.sleep(0.05)
        at.drain()
        return bytes(uart.tx), sim.rng.random()
    assert run(7) == run(7)
    sim, uart, at = toy(seed=3, faults=["urc=1.0"])
    at.cmd("ATE0")
    lines = at.cmd("AT+CGMM")
    assert "+NOISE: 1" in lines and lines[-1] == "OK"


def test_fault_noeol(toy):
    sim, uart, at = toy(faults=["noeol=1.0"])
    at.cmd("ATE0")
    with sim.lock:
        sim.urc("+X: 1")
    uart.write(b"AT\r")
    # the URC has no line end of its own: it runs into the next line's CR LF
    assert at.read_exact(13) == b"\r\n+X: 1\r\nOK\r\n"


def test_fault_cme_and_reboot_mid_reply(toy):
    sim, uart, at = toy(faults=["cme=+CGMM:4:1", "reboot=5"])
    at.cmd("ATE0")
    at.ok("AT+CMEE=1")
    assert at.cmd("AT+CGMM") == ["+CME ERROR: 4"]
    assert at.cmd("AT+CGMM") == ["TOY-1", "OK"]
    uart.write(b"ATI\r")  # the 5th command line: the modem resets while answering
    assert at.wait_line("RDY")
    at.wait_line("SMS Ready")
    assert at.cmd("AT+CMEE?") == ["+CMEE: 0", "OK"]  # state lost


def test_fault_network_drop_and_peer_close(toy, tcp_echo):
    sim, uart, at = toy(faults=["drop=50"])
    at.cmd("ATE0")
    with sim.lock:
        sim.context_up(0)
    assert at.wait_line("+TDROP")
    assert sim.contexts == {}
    sim2, uart2, at2 = toy(faults=["peer-close=50"])
    at2.cmd("ATE0")
    at2.ok('AT+TOPEN="127.0.0.1",%d' % tcp_echo[1])
    assert at2.wait_line("+TCLOSED")


def test_fault_overflow(toy, tcp_echo):
    sim, uart, at = toy(faults=["overflow=10"])
    at.cmd("ATE0")
    at.ok('AT+TOPEN="127.0.0.1",%d' % tcp_echo[1])
    at.ok('AT+TWRITE="0123456789abcdef"')
    time.sleep(0.2)
    assert len(sim.conn.rx) == 10 and sim.conn.lost == 6


def test_pacing_small_is_slow(toy):
    # 1152 bytes at 115200 baud = 0.1 s; a quick sanity check of the pacer
    sim, uart, at = toy(baud=115200)
    at.cmd("ATE0")
    with sim.lock:
        t0 = time.monotonic()
        sim.raw(b"x" * 1152)
    at.read_exact(1152, timeout=5)
    dt = time.monotonic() - t0
    assert dt > 0.09, dt  # never faster than the line; a busy machine may be later


def test_personality_registry():
    with pytest.raises(PersonalityError) as e:
        get_personality("nosuchmodem")
    assert "not available" in str(e.value)


def test_fixtures_tcp_udp_http(tcp_echo, udp_echo, http_server):
    s = socket.create_connection(tcp_echo)
    s.sendall(b"abc")
    assert s.recv(10) == b"abc"
    s.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(2)
    u.sendto(b"dgram", udp_echo)
    assert u.recvfrom(100)[0] == b"dgram"
    u.close()
    base = "http://%s:%d" % http_server
    assert urllib.request.urlopen(base + "/hello").read() == b"hello world\n"
    body = urllib.request.urlopen(base + "/large").read()
    assert len(body) == 200000 and body[251] == 0
    req = urllib.request.Request(base + "/echo", data=b"posted", method="POST")
    assert urllib.request.urlopen(req).read() == b"posted"


def test_fixture_mosquitto(mosquitto):
    # MQTT 3.1.1 CONNECT, clean session, keepalive 60, client id "t"; expect CONNACK 0
    var = b"\x00\x04MQTT\x04\x02\x00\x3c"
    pl = b"\x00\x01t"
    pkt = b"\x10" + bytes([len(var) + len(pl)]) + var + pl
    s = socket.create_connection(mosquitto, timeout=5)
    s.sendall(pkt)
    assert s.recv(4) == b"\x20\x02\x00\x00"
    s.close()
