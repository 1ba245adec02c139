"""The Yuge driver (cellmodem/dialects/yuge.py): the exact AT bytes it writes.

Each test drives the library through the simulator's Yuge personality and checks what
went out on the UART against the transcripts of the EC716S manual, chapter 9
(/work/shared/manuals/yuge-ec716s-cat1-at-manual-zh.txt, "9.x"), as
host_tests/test_modemsim_yuge.py replays them.
"""
import errno
import socket as pysocket
import time

import pytest

import cellmodem.socket as msocket
from cellmodem.errors import NetworkError
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from simfixtures import LOOPBACK, free_port, split_line_end
from tools.modemsim import get_personality


@pytest.fixture
def yuge():
    """make(rx_mode=None, connect=True, sock_rxbuf=4096, **sim_kw) -> (sim, modem, wire):
    wire() returns and forgets the writes since the last call (a command's lone CR is
    left out; AT+CIPSEND goes out with its CR LF in one write)."""
    made = []

    def make(rx_mode=None, connect=True, sock_rxbuf=4096, **kw):
        uart = FakeUART()
        sim = get_personality("yuge")(seed=5, hosts={"echo.example": LOOPBACK}, **kw)
        made.append(sim)
        sim.attach(uart)
        modem = Modem(uart, dialect="yuge", sock_rxbuf=sock_rxbuf)
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


def pump_until(modem, cond, timeout=5):
    """Let the modem's URCs in until cond() holds."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        modem.at.poll(10)


class Server:
    """A TCP server on loopback that keeps its one client and sends when told."""

    def __init__(self):
        self.srv = pysocket.socket()
        self.srv.bind((LOOPBACK, 0))
        self.srv.listen(1)
        self.srv.settimeout(5)
        self.port = self.srv.getsockname()[1]
        self.peer = None

    def accept(self):
        self.peer, _ = self.srv.accept()
        self.peer.settimeout(5)
        return self.peer

    def close(self):
        if self.peer is not None:
            self.peer.close()
        self.srv.close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


# ---------------------------------------------------------------- bring-up
def test_connect_follows_the_power_on_flow_in_multi_link_mode(yuge):
    # 9.41/9.42: AT+CIPMUX=1, AT+CSTT, AT+CIICR, AT+CIFSR; 9.27: AT+CIPRXGET=1 holds data
    # until read; 9.11: AT+CIPQSEND=1 answers DATA ACCEPT once the module has the bytes.
    # 9.17: AT+CIPSTATUS first - the module is in IP INITIAL, nothing to shut.
    sim, modem, wire = yuge(connect=False)
    wire()
    assert modem.connect(apn="internet") == sim.ip
    w = wire()  # after the SIM and registration checks of Modem.connect
    assert w[w.index(b"AT+CIPSTATUS"):] == [b"AT+CIPSTATUS", b"AT+CIPMUX=1", b'AT+CSTT="internet","",""', b"AT+CIICR",
                      b"AT+CIPRXGET=1", b"AT+CIPQSEND=1", b"AT+CIPSSL=0", b"AT+CIFSR"]


def test_push_mode_turns_manual_reading_off(yuge):
    # 9.27 <mode> 0: no manual reading; 9.25: data comes as +RECEIVE,<n>,<length>:
    sim, modem, wire = yuge(rx_mode="push")
    assert b"AT+CIPRXGET=0" in wire()


def test_a_second_connect_reuses_the_active_context_for_the_same_apn(yuge):
    sim, modem, wire = yuge()
    wire()
    modem.connect(apn="internet")
    w = wire()
    assert w[w.index(b"AT+CIPSTATUS"):] == [b"AT+CIPSTATUS", b"AT+CIPMUX?", b"AT+CSTT?", b"AT+CIPRXGET=1",
                      b"AT+CIPQSEND=1", b"AT+CIPSSL=0", b"AT+CIFSR"]


def test_another_apn_shuts_the_context_and_starts_over(yuge):
    # 9.1/9.2: AT+CIPMUX and AT+CSTT only in IP INITIAL, which AT+CIPSHUT returns to (9.29)
    sim, modem, wire = yuge()
    wire()
    modem.connect(apn="other")
    w = wire()
    assert w[w.index(b"AT+CIPSHUT"):w.index(b"AT+CIICR") + 1] == [
        b"AT+CIPSHUT", b"AT+CIPMUX=1", b'AT+CSTT="other","",""', b"AT+CIICR"]


def test_a_rejected_apn_is_the_error_of_ciicr(yuge):
    # 9.4: "如果激活失败, 返回: ERROR"
    sim, modem, wire = yuge(connect=False, reject_apns=["blocked.apn"])
    with pytest.raises(NetworkError) as e:
        modem.connect(apn="blocked.apn")
    assert e.value.command == "AT+CIICR" and e.value.text == "ERROR"
    assert e.value.apn == "blocked.apn" and e.value.code is None
    assert not modem.isconnected()
    assert modem.connect(apn="internet") == sim.ip


@pytest.mark.parametrize("form", ["+PDP DEACT", "+PDP: DEACT", "+PDP:DEACT"])
def test_every_spelling_of_pdp_deact_means_the_network_is_gone(yuge, form):
    # 9.40/9.42 "+PDP DEACT", 9.29 "+PDP:DEACT", SIM800 firmware "+PDP: DEACT"
    sim, modem, wire = yuge(opts={"pdp_deact": form})
    lost = []
    modem.on_link_lost = lost.append
    sim.network_drop()
    pump_until(modem, lambda: lost)
    assert not modem.isconnected() and lost == [form]


# ---------------------------------------------------------------- open
def test_open_is_cipstart_on_the_lowest_free_link_and_waits_for_connect_ok(yuge, server):
    # 9.9: AT+CIPSTART=<n>,<mode>,<server>,<port>; OK, then "<n>, CONNECT OK" (9.42)
    sim, modem, wire = yuge()
    wire()
    a = msocket.socket()
    a.connect((LOOPBACK, server.port))
    b = msocket.socket(msocket.AF_INET, msocket.SOCK_DGRAM)
    b.connect((LOOPBACK, 9))
    assert wire() == [b'AT+CIPSTART=0,"TCP","127.0.0.1",%d' % server.port,
                      b'AT+CIPSTART=1,"UDP","127.0.0.1",9']
    assert a._link.id == 0 and a._link.open and b._link.id == 1
    a.close()
    b.close()


def test_connect_fail_is_econnrefused_and_frees_the_link(yuge):
    # 9.9: "<n>, CONNECT FAIL"
    sim, modem, wire = yuge()
    s = msocket.socket()
    with pytest.raises(OSError) as e:
        s.connect((LOOPBACK, free_port()))
    assert e.value.args[0] == errno.ECONNREFUSED and "0, CONNECT FAIL" in str(e.value)
    assert modem.links == {}


def test_a_late_connect_result_is_asked_for_with_cipstatus(yuge, server):
    # The result URC held back until some other reply (sim connect_result_in_reply):
    # after a second of silence AT+CIPSTATUS (9.17) brings it, and tells the link state.
    sim, modem, wire = yuge(opts={"connect_ms": 50, "connect_result_in_reply": True})
    wire()
    s = msocket.socket()
    s.connect((LOOPBACK, server.port))
    w = wire()
    assert w[0] == b'AT+CIPSTART=0,"TCP","127.0.0.1",%d' % server.port
    assert b"AT+CIPSTATUS" in w[1:]
    assert s._link.open
    s.close()


def test_a_link_the_module_holds_from_an_earlier_session_is_closed_then_reopened(yuge, server,
                                                                                  tcp_echo):
    # 9.9: "<n>, ALREADY CONNECT" (the simulator answers +CME ERROR 912 first)
    sim, modem, wire = yuge()
    modem.at.command('AT+CIPSTART=0,"TCP","127.0.0.1",%d' % tcp_echo[1])  # behind our back
    time.sleep(0.2)
    modem.at.poll(50)
    wire()
    s = msocket.socket()
    s.connect((LOOPBACK, server.port))
    assert wire() == [b'AT+CIPSTART=0,"TCP","127.0.0.1",%d' % server.port, b"AT+CIPCLOSE=0",
                      b'AT+CIPSTART=0,"TCP","127.0.0.1",%d' % server.port]
    server.accept()
    s.write(b"mine")
    assert server.peer.recv(10) == b"mine"
    s.close()


def test_module_tls_the_module_cannot_do_is_refused_before_anything_is_sent(yuge):
    # 9.6: TLS for TCP only; 9.7 seclevel 2 (client certificate) verifies the server
    # too. Module TLS itself: host_tests/test_yuge_tls.py
    from cellmodem.tls import ModuleTLS
    sim, modem, wire = yuge()
    wire()
    with pytest.raises(OSError) as e:
        modem.dialect.sock_open(msocket.Link(msocket.UDP, 100), "example.com", 443,
                                tls=ModuleTLS(ca="ca.crt"))
    assert e.value.args[0] == errno.EOPNOTSUPP
    with pytest.raises(ValueError):
        modem.dialect.sock_open(msocket.Link(msocket.TCP, 100), "example.com", 443,
                                tls=ModuleTLS(cert="c.crt", key="c.key", verify=False))
    assert wire() == [] and modem.links == {}


# ---------------------------------------------------------------- send
def test_send_ends_cipsend_with_cr_lf_then_writes_exactly_the_bytes(yuge, server):
    # 9.14: AT+CIPSEND=<n>,<length>, "> ", the bytes, "DATA ACCEPT:<n>,<length>" (9.11).
    # The 9.14 note: a command ended by CR alone lets the module eat a first byte LF.
    sim, modem, wire = yuge()
    s = msocket.socket()
    s.connect((LOOPBACK, server.port))
    peer = server.accept()
    wire()
    assert s.send(b"\nhello") == 6
    assert wire() == [b"AT+CIPSEND=0,6", b"\r\n", b"\nhello"]  # command, its CR LF, the data
    assert peer.recv(10) == b"\nhello"
    s.close()


def test_send_takes_at_most_1460_bytes(yuge, server):
    # 9.14 <size>: 1460 bytes per AT+CIPSEND
    sim, modem, wire = yuge()
    s = msocket.socket()
    s.connect((LOOPBACK, server.port))
    server.accept()
    wire()
    assert s.send(bytes(3000)) == 1460
    assert wire()[:2] == [b"AT+CIPSEND=0,1460", b"\r\n"]
    s.close()


def test_send_ok_of_quick_send_mode_0_is_taken_too(yuge, server):
    # 9.11 mode 0: "<n>, SEND OK" instead of DATA ACCEPT
    sim, modem, wire = yuge()
    modem.at.command("AT+CIPQSEND=0")
    s = msocket.socket()
    s.connect((LOOPBACK, server.port))
    peer = server.accept()
    assert s.send(b"abc") == 3
    assert peer.recv(10) == b"abc"
    s.close()


def test_send_on_a_link_the_module_dropped_is_enotconn(yuge, server):
    # 9.14: "如果连接未建立或者连接被断开, 返回: +CME ERROR <err>" (913)
    sim, modem, wire = yuge()
    s = msocket.socket()
    s.connect((LOOPBACK, server.port))
    modem.at.command("AT+CIPCLOSE=0", finals=((b"CLOSE OK", True),))  # behind our back
    with pytest.raises(OSError) as e:
        s.send(b"x")
    assert e.value.args[0] == errno.ENOTCONN
    s.close()


# ---------------------------------------------------------------- receive
def test_data_waiting_is_read_with_ciprxget_2_for_the_room_in_the_ring(yuge, server):
    # 9.27: "+CIPRXGET: 1,<n>", then AT+CIPRXGET=2,<n>,<len> -> "+CIPRXGET: 2,<n>,<cnlen>,
    # <rlen>", the bytes, OK
    sim, modem, wire = yuge()
    s = msocket.socket()
    s.connect((LOOPBACK, server.port))
    server.accept().sendall(b"AAAAA")
    pump_until(modem, lambda: s._link.pending)
    wire()
    assert s.recv(100) == b"AAAAA"
    assert wire() == [b"AT+CIPRXGET=2,0,1460"]
    assert not s._link.pending  # <rlen> 0: nothing left in the module
    s.close()


def test_a_read_that_leaves_data_in_the_module_reads_again(yuge, server):
    sim, modem, wire = yuge(sock_rxbuf=1000)
    s = msocket.socket()
    s.connect((LOOPBACK, server.port))
    data = bytes(range(256)) * 10
    server.accept().sendall(data)
    pump_until(modem, lambda: s._link.pending)
    time.sleep(0.1)
    wire()
    assert s.read(len(data)) == data
    w = wire()
    assert w[:2] == [b"AT+CIPRXGET=2,0,1000", b"AT+CIPRXGET=2,0,1000"]
    s.close()


def test_pushed_data_comes_in_receive_headers(yuge, server):
    # 9.25/9.42: "+RECEIVE,<n>,<length>:" and the data on the next line; nothing to pull
    sim, modem, wire = yuge(rx_mode="push")
    s = msocket.socket()
    s.connect((LOOPBACK, server.port))
    server.accept().sendall(b"TEST123\r\nmore")
    wire()
    assert s.read(13) == b"TEST123\r\nmore"
    assert wire() == []


def test_push_mode_overflowing_the_ring_is_enobufs_after_what_fitted(yuge, server):
    # 9.25 pushes have no flow control: what fits the ring is read, then ENOBUFS
    sim, modem, wire = yuge(rx_mode="push", sock_rxbuf=1000)
    s = msocket.socket()
    s.connect((LOOPBACK, server.port))
    data = bytes(range(256)) * 8
    server.accept().sendall(data)
    pump_until(modem, lambda: s._link.error is not None)
    assert s.recv(2000) == data[:1000]
    with pytest.raises(OSError) as e:
        s.recv(2000)
    assert e.value.args[0] == errno.ENOBUFS
    s.close()


def test_data_before_the_peer_closed_stays_readable(yuge, server):
    # "<n>, CLOSED" comes while the bytes still wait in the module (9.27 buffer)
    sim, modem, wire = yuge()
    s = msocket.socket()
    s.connect((LOOPBACK, server.port))
    peer = server.accept()
    peer.sendall(b"last words")
    peer.close()
    pump_until(modem, lambda: s._link.eof)
    assert s.read() == b"last words"
    wire()
    s.close()
    assert wire() == [b"AT+CIPCLOSE=0"]  # ERROR (9.28: not open any more) is ignored
    assert modem.links == {}


@pytest.mark.parametrize("opts", [{"link_space": False, "colon_space": False},
                                  {"renotify": "drained"}])
def test_the_manuals_other_line_forms_work_too(yuge, tcp_echo, opts):
    # 9.9 syntax "<n>,CONNECT OK", 9.27 syntax "+CIPRXGET:1,<n>"; SIM800 renotify
    sim, modem, wire = yuge(opts=opts)
    s = msocket.socket()
    s.connect(tcp_echo)
    for i in range(5):
        s.write(b"ping %d" % i * 300)
        assert s.read(len(b"ping %d" % i * 300)) == b"ping %d" % i * 300
    s.close()


# ---------------------------------------------------------------- close
def test_close_is_cipclose_of_the_link(yuge, server):
    # 9.28: AT+CIPCLOSE=<n> -> "<n>, CLOSE OK"
    sim, modem, wire = yuge()
    s = msocket.socket()
    s.connect((LOOPBACK, server.port))
    wire()
    s.close()
    assert wire() == [b"AT+CIPCLOSE=0"]
    assert modem.links == {}


# ---------------------------------------------------------------- server, DNS, ping
def test_listen_is_cipserver_and_each_remote_ip_line_is_a_client(yuge):
    # SIM800 forms (not in this manual): AT+CIPSERVER=1,<port> -> OK, SERVER OK;
    # "<n>, REMOTE IP: <ip>" per client; AT+CIPSERVER=0 -> OK, SERVER CLOSE. The
    # client's port (issue 19 item 9) from AT+CIPSTATUS, asked when first read
    sim, modem, wire = yuge()
    port = free_port()
    wire()
    srv = msocket.socket()
    srv.bind(("0.0.0.0", port))
    srv.listen(1)
    assert wire() == [b"AT+CIPSERVER=1,%d" % port]
    c = pysocket.create_connection((LOOPBACK, port), timeout=5)
    srv.settimeout(5)
    conn, addr = srv.accept()
    # the line names no port: AT+CIPSTATUS's "C: 0,0,"TCP",<ip>,<port>,..." does (9.17)
    assert addr == c.getsockname() and conn.getpeername() == addr
    assert wire() == [b"AT+CIPSTATUS"]  # asked once
    assert conn._link.id == 0
    c.sendall(b"hi")
    assert conn.read(2) == b"hi"
    wire()
    conn.close()
    srv.close()
    assert wire() == [b"AT+CIPCLOSE=0", b"AT+CIPSERVER=0"]
    c.close()


def test_resolve_is_cdnsgip(yuge):
    # 9.21: OK, then "+CDNSGIP: 1,<domain>,<IPaddress>" or "+CDNSGIP: 0,<dns error code>"
    sim, modem, wire = yuge()
    wire()
    assert modem.resolve("echo.example") == LOOPBACK
    assert wire() == [b'AT+CDNSGIP="echo.example"']
    with pytest.raises(OSError) as e:
        modem.resolve("nowhere.invalid")
    assert e.value.args[0] == errno.EHOSTUNREACH and "+CDNSGIP error 10" in str(e.value)


def test_ping_is_one_cipping_and_returns_the_reply_time(yuge):
    # 9.31: AT+CIPPING=<host>,<retryNum>,<dataLen>,<timeout in 100 ms>,<ttl>
    sim, modem, wire = yuge(opts={"ping_ms": "35"})
    wire()
    assert modem.ping("echo.example", timeout=3000) == 35
    assert wire() == [b'AT+CIPPING="echo.example",1,32,30,64']


# ---------------------------------------------------------------- late results (issue 19)
def test_open_limits_have_a_margin_over_the_manual(yuge):
    sim, modem, wire = yuge(connect=False)
    assert modem.at.timeout_for('AT+CIPSTART=0,"TCP","h",1') == 75000 * 5 // 4


@pytest.mark.slow
def test_connect_fail_later_than_the_manuals_limit_is_econnrefused(yuge):
    # AT+CIPSTART=0,"TCP",... OK ... "0, CONNECT FAIL" after the manual's limit (a
    # SIM800-family capture: 75.5 s against 75 s). Scaled down: a manual limit of 6 s
    # (7.5 s with the margin), the failure at 6.2 s.
    from cellmodem.timeouts import late
    sim, modem, wire = yuge(opts={"fail_late_ms": 6200}, faults=["fail=+CIPSTART:1:1"])
    modem.at.timeouts["+CIPSTART"] = late(6000)
    with pytest.raises(OSError) as e:
        msocket.socket().connect(("echo.example", 7))
    assert e.value.args[0] == errno.ECONNREFUSED, e.value
    assert "CONNECT FAIL" in str(e.value)


@pytest.mark.slow
def test_connect_fail_later_than_the_manuals_limit_is_econnrefused_in_micropython():
    # the same, scaled, in real MicroPython: a manual limit of 6 s, CONNECT FAIL at 6.2 s
    from mpy import run_micropython
    sim = get_personality("yuge")(seed=2, hosts={"echo.example": LOOPBACK},
                                  opts={"fail_late_ms": 6200}, faults=["fail=+CIPSTART:1:1"])
    try:
        pty = sim.open_pty()
        p = run_micropython(["-m", "real_forms", pty, "open_fails", "echo.example", "7",
                             "+CIPSTART:6000"], timeout=120)
    finally:
        sim.close()
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "DONE" in p.stdout, out
    assert "OPEN FAILED %d AT+CIPSTART: 0, CONNECT FAIL" % errno.ECONNREFUSED in p.stdout, out
