"""Tests of the SIM7080 simulator personality (tools/modemsim/sim7080.py).

Raw AT commands over a FakeUART through tools/modemsim/rawat.py, not the cellmodem
library. One test (test_pacing_100k_at_115200) takes about 9 s on purpose; the rest
run in a few seconds.
"""
import os
import random
import select
import socket
import subprocess
import sys
import time

import pytest

from tools.modemsim import get_personality

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NASTY = b"\r\nOK\r\n\x1a\x1b\x03\r\nERROR\r\n+CARECV: 3,\x00\xff"


@pytest.fixture
def modem(modem_factory):
    """make(**kw) -> (sim, uart, at): SIM7080 after its banner, echo off, CMEE as given."""
    def make(echo=False, **kw):
        sim, uart, at = modem_factory("sim7080", **kw)
        at.wait_line("SMS Ready")
        if not echo:
            assert at.cmd("ATE0")[-1] == "OK"
        return sim, uart, at
    return make


def online(at):
    assert at.cmd("AT+CNACT=0,1") == ["OK"]
    at.wait_line("+APP PDP: 0,ACTIVE")


def framed(lines):
    out = b""
    for ln in lines:
        if isinstance(ln, bytes):
            out += ln  # raw piece: prompt or payload exactly as sent
        else:
            out += b"\r\n" + ln.encode("latin-1") + b"\r\n"
    return out


def replay(at, transcript):
    """Send each command and compare the answer byte for byte with the transcript.

    transcript: list of (command, expected) or (command, expected, data, expected2):
    expected is a list of lines (str, framed CR LF <line> CR LF) or raw bytes pieces;
    data is written after the first part (data mode) and expected2 follows it.
    """
    for step in transcript:
        cmd, want = step[0], step[1]
        at.write(cmd + "\r")
        exp = framed(want)
        got = at.read_exact(len(exp), timeout=3)
        assert got == exp, "%s:\n got %r\nwant %r" % (cmd, got, exp)
        if len(step) > 2:
            at.write(step[2])
            exp = framed(step[3])
            got = at.read_exact(len(exp), timeout=3)
            assert got == exp, "%s data:\n got %r\nwant %r" % (cmd, got, exp)
    time.sleep(0.05)
    assert at.drain() == b""


def carecv(at, cid, n=1460):
    """AT+CARECV in the real module's form: `+CARECV: <len>,<data>`; `+CARECV: 0`."""
    at.write("AT+CARECV=%d,%d\r" % (cid, n))
    at.expect(b"+CARECV: ")
    digits = b""
    while True:
        ch = at.read_exact(1)
        if not ch.isdigit():
            break
        digits += ch
    data = at.read_exact(int(digits)) if ch == b"," else b""
    at.wait_line("OK")
    return data


def send(at, cid, chunk):
    lines = at.cmd("AT+CASEND=%d,%d" % (cid, len(chunk)), until=b"> ")
    assert "ERROR" not in lines, lines
    at.write(chunk)
    at.wait_line("OK")


# ------------------------------------------------------------------ manual transcripts
def test_transcripts_manual_c1801_c1802(modem):
    sim, uart, at = modem()
    replay(at, [
        ("AT+CACID=?", ["+CACID: (0-12)", "OK"]),
        ("AT+CACID?", ["OK"]),  # "[+CACID: <cid>]" absent when none set
        ("AT+CASSLCFG?", ["OK"]),  # "If no <cid> has been set by AT+CACID: OK"
        ("AT+CACID=1", ["OK"]),
        ("AT+CACID?", ["+CACID: 1", "OK"]),
        ("AT+CASSLCFG=?", ['+CASSLCFG: (0-12),"cacert",<caname>',
                           '+CASSLCFG: (0-12),"clientcert",<certname>',
                           '+CASSLCFG: (0-12),"psktable",<pskname>',
                           '+CASSLCFG: (0-12),"timeout",(0-65535)',
                           '+CASSLCFG: (0-12),"ssl",(0,1)',
                           '+CASSLCFG: (0-12),"crindex",(0,5)',
                           '+CASSLCFG: (0-12),"localport",(0-65536)',
                           '+CASSLCFG: (0-12),"protocol",(0,1)', "OK"]),
        ('AT+CASSLCFG=1,"cacert","ca.crt"', ["OK"]),
        ('AT+CASSLCFG=1,"clientcert","client.crt"', ["OK"]),
        ('AT+CASSLCFG=1,"psktable","psk.txt"', ["OK"]),
        ('AT+CASSLCFG=1,"ssl",1', ["OK"]),
        ('AT+CASSLCFG=1,"crindex",2', ["OK"]),
        ('AT+CASSLCFG=1,"protocol",0', ["OK"]),
        ('AT+CASSLCFG=1,"ssl",2', ["ERROR"]),
        ("AT+CASSLCFG?", ["+CASSLCFG: 1", "cacert:ca.crt", "clientcert:client.crt",
                          "psktable:psk.txt", "timeout:60", "ssl:1", "crindex:2",
                          "localport:0", "protocol:0", "OK"]),
    ])


def test_transcripts_manual_c1803_to_c1809(modem, sink):
    sim, uart, at = modem(opts={"carecv_form": "manual", "casend_form": "manual"})
    port = sink.getsockname()[1]
    replay(at, [
        ("AT+CAOPEN=?", ["+CAOPEN: (0-12),<server>,(1-65535)", "OK"]),
        ("AT+CAOPEN?", ["OK"]),
        # before AT+CNACT: result 21 "Network not active"
        ('AT+CAOPEN=0,"TCP","127.0.0.1",%d' % port, ["+CAOPEN: 0,21", "OK"]),
        ("AT+CNACT=0,1", ["OK", "+APP PDP: 0,ACTIVE"]),
        # W) sync form: +CAOPEN: <cid>,<result> then OK
        ('AT+CAOPEN=0,"TCP","127.0.0.1",%d' % port, ["+CAOPEN: 0,0", "OK"]),
        ("AT+CACID=0", ["OK"]),
        ("AT+CAOPEN?", ['+CAOPEN: 0,"TCP","127.0.0.1",%d' % port, "OK"]),
        ("AT+CASTATE?", ["+CASTATE: 0,1", "OK"]),
        ("AT+CASEND=?", ["+CASEND: (0-12),(1-1460),(1-10000)", "OK"]),
        ("AT+CASEND=0", ["+CASEND: 1460", "OK"]),
        # W) AT+CASEND=<cid>,<datalen>: +CASEND: <cid>,<datalen>, data, OK,
        #    +CASEND: <cid>,<result>,<sendlen>
        ("AT+CASEND=0,5", ["+CASEND: 0,5"], b"hello", ["OK", "+CASEND: 0,0,5"]),
        ("AT+CAACK=?", ["+CAACK: (0-12)", "OK"]),
        ("AT+CAACK=0", ["+CAACK: 5,0", "OK"]),
        ("AT+CARECV=?", ["+CARECV: (0-12),(1-1460)", "OK"]),
        ("AT+CARECV=0,100", ["+CARECV: 0,0", "OK"]),
        ("AT+CACLOSE=?", ["+CACLOSE: (0-12)", "OK"]),
        ("AT+CACLOSE=0", ["OK"]),
        ("AT+CASTATE?", ["OK"]),
        ("AT+CACLOSE=0", ["ERROR"]),
        # <conn_type> is optional in the manual's form: TCP
        ('AT+CAOPEN=2,"127.0.0.1",%d' % port, ["+CAOPEN: 2,0", "OK"]),
        ('AT+CAOPEN=2,"127.0.0.1",%d' % port, ["+CAOPEN: 2,4", "OK"]),
        ('AT+CAOPEN=3,"TCP","nosuch.example",80', ["+CAOPEN: 3,20", "OK"]),
        ('AT+CAOPEN=3,"TCP","127.0.0.1",1', ["+CAOPEN: 3,23", "OK"]),
        ('AT+CAOPEN=3,"SCTP","127.0.0.1",80', ["+CAOPEN: 3,4", "OK"]),
        # ASYNCOPEN (C1810) makes the result come after OK
        ('AT+CACFG="ASYNCOPEN",1', ["OK"]),
        ('AT+CAOPEN=4,"TCP","127.0.0.1",%d' % port, ["OK", "+CAOPEN: 4,0"]),
        ('AT+CAOPEN=5,"TCP","127.0.0.1",1', ["OK", "+CAOPEN: 5,23"]),
        ("AT+CASTATE?", ["+CASTATE: 2,1", "+CASTATE: 4,1", "OK"]),
    ])
    # data for the manual CARECV form: header line, data on the next line, OK
    peer, _ = sink.accept()
    peer2, _ = sink.accept()
    peer3, _ = sink.accept()
    peer3.sendall(b"hi\x00there")
    assert at.wait_line("+CADATAIND: ") == "+CADATAIND: 4"
    replay(at, [("AT+CARECV=4,100", ["+CARECV: 4,8", b"hi\x00there\r\n", "OK"])])
    # C1808 URC when the remote side disconnects
    peer3.close()
    assert at.wait_line("+CASTATE: ") == "+CASTATE: 4,0"
    replay(at, [("AT+CASTATE?", ["+CASTATE: 2,1", "+CASTATE: 4,0", "OK"])])
    for p in (peer, peer2):
        p.close()


def test_transcripts_manual_c1804_server(modem):
    sim, uart, at = modem()
    online(at)
    replay(at, [
        ("AT+CASERVER=?", ['+CASERVER: (0-12),("TCP","TCP6","UDP","UDP6"),(1-65535)', "OK"]),
        ("AT+CASERVER?", ["OK"]),
        ('AT+CASERVER=3,"TCP",0', ["+CASERVER: 3,0", "OK"]),
    ])
    port = sim.links[3].port
    replay(at, [("AT+CASERVER?", ['+CASERVER: 3,"TCP",%d' % port, "OK"]),
                ("AT+CASTATE?", ["+CASTATE: 3,2", "OK"])])
    c = socket.create_connection(("127.0.0.1", port))
    line = at.wait_line("+CANEW: ")
    assert line == "+CANEW: 3,0,127.0.0.1,%d" % c.getsockname()[1]
    c.sendall(b"from client")
    at.wait_line("+CADATAIND: 0")
    assert carecv(at, 0) == b"from client"
    send(at, 0, b"to client")
    assert c.recv(100) == b"to client"
    c.close()
    at.wait_line("+CASTATE: 0,0")
    replay(at, [("AT+CACLOSE=0", ["OK"]), ("AT+CACLOSE=3", ["OK"])])


def test_transcripts_manual_c1810_c1811(modem):
    sim, uart, at = modem()
    replay(at, [
        ('AT+CACFG="KEEPALIVE",1,60,10,3', ["OK"]),
        ('AT+CACFG="ATOCLOSE",1,30', ["OK"]),
        ('AT+CACFG="ASYNCOPEN",1', ["OK"]),
        ('AT+CACFG="ASYNCOPEN",2', ["ERROR"]),
        ('AT+CACFG="NOSUCH",1', ["ERROR"]),
        ("AT+CACFG?", ["+CACFG:", "+TRANSWAITTM: 2", "+TRANSPKTSIZE: 1024",
                       '+CACFG: "KEEPALIVE",1,60,10,3', '+CACFG: "ATOCLOSE",1,30',
                       '+CACFG: "ACCEPTNUM",1', '+CACFG: "ASYNCOPEN",1', "OK"]),
        ("AT+CASWITCH=?", ["+CASWITCH: (0-1),(0,1)", "OK"]),
        ("AT+CASWITCH?", ["+CASWITCH: 0,0", "OK"]),
        ("AT+CASWITCH=0,0", ["OK"]),
    ])


# ------------------------------------------------------------------ the real module's forms
def test_real_forms(modem, tcp_echo):
    sim, uart, at = modem()
    port = tcp_echo[1]
    replay(at, [
        ("AT+CNACT?", ['+CNACT: 0,0,"0.0.0.0"', '+CNACT: 1,0,"0.0.0.0"',
                       '+CNACT: 2,0,"0.0.0.0"', '+CNACT: 3,0,"0.0.0.0"', "OK"]),
        ("AT+CNACT=0,1", ["OK", "+APP PDP: 0,ACTIVE"]),
        ("AT+CNACT=0,1", ["ERROR"]),  # already active
        ("AT+CNACT?", ['+CNACT: 0,1,"10.94.36.44"', '+CNACT: 1,0,"0.0.0.0"',
                       '+CNACT: 2,0,"0.0.0.0"', '+CNACT: 3,0,"0.0.0.0"', "OK"]),
        # SIM7080 firmware form with <pdp_index>
        ('AT+CAOPEN=0,0,"TCP","localhost",%d' % port, ["+CAOPEN: 0,0", "OK"]),
        ("AT+CARECV=0,10", ["+CARECV: 0", "OK"]),
        ("AT+CASEND=0,4", [b"\r\n> "], b"ping", ["OK", "+CADATAIND: 0"]),
        ("AT+CARECV=0,2", [b"\r\n+CARECV: 2,pi\r\n", "OK"]),
        ("AT+CARECV=0,100", [b"\r\n+CARECV: 2,ng\r\n", "OK"]),
        ("AT+CARECV=0,100", ["+CARECV: 0", "OK"]),
        ("AT+CACLOSE=0", ["OK"]),
        ("AT+CNACT=0,0", ["OK", "+APP PDP: 0,DEACTIVE"]),
    ])


def test_sim7000_app_pdp_without_cid(modem):
    sim, uart, at = modem(opts={"app_pdp_cid": False})
    replay(at, [("AT+CNACT=0,1", ["OK", "+APP PDP: ACTIVE"]),
                ("AT+CNACT=0,0", ["OK", "+APP PDP: DEACTIVE"])])


def test_errors_plain_even_with_cmee2(modem):
    sim, uart, at = modem()
    online(at)
    replay(at, [("AT+CMEE=2", ["OK"]),
                ("AT+CASEND=0,5", ["ERROR"]),
                ("AT+CARECV=0,5", ["ERROR"]),
                ("AT+CACLOSE=0", ["ERROR"]),
                ("AT+CAOPEN=0,0,\"TCP\"", ["ERROR"]),
                ("AT+CPIN?", ["+CPIN: READY", "OK"]),
                ("AT+NOSUCH", ["ERROR"])])


def test_banner_and_identity(modem_factory):
    sim, uart, at = modem_factory("sim7080")
    assert at.read_exact(len(framed(["RDY", "+CFUN: 1", "+CPIN: READY", "SMS Ready"]))) == \
        framed(["RDY", "+CFUN: 1", "+CPIN: READY", "SMS Ready"])
    assert at.cmd("AT+CGMR") == ["Revision:1951B04SIM7080", "OK"]
    assert at.cmd("AT+CGSN") == ["869951030012345", "OK"]


def test_locked_sim_and_registration(modem_factory):
    sim, uart, at = modem_factory("sim7080", sim="locked", reg_delay_ms=100)
    assert at.wait_line("+CPIN: ") == "+CPIN: SIM PIN"
    at.ok("ATE0")
    at.ok("AT+CEREG=1")
    assert at.cmd("AT+CNACT=0,1") == ["ERROR"]
    assert at.cmd('AT+CPIN="1234"')[-1] == "OK"
    at.wait_line("SMS Ready")
    assert at.wait_line("+CEREG: ") == "+CEREG: 2"
    assert at.wait_line("+CEREG: ") == "+CEREG: 1"
    online(at)


# ------------------------------------------------------------------ real servers, 64 KiB
def payload(n, seed):
    rnd = random.Random(seed)
    data = bytearray(rnd.getrandbits(8) for _ in range(n - 256 - len(NASTY) * 4))
    data += bytes(range(256))
    for _ in range(4):
        i = rnd.randrange(len(data))
        data[i:i] = NASTY
    assert len(data) == n
    return bytes(data)


def roundtrip(at, cid, data, deadline=30):
    end = time.monotonic() + deadline
    sent, got = 0, bytearray()
    while len(got) < len(data):
        assert time.monotonic() < end, "stuck at %d/%d" % (len(got), len(data))
        if sent < len(data):
            chunk = data[sent:sent + 1460]
            send(at, cid, chunk)
            sent += len(chunk)
        got += carecv(at, cid)
    return bytes(got)


def test_tcp_echo_64k(modem, tcp_echo):
    sim, uart, at = modem()
    online(at)
    assert at.cmd('AT+CAOPEN=0,0,"TCP","127.0.0.1",%d' % tcp_echo[1])[:2] == \
        ["+CAOPEN: 0,0", "OK"]
    data = payload(65536, 1)
    assert roundtrip(at, 0, data) == data
    at.ok("AT+CACLOSE=0")


def test_udp_echo_64k(modem, udp_echo):
    sim, uart, at = modem(hosts={"udp.test": "127.0.0.1"})
    online(at)
    assert at.cmd('AT+CAOPEN=1,0,"UDP","udp.test",%d' % udp_echo[1])[:2] == \
        ["+CAOPEN: 1,0", "OK"]
    data = payload(65536, 2)
    assert roundtrip(at, 1, data) == data


def test_tcp_echo_chunked_output_and_echo_on(modem, tcp_echo):
    # chunk fault (random 1..7 byte pieces) plus FakeUART's own chunking, echo on
    sim, uart, at = modem(echo=True, chunk=(1, 5, 9), faults=["chunk=1-7", "chunk-gap-ms=0.1"],
                          seed=5)
    online(at)
    at.cmd('AT+CAOPEN=0,0,"TCP","127.0.0.1",%d' % tcp_echo[1])
    data = payload(8192, 3)
    assert roundtrip(at, 0, data) == data


# ------------------------------------------------------------------ pacing
@pytest.mark.slow
def test_pacing_100k_at_115200(modem):
    """SLOW (about 9 s): 100 KiB of output at 115200 baud takes no less than 8.89 s - 5 % (the line rate)."""
    sim, uart, at = modem(baud=115200)
    n = 100 * 1024
    with sim.lock:
        t0 = time.monotonic()
        sim.raw(b"\x55" * n)
    at.read_exact(n, timeout=20)
    dt = time.monotonic() - t0
    expected = n / 11520.0
    print("100 KiB at 115200 baud: %.3f s (ideal %.3f s)" % (dt, expected))
    # never faster than the line (5 % for the clocks); later only by the machine's load
    assert dt >= 0.95 * expected, dt


def test_input_pacing(modem):
    # 1152 bytes of host input at 115200 baud reach the modem in about 0.1 s
    sim, uart, at = modem(baud=115200)
    online(at)
    at.write(b"AT" + b"E0" * 574 + b"\r")  # 1151 bytes, a one-line answer
    t0 = time.monotonic()
    at.wait_line("OK")
    dt = time.monotonic() - t0
    assert dt > 0.09, dt  # never faster than the line; a busy machine may be later


# ------------------------------------------------------------------ faults
def test_fault_urc_injection_between_lines(modem):
    sim, uart, at = modem(faults=["urc=0.5"], seed=11)
    seen = set()
    for _ in range(20):
        lines = at.cmd("AT+CNACT?")
        assert lines[-1] == "OK"
        seen.update(l for l in lines if not l.startswith("+CNACT"))
    assert seen & set(sim.noise_urcs)


def test_fault_async_result_inside_unrelated_reply(modem, sink):
    sim, uart, at = modem(opts={"async_result_in_reply": True, "connect_ms": 50})
    online(at)
    at.ok('AT+CACFG="ASYNCOPEN",1')
    assert at.cmd('AT+CAOPEN=0,0,"TCP","127.0.0.1",%d' % sink.getsockname()[1]) == ["OK"]
    time.sleep(0.2)
    assert at.drain() == b""  # held back ...
    lines = at.cmd("AT+CSQ")
    assert "+CAOPEN: 0,0" in lines and lines[-1] == "OK"  # ... comes out inside a reply


def test_fault_hold_and_delay(modem, tcp_echo):
    sim, uart, at = modem(faults=["delay=30-40"], seed=3)
    online(at)
    at.cmd('AT+CAOPEN=0,0,"TCP","127.0.0.1",%d' % tcp_echo[1])
    sim.faults.hold = 1.0  # from now on every asynchronous URC is held back
    t0 = time.monotonic()
    send(at, 0, b"abc")
    assert time.monotonic() - t0 >= 0.03  # delayed final result
    time.sleep(0.1)
    assert b"CADATAIND" not in at.drain()  # held ...
    lines = at.cmd("AT")
    assert "+CADATAIND: 0" in lines  # ... and released inside the next reply


def test_fault_peer_close_and_close_discards(modem, tcp_echo, sink):
    sim, uart, at = modem(faults=["peer-close=100"])
    online(at)
    at.cmd('AT+CAOPEN=0,0,"TCP","127.0.0.1",%d' % tcp_echo[1])
    assert at.wait_line("+CASTATE: ") == "+CASTATE: 0,0"
    assert at.cmd("AT+CASEND=0,3") == ["ERROR"]
    # quirk: data then close back to back, unread data dropped
    sim2, uart2, at2 = modem(opts={"close_discards": True})
    online(at2)
    at2.cmd('AT+CAOPEN=0,0,"TCP","127.0.0.1",%d' % sink.getsockname()[1])
    peer, _ = sink.accept()
    with sim2.lock:  # hold the modem still so data and close arrive together
        peer.sendall(b"bye")
        peer.close()
        time.sleep(0.1)
    assert at2.wait_line("+CA") == "+CADATAIND: 0"
    assert at2.read_line() == "+CASTATE: 0,0"
    assert carecv(at2, 0) == b""


def test_fault_network_drop(modem, tcp_echo):
    sim, uart, at = modem(faults=["drop=100"])
    online(at)
    at.cmd('AT+CAOPEN=0,0,"TCP","127.0.0.1",%d' % tcp_echo[1])
    assert at.wait_line("+APP PDP: ") == "+APP PDP: 0,DEACTIVE"
    assert at.read_line() == "+CASTATE: 0,0"
    assert at.cmd("AT+CASEND=0,3") == ["ERROR"]
    assert at.cmd('AT+CAOPEN=0,0,"TCP","127.0.0.1",%d' % tcp_echo[1]) == ["+CAOPEN: 0,21", "OK"]
    online(at)  # re-activation makes data work again (and arms the drop again)
    assert at.cmd('AT+CAOPEN=0,0,"TCP","127.0.0.1",%d' % tcp_echo[1]) == ["+CAOPEN: 0,0", "OK"]


def test_fault_reboot_mid_session(modem, tcp_echo):
    sim, uart, at = modem(faults=["reboot=5"])
    online(at)  # command 2 (ATE0 was 1)
    at.cmd('AT+CAOPEN=0,0,"TCP","127.0.0.1",%d' % tcp_echo[1])  # 3
    at.ok("AT+CMEE=2")  # 4
    at.write("AT+CNACT?\r")  # 5: reboots part way through the reply
    assert at.wait_line("RDY") == "RDY"
    at.wait_line("SMS Ready")
    # everything is gone: echo back on, context down, sockets closed, CMEE default
    at.write("AT+CASTATE?\r")
    assert at.read_line() == "AT+CASTATE?"
    assert at.read_line() == "OK"
    assert at.cmd("AT+CMEE?") == ["+CMEE: 0", "OK"]
    assert at.cmd("AT+CNACT?")[0] == '+CNACT: 0,0,"0.0.0.0"'


def test_fault_reboot_after_ms(modem_factory):
    sim, uart, at = modem_factory("sim7080", faults=["reboot-ms=150"])
    at.wait_line("SMS Ready")
    t0 = time.monotonic()
    at.wait_line("RDY")
    assert time.monotonic() - t0 > 0.1
    at.wait_line("SMS Ready")


def test_fault_reboot_method_and_cfun_reset(modem):
    sim, uart, at = modem()
    online(at)
    assert at.cmd("AT+CFUN=1,1") == ["OK"]
    at.wait_line("RDY")
    at.wait_line("SMS Ready")
    assert at.cmd("AT+CNACT?")[0] == '+CNACT: 0,0,"0.0.0.0"'  # cmd() drops the echo


def test_fault_cme_on_command(modem):
    sim, uart, at = modem(faults=["cme=+CNACT:30:1"])
    at.ok("AT+CMEE=2")
    assert at.cmd("AT+CNACT=0,1") == ["+CME ERROR: no network service"]
    online(at)


def test_fault_overflow(modem, sink):
    sim, uart, at = modem(faults=["overflow=1000"])
    online(at)
    at.cmd('AT+CAOPEN=0,0,"TCP","127.0.0.1",%d' % sink.getsockname()[1])
    peer, _ = sink.accept()
    peer.sendall(bytes(3000))
    at.wait_line("+CADATAIND: 0")
    time.sleep(0.2)
    assert len(carecv(at, 0)) == 1000
    assert carecv(at, 0) == b""
    assert sim.links[0].conn.lost == 2000
    peer.close()


def test_fault_garbage_noeol(modem, tcp_echo):
    sim, uart, at = modem(faults=["garbage=0.5"], seed=2)
    online(at)
    at.cmd('AT+CAOPEN=0,0,"TCP","127.0.0.1",%d' % tcp_echo[1])
    sim.faults.noeol = 1.0
    at.write("AT+CASEND=0,2\r")
    at.expect(b"> ")
    at.write(b"zz")
    raw = b""
    end = time.monotonic() + 2
    while b"+CADATAIND: 0" not in raw and time.monotonic() < end:
        raw += at.drain(0.02)
    assert b"+CADATAIND: 0" in raw
    # the URC has no line end of its own; the next line's CR LF ends it
    at.write("AT\r")
    raw = at.drain(0.1)
    assert raw.endswith(b"OK\r\n") or b"\r\nOK\r\n" in raw
    for _ in range(10):
        at.write("AT\r")
        raw += at.drain(0.02)
    assert any(g in raw for g in sim.garbage_lines)


def test_fault_reproducible_with_seed(modem, tcp_echo):
    def run():
        sim, uart, at = modem(faults=["chunk=1-9", "urc=0.3", "garbage=0.2"], seed=42)
        for _ in range(5):
            at.cmd("AT+CNACT?")
        time.sleep(0.05)
        at.drain()
        return sim.rng.getstate()
    assert run() == run()


# ------------------------------------------------------------------ CLI and pty
def test_cli_help():
    r = subprocess.run([sys.executable, "-m", "tools.modemsim", "--help"], cwd=ROOT,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    for word in ("--dialect", "--pty", "--baud", "--seed", "--fault", "--hosts", "-v",
                 "chunk=LO-HI", "reboot=N", "overflow=N", "sim7080"):
        assert word in r.stdout, word


def test_cli_unknown_dialect():
    r = subprocess.run([sys.executable, "-m", "tools.modemsim", "--dialect", "nokia"],
                       cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "not available" in r.stderr


def test_cli_pty_session():
    p = subprocess.Popen([sys.executable, "-m", "tools.modemsim", "--dialect", "sim7080",
                          "--pty", "--reg-delay-ms", "0", "-v"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        path = p.stdout.readline().strip()
        assert path.startswith("/dev/"), path
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        try:
            import termios
            import tty
            tty.setraw(fd, termios.TCSANOW)  # TCSAFLUSH would drop the banner
            buf = b""
            end = time.monotonic() + 5
            os.write(fd, b"ATE0\r")
            while b"SMS Ready" not in buf or not buf.endswith(b"OK\r\n"):
                assert time.monotonic() < end, buf
                if select.select([fd], [], [], 0.1)[0]:
                    buf += os.read(fd, 1024)
            os.write(fd, b"AT+CGMM\r")
            buf = b""
            while not buf.endswith(b"OK\r\n"):
                assert time.monotonic() < end, buf
                if select.select([fd], [], [], 0.1)[0]:
                    buf += os.read(fd, 1024)
            assert buf == b"\r\nSIMCOM_SIM7080G\r\n\r\nOK\r\n"
        finally:
            os.close(fd)
    finally:
        p.terminate()
        _, err = p.communicate(timeout=5)
    assert "AT+CGMM" in err  # -v logs both directions


def test_personality_lookup():
    assert get_personality("sim7080").name == "sim7080"
