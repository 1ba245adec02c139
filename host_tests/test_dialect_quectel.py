"""The Quectel QI driver (cellmodem/dialects/quectel.py): the exact AT bytes it writes.

Each test drives the library through the simulator's Quectel personality and checks
what went out on the UART against the QI family's transcripts. Manual: the UGxx
TCP/IP AT Commands Manual V1.2 (/work/shared/manuals/quectel-ugxx-qi-tcpip.txt,
"UG x.y"); where our copy stops (after 2.4) the transcripts are the family's
(BG96/EC2x), as host_tests/test_modemsim_quectel.py replays them.
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
def quectel():
    """make(rx_mode=None, **sim_kw) -> (sim, modem, wire): connected; wire() returns
    and forgets the writes since the last call (each command without its CR)."""
    made = []

    def make(rx_mode=None, connect=True, **kw):
        uart = FakeUART()
        sim = get_personality("quectel")(seed=5, hosts={"echo.example": LOOPBACK}, **kw)
        made.append(sim)
        sim.attach(uart)
        modem = Modem(uart, dialect="quectel")
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


# ---------------------------------------------------------------- bring-up
def test_connect_turns_the_qisend_echo_off_then_configures_and_activates_context_1(quectel):
    # UG 1.1 steps 1-2: AT+QICSGP, AT+QIACT, the address from AT+QIACT?; UG 2.10:
    # AT+QISDE=0, or the module echoes every AT+QISEND payload back
    sim, modem, wire = quectel(connect=False)
    wire()
    assert modem.connect(apn="internet") == sim.ip
    w = wire()
    assert w[w.index(b"AT+QISDE=0"):] == [b"AT+QISDE=0", b'AT+QICSGP=1,1,"internet","","",0',
                                          b"AT+QIACT?", b"AT+QIACT=1", b"AT+QIACT?"]


def test_user_and_password_ask_for_pap_or_chap(quectel):
    sim, modem, wire = quectel(connect=False)
    wire()
    modem.connect(apn="internet", user="u", password="p")
    assert b'AT+QICSGP=1,1,"internet","u","p",3' in wire()  # UG 2.1 <authentication> 3


def test_refused_apn_is_a_network_error_with_the_code_from_qigeterror(quectel):
    # UG 2.2: AT+QIACT answers ERROR; UG 2.17: AT+QIGETERROR says why
    sim, modem, wire = quectel(connect=False, reject_apns=["blocked.apn"])
    wire()
    with pytest.raises(NetworkError) as e:
        modem.connect(apn="blocked.apn")
    assert (e.value.code, e.value.text) == (561, "open PDP context failed")
    assert (e.value.apn, e.value.command) == ("blocked.apn", "AT+QIACT=1")
    assert str(e.value) == ('data context not activated with APN "blocked.apn": '
                            'AT+QIACT=1: open PDP context failed (561)')
    assert wire()[-2:] == [b"AT+QIACT=1", b"AT+QIGETERROR"]
    assert not modem.isconnected()


def test_after_pdpdeact_the_context_is_closed_before_it_is_activated_again(quectel):
    # family 2.18.5: +QIURC: "pdpdeact",<contextID>; AT+QIDEACT before AT+QIACT
    sim, modem, wire = quectel()
    sim.network_drop()
    pump_until(modem, lambda: not modem.isconnected())
    wire()
    assert modem.connect(apn="internet")
    assert wire()[-4:] == [b"AT+QIACT?", b"AT+QIDEACT=1", b"AT+QIACT=1", b"AT+QIACT?"]


# ---------------------------------------------------------------- TCP client
def test_tcp_client_in_buffer_access_mode_open_send_read_close(quectel, tcp_echo):
    # family 4.2: AT+QIOPEN=1,0,"TCP",...,0,0 / OK / +QIOPEN: 0,0; AT+QISEND=0,<len> /
    # > / data / SEND OK; +QIURC: "recv",0; AT+QIRD=0,1500 / +QIRD: <n> / data / OK;
    # AT+QICLOSE=0 / OK
    sim, modem, wire = quectel()
    wire()
    s = msocket.socket()
    s.connect(tcp_echo)
    assert wire() == [b'AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % tcp_echo[1]]
    s.write(b"hello")
    assert wire() == [b"AT+QISEND=0,5", b"hello"]
    assert s.read(5) == b"hello"
    assert wire() == [b"AT+QIRD=0,1500"]  # the ring has room for the most QIRD gives
    s.close()
    assert wire() == [b"AT+QICLOSE=0"]
    assert modem.links == {}


def test_tcp_client_in_direct_push_mode_receives_without_pulling(quectel, tcp_echo):
    # family 4.4: <access_mode> 1; +QIURC: "recv",0,<len><CR><LF><data>
    sim, modem, wire = quectel(rx_mode="push")
    wire()
    s = msocket.socket()
    s.connect(tcp_echo)
    data = bytes(range(256)) + b'\r\nOK\r\n+QIURC: "recv",0,5\r\n'
    s.write(data)
    assert s.read(len(data)) == data
    assert wire() == [b'AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,1' % tcp_echo[1],
                      b"AT+QISEND=0,%d" % len(data), data]
    s.close()


def test_long_writes_go_out_in_pieces_of_1460(quectel, tcp_echo):
    # family 2.7: <send_length> at most 1460
    sim, modem, wire = quectel()
    s = msocket.socket()
    s.connect(tcp_echo)
    wire()
    s.write(b"x" * 3000)
    assert [w for w in wire() if w.startswith(b"AT")] == \
        [b"AT+QISEND=0,1460", b"AT+QISEND=0,1460", b"AT+QISEND=0,80"]
    s.close()


def test_buffer_mode_recv_urc_with_a_length_is_not_a_push(quectel):
    # BG95-era firmware: +QIURC: "recv",<id>,<len> in buffer access mode, no data after
    sim, modem, wire = quectel(opts={"recv_len": True})
    peer = pysocket.socket()
    peer.bind((LOOPBACK, 0))
    peer.listen(1)
    s = msocket.socket()
    s.connect((LOOPBACK, peer.getsockname()[1]))
    c, _ = peer.accept()
    c.sendall(b"12345")
    wire()
    assert s.read(5) == b"12345"
    assert wire() == [b"AT+QIRD=0,1500"]
    c.close()
    peer.close()
    s.close()


def test_peer_close_leaves_the_data_readable_then_eof(quectel):
    # family 2.18.1: +QIURC: "closed",<id>; what arrived before is still read with QIRD
    sim, modem, wire = quectel()
    peer = pysocket.socket()
    peer.bind((LOOPBACK, 0))
    peer.listen(1)
    s = msocket.socket()
    s.connect((LOOPBACK, peer.getsockname()[1]))
    c, _ = peer.accept()
    c.sendall(b"bye")
    c.close()
    pump_until(modem, lambda: s._link.eof)
    assert s.recv(100) == b"bye"
    assert s.recv(100) == b""
    s.close()
    peer.close()


# ---------------------------------------------------------------- errors
def test_refused_connection_is_econnrefused_with_the_modules_code(quectel):
    # UG 2.4: OK, then +QIOPEN: <connectID>,<err>; chapter 3: 566 socket connect failed
    sim, modem, wire = quectel()
    s = msocket.socket()
    with pytest.raises(OSError) as e:
        s.connect((LOOPBACK, free_port()))
    assert e.value.args[0] == errno.ECONNREFUSED
    assert "+QIOPEN: 0,566 (socket connect failed)" in str(e.value)
    assert modem.links == {}


def test_send_fail_is_enobufs(quectel, tcp_echo):
    # family 2.7: SEND FAIL, "the sending buffer is full"
    sim, modem, wire = quectel(opts={"send_fail": 1})
    s = msocket.socket()
    s.connect(tcp_echo)
    with pytest.raises(OSError) as e:
        s.send(b"abc")
    assert e.value.args[0] == errno.ENOBUFS and "SEND FAIL" in str(e.value)
    assert s.send(b"abc") == 3  # the next one goes through
    s.close()


# ---------------------------------------------------------------- UDP and server
def test_udp_client_sends_and_pulls_one_datagram(quectel, udp_echo):
    # family 4.6: "UDP" client in buffer access mode, one datagram per AT+QIRD
    sim, modem, wire = quectel()
    s = msocket.socket(msocket.AF_INET, msocket.SOCK_DGRAM)
    wire()
    s.sendto(b"first", udp_echo)
    assert s.recvfrom(100) == (b"first", udp_echo)
    assert wire() == [b'AT+QIOPEN=1,0,"UDP","127.0.0.1",%d,0,0' % udp_echo[1],
                      b"AT+QISEND=0,5", b"first", b"AT+QIRD=0,1500"]
    s.close()


@pytest.mark.parametrize("rx_mode", ["buffered", "push"])
def test_server_listens_in_buffer_mode_and_reads_an_incoming_connection(quectel, rx_mode):
    # family 4.5: "TCP LISTENER" on "127.0.0.1"; +QIURC: "incoming",<id>,<serverID>,
    # "<ip>",<port>; the incoming connection is in buffer access mode (UG 2.4 note 1),
    # so it is pulled with AT+QIRD even in a push session
    sim, modem, wire = quectel(rx_mode=rx_mode)
    port = free_port()
    srv = msocket.socket()
    srv.bind(("0.0.0.0", port))
    srv.listen(1)
    assert wire()[-1] == b'AT+QIOPEN=1,0,"TCP LISTENER","127.0.0.1",0,%d,0' % port
    reply = {}

    def client():
        c = pysocket.create_connection((LOOPBACK, port), timeout=5)
        c.sendall(b"hi")
        reply["got"] = c.recv(10)
        c.close()
    t = threading.Thread(target=client)
    t.start()
    srv.settimeout(5)
    conn, addr = srv.accept()
    assert addr[0] == LOOPBACK
    assert conn.read(2) == b"hi"
    assert wire() == [b"AT+QIRD=11,1500"]  # the module gives it the highest free id
    conn.write(b"ok")
    t.join(5)
    assert reply["got"] == b"ok"
    conn.close()
    srv.close()
    assert wire() == [b"AT+QISEND=11,2", b"ok", b"AT+QICLOSE=11", b"AT+QICLOSE=0"]


# ---------------------------------------------------------------- DNS and ping
def test_resolve_asks_qidnsgip_and_takes_the_first_address(quectel):
    # family 2.15: OK, +QIURC: "dnsgip",0,<count>,<ttl>, +QIURC: "dnsgip","<ip>"
    sim, modem, wire = quectel()
    wire()
    assert modem.resolve("echo.example") == LOOPBACK
    assert wire() == [b'AT+QIDNSGIP=1,"echo.example"']
    with pytest.raises(OSError) as e:
        modem.resolve("nowhere.invalid")
    assert e.value.args[0] == errno.EHOSTUNREACH and "565 (DNS parse failed)" in str(e.value)


def test_ping_sends_one_echo_and_returns_its_time(quectel):
    # family 2.12: OK, +QPING: 0,"<ip>",<bytes>,<time>,<ttl>, then the summary
    sim, modem, wire = quectel(opts={"ping_ms": 5})
    wire()
    ms = modem.ping("localhost", timeout=2000)
    assert isinstance(ms, int) and 0 <= ms < 1000
    assert wire() == [b'AT+QPING=1,"localhost",2,1']
    with pytest.raises(OSError) as e:
        modem.ping("192.0.2.1", timeout=1000)  # no reply: +QPING: 569
    assert e.value.args[0] == errno.ETIMEDOUT


def test_a_qiopen_result_held_back_by_the_firmware_is_fetched_with_a_bare_at(quectel, tcp_echo):
    # some firmware prints +QIOPEN: <id>,<err> only inside the next command's reply
    sim, modem, wire = quectel(opts={"open_result_in_reply": True})
    wire()
    t = time.monotonic()
    s = msocket.socket()
    s.connect(tcp_echo)
    assert time.monotonic() - t < 5
    assert wire() == [b'AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % tcp_echo[1], b"AT"]
    s.close()
