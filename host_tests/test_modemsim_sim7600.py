"""Tests of the SIM7600 / A7600 simulator personality (tools/modemsim/sim7600.py).

Raw AT commands over a FakeUART through tools/modemsim/rawat.py, not the cellmodem
library. Manual transcripts are replayed byte for byte: every example of the SIM7600
manual (L11xx) and every example of A7600 manual chapter 6, with the manual's remote
addresses and ports replaced by local servers on 127.0.0.1 (said at each place).
"""
import os
import random
import re
import select
import socket
import subprocess
import sys
import termios
import time
import tty

import pytest

from tools.modemsim import get_personality
from tools.modemsim.rawat import Timeout

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NASTY = b"\r\nOK\r\n\x1a\x1b\x03\r\nERROR\r\n+IPD5\r\nRECV FROM:1.2.3.4:5\r\n+CIPRXGET: 2,0,"


@pytest.fixture
def modem(modem_factory):
    """make(**kw) -> (sim, uart, at): SIM7600 after its banner, echo off."""
    def make(echo=False, **kw):
        sim, uart, at = modem_factory("sim7600", **kw)
        at.wait_line("PB DONE")
        if not echo:
            assert at.cmd("ATE0")[-1] == "OK"
        return sim, uart, at
    return make


@pytest.fixture
def server():
    """A TCP server on 127.0.0.1 the test drives by hand (accept, send, recv)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(3)
    yield srv
    srv.close()


@pytest.fixture
def udp_peer():
    """A UDP socket on 127.0.0.1 the test drives by hand."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(3)
    yield s
    s.close()


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def framed(lines):
    out = b""
    for ln in lines:
        if isinstance(ln, bytes):
            out += ln  # raw piece: prompt or payload exactly as sent
        else:
            out += b"\r\n" + ln.encode("latin-1") + b"\r\n"
    return out


def expect(at, want, what=""):
    exp = framed(want)
    got = at.read_exact(len(exp), timeout=3)
    assert got == exp, "%s:\n got %r\nwant %r" % (what, got, exp)


def replay(at, transcript):
    """Run a transcript and compare the modem's bytes with it exactly.

    Steps: (command, expected) | (command, expected, data, expected_after) |
    (callable, expected): a callable is an outside event (a server sends, a client
    connects) and `expected` what the modem prints for it. Expected items are lines
    (str, framed CR LF <line> CR LF) or raw bytes (prompt, payload). Nothing else may
    come out.
    """
    for step in transcript:
        if callable(step[0]):
            step[0]()
            expect(at, step[1], getattr(step[0], "__name__", "event"))
            continue
        cmd, want = step[0], step[1]
        at.write(cmd + "\r")
        expect(at, want, cmd)
        if len(step) > 2:
            at.write(step[2])
            expect(at, step[3], "%s data" % cmd)
    time.sleep(0.05)
    assert at.drain() == b""


PROMPT = b"\r\n>"


def push(data, src=None, head=None):
    """A direct-push block as the manual draws it:
    RECV FROM:<ip>:<port><CR><LF>+IPD<len><CR><LF><data> (no line end after the data).
    src: (ip, port) or None (AT+CIPSRIP=0); head: None for "+IPD<len>", "" for no
    header (AT+CIPHEAD=0), or the header line itself (e.g. "+RECEIVE,3,3")."""
    out = b"\r\n"
    if src:
        out += b"RECV FROM:%s:%d\r\n" % (src[0].encode(), src[1])
    if head is None:
        head = "+IPD%d" % len(data)
    if head:
        out += head.encode() + b"\r\n"
    elif not src:
        out = b""
    return out + data


def cipopen_list(entries):
    """AT+CIPOPEN? lines for links 0-9: entries {link: 'rest of the line'}."""
    return ["+CIPOPEN: %d%s" % (n, ("," + entries[n]) if n in entries else "")
            for n in range(10)] + ["OK"]


# ====================================================================== SIM7600 manual
def test_manual_l1101_l1102_netopen_netclose(modem):
    sim, uart, at = modem()
    replay(at, [
        ("AT+NETOPEN?", ["+NETOPEN: 0", "OK"]),
        # L1101 example
        ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
        ("AT+NETOPEN?", ["+NETOPEN: 1", "OK"]),
        ("AT+NETOPEN", ["+IP ERROR: Network is already opened", "ERROR"]),
        # L1102 example
        ("AT+NETCLOSE", ["OK", "+NETCLOSE: 0"]),
        # "If the PDP context has not been activated: +NETCLOSE: <err> ERROR"
        ("AT+NETCLOSE", ["+NETCLOSE: 2", "ERROR"]),
    ])


def test_manual_l1103_l1104_cipopen_cipclose(modem, server):
    sim, uart, at = modem()
    port = server.getsockname()[1]
    udp_local = free_udp_port()
    replay(at, [
        ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
        # L1103 example; 116.228.221.51:100 -> the local server, UDP 8080 -> a free port
        ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 0,0"]),
        ('AT+CIPOPEN=1,"UDP",,,%d' % udp_local, ["+CIPOPEN: 1,0", "OK"]),
        ("AT+CIPOPEN=?", ['+CIPOPEN: (0-9),("TCP","UDP")', "OK"]),
        # a UDP link without a remote lists as "+CIPOPEN: 1", as in the example
        ("AT+CIPOPEN?", cipopen_list({0: '"TCP","127.0.0.1",%d,-1' % port})),
        # L1104 example
        ("AT+CIPCLOSE?", ["+CIPCLOSE: 1,1,0,0,0,0,0,0,0,0", "OK"]),
        ("AT+CIPCLOSE=?", ["+CIPCLOSE: (0-9)", "OK"]),
        ("AT+CIPCLOSE=0", ["OK", "+CIPCLOSE: 0,0"]),
        # UDP: "+CIPCLOSE: <link_num>,0 OK"
        ("AT+CIPCLOSE=1", ["+CIPCLOSE: 1,0", "OK"]),
        # not established: "+CIPCLOSE: <link_num>,<err> ERROR"
        ("AT+CIPCLOSE=1", ["+CIPCLOSE: 1,4", "ERROR"]),
        ("AT+CIPCLOSE?", ["+CIPCLOSE: 0,0,0,0,0,0,0,0,0,0", "OK"]),
    ])


def test_manual_l1105_cipsend(modem, server, udp_peer):
    sim, uart, at = modem()
    port = server.getsockname()[1]
    uport = udp_peer.getsockname()[1]
    replay(at, [
        ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
        ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 0,0"]),
        ('AT+CIPOPEN=1,"UDP",,,%d' % free_udp_port(), ["+CIPOPEN: 1,0", "OK"]),
        ('AT+CIPOPEN=2,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 2,0"]),
        ('AT+CIPOPEN=3,"UDP",,,%d' % free_udp_port(), ["+CIPOPEN: 3,0", "OK"]),
    ])
    peer0, _ = server.accept()
    peer2, _ = server.accept()
    # L1105 example; 116.236.221.75:6775 -> a local UDP socket
    replay(at, [
        ("AT+CIPSEND=0,1", [PROMPT], b"S", ["OK", "+CIPSEND: 0,1,1"]),
        ('AT+CIPSEND=1,1,"127.0.0.1",%d' % uport, [PROMPT], b"S", ["OK", "+CIPSEND: 1,1,1"]),
        ("AT+CIPSEND=2,", [PROMPT], b"Hello\x1a", ["OK", "+CIPSEND: 2,5,5"]),
        ('AT+CIPSEND=3,,"127.0.0.1",%d' % uport, [PROMPT], b"Hello World\x1a",
         ["OK", "+CIPSEND: 3,11,11"]),
        ("AT+CIPSEND=2,", [PROMPT], b"Hello\x1b", ["ERROR"]),
        ("AT+CIPSEND?", ["+CIPSEND: (0-9),(1-1500)", "OK"]),
        ("AT+CIPSEND=?", ["+CIPSEND: (0-9),(1-1500)", "OK"]),
    ])
    assert peer0.recv(100) == b"S"
    assert peer2.recv(100) == b"Hello"
    assert udp_peer.recvfrom(100)[0] == b"S"
    assert udp_peer.recvfrom(100)[0] == b"Hello World"
    # L1105 NOTE: with an empty <length>, ETX escapes Ctrl-Z, ESC and ETX itself
    replay(at, [("AT+CIPSEND=2,", [PROMPT], b"a\x03\x1ab\x03\x1bc\x03\x03d\x1a",
                 ["OK", "+CIPSEND: 2,7,7"]),
                # fixed length: every byte is data, no escaping
                ("AT+CIPSEND=2,4", [PROMPT], b"\x03\x1a\x1b\x03", ["OK", "+CIPSEND: 2,4,4"])])
    got = b""
    while len(got) < 11:
        got += peer2.recv(100)
    assert got == b"a\x1ab\x1bc\x03d\x03\x1a\x1b\x03"
    # "If the connection has not been established ...: +CIPERROR: <err> ERROR"
    replay(at, [("AT+CIPSEND=5,3", ["+CIPERROR: 4", "ERROR"]),
                ("AT+CIPSEND=0,1501", ["+CIPERROR: 3", "ERROR"])])
    peer0.close()
    peer2.close()


def test_manual_l1106_ciprxget(modem, server):
    sim, uart, at = modem()
    replay(at, [
        # the syntax table's test response; the example prints "(0-4),(1-1500)"
        ("AT+CIPRXGET=?", ["+CIPRXGET: (0-4),(0-9),(1-1500)", "OK"]),
        ("AT+CIPRXGET=1", ["OK"]),
        ("AT+CIPRXGET?", ["+CIPRXGET: 1", "OK"]),
        ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
        ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % server.getsockname()[1],
         ["OK", "+CIPOPEN: 0,0"]),
    ])
    peer, _ = server.accept()
    digits = b"0123456789" * 140  # the example's buffer: 1400 bytes of 0-9

    def server_sends():
        peer.sendall(digits)
        time.sleep(0.1)  # all of it in the modem's buffer before the next read
    replay(at, [
        (server_sends, ["+CIPRXGET: 1,0"]),
        ("AT+CIPRXGET=2,0,100", ["+CIPRXGET: 2,0,100,1300", digits[:100] + b"\r\n", "OK"]),
        ("AT+CIPRXGET=3,0,100", ["+CIPRXGET: 3,0,100,1200",
                                 digits[100:200].hex().upper().encode() + b"\r\n", "OK"]),
        ("AT+CIPRXGET=4,0", ["+CIPRXGET: 4,0,1200", "OK"]),
        # defaults: 1500 for mode 2, 750 for mode 3
        ("AT+CIPRXGET=3,0", ["+CIPRXGET: 3,0,750,450",
                             digits[200:950].hex().upper().encode() + b"\r\n", "OK"]),
        ("AT+CIPRXGET=2,0", ["+CIPRXGET: 2,0,450,0", digits[950:] + b"\r\n", "OK"]),
        ("AT+CIPRXGET=2,0", ["+IP ERROR: No data", "ERROR"]),
        ("AT+CIPRXGET=2,0,1501", ["+IP ERROR: Invalid parameter", "ERROR"]),
        ("AT+CIPRXGET=2,10", ["+IP ERROR: Invalid parameter", "ERROR"]),
    ])
    peer.close()


def test_manual_l1107_to_l1113_settings(modem):
    sim, uart, at = modem()
    replay(at, [
        ("AT+IPADDR", ["+IP ERROR: Network not opened", "ERROR"]),
        ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
        # L1107 example (the address is this simulator's: 10.71.155.118 -> 10.148.0.17)
        ("AT+IPADDR", ["+IPADDR: 10.148.0.17", "OK"]),
        # L1108
        ("AT+CIPHEAD=?", ["+CIPHEAD: (0-1)", "OK"]),
        ("AT+CIPHEAD?", ["+CIPHEAD: 1", "OK"]),
        ("AT+CIPHEAD=0", ["OK"]),
        ("AT+CIPHEAD?", ["+CIPHEAD: 0", "OK"]),
        ("AT+CIPHEAD", ["OK"]),
        ("AT+CIPHEAD?", ["+CIPHEAD: 1", "OK"]),
        ("AT+CIPHEAD=2", ["ERROR"]),
        # L1109
        ("AT+CIPSRIP=?", ["+CIPSRIP: (0-1)", "OK"]),
        ("AT+CIPSRIP=1", ["OK"]),
        ("AT+CIPSRIP?", ["+CIPSRIP: 1", "OK"]),
        # L1110 (after AT+NETOPEN the mode cannot change)
        ("AT+CIPMODE=?", ["+CIPMODE: (0-1)", "OK"]),
        ("AT+CIPMODE?", ["+CIPMODE: 0", "OK"]),
        ("AT+CIPMODE=1", ["ERROR"]),
        # L1111
        ("AT+CIPSENDMODE=?", ["+CIPSENDMODE: (0-1)", "OK"]),
        ("AT+CIPSENDMODE=1", ["OK"]),
        ("AT+CIPSENDMODE?", ["+CIPSENDMODE: 1", "OK"]),
        # L1012 (sic) CIPTIMEOUT: the example's values set, then read back
        ("AT+CIPTIMEOUT?", ["+CIPTIMEOUT: 120000,120000,120000", "OK"]),
        ("AT+CIPTIMEOUT=30000,20000,40000", ["OK"]),
        ("AT+CIPTIMEOUT?", ["+CIPTIMEOUT: 30000,20000,40000", "OK"]),
        ("AT+CIPTIMEOUT=,,2999", ["ERROR"]),
        # L1113 (test response of the syntax table; see the comment in the personality)
        ("AT+CIPCCFG=?", ["+CIPCCFG: (0-10),(0-1000),(0),(0-1),(0-1),(0-1),(500-120000)",
                          "OK"]),
        ("AT+CIPCCFG?", ["+CIPCCFG: 10,0,0,1,0,0,500", "OK"]),
        ("AT+CIPCCFG=3,500,0,1,1,1,500", ["OK"]),
        ("AT+CIPCCFG?", ["+CIPCCFG: 3,500,0,1,1,1,500", "OK"]),
        ("AT+CIPCCFG=,,1", ["ERROR"]),  # <Ack> can only be 0
        ("AT+CIPCCFG", ["OK"]),
        ("AT+CIPCCFG?", ["+CIPCCFG: 10,0,0,1,0,0,500", "OK"]),
    ])
    # L1110 example: AT+CIPMODE=1 before AT+NETOPEN
    replay(at, [("AT+NETCLOSE", ["OK", "+NETCLOSE: 0"]),
                ("AT+CIPMODE=1", ["OK"]),
                ("AT+CIPMODE?", ["+CIPMODE: 1", "OK"]),
                ("AT+CIPMODE", ["OK"]),
                ("AT+CIPMODE?", ["+CIPMODE: 0", "OK"])])


def test_manual_l1114_to_l1116_server_and_cipack(modem):
    sim, uart, at = modem()
    replay(at, [
        ("AT+SERVERSTART?", ["+CIPERROR: 2", "ERROR"]),
        ("AT+SERVERSTART=0,1", ["+CIPERROR: 2", "ERROR"]),
        ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
        # L1114: syntax-table test response (the example's "+SERVERSTART: 0,1000" is
        # a misprint); port 8080 -> 0, a free port the OS picks
        ("AT+SERVERSTART=?", ["+SERVERSTART: (0-65535),(0-3)", "OK"]),
        ("AT+SERVERSTART=0,1", ["OK"]),
        ("AT+SERVERSTART=0,1", ["+CIPERROR: 7", "ERROR"]),
        ("AT+SERVERSTART=0,4", ["+CIPERROR: 3", "ERROR"]),
        ("AT+SERVERSTART=0,0", ["OK"]),
    ])
    p0, p1 = sim.servers[0].local_port, sim.servers[1].local_port
    replay(at, [("AT+SERVERSTART?", ["+SERVERSTART: 0,%d" % p0, "+SERVERSTART: 1,%d" % p1,
                                     "OK"])])
    client = socket.create_connection(("127.0.0.1", p1))
    cport = client.getsockname()[1]
    expect(at, ["+CLIENT: 0,1,127.0.0.1:%d" % cport])
    client.sendall(b"hello")  # 5 bytes received ...
    assert at.read_exact(len(b"\r\nRECV FROM:127.0.0.1:%d\r\n+IPD5\r\nhello" % cport)) == \
        b"\r\nRECV FROM:127.0.0.1:%d\r\n+IPD5\r\nhello" % cport
    replay(at, [
        ("AT+CIPSEND=0,16", [PROMPT], b"0123456789ABCDEF", ["OK", "+CIPSEND: 0,16,16"]),
        # L1116 example: +CIPACK: 16,16,5 (sent, acknowledged, received)
        ("AT+CIPACK=?", ["+CIPACK: (0-9)", "OK"]),
        ("AT+CIPACK=0", ["+CIPACK: 16,16,5", "OK"]),
        ("AT+CIPACK=3", ["+IP ERROR: Connection is not created", "ERROR"]),
        # L1115: refused while a client of that server is open (NOTE)
        ("AT+SERVERSTOP=1", ["+SERVERSTOP: 1,9", "ERROR"]),
        ("AT+SERVERSTOP=2", ["+SERVERSTOP: 2,4", "ERROR"]),
        # L1115 example
        ("AT+SERVERSTOP=0", ["+SERVERSTOP: 0,0", "OK"]),
        ("AT+CIPCLOSE=0", ["OK", "+CIPCLOSE: 0,0"]),
        ("AT+SERVERSTOP=1", ["+SERVERSTOP: 1,0", "OK"]),
        ("AT+SERVERSTART?", ["OK"]),
    ])
    assert client.recv(100) == b"0123456789ABCDEF"
    client.close()


def test_manual_l1131_to_l1135_dns_and_ping(modem):
    # the examples' names resolve through the hosts table to loopback addresses
    sim, uart, at = modem(hosts={"www.baidu.com": "127.0.0.1", "mail.sim.com": "127.0.0.2"},
                          opts={"ping_scale": 0.01})
    replay(at, [
        ("AT+CDNSGIP=?", ["OK"]),
        ('AT+CDNSGIP="www.baidu.com"', ["ERROR"]),  # network not open
        ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
        # L1131 example (61.135.169.21 -> 127.0.0.1)
        ('AT+CDNSGIP="www.baidu.com"', ['+CDNSGIP: 1,"www.baidu.com","127.0.0.1"', "OK"]),
        ('AT+CDNSGIP="nosuch.example"', ["+CDNSGIP: 0,10", "ERROR"]),
        # L1132 example (58.32.231.148 -> 127.0.0.2)
        ("AT+CDNSGHNAME=?", ["OK"]),
        ('AT+CDNSGHNAME="127.0.0.2"', ['+CDNSGHNAME: 1,"mail.sim.com","127.0.0.2"', "OK"]),
        ('AT+CDNSGHNAME="127.0.0.9"', ["+CDNSGHNAME: 0,10", "ERROR"]),
        # L1133: the defined defaults, then the example's values
        ("AT+CIPDNSSET?", ["+CIPDNSSET: 3,30000,7", "OK"]),
        ("AT+CIPDNSSET=1,30000,3", ["OK"]),
        ("AT+CIPDNSSET?", ["+CIPDNSSET: 1,30000,3", "OK"]),
        ("AT+CPING=?", ["+CPING: IP address,(1-2),(1-100),(4-188),(1000-10000),"
                        "(10000-100000),(16-255)", "OK"]),
        # L1135 example: nothing running
        ("AT+CPINGSTOP", ["OK"]),
    ])
    # L1134 example: OK, four replies, then the summary (RTTs are simulated)
    assert at.cmd('AT+CPING="www.baidu.com",1,4,64,1000,10000,255') == ["OK"]
    rtts = []
    for _ in range(4):
        m = re.match(r"^\+CPING: 1,127\.0\.0\.1,64,(\d+),255$", at.read_line())
        assert m
        rtts.append(int(m.group(1)))
    assert at.read_line() == "+CPING: 3,4,4,0,%d,%d,%d" % (min(rtts), max(rtts),
                                                           sum(rtts) // 4)
    # no reply from a non-loopback address: time-outs, then the summary
    sim.hosts["far.example"] = "192.0.2.1"
    assert at.cmd('AT+CPING="far.example",1,2,32,1000,10000') == ["OK"]
    assert [at.read_line() for _ in range(3)] == ["+CPING: 2", "+CPING: 2",
                                                  "+CPING: 3,2,0,2,0,0,0"]
    # AT+CPINGSTOP ends a running ping with its summary
    assert at.cmd('AT+CPING="127.0.0.1",1,100,64,10000') == ["OK"]
    line = at.read_line()
    assert line.startswith("+CPING: 1,127.0.0.1,64,")
    assert at.cmd("AT+CPINGSTOP")[-2:] == ["+CPING: 3,1,1,0,%s,%s,%s" % ((line.split(",")[3],) * 3),
                                           "OK"]
    time.sleep(0.05)
    assert at.drain() == b""


# ====================================================================== A7600 chapter 6
def test_a7600_6_1_context(modem):
    sim, uart, at = modem()
    replay(at, [
        # 6.1.1 (the PLMN in +CPSI is this simulator's: 460-00 -> 001-01)
        ("AT+CSQ", ["+CSQ: 25,99", "OK"]),
        ("AT+CREG?", ["+CREG: 0,1", "OK"]),
        ("AT+CPSI?", ["+CPSI: LTE,Online,001-01,0x1816,27593483,139,EUTRAN-BAND39,38400,"
                      "5,5,-88,-868,-578,18", "OK"]),
        ("AT+CGREG?", ["+CGREG: 0,1", "OK"]),
        # 6.1.2
        ('AT+CGDCONT=1,"IP","CMNET"', ["OK"]),
        # 6.1.3
        ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
        ("AT+IPADDR", ["+IPADDR: 10.148.0.17", "OK"]),
        # 6.1.4
        ("AT+NETCLOSE", ["OK", "+NETCLOSE: 0"]),
    ])


def test_a7600_6_2_1_tcp_direct_push(modem, server):
    sim, uart, at = modem()
    port = server.getsockname()[1]  # 117.131.85.139:5253 -> the local server
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ('AT+CIPOPEN=1,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 1,0"])])
    peer, _ = server.accept()
    replay(at, [
        ("AT+CIPSEND=1,5", [PROMPT], b"HELLO", ["OK", "+CIPSEND: 1,5,5"]),
        ("AT+CIPSEND=1", [PROMPT], b"HELLOWORLD\x1a", ["OK", "+CIPSEND: 1,10,10"]),
        # 6.2.1.3: the data follows the +IPD line, with no line end of its own
        (lambda: peer.sendall(b"data from server"),
         [push(b"data from server", ("127.0.0.1", port))]),
        ("AT+CIPCLOSE=1", ["OK", "+CIPCLOSE: 1,0"]),
    ])
    got = b""
    while len(got) < 15:
        got += peer.recv(100)
    assert got == b"HELLOHELLOWORLD"
    peer.close()


def test_a7600_6_2_2_tcp_buffer_mode(modem, server):
    sim, uart, at = modem()
    port = server.getsockname()[1]
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ("AT+CIPRXGET=1", ["OK"]),
                ('AT+CIPOPEN=1,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 1,0"])])
    peer, _ = server.accept()
    replay(at, [
        ("AT+CIPSEND=1,5", [PROMPT], b"hello", ["OK", "+CIPSEND: 1,5,5"]),
        (lambda: peer.sendall(b"data from server"), ["+CIPRXGET: 1,1"]),
        ("AT+CIPRXGET=4,1", ["+CIPRXGET: 4,1,16", "OK"]),
        ("AT+CIPRXGET=2,1,5", ["+CIPRXGET: 2,1,5,11", b"data \r\n", "OK"]),
        ("AT+CIPRXGET=3,1,5", ["+CIPRXGET: 3,1,5,6", b"66726F6D20\r\n", "OK"]),
        ("AT+CIPRXGET=4,1", ["+CIPRXGET: 4,1,6", "OK"]),
        ("AT+CIPRXGET=2,2", ["+IP ERROR: No data", "ERROR"]),
        ("AT+CIPRXGET=2,1", ["+CIPRXGET: 2,1,6,0", b"server\r\n", "OK"]),
        ("AT+CIPRXGET=4,1", ["+CIPRXGET: 4,1,0", "OK"]),
        ("AT+CIPCLOSE=1", ["OK", "+CIPCLOSE: 1,0"]),
    ])
    assert peer.recv(100) == b"hello"
    peer.close()


def test_a7600_6_2_3_tcp_transparent(modem, server):
    sim, uart, at = modem(opts={"guard_ms": 50})
    port = server.getsockname()[1]
    replay(at, [("AT+CIPMODE=1", ["OK"]),
                ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                # the manual's "AT+CIPOEPN" is a misprint
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port, ["CONNECT 115200"])])
    peer, _ = server.accept()
    at.write(b"all data from the com port")
    assert peer.recv(100) == b"all data from the com port"

    def escape():
        time.sleep(0.08)
        at.write(b"+++")
    replay(at, [
        (lambda: peer.sendall(b"DATA FROM SERVER"), [b"DATA FROM SERVER"]),
        (lambda: peer.sendall(b"DATA FROM SERVER"), [b"DATA FROM SERVER"]),
        (escape, ["OK"]),
        ("AT+CIPOPEN?", cipopen_list({0: '"TCP","127.0.0.1",%d,-1' % port})),
        ("ATO", ["CONNECT 115200"]),
        (lambda: peer.sendall(b"HELLO CLIENT"), [b"HELLO CLIENT"]),
        (escape, ["OK"]),
        # 6.2.3.4
        ("AT+CIPCLOSE=0", ["OK", "CLOSED", "+CIPCLOSE: 0,0"]),
    ])
    peer.close()


def test_a7600_6_3_1_udp_direct_push(modem, udp_peer):
    sim, uart, at = modem()
    uport = udp_peer.getsockname()[1]  # 117.131.85.139:5254 -> a local UDP socket
    local = free_udp_port()  # local port 5000 -> a free one
    replay(at, [
        ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
        ('AT+CIPOPEN=1,"UDP",,,%d' % local, ["+CIPOPEN: 1,0", "OK"]),
        ('AT+CIPSEND=1,,"127.0.0.1",%d' % uport, [PROMPT], b"HELLOSERVER\x1a",
         ["OK", "+CIPSEND: 1,11,11"]),
        ('AT+CIPSEND=1,5,"127.0.0.1",%d' % uport, [PROMPT], b"HELLO", ["OK", "+CIPSEND: 1,5,5"]),
    ])
    data, addr = udp_peer.recvfrom(100)
    assert (data, addr) == (b"HELLOSERVER", ("127.0.0.1", local))
    assert udp_peer.recvfrom(100)[0] == b"HELLO"
    replay(at, [
        # 6.3.1.3: +IPD14 is "HELLO CLIENT" with its CR LF
        (lambda: udp_peer.sendto(b"HELLO CLIENT\r\n", addr),
         [push(b"HELLO CLIENT\r\n", ("127.0.0.1", uport))]),
        ("AT+CIPCLOSE=1", ["+CIPCLOSE: 1,0", "OK"]),
    ])


def test_a7600_6_3_2_udp_buffer_mode(modem, udp_peer):
    # 6.3.2.4 prints OK before +CIPCLOSE for UDP (6.3.1.4 and the syntax the other way)
    sim, uart, at = modem(opts={"udp_close_form": "ok_first"})
    uport = udp_peer.getsockname()[1]
    local = free_udp_port()
    replay(at, [
        ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
        ("AT+CIPRXGET=1", ["OK"]),
        ('AT+CIPOPEN=1,"UDP",,,%d' % local, ["+CIPOPEN: 1,0", "OK"]),
        ('AT+CIPSEND=1,,"127.0.0.1",%d' % uport, [PROMPT], b"HELLOSERVER\x1a",
         ["OK", "+CIPSEND: 1,11,11"]),
        ('AT+CIPSEND=1,5,"127.0.0.1",%d' % uport, [PROMPT], b"HELLO", ["OK", "+CIPSEND: 1,5,5"]),
    ])
    _, addr = udp_peer.recvfrom(100)
    replay(at, [
        (lambda: udp_peer.sendto(b"data from server", addr), ["+CIPRXGET: 1,1"]),
        ("AT+CIPRXGET=4,1", ["+CIPRXGET: 4,1,16", "OK"]),
        ("AT+CIPRXGET=2,1,5", ["+CIPRXGET: 2,1,5,11", b"data \r\n", "OK"]),
        ("AT+CIPRXGET=3,1,5", ["+CIPRXGET: 3,1,5,6", b"66726F6D20\r\n", "OK"]),
        ("AT+CIPRXGET=4,1", ["+CIPRXGET: 4,1,6", "OK"]),
        ("AT+CIPRXGET=2,2", ["+IP ERROR: No data", "ERROR"]),
        ("AT+CIPRXGET=2,1", ["+CIPRXGET: 2,1,6,0", b"server\r\n", "OK"]),
        ("AT+CIPRXGET=4,1", ["+CIPRXGET: 4,1,0", "OK"]),
        ("AT+CIPCLOSE=1", ["OK", "+CIPCLOSE: 1,0"]),
    ])


def test_a7600_6_3_3_udp_transparent(modem, udp_peer):
    sim, uart, at = modem(opts={"guard_ms": 50})
    uport = udp_peer.getsockname()[1]
    local = free_udp_port()
    replay(at, [("AT+CIPMODE=1", ["OK"]),
                ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ('AT+CIPOPEN=0,"UDP","127.0.0.1",%d,%d' % (uport, local), ["CONNECT 115200"])])
    at.write(b"from the com port")
    data, addr = udp_peer.recvfrom(100)
    assert (data, addr) == (b"from the com port", ("127.0.0.1", local))

    def escape():
        time.sleep(0.08)
        at.write(b"+++")
    replay(at, [
        (lambda: udp_peer.sendto(b"HELLO CLIENT\r\n", addr), [b"HELLO CLIENT\r\n"]),
        (lambda: udp_peer.sendto(b"HELLO CLIENT\r\n", addr), [b"HELLO CLIENT\r\n"]),
        (escape, ["OK"]),
        ("AT+CIPOPEN?", cipopen_list({0: '"UDP","127.0.0.1",%d,-1' % uport})),
        # 6.3.3.4
        ("AT+CIPCLOSE=0", ["CLOSED", "+CIPCLOSE: 0,0", "OK"]),
    ])


def test_a7600_6_4_1_tcp_server_transparent(modem):
    sim, uart, at = modem(opts={"guard_ms": 50})
    replay(at, [("AT+CIPMODE=1", ["OK"]),
                ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ("AT+SERVERSTART=0,0", ["OK"])])  # port 8080 -> a free port
    client = socket.create_connection(("127.0.0.1", sim.servers[0].local_port))
    cport = client.getsockname()[1]
    expect(at, ["+CLIENT: 0,0,127.0.0.1:%d" % cport, "CONNECT 115200"])
    client.sendall(b"to the host")
    expect(at, [b"to the host"])
    at.write(b"to the client")
    assert client.recv(100) == b"to the client"

    def escape():
        time.sleep(0.08)
        at.write(b"+++")
    replay(at, [(escape, ["OK"]),
                ("AT+CIPCLOSE=0", ["OK", "CLOSED", "+CIPCLOSE: 0,0"]),
                ("AT+SERVERSTOP=0", ["+SERVERSTOP: 0,0", "OK"])])
    client.close()


def test_a7600_6_4_2_tcp_server_non_transparent(modem):
    # 6.4.2 stops server 1 while its client (link 0) is still open, against the note of
    # AT+SERVERSTOP: that is the serverstop_check=False option
    sim, uart, at = modem(opts={"serverstop_check": False})
    # (the example's "+NETOPEN: 0,0" is read as "+NETOPEN: 0", the syntax form)
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"])] +
           # ports 8080, 9090, 7070, 6060 -> free ports
           [("AT+SERVERSTART=0,%d" % i, ["OK"]) for i in range(4)])
    client = socket.create_connection(("127.0.0.1", sim.servers[1].local_port))
    cport = client.getsockname()[1]
    replay(at, [
        (lambda: None, ["+CLIENT: 0,1,127.0.0.1:%d" % cport]),
        ("AT+CIPOPEN?", cipopen_list({0: '"TCP","127.0.0.1",%d,1' % cport})),
        ("AT+CIPSEND=0,5", [PROMPT], b"HELLO", ["OK", "+CIPSEND: 0,5,5"]),
        ("AT+SERVERSTOP", ["+SERVERSTOP: 0,0", "OK"]),  # unspecified: server 0
        ("AT+SERVERSTOP=1", ["+SERVERSTOP: 1,0", "OK"]),
        ("AT+SERVERSTOP=2", ["+SERVERSTOP: 2,0", "OK"]),
        ("AT+SERVERSTOP=3", ["+SERVERSTOP: 3,0", "OK"]),
        ("AT+NETCLOSE", ["OK", "+NETCLOSE: 0"]),
    ])
    assert client.recv(100) == b"HELLO"
    client.close()


def test_a7600_6_6_query_status(modem, server):
    sim, uart, at = modem()
    port = server.getsockname()[1]
    replay(at, [
        ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
        ('AT+CIPOPEN=1,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 1,0"]),
        ("AT+CIPOPEN?", cipopen_list({1: '"TCP","127.0.0.1",%d,-1' % port})),
        ("AT+CIPCLOSE?", ["+CIPCLOSE: 0,1,0,0,0,0,0,0,0,0", "OK"]),
        ("AT+CIPCLOSE=1", ["OK", "+CIPCLOSE: 1,0"]),
        ("AT+CIPCLOSE?", ["+CIPCLOSE: 0,0,0,0,0,0,0,0,0,0", "OK"]),
    ])


# ====================================================================== error forms
def test_error_forms(modem, server):
    sim, uart, at = modem()
    port = server.getsockname()[1]
    replay(at, [
        ("AT+CMEE=2", ["OK"]),  # the IP commands still answer plain ERROR
        ('AT+CIPOPEN=1,"TCP","127.0.0.1",%d' % port, ["+CIPOPEN: 1,2", "ERROR"]),
        ("AT+CIPSEND=1,5", ["+CIPERROR: 2", "ERROR"]),
        ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
        ('AT+CIPOPEN=10,"TCP","127.0.0.1",%d' % port, ["+IP ERROR: Invalid parameter",
                                                        "ERROR"]),
        ('AT+CIPOPEN=1,"SCTP","127.0.0.1",%d' % port, ["+CIPOPEN: 1,3", "ERROR"]),
        ('AT+CIPOPEN=1,"TCP","127.0.0.1",0', ["+CIPOPEN: 1,3", "ERROR"]),
        ('AT+CIPOPEN=1,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 1,0"]),
        ('AT+CIPOPEN=1,"TCP","127.0.0.1",%d' % port, ["+CIPOPEN: 1,4", "ERROR"]),
        # failures after OK: refused (1 network failure), unknown name (11 DNS)
        ('AT+CIPOPEN=2,"TCP","127.0.0.1",1', ["OK", "+CIPOPEN: 2,1"]),
        ('AT+CIPOPEN=2,"TCP","nosuch.example",80', ["OK", "+CIPOPEN: 2,11"]),
        ("AT+CIPSEND=2,5", ["+CIPERROR: 4", "ERROR"]),
        ("AT+CIPSEND=11,5", ["+CIPERROR: 3", "ERROR"]),
        ("AT+CIPSEND", ["ERROR"]),
        ("AT+CIPRXGET=2,1", ["ERROR"]),  # buffer mode is off
        ("AT+CIPCLOSE=2", ["+CIPCLOSE: 2,4", "ERROR"]),
        ("AT+CIPACK=1", ["+CIPACK: 0,0,0", "OK"]),
        ("AT+CIPCLOSE=1", ["OK", "+CIPCLOSE: 1,0"]),
        # <errMode>=0: numeric <err_info>
        ("AT+CIPCCFG=,,,0", ["OK"]),
        ("AT+NETOPEN", ["+IP ERROR: 4", "ERROR"]),
        ("AT+CIPCCFG=,,,1", ["OK"]),
        ("AT+NETOPEN", ["+IP ERROR: Network is already opened", "ERROR"]),
        ("AT+CPIN?", ["+CPIN: READY", "OK"]),
        ("AT+NOSUCH", ["ERROR"]),
    ])
    server.accept()[0].close()


def test_banner_identity_and_locked_sim(modem_factory):
    sim, uart, at = modem_factory("sim7600")
    expect(at, ["RDY", "+CPIN: READY", "SMS DONE", "PB DONE"], "banner")
    assert at.cmd("AT+CGMR") == ["+CGMR: LE20B04SIM7600M22", "OK"]
    assert at.cmd("AT+CGMM") == ["SIMCOM_SIM7600E-H", "OK"]
    assert at.cmd("AT+CICCID") == ["+ICCID: 89882390000012345678", "OK"]
    sim2, uart2, at2 = modem_factory("sim7600", sim="locked", reg_delay_ms=50)
    expect(at2, ["RDY", "+CPIN: SIM PIN"], "locked banner")
    at2.ok("ATE0")
    at2.ok("AT+CEREG=1")
    # not registered: AT+NETOPEN says OK, then the failure in the URC
    assert at2.cmd("AT+NETOPEN") == ["OK"]
    assert at2.read_line() == "+NETOPEN: 1"
    assert at2.cmd('AT+CPIN="1234"') == ["OK"]
    assert [at2.read_line() for _ in range(5)] == ["+CPIN: READY", "SMS DONE", "PB DONE",
                                                   "+CEREG: 2", "+CEREG: 1"]
    assert at2.cmd("AT+NETOPEN") == ["OK"]
    assert at2.read_line() == "+NETOPEN: 0"


# ====================================================================== receive paths
def test_direct_push_header_options(modem, server):
    sim, uart, at = modem()
    port = server.getsockname()[1]
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ('AT+CIPOPEN=3,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 3,0"])])
    peer, _ = server.accept()
    src = ("127.0.0.1", port)
    replay(at, [
        ("AT+CIPSRIP=0", ["OK"]),
        (lambda: peer.sendall(b"abc"), [push(b"abc")]),
        ("AT+CIPHEAD=0", ["OK"]),
        (lambda: peer.sendall(b"def"), [b"def"]),  # no header at all: bare data
        ("AT+CIPSRIP=1", ["OK"]),
        (lambda: peer.sendall(b"ghi"), [push(b"ghi", src, "")]),
        ("AT+CIPHEAD=1", ["OK"]),
        # AT+CIPCCFG <HeaderType>=1: "+RECEIVE,<link num>,<data length>"
        ("AT+CIPCCFG=,,,,1", ["OK"]),
        (lambda: peer.sendall(b"jkl"), [push(b"jkl", src, "+RECEIVE,3,3")]),
    ])
    peer.close()


def test_recv_from_plus_option(modem, server):
    sim, uart, at = modem(opts={"recv_from_plus": True})
    port = server.getsockname()[1]
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 0,0"])])
    peer, _ = server.accept()
    replay(at, [(lambda: peer.sendall(b"x"),
                 [b"\r\n+RECV FROM:127.0.0.1:%d\r\n+IPD1\r\nx" % port])])
    peer.close()


def test_srip_default_option(modem, server):
    sim, uart, at = modem(opts={"srip_default": 0})
    port = server.getsockname()[1]
    replay(at, [("AT+CIPSRIP?", ["+CIPSRIP: 0", "OK"]),
                ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 0,0"])])
    peer, _ = server.accept()
    replay(at, [(lambda: peer.sendall(b"xy"), [push(b"xy")]),
                ("AT+CIPSRIP", ["OK"]),  # execute: the default value 1
                (lambda: peer.sendall(b"z"), [push(b"z", ("127.0.0.1", port))])])
    peer.close()


def test_large_push_split_at_1500_and_buffer_switch(modem, server):
    sim, uart, at = modem()
    port = server.getsockname()[1]
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ("AT+CIPRXGET=1", ["OK"]),
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 0,0"])])
    peer, _ = server.accept()
    blob = bytes(random.Random(3).getrandbits(8) for _ in range(3200))

    def send_blob():
        peer.sendall(blob)
        time.sleep(0.1)
    src = ("127.0.0.1", port)
    # switching buffer mode off outputs what is buffered, at most 1500 bytes at a time
    replay(at, [(send_blob, ["+CIPRXGET: 1,0"]),
                ("AT+CIPRXGET=0", ["OK", push(blob[:1500], src), push(blob[1500:3000], src),
                                   push(blob[3000:], src)])])
    peer.close()


def test_rxget_notifies_once_until_drained(modem, server):
    sim, uart, at = modem()
    port = server.getsockname()[1]
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ("AT+CIPRXGET=1", ["OK"]),
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 0,0"])])
    peer, _ = server.accept()

    def send(data):
        def event():
            peer.sendall(data)
            time.sleep(0.05)
        return event
    replay(at, [
        (send(b"1111"), ["+CIPRXGET: 1,0"]),
        (send(b"2222"), []),  # buffer not empty: no new URC
        ("AT+CIPRXGET=2,0,6", ["+CIPRXGET: 2,0,6,2", b"111122\r\n", "OK"]),
        (send(b"3333"), []),  # still not drained
        ("AT+CIPRXGET=2,0", ["+CIPRXGET: 2,0,6,0", b"223333\r\n", "OK"]),
        (send(b"4444"), ["+CIPRXGET: 1,0"]),  # drained: notified again
    ])
    peer.close()


def test_fault_overflow(modem, server):
    sim, uart, at = modem(faults=["overflow=1000"])
    port = server.getsockname()[1]
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ("AT+CIPRXGET=1", ["OK"]),
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 0,0"])])
    peer, _ = server.accept()

    def flood():
        peer.sendall(bytes(3000))
        time.sleep(0.2)
    replay(at, [(flood, ["+CIPRXGET: 1,0"]),  # once, however much is lost
                ("AT+CIPRXGET=4,0", ["+CIPRXGET: 4,0,1000", "OK"])])
    assert sim.links[0].conn.lost == 2000
    peer.close()


# ====================================================================== close and drop
def test_peer_close_keeps_unread_data(modem, server):
    sim, uart, at = modem()
    port = server.getsockname()[1]
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ("AT+CIPRXGET=1", ["OK"]),
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 0,0"])])
    peer, _ = server.accept()

    def bye():
        peer.sendall(b"last words")
        time.sleep(0.05)
        peer.close()
        time.sleep(0.05)
    replay(at, [
        # A7600 ch.5: +IPCLOSE: <link>,1 (closed by remote)
        (bye, ["+CIPRXGET: 1,0", "+IPCLOSE: 0,1"]),
        ("AT+CIPCLOSE?", ["+CIPCLOSE: 0,0,0,0,0,0,0,0,0,0", "OK"]),
        ("AT+CIPSEND=0,1", ["+CIPERROR: 4", "ERROR"]),
        ("AT+CIPRXGET=2,0", ["+CIPRXGET: 2,0,10,0", b"last words\r\n", "OK"]),
        ("AT+CIPRXGET=2,0", ["+IP ERROR: No data", "ERROR"]),
        ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 0,0"]),
    ])
    server.accept()[0].close()
    expect(at, ["+IPCLOSE: 0,1"])
    # direct push: the data comes out first, then the close
    replay(at, [("AT+CIPRXGET=0", ["OK"]),
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 0,0"])])
    peer, _ = server.accept()
    replay(at, [(bye, [push(b"last words", ("127.0.0.1", port)), "+IPCLOSE: 0,1"])])


def test_quirk_close_discards(modem, server):
    sim, uart, at = modem(opts={"close_discards": True})
    port = server.getsockname()[1]
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ("AT+CIPRXGET=1", ["OK"]),
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 0,0"])])
    peer, _ = server.accept()

    def bye():
        with sim.lock:  # hold the modem still: data and close arrive together
            peer.sendall(b"bye")
            peer.close()
            time.sleep(0.1)
        time.sleep(0.05)
    replay(at, [(bye, ["+CIPRXGET: 1,0", "+IPCLOSE: 0,1"]),
                ("AT+CIPRXGET=4,0", ["+CIPRXGET: 4,0,0", "OK"]),
                ("AT+CIPRXGET=2,0", ["+IP ERROR: No data", "ERROR"])])


def test_fault_peer_close(modem, tcp_echo):
    sim, uart, at = modem(faults=["peer-close=100"])
    assert at.cmd("AT+NETOPEN") == ["OK"]
    assert at.read_line() == "+NETOPEN: 0"
    assert at.cmd('AT+CIPOPEN=4,"TCP","127.0.0.1",%d' % tcp_echo[1]) == ["OK"]
    assert at.read_line() == "+CIPOPEN: 4,0"
    assert at.read_line(timeout=2) == "+IPCLOSE: 4,1"
    replay(at, [("AT+CIPSEND=4,3", ["+CIPERROR: 4", "ERROR"])])


def test_fault_network_drop(modem, tcp_echo):
    sim, uart, at = modem(faults=["drop=300"])
    port = tcp_echo[1]
    assert at.cmd("AT+NETOPEN") == ["OK"]
    assert at.read_line() == "+NETOPEN: 0"
    assert at.cmd('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port) == ["OK"]
    assert at.read_line() == "+CIPOPEN: 0,0"
    assert at.read_line(timeout=2) == "+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY"
    replay(at, [
        ("AT+NETOPEN?", ["+NETOPEN: 0", "OK"]),
        ("AT+CIPSEND=0,3", ["+CIPERROR: 2", "ERROR"]),
        ("AT+CIPCLOSE?", ["+CIPCLOSE: 0,0,0,0,0,0,0,0,0,0", "OK"]),
        # "the network closed abnormally": AT+NETOPEN works again
        ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
        ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 0,0"]),
    ])
    # the fault is armed again by the new activation
    assert at.read_line(timeout=2) == "+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY"


def test_network_drop_keeps_netopen_and_ipclose(modem, tcp_echo):
    sim, uart, at = modem(opts={"drop_keeps_netopen": True, "drop_ipclose": True})
    port = tcp_echo[1]
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 0,0"]),
                ('AT+CIPOPEN=5,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 5,0"]),
                (sim.network_drop, ["+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY",
                                    "+IPCLOSE: 0,1", "+IPCLOSE: 5,1"]),
                # A7600 ch.5: the library still counts as opened; AT+NETCLOSE first
                ("AT+NETOPEN?", ["+NETOPEN: 1", "OK"]),
                ("AT+IPADDR", ["+IP ERROR: Network not opened", "ERROR"]),
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port, ["+CIPOPEN: 0,1", "ERROR"]),
                ("AT+NETOPEN", ["+IP ERROR: Network is already opened", "ERROR"]),
                ("AT+NETCLOSE", ["OK", "+NETCLOSE: 0"]),
                ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % port, ["OK", "+CIPOPEN: 0,0"])])


def test_cfun0_drops_the_network(modem):
    sim, uart, at = modem()
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ("AT+CFUN=0", ["OK", "+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY"]),
                ("AT+CFUN=1", ["OK"]),
                ("AT+NETOPEN", ["OK", "+NETOPEN: 0"])])


def test_netclose_closes_links_and_servers(modem, server):
    sim, uart, at = modem()
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % server.getsockname()[1],
                 ["OK", "+CIPOPEN: 0,0"]),
                ("AT+SERVERSTART=0,2", ["OK"]),
                ("AT+NETCLOSE", ["OK", "+NETCLOSE: 0"]),
                ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ("AT+CIPCLOSE?", ["+CIPCLOSE: 0,0,0,0,0,0,0,0,0,0", "OK"]),
                ("AT+SERVERSTART?", ["OK"])])
    peer, _ = server.accept()
    peer.settimeout(2)
    assert peer.recv(10) == b""  # the modem's side went away


# ====================================================================== timing quirks
def test_quirk_late_open_result_inside_next_reply(modem, server):
    sim, uart, at = modem(opts={"open_result_in_reply": True, "connect_ms": 50})
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % server.getsockname()[1], ["OK"])])
    time.sleep(0.1)
    assert at.drain() == b""  # held back ...
    lines = at.cmd("AT+CSQ")
    assert "+CIPOPEN: 0,0" in lines and lines[-1] == "OK"  # ... released in this reply


def test_quirk_connect_delay_holds_early_data(modem, server):
    sim, uart, at = modem(opts={"connect_ms": 150})
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % server.getsockname()[1], ["OK"])])
    peer, _ = server.accept()
    peer.sendall(b"early")
    # the data waits for the result URC
    expect(at, ["+CIPOPEN: 0,0", push(b"early", server.getsockname())])
    peer.close()


def test_fault_urc_noise_and_held_urcs(modem, tcp_echo):
    sim, uart, at = modem(faults=["urc=0.5", "hold=1.0"], seed=3)
    at.cmd("AT+NETOPEN")
    seen = []
    for _ in range(10):
        lines = at.cmd("AT+CIPCLOSE?")
        assert lines[-1] == "OK"
        seen += lines
    assert "+NETOPEN: 0" in seen + at.seen  # held, released inside a later reply
    assert set(seen) & set(sim.noise_urcs)


def test_fault_reboot_loses_everything(modem, tcp_echo):
    sim, uart, at = modem(faults=["reboot=4"])
    at.cmd("AT+NETOPEN")  # 2
    at.cmd('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % tcp_echo[1])  # 3
    at.write("AT+CIPCLOSE?\r")  # 4: reboots part way through the reply
    at.wait_line("RDY")
    at.wait_line("PB DONE")
    assert at.cmd("AT+NETOPEN?") == ["+NETOPEN: 0", "OK"]
    assert at.cmd("AT+CIPRXGET?") == ["+CIPRXGET: 0", "OK"]


# ====================================================================== 64 KiB round trips
def payload(n, seed):
    """n random bytes holding every byte value, CR LF, OK, Ctrl-Z, ESC, ETX and lines
    that look like the modem's own headers."""
    rnd = random.Random(seed)
    data = bytearray(rnd.getrandbits(8) for _ in range(n - 256 - len(NASTY) * 4))
    data += bytes(range(256))
    for _ in range(4):
        i = rnd.randrange(len(data))
        data[i:i] = NASTY
    assert len(data) == n
    return bytes(data)


def etx_escape(chunk):
    out = bytearray()
    for b in chunk:
        if b in (0x03, 0x1A, 0x1B):
            out.append(0x03)
        out.append(b)
    return bytes(out) + b"\x1a"


class Stream:
    """Reads the modem's output as events: lines, the prompt, pushed data blocks."""

    def __init__(self, at):
        self.at = at
        self.pushed = bytearray()
        self.sources = set()

    def event(self, timeout=5):
        at = self.at
        dl = time.monotonic() + timeout
        while True:
            b = at.buf
            i = 0
            while i < len(b) and b[i] in (10, 13):
                i += 1
            del b[:i]
            if b[:1] == b">":
                del b[:1]
                return ">"
            j = b.find(b"\r\n")
            if j >= 0:
                line = bytes(b[:j]).decode("latin-1")
                del b[:j + 2]
                if line.startswith("RECV FROM:"):
                    self.sources.add(line)
                    continue
                if line.startswith("+IPD"):
                    self.pushed += at.read_exact(int(line[4:]))
                    continue
                return line
            at._fill(dl)

    def until(self, want):
        while True:
            ev = self.event()
            if ev == want or (want.endswith(",") and ev.startswith(want)):
                return ev
            assert ev not in ("ERROR",) and not ev.startswith("+CIPERROR"), ev


def cipsend(st, link, chunk, variable, dest=""):
    at = st.at
    if variable:
        at.write("AT+CIPSEND=%d,%s\r" % (link, dest))
        st.until(">")
        at.write(etx_escape(chunk))
    else:
        at.write("AT+CIPSEND=%d,%d%s\r" % (link, len(chunk), dest))
        st.until(">")
        at.write(chunk)
    st.until("OK")
    assert st.until("+CIPSEND: %d," % link) == "+CIPSEND: %d,%d,%d" % (link, len(chunk),
                                                                       len(chunk))


def ciprxget(st, link, mode=2):
    """Read what the link holds with AT+CIPRXGET=2 (or 3, hex); b"" when empty."""
    at = st.at
    at.write("AT+CIPRXGET=%d,%d\r" % (mode, link))
    while True:
        ev = st.event()
        if ev == "+IP ERROR: No data":
            st.until("ERROR")
            return b""
        if ev.startswith("+CIPRXGET: %d,%d," % (mode, link)):
            n = int(ev.split(",")[2])
            raw = at.read_exact(n if mode == 2 else 2 * n)
            assert at.read_exact(2) == b"\r\n"
            st.until("OK")
            return raw if mode == 2 else bytes.fromhex(raw.decode())


def roundtrip(st, link, data, buffered, dest="", chunk=1500, window=8):
    """Send data in chunks (fixed length and ETX-escaped Ctrl-Z form in turn) and
    collect the echo: with AT+CIPRXGET (ASCII, every 7th read hex) or as pushed."""
    got = bytearray()
    sent = 0
    k = 0
    end = time.monotonic() + 60
    while len(got) < len(data):
        assert time.monotonic() < end, "stuck at %d/%d" % (len(got), len(data))
        if sent < len(data) and sent - len(got) < window * chunk:
            piece = data[sent:sent + chunk]
            cipsend(st, link, piece, variable=k % 2 == 1, dest=dest)
            sent += len(piece)
            k += 1
        elif not buffered:
            try:
                st.event(timeout=0.2)  # pushed blocks are taken on the way
            except Timeout:
                pass
        if buffered:
            got += ciprxget(st, link, mode=3 if k % 7 == 0 else 2)
        else:
            got += st.pushed
            st.pushed.clear()
    return bytes(got)


@pytest.mark.parametrize("buffered", [True, False], ids=["buffer", "push"])
def test_tcp_echo_64k(modem, tcp_echo, buffered):
    sim, uart, at = modem()
    at.ok("AT+CIPRXGET=%d" % (1 if buffered else 0))
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ('AT+CIPOPEN=2,"TCP","127.0.0.1",%d' % tcp_echo[1], ["OK", "+CIPOPEN: 2,0"])])
    data = payload(65536, 1)
    st = Stream(at)
    assert roundtrip(st, 2, data, buffered) == data
    if not buffered:
        assert st.sources == {"RECV FROM:127.0.0.1:%d" % tcp_echo[1]}


@pytest.mark.parametrize("buffered", [True, False], ids=["buffer", "push"])
def test_udp_echo_64k(modem, udp_echo, buffered):
    sim, uart, at = modem(hosts={"udp.test": "127.0.0.1"})
    at.ok("AT+CIPRXGET=%d" % (1 if buffered else 0))
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ('AT+CIPOPEN=7,"UDP",,,%d' % free_udp_port(), ["+CIPOPEN: 7,0", "OK"])])
    data = payload(65536, 2)
    st = Stream(at)
    got = roundtrip(st, 7, data, buffered, dest=',"udp.test",%d' % udp_echo[1], window=4)
    assert got == data
    if not buffered:
        assert st.sources == {"RECV FROM:127.0.0.1:%d" % udp_echo[1]}


def test_transparent_echo_64k(modem, tcp_echo):
    sim, uart, at = modem(opts={"guard_ms": 50})
    replay(at, [("AT+CIPMODE=1", ["OK"]),
                ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % tcp_echo[1], ["CONNECT 115200"])])
    data = payload(65536, 3)
    for i in range(0, len(data), 4096):
        at.write(data[i:i + 4096])
    assert at.read_exact(len(data), timeout=10) == data
    time.sleep(0.08)
    at.write(b"+++")
    assert at.read_line() == "OK"
    assert at.cmd("AT+CIPCLOSE=0") == ["OK"]
    assert [at.read_line(), at.read_line()] == ["CLOSED", "+CIPCLOSE: 0,0"]


def test_transparent_plus_inside_data_is_data(modem, tcp_echo):
    sim, uart, at = modem(opts={"guard_ms": 50})
    replay(at, [("AT+CIPMODE=1", ["OK"]),
                ("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % tcp_echo[1], ["CONNECT 115200"])])
    time.sleep(0.08)
    at.write(b"+++x")  # no silence after it: data
    assert at.read_exact(4) == b"+++x"
    at.write(b"a+++")  # no silence before it: data
    assert at.read_exact(4) == b"a+++"
    time.sleep(0.08)
    at.write(b"++")
    time.sleep(0.01)
    at.write(b"+")  # one sequence in two writes
    assert at.read_line() == "OK"
    # while in command mode, arrivals wait for ATO
    sim.links[0].conn.send(b"queued")
    time.sleep(0.1)
    assert at.cmd("ATO") == ["CONNECT 115200"]
    assert at.read_exact(6) == b"queued"
    # peer close in data mode: CLOSED, back in command mode
    with sim.lock:
        sim.net.peer_close(sim.links[0].conn)
    assert at.read_line() == "CLOSED"
    assert at.cmd("AT+CIPOPEN?")[0] == "+CIPOPEN: 0"


def test_tcp_echo_chunked_output_echo_on(modem, tcp_echo):
    # the chunk fault cuts every output piece, FakeUART cuts reads, echo stays on
    sim, uart, at = modem(echo=True, chunk=(1, 5, 9), faults=["chunk=1-7"], seed=5)
    at.ok("AT+CIPRXGET=1")
    at.cmd("AT+NETOPEN")
    at.wait_line("+NETOPEN: 0")
    at.cmd('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % tcp_echo[1])
    at.wait_line("+CIPOPEN: 0,0")
    data = payload(8192, 4)
    st = Stream(at)
    # echo lines come back as events: Stream.until skips them
    assert roundtrip(st, 0, data, True) == data


def test_personality_lookup():
    assert get_personality("sim7600").name == "sim7600"


def test_options_prompt_and_netopen_delay(modem, server):
    sim, uart, at = modem(opts={"prompt": "\\r\\n> ", "netopen_ms": 100})
    assert at.cmd("AT+NETOPEN") == ["OK"]
    assert at.drain(quiet=0.02) == b""  # the result comes later ...
    assert at.read_line(timeout=1) == "+NETOPEN: 0"  # ... on its own
    replay(at, [('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % server.getsockname()[1],
                 ["OK", "+CIPOPEN: 0,0"]),
                ("AT+CIPSEND=0,2", [b"\r\n> "], b"hi", ["OK", "+CIPSEND: 0,2,2"])])


def test_cli_pty_session():
    p = subprocess.Popen([sys.executable, "-m", "tools.modemsim", "--dialect", "sim7600",
                          "--pty", "--opt", "recv_from_plus=true"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        path = p.stdout.readline().strip()
        assert path.startswith("/dev/"), path
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        try:
            tty.setraw(fd, termios.TCSANOW)
            buf = b""
            end = time.monotonic() + 5
            os.write(fd, b"ATE0\r")
            while b"PB DONE" not in buf or not buf.endswith(b"OK\r\n"):
                assert time.monotonic() < end, buf
                if select.select([fd], [], [], 0.1)[0]:
                    buf += os.read(fd, 1024)
            os.write(fd, b"AT+CIPRXGET?\r")
            buf = b""
            while not buf.endswith(b"OK\r\n"):
                assert time.monotonic() < end, buf
                if select.select([fd], [], [], 0.1)[0]:
                    buf += os.read(fd, 1024)
            assert buf == b"\r\n+CIPRXGET: 0\r\n\r\nOK\r\n"
        finally:
            os.close(fd)
    finally:
        p.terminate()
        p.communicate(timeout=5)
