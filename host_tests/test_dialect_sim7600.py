"""The SIM7600/A7600 CIP driver (cellmodem/dialects/sim7600.py): the exact AT bytes it writes.

Each test drives the library through the simulator's SIM7600 personality and checks
what went out on the UART against the manuals' transcripts: "7600 L11xx" is the
SIM7600 TCPIP manual (/work/shared/manuals/simcom-sim7600-cip-tcpip.txt), "A7600 x.y"
the A7600 series manual (simcom-a7600-cip-tcpip-manual.txt). The manuals' remote
addresses are local servers on 127.0.0.1 here.
"""
import errno
import socket as pysocket
import threading
import time

import pytest

import cellmodem.socket as msocket
from cellmodem.errors import NetworkError
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from simfixtures import LOOPBACK, free_port, split_line_end
from tools.modemsim import get_personality


@pytest.fixture
def sim7600():
    """make(rx_mode=None, connect=True, **sim_kw) -> (sim, modem, wire): wire() returns
    and forgets the writes since its last call (commands without their CR, payloads)."""
    made = []

    def make(rx_mode=None, connect=True, **kw):
        uart = FakeUART()
        sim = get_personality("sim7600")(seed=7, hosts={"echo.example": LOOPBACK}, **kw)
        made.append(sim)
        sim.attach(uart)
        modem = Modem(uart, dialect="sim7600")
        writes = []
        modem.at.trace = lambda d, data, t: writes.extend(
            x for x in split_line_end(data) if x != b"\r") if d == b">" \
            else None
        if connect:
            modem.connect(apn="internet", rx_mode=rx_mode)

        def wire():
            out = writes[:]
            del writes[:]
            return out
        return sim, modem, wire

    yield make
    msocket.use(None)
    for sim in made:
        sim.close()


class Peer:
    """A TCP server on 127.0.0.1 that accepts one client and hands it to the test."""

    def __init__(self):
        self.srv = pysocket.socket()
        self.srv.bind((LOOPBACK, 0))
        self.srv.listen(1)
        self.srv.settimeout(5)
        self.port = self.srv.getsockname()[1]

    def accept(self):
        c, _ = self.srv.accept()
        c.settimeout(5)
        return c


# ---------------------------------------------------------------- bring-up
def test_buffered_mode_is_chosen_before_the_network_opens(sim7600):
    # A7600 6.2.2.1: AT+CIPRXGET=1 "buffer access mode, get data by AT+CIPRXGET";
    # A7600 6.1.2-6.1.3: AT+CGDCONT=1,"IP","CMNET" / AT+NETOPEN OK +NETOPEN: 0 / AT+IPADDR
    sim, modem, wire = sim7600(connect=False)
    wire()
    assert modem.connect(apn="internet") == sim.ip
    assert wire() == [b"AT+CPIN?", b"AT+CREG?", b'AT+CGDCONT=1,"IP","internet"',
                      b"AT+CIPRXGET=1", b"AT+NETOPEN", b"AT+IPADDR",
                      # the firmware-defect check, once per module session: revision,
                      # then model (the family's entries name models)
                      b"AT+CGMR", b"AT+CGMM"]


def test_push_mode_asks_for_headers_that_name_the_link(sim7600):
    # 7600 L1106: <mode> 0 pushes the data; L1108 AT+CIPHEAD=1 adds the header;
    # L1109 AT+CIPSRIP=0 leaves out the "RECV FROM:<ip>:<port>" line before it;
    # L1113 <HeaderType> 1: "+RECEIVE,<link num>,<data length>" instead of "+IPD<len>".
    # One command line, joined with ";" (V.250 5.4.1 concatenation)
    sim, modem, wire = sim7600(connect=False)
    wire()
    modem.connect(apn="internet", rx_mode="push")
    assert wire()[2:5] == [b'AT+CGDCONT=1,"IP","internet"',
                           b"AT+CIPRXGET=0;+CIPHEAD=1;+CIPSRIP=0;+CIPCCFG=10,0,0,1,1,0,500",
                           b"AT+NETOPEN"]


def test_a_refused_apn_is_a_network_error_with_the_netopen_code(sim7600):
    # 7600 L1101: AT+NETOPEN OK then +NETOPEN: <err>, "other value is failure";
    # A7600 ch.4: 1 "Network failure"
    sim, modem, wire = sim7600(connect=False, reject_apns=["blocked.apn"])
    with pytest.raises(NetworkError) as e:
        modem.connect(apn="blocked.apn")
    assert (e.value.apn, e.value.command, e.value.code) == ("blocked.apn", "AT+NETOPEN", 1)
    assert str(e.value) == ('data context not activated with APN "blocked.apn": '
                            'AT+NETOPEN: Network failure (1)')
    assert not modem.isconnected()
    assert modem.connect(apn="internet") == sim.ip


def test_network_left_open_is_closed_and_opened_again(sim7600):
    # A7600 ch.5: after "+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY" the application
    # "uses AT+NETCLOSE to release the network library if AT+NETOPEN? shows the
    # network library is still opened"; 7600 L1101: "+IP ERROR: Network is already opened"
    sim, modem, wire = sim7600(opts={"drop_keeps_netopen": True})
    sim.network_drop()
    deadline = time.monotonic() + 5
    while modem.isconnected():
        assert time.monotonic() < deadline
        modem.at.poll(20)
    wire()
    assert modem.connect(apn="internet") == sim.ip
    assert wire()[-5:] == [b"AT+CIPRXGET=1", b"AT+NETOPEN", b"AT+NETCLOSE", b"AT+NETOPEN",
                           b"AT+IPADDR"]


# ---------------------------------------------------------------- TCP client
def test_tcp_open_send_read_close_in_buffer_access_mode(sim7600):
    # A7600 6.2.2: AT+CIPOPEN=1,"TCP",...  OK  +CIPOPEN: 1,0 / AT+CIPSEND=1,5 >hello OK
    # +CIPSEND: 1,5,5 / +CIPRXGET: 1,1 / AT+CIPRXGET=2,1,5 +CIPRXGET: 2,1,5,11 ... /
    # 7600 L1104: AT+CIPCLOSE=0 OK +CIPCLOSE: 0,0
    sim, modem, wire = sim7600()
    peer = Peer()
    s = msocket.socket()
    wire()
    s.connect((LOOPBACK, peer.port))
    assert wire() == [b'AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % peer.port]
    c = peer.accept()
    assert s.send(b"hello") == 5  # the <cnfSendLength> the module confirmed
    assert wire() == [b"AT+CIPSEND=0,5", b"hello"]
    assert c.recv(10) == b"hello"
    c.sendall(b"data from server")
    assert s.read(16) == b"data from server"
    assert wire() == [b"AT+CIPRXGET=2,0,1500"]  # the most one read returns (L1106)
    s.close()
    assert wire() == [b"AT+CIPCLOSE=0"]
    c.close()


def test_push_mode_reads_without_any_command(sim7600):
    # A7600 6.2.1.3: received data is "outputted to COM port directly"
    sim, modem, wire = sim7600(rx_mode="push")
    peer = Peer()
    s = msocket.socket()
    s.connect((LOOPBACK, peer.port))
    c = peer.accept()
    wire()
    c.sendall(b"pushed to us")
    assert s.read(12) == b"pushed to us"
    assert wire() == []
    s.close()
    c.close()


def test_sends_longer_than_1500_go_out_in_pieces(sim7600, tcp_echo):
    # 7600 L1105: <length> 1-1500
    sim, modem, wire = sim7600()
    s = msocket.socket()
    s.connect(tcp_echo)
    wire()
    s.sendall(bytes(3200))
    assert [w for w in wire() if w.startswith(b"AT")] == [
        b"AT+CIPSEND=0,1500", b"AT+CIPSEND=0,1500", b"AT+CIPSEND=0,200"]
    s.close()


def test_peer_close_leaves_the_data_readable_then_eof(sim7600):
    # A7600 ch.5: "+IPCLOSE: <client_index>,<close_reason>", 1 "Closed by remote";
    # the module keeps what was not read yet for AT+CIPRXGET
    sim, modem, wire = sim7600()
    peer = Peer()
    s = msocket.socket()
    s.connect((LOOPBACK, peer.port))
    c = peer.accept()
    c.sendall(b"last words")
    c.close()
    time.sleep(0.2)
    modem.at.poll(50)
    assert s.read() == b"last words"
    assert s.recv(10) == b""
    s.close()


def test_refused_connection_is_econnrefused_with_the_modules_code(sim7600):
    # 7600 L1103: OK then "+CIPOPEN: <link_num>,<err>"; A7600 ch.4 <err> 1 "Network failure"
    sim, modem, wire = sim7600()
    s = msocket.socket()
    with pytest.raises(OSError) as e:
        s.connect((LOOPBACK, free_port()))
    assert e.value.args[0] == errno.ECONNREFUSED
    assert "+CIPOPEN: 0,1 (Network failure)" in str(e.value)
    assert modem.links == {}  # the link number is free again
    s.close()


def test_a_late_open_result_held_back_by_the_firmware_is_let_out_with_a_bare_at(sim7600, tcp_echo):
    # Some firmware prints the +CIPOPEN result only inside the next command's reply
    sim, modem, wire = sim7600(opts={"open_result_in_reply": True, "connect_ms": 20})
    s = msocket.socket()
    wire()
    s.connect(tcp_echo)
    assert wire() == [b'AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % tcp_echo[1], b"AT"]
    s.write(b"ok")
    assert s.read(2) == b"ok"
    s.close()


# ---------------------------------------------------------------- UDP
def test_udp_opens_with_a_local_port_and_each_send_names_the_remote(sim7600, udp_echo):
    # 7600 L1103: AT+CIPOPEN=1,"UDP",,,8080 +CIPOPEN: 1,0 OK;
    # L1105: AT+CIPSEND=1,1,"116.236.221.75",6775 >S OK +CIPSEND: 1,1,1
    sim, modem, wire = sim7600()
    s = msocket.socket(msocket.AF_INET, msocket.SOCK_DGRAM)
    wire()
    s.sendto(b"ping", udp_echo)
    out = wire()
    assert out[0].startswith(b'AT+CIPOPEN=0,"UDP",,,')
    assert 49152 <= int(out[0].rsplit(b",", 1)[1]) <= 65535  # a dynamic port (RFC 6335)
    assert out[1:] == [b'AT+CIPSEND=0,4,"127.0.0.1",%d' % udp_echo[1], b"ping"]
    assert s.recvfrom(100) == (b"ping", udp_echo)
    s.close()
    assert wire()[-1] == b"AT+CIPCLOSE=0"


# ---------------------------------------------------------------- server
def test_server_starts_accepts_a_client_and_stops(sim7600):
    # 7600 L1114: AT+SERVERSTART=8080,1 OK, "+CLIENT: <link_num>,<server_index>,
    # <client_IP>:<port>"; L1115: AT+SERVERSTOP=0 +SERVERSTOP: 0,0 OK
    sim, modem, wire = sim7600()
    port = free_port()
    srv = msocket.socket()
    srv.bind(("0.0.0.0", port))
    wire()
    srv.listen(1)
    assert wire() == [b"AT+SERVERSTART=%d,0" % port]
    c = pysocket.create_connection((LOOPBACK, port), timeout=5)
    srv.settimeout(5)
    conn, addr = srv.accept()
    assert addr == (LOOPBACK, c.getsockname()[1])
    c.sendall(b"hi")
    assert conn.read(2) == b"hi"
    assert wire() == [b"AT+CIPRXGET=2,0,1500"]
    conn.close()
    srv.close()
    assert wire() == [b"AT+CIPCLOSE=0", b"AT+SERVERSTOP=0"]
    c.close()


def test_server_closed_before_its_client_stops_after_the_client(sim7600):
    # 7600 L1115: "Before stopping a TCP server, all sockets <server_index> of which
    # equals to the closing TCP server index must be closed first"
    sim, modem, wire = sim7600()
    port = free_port()
    srv = msocket.socket()
    srv.bind(("0.0.0.0", port))
    srv.listen(1)
    c = pysocket.create_connection((LOOPBACK, port), timeout=5)
    srv.settimeout(5)
    conn, addr = srv.accept()
    wire()
    srv.close()
    assert wire() == []
    conn.close()
    assert wire() == [b"AT+CIPCLOSE=0", b"AT+SERVERSTOP=0"]
    c.close()


# ---------------------------------------------------------------- DNS and ping
def test_resolve_asks_cdnsgip(sim7600):
    # 7600 L1131: AT+CDNSGIP="www.baidu.com" +CDNSGIP: 1,"www.baidu.com","61.135.169.21" OK
    sim, modem, wire = sim7600()
    wire()
    assert modem.resolve("echo.example") == LOOPBACK
    assert wire() == [b'AT+CDNSGIP="echo.example"']
    with pytest.raises(OSError) as e:
        modem.resolve("nowhere.invalid")  # +CDNSGIP: 0,10 ERROR (10: DNS GENERAL ERROR)
    assert e.value.args[0] == errno.EHOSTUNREACH


def test_ping_sends_one_echo_and_returns_its_time(sim7600):
    # 7600 L1134: AT+CPING=<dest>,1,<num>,<size>,<interval>,<wait>,<TTL> OK
    # +CPING: 1,<ip>,<size>,<rtt>,<TTL> ... +CPING: 3,<sent>,<recvd>,<lost>,<min>,<max>,<avg>
    sim, modem, wire = sim7600()
    wire()
    rtt = modem.ping("echo.example")
    assert 30 <= rtt <= 90  # the simulator's loopback round trips
    assert wire() == [b'AT+CPING="echo.example",1,1,64,1000,10000,255']


# ---------------------------------------------------------------- real forms (issue 19)
def test_netopen_bare_error_with_the_network_open_is_recovered(sim7600):
    # SIM7600G-H firmware (users' logs, public knowledge): the network opened by
    # itself, then AT+NETOPEN ERROR (no "already opened" text) / AT+NETOPEN?
    # +NETOPEN: 1 / the library starts afresh: AT+NETCLOSE, AT+NETOPEN OK +NETOPEN: 0
    sim, modem, wire = sim7600(connect=False, quirks="netopen_bare_error")
    wire()
    assert modem.connect(apn="internet") == sim.ip
    w = wire()
    i = w.index(b"AT+NETOPEN")
    assert w[i:] == [b"AT+NETOPEN", b"AT+NETOPEN?", b"AT+NETCLOSE", b"AT+NETOPEN",
                     b"AT+IPADDR", b"AT+CGMR", b"AT+CGMM"]


def test_netopen_bare_error_on_a_second_connect_goes_on(sim7600):
    # connected, connect() again: AT+NETOPEN ERROR / AT+NETOPEN? +NETOPEN: 1 -> go on
    sim, modem, wire = sim7600(opts={"netopen_bare_error": True})
    wire()
    assert modem.connect(apn="internet") == sim.ip
    w = wire()
    i = w.index(b"AT+NETOPEN")
    assert w[i:] == [b"AT+NETOPEN", b"AT+NETOPEN?", b"AT+IPADDR"]


def test_netopen_bare_error_with_the_network_closed_is_a_network_error(sim7600):
    # a bare ERROR while AT+NETOPEN? says 0: the module's refusal, as before
    sim, modem, wire = sim7600(connect=False, opts={"netopen_bare_error": True})
    orig = sim.at_netopen

    def refuse(c):  # the network stays closed and AT+NETOPEN? answers 0
        if c.kind == "exec":
            return sim.error()
        return orig(c)
    sim.add_command("+NETOPEN", refuse)
    with pytest.raises(NetworkError) as e:
        modem.connect(apn="internet")
    assert "AT+NETOPEN" in str(e.value)


def test_netopen_bare_error_with_the_network_open_in_micropython():
    from mpy import run_micropython
    sim = get_personality("sim7600")(seed=2, quirks="netopen_bare_error")
    try:
        pty = sim.open_pty()
        p = run_micropython(["-m", "real_forms", pty, "connect"], timeout=120)
    finally:
        sim.close()
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "IP %s" % sim.ip in p.stdout and "DONE" in p.stdout, out
