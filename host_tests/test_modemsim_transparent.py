"""Transparent (data) mode of the simulator personalities, driven by raw AT bytes.

Each family enters data mode its own way and says so its own way:
  sim7080  AT+CAOPEN, then AT+CASWITCH=<cid>,1 -> OK, CONNECT (CA manual C1811)
  sim7600  AT+CIPMODE=1, AT+NETOPEN, AT+CIPOPEN -> CONNECT 115200 (A7600 manual 1.2, 6.2.3)
  quectel  AT+QIOPEN ... access mode 2 -> CONNECT (UG 1.2, 2.4)
  yuge     AT+CIPMODE=1, AT+CIPSTART -> OK, CONNECT (Yuge manual 9.9, 9.37, 9.38)
and leaves it on "+++" framed by guard times (OK), or when the peer goes (CLOSED, for
Quectel NO CARRIER). The manuals' own transcripts are replayed in the personality
files: test_modemsim_sim7600.py test_a7600_6_2_3_tcp_transparent, test_modemsim_quectel.py
test_family_4_3_transparent_mode, test_modemsim_yuge.py test_transcript_9_42_transparent_tcp
("透明传输应用 1"); here each behaviour is one test, for every family it applies to.
"""
import hashlib
import socket
import threading
import time

import pytest
from tools import families

GUARD_MS = 100  # every family's "+++" guard time, shortened
FAMILIES = families.NAMES  # every family in the registry (tools/families.py)

# per family: guard option name, the line that announces data mode, what ends it when
# the peer goes (lines, in order), and the banner line to wait for
SPEC = {
    "sim7080": dict(guard="guard_ms", connect="CONNECT", ready="SMS Ready",
                    closed=["CLOSED", "+CASTATE: 0,0"]),
    "sim7600": dict(guard="guard_ms", connect="CONNECT 115200", ready="PB DONE",
                    closed=["CLOSED"]),
    "quectel": dict(guard="guard_ms", connect="CONNECT", ready="+QIND: PB DONE",
                    closed=["NO CARRIER"]),
    "yuge": dict(guard="escape_guard_ms", connect="CONNECT", ready="+CPIN: ",
                 closed=["CLOSED"]),
    # public knowledge: SIM800 AT+CIPMODE=1 transparent mode, as the Yuge copies it
    "sim800": dict(guard="escape_guard_ms", connect="CONNECT", ready="SMS Ready",
                   closed=["CLOSED"]),
}
# what each family prints between the command line and its CONNECT
ENTER = {
    "sim7080": b"\r\nOK\r\n\r\nCONNECT\r\n",
    "sim7600": b"\r\nCONNECT 115200\r\n",
    "quectel": b"\r\nCONNECT\r\n",
    "yuge": b"\r\nOK\r\n\r\nCONNECT\r\n",
    "sim800": b"\r\nOK\r\n\r\nCONNECT\r\n",
}


def line(s):
    return b"\r\n" + s.encode() + b"\r\n"


@pytest.fixture
def booted(modem_factory):
    """make(family, guard_ms=GUARD_MS, opts=None, **kw) -> (sim, at): after the
    banner, echo off, the data bearer up (nothing in data mode yet)."""
    def make(fam, guard_ms=GUARD_MS, opts=None, **kw):
        o = {SPEC[fam]["guard"]: guard_ms}
        o.update(opts or {})
        sim, uart, at = modem_factory(fam, opts=o, **kw)
        at.wait_line(SPEC[fam]["ready"])
        at.write(b"ATE0\r")
        at.expect(b"OK\r\n")
        if fam == "sim7080":
            at.write(b"AT+CNACT=0,1\r")
            at.expect(line("+APP PDP: 0,ACTIVE"))
        elif fam == "sim7600":
            at.write(b"AT+CIPMODE=1\r")
            at.expect(b"OK\r\n")
            at.write(b"AT+NETOPEN\r")
            at.expect(line("+NETOPEN: 0"))
        elif fam == "quectel":
            at.write(b"AT+QIACT=1\r")
            at.expect(b"OK\r\n")
        else:
            at.write(b"AT+CIPMODE=1\r")
            at.expect(b"OK\r\n")
        return sim, at
    return make


def enter_cmd(fam, port):
    """The command line that enters data mode (sim7080: the connection is already open)."""
    return {
        "sim7080": "AT+CASWITCH=0,1",
        "sim7600": 'AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port,
        "quectel": 'AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,2' % port,
        "yuge": 'AT+CIPSTART="TCP","127.0.0.1",%d' % port,
        "sim800": 'AT+CIPSTART="TCP","127.0.0.1",%d' % port,
    }[fam]


def open_data(booted, fam, port, exact=True, **kw):
    """Boot, open a TCP connection to 127.0.0.1:port and enter data mode."""
    sim, at = booted(fam, **kw)
    if fam == "sim7080":
        at.write(b'AT+CAOPEN=0,0,"TCP","127.0.0.1",%d\r' % port)
        at.expect(line("+CAOPEN: 0,0"))
        at.expect(b"OK\r\n")
    at.write(enter_cmd(fam, port).encode() + b"\r")
    if exact:
        assert at.read_exact(len(ENTER[fam]), timeout=3) == ENTER[fam]
    else:
        at.expect(line(SPEC[fam]["connect"]))
    return sim, at


def escape(at, fam):
    """Silence, "+++", silence: the family answers OK (nothing before it)."""
    time.sleep(GUARD_MS * 1.5 / 1000)
    at.write(b"+++")
    assert at.read_exact(6, timeout=3) == b"\r\nOK\r\n"


def recv_exact(peer, n, timeout=5):
    peer.settimeout(timeout)
    got = b""
    while len(got) < n:
        d = peer.recv(65536)
        if not d:
            break
        got += d
    return got


# ------------------------------------------------------------------ entering
@pytest.mark.parametrize("fam", FAMILIES)
def test_enter_prints_connect_and_carries_bytes(booted, sink, fam):
    sim, at = open_data(booted, fam, sink.getsockname()[1])
    peer, _ = sink.accept()
    at.write(b"AT\r\nOK\r\n")  # in data mode everything is payload
    assert recv_exact(peer, 8) == b"AT\r\nOK\r\n"
    peer.sendall(b"\r\nERROR\r\n")
    assert at.read_exact(9) == b"\r\nERROR\r\n"
    assert at.drain() == b""
    peer.close()


@pytest.mark.parametrize("fam", FAMILIES)
def test_1mib_echo_each_way(booted, tcp_echo, fam):
    sim, at = open_data(booted, fam, tcp_echo[1])
    data = hashlib.sha256(b"seed").digest() * (1 << 15)  # 1 MiB
    assert len(data) == 1 << 20

    def writer():
        for i in range(0, len(data), 16384):
            at.write(data[i:i + 16384])
    t0 = time.monotonic()
    th = threading.Thread(target=writer, daemon=True)
    th.start()
    got = at.read_exact(len(data), timeout=180)  # liveness only: a busy machine is slower
    th.join(5)
    print("1 MiB each way took %.1f s" % (time.monotonic() - t0))
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    escape(at, fam)


# ------------------------------------------------------------------ "+++"
@pytest.mark.parametrize("fam", FAMILIES)
def test_escape_with_guard_answers_ok_then_commands_work(booted, sink, fam):
    sim, at = open_data(booted, fam, sink.getsockname()[1])
    peer, _ = sink.accept()
    at.write(b"payload")
    assert recv_exact(peer, 7) == b"payload"
    escape(at, fam)
    assert at.cmd("AT") == ["OK"]
    assert at.cmd("AT+CSQ")[-1] == "OK"
    peer.settimeout(0.2)
    with pytest.raises(socket.timeout):
        peer.recv(100)  # neither "+++" nor the commands reached the peer
    peer.close()


@pytest.mark.parametrize("fam", FAMILIES)
def test_plus_without_guard_is_data(booted, sink, fam):
    sim, at = open_data(booted, fam, sink.getsockname()[1])
    peer, _ = sink.accept()
    time.sleep(GUARD_MS * 1.5 / 1000)
    at.write(b"+++x")  # something right after it
    at.write(b"a+++")  # something right before it
    time.sleep(GUARD_MS * 1.5 / 1000)
    for _ in range(3):  # after a guard, but the pluses too far apart
        at.write(b"+")
        time.sleep(GUARD_MS * 1.5 / 1000)
    want = b"+++xa++++++"
    assert recv_exact(peer, len(want)) == want
    assert at.drain(quiet=GUARD_MS * 2 / 1000) == b""  # no OK: still in data mode
    at.write(b"still data")
    assert recv_exact(peer, 10) == b"still data"
    peer.close()


@pytest.mark.parametrize("fam", FAMILIES)
def test_escape_split_over_writes(booted, sink, fam):
    sim, at = open_data(booted, fam, sink.getsockname()[1])
    peer, _ = sink.accept()
    time.sleep(GUARD_MS * 1.5 / 1000)
    at.write(b"+")
    time.sleep(0.01)
    at.write(b"++")
    assert at.read_exact(6, timeout=3) == b"\r\nOK\r\n"
    peer.close()


# ------------------------------------------------------------------ ATO
@pytest.mark.parametrize("fam", FAMILIES)
def test_ato_returns_and_data_flows(booted, sink, fam):
    sim, at = open_data(booted, fam, sink.getsockname()[1])
    peer, _ = sink.accept()
    escape(at, fam)
    peer.sendall(b"while away")
    time.sleep(0.1)
    waiting = at.drain()
    if fam == "quectel":
        # UG 1.2 point 3: after "+++" the connection is in buffer access mode
        assert waiting == line('+QIURC: "recv",0')
    else:
        assert waiting == b""  # SIMCom family, Yuge: kept for ATO, no URC
    at.write(b"ATO\r")
    want = line(SPEC[fam]["connect"]) + b"while away"
    assert at.read_exact(len(want), timeout=3) == want
    at.write(b"back again")
    assert recv_exact(peer, 10) == b"back again"
    peer.sendall(b"and down")
    assert at.read_exact(8) == b"and down"
    peer.close()


@pytest.mark.parametrize("fam", FAMILIES)
def test_ato_without_connection_no_carrier(booted, fam):
    sim, at = booted(fam)
    assert at.cmd("ATO") == ["NO CARRIER"]


# ------------------------------------------------------------------ peer close
@pytest.mark.parametrize("fam", FAMILIES)
def test_peer_close_in_data_mode(booted, sink, fam):
    sim, at = open_data(booted, fam, sink.getsockname()[1])
    peer, _ = sink.accept()
    peer.sendall(b"last words")
    assert at.read_exact(10) == b"last words"
    peer.close()
    want = b"".join(line(s) for s in SPEC[fam]["closed"])
    assert at.read_exact(len(want), timeout=3) == want
    assert at.drain() == b""
    assert at.cmd("AT") == ["OK"]  # command mode
    assert at.cmd("ATO") == ["NO CARRIER"]  # nothing to return to
    close = {"sim7080": "AT+CACLOSE=0", "sim7600": None, "quectel": "AT+QICLOSE=0",
             "yuge": "AT+CIPSHUT", "sim800": "AT+CIPSHUT"}[fam]
    if close:
        assert at.cmd(close, timeout=3)[-1] in ("OK", "SHUT OK")


# ------------------------------------------------------------------ URCs wait
@pytest.mark.parametrize("fam", FAMILIES)
@pytest.mark.parametrize("source", ["urc", "registration"])
def test_urc_in_data_mode_waits_for_ok(booted, sink, fam, source):
    sim, at = booted(fam)
    if source == "registration":
        at.write(b"AT+CREG=1\r")
        at.expect(b"OK\r\n")
    port = sink.getsockname()[1]
    if fam == "sim7080":
        at.write(b'AT+CAOPEN=0,0,"TCP","127.0.0.1",%d\r' % port)
        at.expect(b"OK\r\n")
    at.write(enter_cmd(fam, port).encode() + b"\r")
    assert at.read_exact(len(ENTER[fam]), timeout=3) == ENTER[fam]
    peer, _ = sink.accept()
    with sim.lock:
        if source == "urc":
            sim.urc("+CSQ: 17,99")
            want = "+CSQ: 17,99"
        else:
            sim.set_reg(5)  # roaming now: +CREG: 5
            want = "+CREG: 5"
    peer.sendall(b"pure")
    assert at.read_exact(4) == b"pure"
    assert at.drain() == b""  # the URC stays out of the data
    escape(at, fam)  # OK first, then what waited
    assert at.read_exact(len(line(want)), timeout=2) == line(want)
    peer.close()


@pytest.mark.parametrize("fam", FAMILIES)
def test_urc_waits_until_closed(booted, sink, fam):
    sim, at = open_data(booted, fam, sink.getsockname()[1])
    peer, _ = sink.accept()
    with sim.lock:
        sim.urc("+CSQ: 17,99")
    time.sleep(0.05)
    assert at.drain() == b""
    peer.close()
    closed = SPEC[fam]["closed"]
    # the line that leaves data mode first, then what waited (sim7080: its +CASTATE
    # comes from the close itself, after the waiting URC)
    want = b"".join(line(s) for s in [closed[0], "+CSQ: 17,99"] + closed[1:])
    assert at.read_exact(len(want), timeout=3) == want


@pytest.mark.parametrize("fam", FAMILIES)
def test_fault_knobs_stay_out_of_data(booted, tcp_echo, fam):
    # hold: asynchronous URCs held back for a later reply (and released by a timer);
    # urc: noise inside replies; garbage: a junk line after final results
    sim, at = open_data(booted, fam, tcp_echo[1], exact=False,
                        faults=["hold=1", "urc=1", "garbage=1"])
    with sim.lock:
        sim.urc("+CSQ: 17,99")  # held by the hold fault, and by data mode
    data = bytes(range(256)) * 64
    at.write(data)
    assert at.read_exact(len(data), timeout=5) == data
    time.sleep(2.1)  # the hold fault releases what it held after 2 s: not in here
    assert at.drain() == b""
    escape(at, fam)  # OK, maybe a garbage line (that fault is on), the URC
    assert at.wait_line("+CSQ: ", timeout=3) == "+CSQ: 17,99"


def test_other_connection_data_urc_waits_sim7080(booted, sink):
    sim, at = booted("sim7080")
    port = sink.getsockname()[1]
    for cid in (0, 1):
        at.write(b'AT+CAOPEN=%d,0,"TCP","127.0.0.1",%d\r' % (cid, port))
        at.expect(b"OK\r\n")
    p0, _ = sink.accept()
    p1, _ = sink.accept()
    # which accepted socket is cid 1: the one whose peer port is cid 1's local port
    if p0.getpeername()[1] == sim.links[1].conn.local_port:
        p0, p1 = p1, p0
    at.write(b"AT+CASWITCH=0,1\r")
    assert at.read_exact(len(ENTER["sim7080"])) == ENTER["sim7080"]
    p1.sendall(b"for one")
    p0.sendall(b"zero")
    assert at.read_exact(4) == b"zero"
    assert at.drain() == b""
    escape(at, "sim7080")
    assert at.read_exact(len(line("+CADATAIND: 1")), timeout=2) == line("+CADATAIND: 1")
    assert at.cmd("AT+CARECV=1,100") == ["+CARECV: 7,for one", "OK"]
    p0.close()
    p1.close()


# ------------------------------------------------------------------ SIM7080 specifics
def test_sim7080_caswitch_errors(booted, sink, udp_echo):
    sim, at = booted("sim7080")
    port = sink.getsockname()[1]
    assert at.cmd("AT+CASWITCH=0,1") == ["ERROR"]  # cid 0 is not open
    assert at.cmd('AT+CAOPEN=2,0,"UDP","127.0.0.1",%d' % udp_echo[1]) == \
        ["+CAOPEN: 2,0", "OK"]
    assert at.cmd("AT+CASWITCH=2,1") == ["ERROR"]  # UDP: TCP only
    assert at.cmd("AT+CASWITCH=2,2") == ["ERROR"]
    for cid in (0, 1):
        assert at.cmd('AT+CAOPEN=%d,0,"TCP","127.0.0.1",%d' % (cid, port)) == \
            ["+CAOPEN: %d,0" % cid, "OK"]
    at.write(b"AT+CASWITCH=0,1\r")
    assert at.read_exact(len(ENTER["sim7080"])) == ENTER["sim7080"]
    escape(at, "sim7080")
    assert at.cmd("AT+CASWITCH?") == ["+CASWITCH: 0,1", "OK"]
    assert at.cmd("AT+CASWITCH=1,1") == ["ERROR"]  # cid 0 is the transparent one
    # AT+CASWITCH=0,1 goes back like ATO
    at.write(b"AT+CASWITCH=0,1\r")
    assert at.read_exact(len(ENTER["sim7080"])) == ENTER["sim7080"]
    escape(at, "sim7080")
    # back to non-transparent: an ordinary buffered connection again
    assert at.cmd("AT+CASWITCH=0,0") == ["OK"]
    assert at.cmd("AT+CASWITCH?") == ["+CASWITCH: 0,0", "OK"]
    assert at.cmd("ATO") == ["NO CARRIER"]
    assert at.cmd("AT+CASWITCH=1,1")[0] == "OK"


def test_sim7080_transpktsize_and_transwaittm(booted, sink):
    sim, at = booted("sim7080")
    port = sink.getsockname()[1]
    assert at.cmd('AT+CACFG="TRANSPKTSIZE",10') == ["OK"]
    assert at.cmd('AT+CACFG="TRANSWAITTM",5') == ["OK"]  # 5 x 100 ms
    assert at.cmd('AT+CAOPEN=0,0,"TCP","127.0.0.1",%d' % port) == ["+CAOPEN: 0,0", "OK"]
    peer, _ = sink.accept()
    at.write(b"AT+CASWITCH=0,1\r")
    assert at.read_exact(len(ENTER["sim7080"])) == ENTER["sim7080"]
    t0 = time.monotonic()
    at.write(b"0123456789abcdefghijKLMNO")  # two full packets and five bytes
    assert recv_exact(peer, 20, timeout=2) == b"0123456789abcdefghij"
    assert time.monotonic() - t0 < 0.3
    peer.settimeout(0.2)
    with pytest.raises(socket.timeout):
        peer.recv(100)  # the partial packet waits for TRANSWAITTM
    assert recv_exact(peer, 5, timeout=2) == b"KLMNO"
    assert time.monotonic() - t0 >= 0.45
    peer.close()
