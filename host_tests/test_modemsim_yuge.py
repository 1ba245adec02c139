"""Tests of the Yuge EC716S simulator personality, TCP/IP side (tools/modemsim/yuge.py).

Raw AT commands over a FakeUART through tools/modemsim/rawat.py, not the cellmodem
library. The manual's worked examples (ch.2-6 basics, ch.9 9.20, 9.27, 9.31, 9.33-9.36,
9.42) are replayed byte for byte; only server addresses and ports change to the local
servers (said so next to each). Real TCP and UDP echo servers carry 64 KiB of random
bytes in every receive mode of the family: CIPRXGET text and hex reads, +IPD and
+RECEIVE push, transparent mode.
"""
import os
import random
import re
import socket
import subprocess
import sys
import time

import pytest

from simfixtures import free_port
from tools.modemsim import get_personality

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Bytes that look like AT framing or this family's URCs, and the data-mode specials.
NASTY = (b"\r\nOK\r\n\x1a\x1b\x03\r\nERROR\r\n+IPD,3:\x00\xff+RECEIVE,0,5:\r\n"
         b"+CIPRXGET: 1\r\nCLOSED\r\n> ")
# Final results of this family (rawat's default list lacks the link-numbered ones).
FINAL = re.compile(rb"^(OK|ERROR|\+CME ERROR: .*|NO CARRIER|CONNECT.*|SEND OK|SEND FAIL|"
                   rb"CLOSE OK|SHUT OK|\d, ?(SEND OK|SEND FAIL|CLOSE OK)|DATA ACCEPT: ?.*|"
                   rb"\d+\.\d+\.\d+\.\d+)$")
PROMPT = b"\r\n> "


# ------------------------------------------------------------------ fixtures and helpers
@pytest.fixture
def modem(modem_factory):
    """make(echo=False, **sim_kwargs) -> (sim, uart, at): Yuge after its banner."""
    def make(echo=False, **kw):
        sim, uart, at = modem_factory("yuge", **kw)
        at.final_re = FINAL
        at.wait_line("+CPIN: ")
        if not echo:
            assert at.cmd("ATE0")[-1] == "OK"
        return sim, uart, at
    return make


class Sink:
    """A TCP server that accepts and keeps connections; sends only when told."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.srv.settimeout(5)
        self.port = self.srv.getsockname()[1]
        self.peers = []

    def accept(self):
        p, _ = self.srv.accept()
        p.settimeout(5)
        self.peers.append(p)
        return p

    def close(self):
        for p in self.peers:
            p.close()
        self.srv.close()


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.close()


@pytest.fixture
def sink2():
    s = Sink()
    yield s
    s.close()


@pytest.fixture
def udp_sink():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(5)
    yield s
    s.close()


def framed(lines):
    out = b""
    for ln in lines:
        if isinstance(ln, bytes):
            out += ln  # raw piece: prompt or payload exactly as sent
        else:
            out += b"\r\n" + ln.encode("latin-1") + b"\r\n"
    return out


def replay(at, steps, quiet=True):
    """Drive each step and compare the modem's output byte for byte.

    step = (action, expected): action is a command (str, CR appended), raw bytes to
    write (data after a prompt), a callable (something the far end does) or None (just
    wait); expected is a list of lines (framed CR LF <line> CR LF) or raw bytes pieces.
    """
    for action, want in steps:
        if isinstance(action, str):
            at.write(action + "\r")
        elif isinstance(action, bytes):
            at.write(action)
        elif action is not None:
            action()
        exp = framed(want)
        got = at.read_exact(len(exp), timeout=3)
        assert got == exp, "%r:\n got %r\nwant %r" % (action, got, exp)
    if quiet:
        time.sleep(0.05)
        assert at.drain() == b""


def lines_until(at, want, allow=("+SAPBR ",)):
    """Read the URC lines `want` in order; other lines only if they start with an
    `allow` prefix (URCs of the HTTP/MQTT mixins, not ours to pin down)."""
    for w in want:
        while True:
            ln = at.read_line(timeout=3)
            if ln == w:
                break
            assert ln.startswith(allow), "got %r waiting for %r" % (ln, w)
    time.sleep(0.05)
    for ln in at.drain().split(b"\r\n"):
        assert not ln or ln.decode("latin-1").startswith(allow), ln


def online(at, mux=False):
    if mux:
        assert at.cmd("AT+CIPMUX=1") == ["OK"]
    assert at.cmd("AT+CSTT") == ["OK"]
    assert at.cmd("AT+CIICR") == ["OK"]
    assert re.match(r"\d+\.\d+\.\d+\.\d+$", at.cmd("AT+CIFSR")[0])


def set_ip(sim, ip):
    """The address the network gives the default bearer (to match a manual example)."""
    with sim.lock:
        sim.ip = ip
        if 1 in sim.contexts:
            sim.contexts[1] = ip


# ================================================================== manual ch.2-6 basics
def test_transcript_identity_ch2_ch3_ch4(modem):
    sim, uart, at = modem()
    replay(at, [
        ("AT+CGMI", ['+CGMI: "Yuga Co.,Ltd."', "OK"]),  # 2.1
        ("AT+CGMM", ['+CGMM: "YM310 X09"', "OK"]),  # 2.2
        ("AT+CGMR", ['Revision: "YM310.X09_AT.U60_R2.0.0.240820"', "OK"]),  # 2.3
        ("AT+CGMR=?", ["OK"]),
        ("AT+CGSN", ["868777059994693", "OK"]),  # 2.4
        ("AT+CGSN=?", ["OK"]),
        ("AT+ICCID", ["+ICCID: 89861122050211045494", "OK"]),  # 2.5
        ("AT+CIMI", ["460115883032649", "OK"]),  # 2.6
        ("ATI", ["YM310.X09_AT.U60_R2.0.0.240820", "OK"]),  # 2.7
        ("AT+CSCS?", ['+CSCS: "GSM"', "OK"]),  # 3.1
        ("AT+CSCS=?", ['+CSCS:"GSM","IRA","UCS2"', "OK"]),
        ("AT&W", ["OK"]),  # 3.2
        ("AT+CFUN=?", ["+CFUN: (0,1,4),(0,1)", "OK"]),  # 4.1
        ("AT+CFUN?", ["+CFUN: 1", "OK"]),
        ("AT+CPIN?", ["+CPIN: READY", "OK"]),  # 4.3
        ("AT+IPR=?", ["+IPR:(600,1200,2400,4800,9600,19200,38400,57600,115200,230400),"
                      "(0,600,1200,2400,4800,9600,19200,38400,57600,115200,230400,460800,"
                      "921600)", "OK"]),  # 4.6
        ("AT+IFC=?", ["+IFC: (0-2),(0-2)", "OK"]),  # 4.9
        ("AT+IFC=2,2", ["OK"]),
        ("AT+IFC?", ["+IFC: 2,2", "OK"]),
    ])
    # 2.8: the example is another unit's identity; we give the simulator that identity
    sim.imei, sim.iccid, sim.imsi = "863644070951258", "89860324145510774535", "460115469591740"
    replay(at, [("AT*I", ["Manufacturer: Yuga Co.,Ltd.", "Model: YM310 X09",
                          "Revision: YM310.X09_AT.U60_R2.0.0.240820", "HWver: V1",
                          "Buildtime: Aug 20 2024 17:04:06", "IMEI: 863644070951258",
                          "ICCID: 89860324145510774535", "IMSI: 460115469591740", "OK"])])


def test_transcript_network_ch5_ch6(modem):
    sim, uart, at = modem()
    replay(at, [
        ("AT+CREG?", ["+CREG: 0,1", "OK"]),  # 5.3
        ("AT+CREG=2", ["OK"]),
        ("AT+CREG?", ['+CREG: 2,1,"1863","0183db22",7', "OK"]),
        ("AT+CGREG?", ["+CGREG: 0,1", "OK"]),  # 6.1
        ("AT+CGATT?", ["+CGATT: 1", "OK"]),  # 6.2
        ("AT+CGATT=?", ["+CGATT: (0-1)", "OK"]),
        ("AT+COPS?", ['+COPS: 0,0,"CHN-UNICOM",7', "OK"]),  # 5.6
    ])
    # 6.3 / 6.5: the default bearer the module holds once registered (address adapted)
    set_ip(sim, "10.162.229.248")
    replay(at, [
        ("AT+CGDCONT?", ['+CGDCONT: 1,"IP","cmnet","10.162.229.248",0,0', "OK"]),
        ("AT+CGACT?", ["+CGACT: 1,1", "OK"]),
        ("AT+CGPADDR=1", ['+CGPADDR: 1,"10.162.229.248"', "OK"]),
        ("AT+CGPADDR=2", ["ERROR"]),  # no context 2: nothing to show
    ])


def test_transcript_pin_4_3(modem_factory):
    # 4.3: with the PIN lock on, the module reports "+CPIN: SIM PIN" after power-on;
    # AT+CPIN="1234" answers "+CPIN: READY" then OK
    sim, uart, at = modem_factory("yuge", sim="locked")
    at.final_re = FINAL
    assert at.read_exact(len(framed(["RDY", "+CPIN: SIM PIN"]))) == \
        framed(["RDY", "+CPIN: SIM PIN"])
    at.ok("ATE0")
    assert at.cmd("AT+CSTT") == ["OK"]
    assert at.cmd("AT+CIICR") == ["ERROR"]  # not registered yet
    replay(at, [('AT+CPIN="1234"', ["+CPIN: READY", "OK"]),
                ("AT+CPIN?", ["+CPIN: READY", "OK"])])
    assert at.cmd("AT+CIICR") == ["OK"]


def test_banner_reset_and_absent_sim(modem_factory):
    sim, uart, at = modem_factory("yuge")
    assert at.read_exact(len(framed(["RDY", "+CPIN: READY"]))) == framed(["RDY", "+CPIN: READY"])
    at.final_re = FINAL
    assert at.cmd("AT+RESET") == ["OK"]  # 2.9
    assert at.read_exact(len(framed(["RDY", "+CPIN: READY"]))) == framed(["RDY", "+CPIN: READY"])
    sim2, uart2, at2 = modem_factory("yuge", sim="absent")
    assert at2.wait_line("+CPIN: ") == "+CPIN: SIM REMOVED"  # 4.3 <code>


def test_autobaud_banner_after_training(modem_factory):
    # 4.6: AT+IPR=0 (as shipped): nothing until the host sends "AT" to train the baud
    # rate; "aT" / "At" do not train; the training line itself gets no answer
    sim, uart, at = modem_factory("yuge", opts={"autobaud": True})
    time.sleep(0.1)
    assert at.drain() == b""
    at.write("aT\r")
    time.sleep(0.05)
    assert at.drain() == b""
    at.write("AT\r")
    assert at.read_exact(len(framed(["RDY", "+CPIN: READY"]))) == framed(["RDY", "+CPIN: READY"])
    assert at.cmd("AT") == ["OK"]


# ================================================================== manual 9.42 examples
def test_transcript_9_42_tcp_single_fast_send(modem, sink):
    # "TCP 非透传应用 1"; server 60.166.18.9:7500 -> the local sink; the IP 010.083.172.111
    # is printed zero padded as in the example (ip_zero_pad), CIPATS seconds are 20 ms
    sim, uart, at = modem(opts={"ip_zero_pad": True, "ats_unit_ms": 20})
    replay(at, [
        ("AT+CREG?", ["+CREG: 0,1", "OK"]),
        ("AT+CGATT?", ["+CGATT: 1", "OK"]),
        ("AT+CIPMUX=0", ["OK"]),
        ("AT+CIPQSEND=1", ["OK"]),
        ("AT+CSTT", ["OK"]),
        ("AT+CIICR", ["OK"]),
        ("AT+CIFSR", ["010.083.172.111"]),
        ("AT+CIPSTATUS", ["OK", "STATE: IP STATUS"]),
        ('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port, ["OK", "CONNECT OK"]),
        ("AT+CIPSTATUS", ["OK", "STATE: CONNECT OK"]),
        ("AT+CIPSEND", [PROMPT]),
        (b"1234567890\x1a", ["DATA ACCEPT:10"]),
        ("AT+CIPACK", ["+CIPACK: 10,10,0", "OK"]),
        ("AT+CIPSEND=10", [PROMPT]),
        (b"1234567890", ["DATA ACCEPT:10"]),
        ("AT+CIPATS=1,10", ["OK"]),
        ("AT+CIPSEND", [PROMPT]),
        (b"1234567890", ["DATA ACCEPT:10"]),  # sent when the CIPATS timer runs out
        ("AT+CIPSEND=100", [PROMPT]),
        (b"123", ["DATA ACCEPT:3"]),  # timer again: fewer than 100 bytes go
        ("AT+CIPCLOSE", ["CLOSE OK"]),
        ("AT+CIPSTATUS", ["OK", "STATE: TCP CLOSED"]),
        ("AT+CIPSHUT", ["SHUT OK"]),
        ("AT+CIFSR", ["ERROR"]),
    ])
    peer = sink.accept()
    got = b""
    while len(got) < 33:
        got += peer.recv(100)
    assert got == b"1234567890" * 3 + b"123"


def test_transcript_9_42_tcp_single_ssl(modem, tls_echo):
    # "TCP 非透传应用 2": CIPSTART straight from IP INITIAL; the port also quoted, as
    # the 9.42 note allows. A real TLS handshake with a TLS echo server; no SSLCFG
    # ("本例中双方都不需要验证证书": seclevel unset, nothing verified). The echo
    # comes back as the bare data of single-link push mode (9.42).
    sim, uart, at = modem()
    port = tls_echo("good")
    replay(at, [
        ("AT+CIPMUX=0", ["OK"]),
        ("AT+CIPQSEND=1", ["OK"]),
        ("AT+CIPSTATUS", ["OK", "STATE: IP INITIAL"]),
        ("AT+CIPSSL=1", ["OK"]),
        ('AT+CIPSTART="TCP","127.0.0.1","%d"' % port, ["OK", "CONNECT OK"]),
        ("AT+CIPSEND", [PROMPT]),
        (b"1234567890\x1a", ["DATA ACCEPT:10", b"1234567890"]),
        ("AT+CIFSR", ["10.83.172.111"]),  # the context came up on its own
    ])
    assert tls_echo.server(port).handshakes == 1


def fs_lines(files, timeout=15):
    """AT+FSCREATE / AT+FSWRITE steps (ch.8) storing files {name: bytes}."""
    steps = [('AT+FSCREATE="%s"' % name, ["OK"]) for name in files]
    for name, data in files.items():
        steps += [('AT+FSWRITE="%s",0,%d,%d' % (name, len(data), timeout), [b"\r\n>"]),
                  (data, ["OK"])]
    return steps


def test_transcript_9_42_tcp_ssl_certificates(modem, pki, tls_echo):
    # "TCP 非透传应用 3" against a TLS echo server that requires a client certificate:
    # the module verifies it with ca.crt and presents client.crt/client.key (seclevel
    # 2), all written with AT+FSCREATE/AT+FSWRITE (our throwaway PKI's PEM files).
    # Deviations: the example's "AT+CIPSTART=stservice.quectel.com,8305" lacks the
    # "TCP" argument (the module needs it) and shows AT+CIPSHUT answering OK where
    # 9.29 and every other example print SHUT OK. The ciphersuite (0X0035, RSA key
    # exchange) and clientrandom are kept but not applied: the PKI's keys are EC.
    sim, uart, at = modem()
    port = tls_echo("good", require_client=True)
    replay(at, [
        ("AT+CIPMUX=0", ["OK"]),
        ("AT+CIPQSEND=1", ["OK"]),
        ("AT+CIPSSL=1", ["OK"]),
    ] + fs_lines({"ca.crt": pki.ca_pem, "client.crt": pki.client_cert_pem,
                  "client.key": pki.client_key_pem}) + [
        ('AT+SSLCFG="cacert",0,"ca.crt"', ["OK"]),
        ('AT+SSLCFG="clientcert",0,"client.crt"', ["OK"]),
        ('AT+SSLCFG="clientkey",0,"client.key"', ["OK"]),
        ('AT+SSLCFG="seclevel",0,2', ["OK"]),
        ('AT+SSLCFG="ciphersuite",0,0X0035', ["OK"]),
        ('AT+SSLCFG="clientrandom",0,101B12C3141516171F19202122232425262728293031323334353637',
         ["OK"]),
        ('AT+SSLCFG="seclevel",0', ['+SSLCFG: "seclevel",0,2', "OK"]),  # 9.7 query form
        ("AT+CIPSTART=TCP,127.0.0.1,%d" % port, ["OK", "CONNECT OK"]),
        ("AT+CIPSEND=10", [PROMPT]),
        (b"1234567890", ["DATA ACCEPT:10", b"1234567890"]),
        ("AT+CIPSHUT", ["SHUT OK"]),
        ("AT+CIPSSL=0", ["OK"]),
    ])
    assert tls_echo.server(port).handshakes == 1


def test_transcript_9_42_udp_single(modem, udp_sink):
    # "UDP 非透传应用 1"; server 60.166.18.9:6100 -> a local UDP socket
    sim, uart, at = modem(opts={"ip_zero_pad": True})
    port = udp_sink.getsockname()[1]
    replay(at, [
        ("AT+CIPMUX=0", ["OK"]),
        ("AT+CIPQSEND=1", ["OK"]),
        ("AT+CSTT", ["OK"]),
        ("AT+CIICR", ["OK"]),
        ("AT+CIFSR", ["010.083.172.111"]),
        ('AT+CIPSTART="UDP","127.0.0.1",%d' % port, ["OK", "CONNECT OK"]),
        ("AT+CIPSEND", [PROMPT]),
        (b"1234567890\x1a", ["DATA ACCEPT:10"]),
    ])
    assert udp_sink.recvfrom(100)[0] == b"1234567890"


def test_transcript_9_42_multi_ssl(modem, pki, tls_echo):
    # "多连接应用 1" with its FS lines (our PKI's PEM files; the example writes
    # server1.crt twice where it means server2.crt). This example prints
    # "1,CONNECT OK" without the space: link_space=False. Servers 60.166.12.210:7500 and
    # 60.166.13.215:6100 -> two local TLS echo servers that require a client
    # certificate, verified per link with SSL contexts 1 and 2 (the example's CIPSTATUS
    # repeats link 1's address for link 2: a copy slip; we print each link's own).
    # The echo comes back pushed (+RECEIVE, 9.25).
    sim, uart, at = modem(opts={"link_space": False, "ip_zero_pad": True})
    p1, p2 = tls_echo("good", require_client=True), tls_echo("good", require_client=True)
    replay(at, [
        ("AT+CIPSSL=1", ["OK"]),
        ("AT+CIPMUX=1", ["OK"]),
    ] + fs_lines({"server1.crt": pki.ca_pem, "server2.crt": pki.ca_pem,
                  "client.crt": pki.client_cert_pem, "client.key": pki.client_key_pem}) + [
        ('AT+SSLCFG="cacert",1,"server1.crt"', ["OK"]),
        ('AT+SSLCFG="cacert",2,"server2.crt"', ["OK"]),
        ('AT+SSLCFG="clientcert",1,"client.crt"', ["OK"]),
        ('AT+SSLCFG="clientcert",2,"client.crt"', ["OK"]),
        ('AT+SSLCFG="clientkey", 1,"client.key"', ["OK"]),
        ('AT+SSLCFG="clientkey", 2,"client.key"', ["OK"]),
        ('AT+SSLCFG="seclevel",1,2', ["OK"]),
        ('AT+SSLCFG="seclevel",2,2', ["OK"]),
        ('AT+SSLCFG="ciphersuite",1,0X0035', ["OK"]),
        ('AT+SSLCFG="ciphersuite",2,0X0035', ["OK"]),
        ("AT+CIPQSEND=1", ["OK"]),
        ("AT+CSTT", ["OK"]),
        ("AT+CIICR", ["OK"]),
        ("AT+CIFSR", ["010.083.172.111"]),
        ('AT+CIPSTART=1,"TCP","127.0.0.1",%d' % p1, ["OK", "1,CONNECT OK"]),
        ('AT+CIPSTART=2,"TCP","127.0.0.1",%d' % p2, ["OK", "2,CONNECT OK"]),
        ("AT+CIPSTATUS", ["OK", "STATE: IP PROCESSING",
                          'C: 0,,,"",,"",,"INITIAL"',
                          'C: 1,0,"TCP","127.0.0.1","%d","CONNECTED"' % p1,
                          'C: 2,0,"TCP","127.0.0.1","%d","CONNECTED"' % p2,
                          'C: 3,,,"",,"",,"INITIAL"',
                          'C: 4,,,"",,"",,"INITIAL"',
                          'C: 5,,,"",,"",,"INITIAL"']),
        ("AT+CIPSEND=1", [PROMPT]),
        (b"1234567890\x1a", ["DATA ACCEPT:1,10", b"\r\n+RECEIVE,1,10:\r\n1234567890"]),
        ("AT+CIPSEND=2", [PROMPT]),
        (b"1234567890\x1a", ["DATA ACCEPT:2,10", b"\r\n+RECEIVE,2,10:\r\n1234567890"]),
        ("AT+CIPSHUT", ["SHUT OK"]),
        ("AT+CIPMUX=0", ["OK"]),
        ("AT+CIPSSL=0", ["OK"]),
    ])
    assert tls_echo.server(p1).handshakes == tls_echo.server(p2).handshakes == 1


def test_transcript_9_42_multi_fast_send(modem, sink, udp_sink):
    # "多连接应用 2": "4, CONNECT OK" with the space (default link_space); servers ->
    # the local sink and UDP socket; CIPATS seconds are 20 ms
    sim, uart, at = modem(opts={"ats_unit_ms": 20})
    uport = udp_sink.getsockname()[1]
    replay(at, [
        ("AT+CIPMUX=1", ["OK"]),
        ("AT+CIPQSEND=1", ["OK"]),
        ("AT+CSTT", ["OK"]),
        ("AT+CIICR", ["OK"]),
        ("AT+CIFSR", ["10.83.172.111"]),
        ('AT+CIPSTART=4,"TCP","127.0.0.1",%d' % sink.port, ["OK", "4, CONNECT OK"]),
        ('AT+CIPSTART=5,"UDP","127.0.0.1",%d' % uport, ["OK", "5, CONNECT OK"]),
        ("AT+CIPSEND=4,10", [PROMPT]),
        (b"1234567890", ["DATA ACCEPT:4,10"]),
        ("AT+CIPSEND=5", [PROMPT]),
        (b"1234567890\x1a", ["DATA ACCEPT:5,10"]),
        ("AT+CIPATS=1,10", ["OK"]),
        ("AT+CIPSEND=4", [PROMPT]),
        (b"TEST Auto fast send", ["DATA ACCEPT:4,19"]),
    ])
    peer = sink.accept()
    got = b""
    while len(got) < 29:
        got += peer.recv(100)
    assert got == b"1234567890TEST Auto fast send"
    assert udp_sink.recvfrom(100)[0] == b"1234567890"


def test_transcript_9_42_single_receive(modem, sink):
    # "单链接非透传时接收数据"; the server address is the local sink. The example's
    # "+RECV FROM: 60.166.12.210:7500" form is recv_from="example". Deviation: after
    # AT+CIPSHOWTP=1 the example's next +IPD lacks ",TCP" although SHOWTP is still on
    # (9.24 says it shows); we keep showing it until AT+CIPSHOWTP=0.
    sim, uart, at = modem(opts={"recv_from": "example"})
    online(at)
    at.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port)
    at.wait_line("CONNECT OK")
    peer = sink.accept()
    ip, port = peer.getsockname()

    def server(data):
        return lambda: peer.sendall(data)
    replay(at, [
        ("AT+CIPHEAD=1", ["OK"]),
        (server(b"TEST"), [b"\r\n+IPD,4:TEST"]),
        ("AT+CIPSHOWTP=1", ["OK"]),
        (server(b"TEST"), [b"\r\n+IPD,4,TCP:TEST"]),
        ("AT+CIPSRIP=1", ["OK"]),
        (server(b"TEST"), ["+RECV FROM: %s:%d" % (ip, port), b"\r\n+IPD,4,TCP:TEST"]),
        ("AT+CIPSHOWTP=0", ["OK"]),
        ("AT+CIPHEAD=0", ["OK"]),
        ("AT+CIPSRIP=0", ["OK"]),
        (server(b"TEST"), [b"TEST"]),
    ])


def test_transcript_9_42_multi_receive(modem, sink, udp_sink):
    # "多链接非透传时接收数据": link 0 TCP, link 1 UDP, local servers
    sim, uart, at = modem()
    online(at, mux=True)
    at.cmd('AT+CIPSTART=0,"TCP","127.0.0.1",%d' % sink.port)
    at.wait_line("0, CONNECT OK")
    at.cmd('AT+CIPSTART=1,"UDP","127.0.0.1",%d' % udp_sink.getsockname()[1])
    at.wait_line("1, CONNECT OK")
    peer = sink.accept()
    module_udp = ("127.0.0.1", sim.links[1].conn.local_port)
    replay(at, [
        (lambda: peer.sendall(b"TEST123"), [b"\r\n+RECEIVE,0,7:\r\nTEST123"]),
        (lambda: udp_sink.sendto(b"TEST123456", module_udp),
         [b"\r\n+RECEIVE,1,10:\r\nTEST123456"]),
    ])


def test_transcript_9_42_send_and_receive_tables(modem, sink, udp_sink):
    # "发送和接收格式总结": slow mode (CIPQSEND 0 and 2) answers SEND OK / "5,SEND OK";
    # single-link UDP shows ",UDP" with CIPSHOWTP=1; multi-link +RECEIVE ignores CIPHEAD
    sim, uart, at = modem(opts={"link_space": False})
    online(at)
    uport = udp_sink.getsockname()[1]
    at.cmd('AT+CIPSTART="UDP","127.0.0.1",%d' % uport)
    at.wait_line("CONNECT OK")
    module_udp = ("127.0.0.1", sim.links[0].conn.local_port)
    replay(at, [
        ("AT+CIPSEND", [PROMPT]),
        (b"test UDP\x1a", ["SEND OK"]),
        ("AT+CIPQSEND=2", ["OK"]),
        ("AT+CIPSEND", [PROMPT]),
        (b"test UDP\x1a", ["SEND OK"]),
        ("AT+CIPHEAD=1", ["OK"]),
        ("AT+CIPSHOWTP=1", ["OK"]),
        (lambda: udp_sink.sendto(b"TEST123", module_udp), [b"\r\n+IPD,7,UDP:TEST123"]),
        ("AT+CIPSHUT", ["SHUT OK"]),
        ("AT+CIPMUX=1", ["OK"]),
        ("AT+CSTT", ["OK"]),
        ("AT+CIICR", ["OK"]),
        ("AT+CIFSR", ["10.83.172.111"]),
        ('AT+CIPSTART=5,"TCP","127.0.0.1",%d' % sink.port, ["OK", "5,CONNECT OK"]),
        ("AT+CIPSEND=5", [PROMPT]),
        (b"test TCP\x1a", ["5,SEND OK"]),
    ])
    peer = sink.accept()
    replay(at, [(lambda: peer.sendall(b"TEST123"), [b"\r\n+RECEIVE,5,7:\r\nTEST123"])])


def test_transcript_9_42_transparent_tcp(modem, sink):
    # "透明传输应用 1" with a 100 ms escape guard (escape_guard_ms) instead of 1 s
    sim, uart, at = modem(opts={"escape_guard_ms": 100})
    replay(at, [
        ("AT+CIPMODE=1", ["OK"]),
        ('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port, ["OK", "CONNECT"]),
    ])
    peer = sink.accept()
    at.write(b"hello AT\r+++")  # data, even "+++" without the guard time
    assert peer.recv(100) == b"hello AT\r+++"
    peer.sendall(b"from server\r\nOK\r\n")
    assert at.read_exact(17) == b"from server\r\nOK\r\n"
    time.sleep(0.15)
    replay(at, [(b"+++", ["OK"]),  # escape: back to command mode, link stays
                ("AT+CIPSTATUS", ["OK", "STATE: CONNECT OK"])])
    peer.sendall(b"buffered")  # waits in the module while in command mode
    time.sleep(0.05)
    assert at.drain() == b""
    replay(at, [("ATO", ["CONNECT", b"buffered"])])
    at.write(b"more")
    assert peer.recv(100) == b"more"
    replay(at, [(peer.close, ["CLOSED"]),
                ("ATO", ["NO CARRIER"]),
                ("AT+CIPSHUT", ["SHUT OK"])])


def test_transcript_9_42_transparent_udp(modem, udp_sink):
    # "透明传输应用 2": a stack error ends data mode with "UDP ERROR:<code>" (9.39; here
    # the network drops: 6 "Network error"). The example's last two lines "SHUT OK",
    # "OK" carry a stray OK we do not print.
    sim, uart, at = modem()
    uport = udp_sink.getsockname()[1]
    replay(at, [
        ("AT+CIPMODE=1", ["OK"]),
        ("AT+CSTT", ["OK"]),
        ("AT+CIICR", ["OK"]),
        ("AT+CIFSR", ["10.83.172.111"]),
        ('AT+CIPSTART="UDP","127.0.0.1",%d' % uport, ["OK", "CONNECT"]),
    ])
    at.write(b"datagram")
    data, addr = udp_sink.recvfrom(100)
    assert data == b"datagram"
    udp_sink.sendto(b"reply", addr)
    assert at.read_exact(5) == b"reply"
    sim.network_drop()
    lines_until(at, ["UDP ERROR:6", "+PDP DEACT"])
    replay(at, [("AT+CIPSHUT", ["SHUT OK"])])


def test_transcript_9_42_dns(modem):
    # "域名解析"; this example prints "+CDNSGIP:1,..." without the space: colon_space=False.
    # The answer comes from the simulator's host table, never real DNS, and that table
    # holds loopback addresses only: 221.179.180.76 becomes 127.179.180.76.
    sim, uart, at = modem(opts={"colon_space": False},
                          hosts={"www.sina.com.cn": "127.179.180.76"})
    online(at)
    replay(at, [
        ('AT+CDNSGIP="WWW.SINA.COM.CN"', ["OK", '+CDNSGIP:1,"WWW.SINA.COM.CN","127.179.180.76"']),
        ('AT+CDNSGIP="nosuch.example"', ["OK", "+CDNSGIP:0,10"]),  # 10: GENERAL ERROR
        ("AT+CDNSGIP=?", ["OK"]),
    ])


def test_transcript_9_42_pdp_deact(modem, sink):
    # "如果模块出现上下文去激活的主动上报": +PDP DEACT, AT+CIPSHUT, AT+CFUN=0 / 1, again.
    # Deviation: the example shows AT+CIPSHUT answering OK; 9.29 (and every other
    # example) prints SHUT OK.
    sim, uart, at = modem()
    online(at)
    at.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port)
    at.wait_line("CONNECT OK")
    sim.network_drop()
    lines_until(at, ["+PDP DEACT"])
    replay(at, [
        ("AT+CIPSTATUS", ["OK", "STATE: PDP DEACT"]),
        ("AT+CIPSEND=3", ["ERROR"]),
        ('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port, ["ERROR"]),
        ("AT+CIPSHUT", ["SHUT OK"]),
        ("AT+CFUN=0", ["OK"]),
        ("AT+CFUN=1", ["OK"]),
        ('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port, ["OK", "CONNECT OK"]),
    ])


# ================================================================== other ch.9 examples
def test_transcript_9_20_cdnscfg(modem, sink):
    # 9.20 scene 1; the module address 10.113.72.66 as printed; <server domain> -> a name
    # in the host table pointing at the local sink; new DNS servers are example values
    sim, uart, at = modem(hosts={"server.example": "127.0.0.1"})
    set_ip(sim, "10.113.72.66")
    replay(at, [
        ("AT+CREG?", ["+CREG: 0,1", "OK"]),
        ("AT+CSTT", ["OK"]),
        ("AT+CIICR", ["OK"]),
        ("AT+CIFSR", ["10.113.72.66"]),
        ("AT+CDNSCFG?", ["PrimaryDns: 211.136.112.50", "SecondaryDns: 211.136.150.66", "OK"]),
        ("AT+CDNSCFG=114.114.114.114,8.8.8.8", ["OK"]),
        ("AT+CDNSCFG?", ["PrimaryDns: 114.114.114.114", "SecondaryDns: 8.8.8.8", "OK"]),
        ("AT+CIPSTART=TCP,server.example,%d" % sink.port, ["OK", "CONNECT OK"]),
    ])


def test_transcript_9_27_ciprxget(modem, sink):
    # 9.27 both examples; server 36.9.88.120:6001 -> the local sink. Deviation: the
    # multi-link example shows AT+CIFSR answering OK; 9.5 (and 9.42) print the address.
    sim, uart, at = modem()
    peers = []

    def server(data):
        def act():
            if not peers:
                peers.append(sink.accept())
            peers[0].sendall(data)
        return act
    replay(at, [
        ("AT+CIPRXGET=1", ["OK"]),
        ("AT+CGREG?", ["+CGREG: 0,1", "OK"]),
        ('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port, ["OK", "CONNECT OK"]),
        (server(b"1234567890"), ["+CIPRXGET: 1"]),
        ("AT+CIPRXGET=2,150", ["+CIPRXGET: 2,10,0", b"1234567890\r\n", "OK"]),
        ("AT+CIPRXGET=4", ["+CIPRXGET: 4,0", "OK"]),
        (server(b"HELLO"), ["+CIPRXGET: 1"]),
        ("AT+CIPRXGET=3,150", ["+CIPRXGET: 3,5,0", b"48454C4C4F\r\n", "OK"]),
        ("AT+CIPRXGET?", ["+CIPRXGET: 1", "OK"]),
        ("AT+CIPSHUT", ["SHUT OK"]),
    ])
    peers.clear()
    replay(at, [
        ("AT+CIPRXGET=1", ["OK"]),
        ("AT+CIPMUX=1", ["OK"]),
        ("AT+CSTT", ["OK"]),
        ("AT+CIICR", ["OK"]),
        ("AT+CIFSR", ["10.83.172.111"]),
        ('AT+CIPSTART=3,"TCP","127.0.0.1",%d' % sink.port, ["OK", "3, CONNECT OK"]),
        (server(b"AAAAA"), ["+CIPRXGET: 1,3"]),
        ("AT+CIPRXGET=2,3,10", ["+CIPRXGET: 2,3,5,0", b"AAAAA\r\n", "OK"]),
        ("AT+CIPRXGET=4,3", ["+CIPRXGET: 4,3,0", "OK"]),
        ("AT+CIPRXGET=2,3,10", ["+CIPRXGET: 2,3,0,0", "OK"]),  # nothing left
        ("AT+CIPRXGET=2,3,1461", ["ERROR"]),  # <len> 1-1460
        ("AT+CIPRXGET=3,3,731", ["ERROR"]),  # <len> 1-730 in hex
        ("AT+CIPRXGET=2,4,10", ["ERROR"]),  # no such link
    ])


def test_ciprxget_data_follows_its_header_whatever_urcs_come(modem, sink):
    # 9.27: the bytes follow "+CIPRXGET: 2,..." at once; noise URCs (urc= fault) may come
    # before the header or after the data, never between them
    sim, uart, at = modem(faults=["urc=1.0"], seed=5)
    for cmd in ("AT+CIPRXGET=1", "AT+CSTT", "AT+CIICR", "AT+CIFSR"):
        at.cmd(cmd)
    at.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port)
    at.wait_line("CONNECT OK")
    sink.accept().sendall(b"0123456789")
    at.wait_line("+CIPRXGET: 1")
    got = b""
    for rest in (8, 6, 4, 2, 0):
        at.write("AT+CIPRXGET=2,2\r")
        at.wait_line("+CIPRXGET: 2,2,%d" % rest)
        got += at.read_exact(4)[:2]
        at.wait_line("OK")
    assert got == b"0123456789"


def test_transcript_9_31_cipping(modem):
    # 9.31: module address 10.207.9.213 as printed; www.baidu.com -> 127.152.44.96 (the
    # host table holds loopback addresses only; the example's is 36.152.44.96); the
    # reply times and TTL of the example are given with ping_ms / ping_ttl (the pings
    # are simulated: nothing leaves this machine). The example's "AT+CHCR" is a copy
    # slip for AT+CIICR.
    sim, uart, at = modem(hosts={"www.baidu.com": "127.152.44.96"},
                          opts={"ping_ms": "35,20,20,35", "ping_ttl": 54})
    set_ip(sim, "10.207.9.213")
    replay(at, [
        ('AT+CIPPING="www.baidu.com"', ["ERROR"]),  # no context yet (IP INITIAL)
        ("AT+CSTT", ["OK"]),
        ("AT+CIICR", ["OK"]),
        ("AT+CIFSR", ["10.207.9.213"]),
        ('AT+CIPPING="www.baidu.com"', ['+CIPPING: 1,"127.152.44.96",35,54',
                                        '+CIPPING: 2,"127.152.44.96",20,54',
                                        '+CIPPING: 3,"127.152.44.96",20,54',
                                        '+CIPPING: 4,"127.152.44.96",35,54', "OK"]),
        ("AT+CIPPING?", ["+CIPPING: 4,32,100,64", "OK"]),
        ("AT+CIPPING=?", ["+CIPPING: (1-100),(0-1024),(1-600),(1-255)", "OK"]),
        ('AT+CIPPING="nosuch.example"', ["ERROR"]),
        # <retryNum> 0: replies keep coming (first at once, then one a second) ...
        ('AT+CIPPING="www.baidu.com",0', ['+CIPPING: 1,"127.152.44.96",35,54']),
        ("AT+CIPSHUT", ["SHUT OK"]),  # ... until the context is shut
    ])


def test_transcript_9_32_ciptka(modem):
    sim, uart, at = modem()
    replay(at, [
        ("AT+CIPTKA?", ["+CIPTKA:0,7200,75,9", "OK"]),
        ("AT+CIPTKA=?", ["+CIPTKA:(0,1),(30-7200),(30-600),(1-9)", "OK"]),
        ("AT+CIPTKA=1,60,30,3", ["OK"]),
        ("AT+CIPTKA?", ["+CIPTKA:1,60,30,3", "OK"]),
        ("AT+CIPTKA=1,10", ["ERROR"]),  # keepIdle 30-7200
        ("AT+CIPTKA=2", ["ERROR"]),
    ])


def test_transcript_9_33_to_9_36_heartbeat(modem, tcp_echo, sink):
    # 9.33 / 9.34 with the IMEI of the example unit; 9.35 with a local echo server for
    # 116.28.164.159:40117 (the example's "+RECEIVE,5,6: ABCDEF" puts the data on the
    # header line: a copy artefact, 9.25 puts it on its own line); 9.36 with heartbeat
    # seconds of 20 ms, so its statistics can only be checked for plausibility.
    sim, uart, at = modem(opts={"heartbeat_unit_ms": 20})
    sim.imei = "866714044915436"
    replay(at, [
        ("AT^HEARTCONFIG?", ["^HEARTCONFIG: 0,0,120", "OK"]),
        ("AT^HEARTCONFIG=1,0,180", ["OK"]),
        ("AT^HEARTCONFIG?", ["^HEARTCONFIG: 1,0,180", "OK"]),
        ("AT^HEARTBEAT?", ["^HEARTBEAT: 0,866714044915436", "OK"]),
        ("AT^HEARTBEAT=0,TCP-heart", ["OK"]),
        ("AT^HEARTBEAT?", ["^HEARTBEAT: 0,TCP-heart", "OK"]),
        ("AT^HEARTCONFIG=0", ["OK"]),
    ])
    set_ip(sim, "10.134.100.30")
    replay(at, [
        ("AT+CIPMUX=1", ["OK"]),
        ("AT+CSTT", ["OK"]),
        ("AT+CIICR", ["OK"]),
        ("AT+CIFSR", ["10.134.100.30"]),
        ('AT+CIPSTART=5,"TCP","127.0.0.1",%d' % tcp_echo[1], ["OK", "5, CONNECT OK"]),
        ("AT^HEARTCONFIG=1,5,120", ["OK"]),
        ("AT^HEARTBEATHEX=5,6,414243444546", ["OK", b"\r\n+RECEIVE,5,6:\r\nABCDEF"]),
        ("AT^HEARTCONFIG=0", ["OK"]),
        ("AT+CIPSHUT", ["SHUT OK"]),
        ("AT+CIPMUX=0", ["OK"]),
    ])
    # 9.36: heartbeats go out every 5 "seconds" (100 ms) to a server that stays silent
    replay(at, [
        ("AT^HEARTCONFIG=1,0,5", ["OK"]),
        ('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port, ["OK", "CONNECT OK"]),
    ])
    peer = sink.accept()
    time.sleep(0.35)
    lines = at.cmd("AT^HEARTINQUIRE?")
    m = re.match(r"\^HEARTINQUIRE: (\d+),(\d+),(\d+)$", lines[0])
    assert m and lines[1] == "OK", lines
    suc, nxt, count = map(int, m.groups())
    assert suc <= 5 and nxt <= 5 and count >= 2
    assert peer.recv(1000).startswith(b"ABCDEF")  # the content AT^HEARTBEATHEX set
    replay(at, [("AT^HEARTCONFIG=0", ["OK"]),
                ("AT^HEARTINQUIRE?", ["^HEARTINQUIRE: 0,0,0", "OK"])])


def test_syntax_tables_ch9(modem):
    # test and read forms of the ch.9 syntax tables at power-on
    sim, uart, at = modem()
    replay(at, [
        ("AT+CIPMUX=?", ["+CIPMUX: (0,1)", "OK"]),
        ("AT+CIPMUX?", ["+CIPMUX: 0", "OK"]),
        ("AT+CSTT=?", ['+CSTT: "APN","USER","PWD"', "OK"]),
        ("AT+CIICR=?", ["OK"]),
        ("AT+CIFSR=?", ["OK"]),
        ("AT+CIPSSL=?", ["+CIPSSL: (0-1)", "OK"]),
        ("AT+CIPSSL?", ["+CIPSSL: 0", "OK"]),
        ("AT+CIPMODE=?", ["+CIPMODE: (0-NORMAL MODE,1-TRANSPARENT MODE)", "OK"]),
        ("AT+CIPQSEND=?", ["+CIPQSEND: (0,1,2)", "OK"]),
        ("AT+CIPQSEND?", ["+CIPQSEND: 0", "OK"]),
        ("AT+CIPRXF?", ["+CIPRXF: 1", "OK"]),
        ("AT+CIPSPRT?", ["+CIPSPRT: 1", "OK"]),
        ("AT+CIPHEAD?", ["+CIPHEAD: 0", "OK"]),
        ("AT+CIPSRIP?", ["+CIPSRIP: 0", "OK"]),
        ("AT+CIPSHOWTP?", ["+CIPSHOWTP: 0", "OK"]),
        ("AT+CIPATS?", ["+CIPATS: 0,1", "OK"]),
        ("AT+CIPSEND?", ["+CIPSEND: 1460", "OK"]),
        ("AT+CIPRXGET?", ["+CIPRXGET: 0", "OK"]),
        ("AT+CIPRXGET=?", ["OK"]),
        ("AT+CIPCLOSE=?", ["OK"]),
        ("AT+CIPSHUT=?", ["OK"]),
        ("AT+CIPSTATUS=?", ["OK"]),
        ("AT+CIPCCFG?", ["+CIPCCFG: 5,2,1024,0,0,1460,50,0", "OK"]),
        ("AT+CLPORT?", ["+CLPORT: 0,0", "OK"]),
        ('AT+CLPORT="UDP",5000', ["OK"]),
        ("AT+CLPORT?", ["+CLPORT: 0,5000", "OK"]),
        ("AT+CIPCSGP?", ['+CIPCSGP: 1,"CMNET","",""', "OK"]),
        ("AT+CIPSTART=?", ['+CIPSTART: ("TCP","UDP"),("(0-255).(0-255).(0-255).(0-255)"),'
                           '(1-65535)', '+CIPSTART: ("TCP","UDP"),("DOMAIN NAME"),(1-65535)',
                           "OK"]),
        ("AT+CSTT?", ['+CSTT: "","",""', "OK"]),
        ("AT+CSTT=\"cmiot\",\"u\",\"p\"", ["OK"]),
        ("AT+CSTT?", ['+CSTT: "cmiot","u","p"', "OK"]),
        ("AT+CSTT", ["ERROR"]),  # only in IP INITIAL (now IP START)
        ("AT+CIPMUX=1", ["ERROR"]),  # only in IP INITIAL
        ("AT+CIPMODE=1", ["ERROR"]),  # only in IP INITIAL
    ])


# ================================================================== state machine (9.40)
def test_state_machine_single(modem, sink):
    sim, uart, at = modem(opts={"connect_ms": 150})
    port = sink.port
    replay(at, [
        ("AT+CIPSTATUS", ["OK", "STATE: IP INITIAL"]),
        ("AT+CIICR", ["ERROR"]),  # needs IP START
        ("AT+CIFSR", ["ERROR"]),
        ("AT+CSTT", ["OK"]),
        ("AT+CIPSTATUS", ["OK", "STATE: IP START"]),
        ('AT+CIPSTART="TCP","127.0.0.1",%d' % port, ["ERROR"]),  # not in IP START
        ("AT+CIICR", ["OK"]),
        ("AT+CIPSTATUS", ["OK", "STATE: IP GPRSACT"]),
        # SIM800 heritage kept by the manual's state rule: AT+CIFSR must come first
        ('AT+CIPSTART="TCP","127.0.0.1",%d' % port, ["ERROR"]),
        ("AT+CIFSR", ["10.83.172.111"]),
        ("AT+CIPSTATUS", ["OK", "STATE: IP STATUS"]),
        ('AT+CIPSTART="TCP","127.0.0.1",%d' % port, ["OK"]),
        ("AT+CIPSTATUS", ["OK", "STATE: TCP CONNECTING"]),
        ('AT+CIPSTART="TCP","127.0.0.1",%d' % port, ["ERROR", "ALREADY CONNECT"]),
        (None, ["CONNECT OK"]),
        ("AT+CIPSTATUS", ["OK", "STATE: CONNECT OK"]),
        ('AT+CIPSTART="TCP","127.0.0.1",%d' % port, ["ERROR", "ALREADY CONNECT"]),
        ("AT+CIFSR", ["10.83.172.111"]),
        ("AT+CIPCLOSE=1", ["CLOSE OK"]),  # quick close
        ("AT+CIPSTATUS", ["OK", "STATE: TCP CLOSED"]),
        ("AT+CIPCLOSE", ["ERROR"]),  # nothing to close
        ("AT+CIPSEND=5", ["ERROR"]),
        ('AT+CIPSTART="TCP","127.0.0.1",%d' % free_port(), ["OK"]),  # refused
        (None, ["STATE: TCP CLOSED", "CONNECT FAIL"]),
        ('AT+CIPSTART="UDP","127.0.0.1",%d' % port, ["OK"]),
        ("AT+CIPSTATUS", ["OK", "STATE: UDP CONNECTING"]),
        (None, ["CONNECT OK"]),
        ("AT+CIPCLOSE", ["CLOSE OK"]),
        ("AT+CIPSTATUS", ["OK", "STATE: UDP CLOSED"]),
        ('AT+CIPSTART="TCP","nosuch.example",80', ["OK"]),  # name not in the host table
        (None, ["STATE: TCP CLOSED", "CONNECT FAIL"]),
        ('AT+CIPSTART="SCTP","127.0.0.1",80', ["ERROR"]),
        ('AT+CIPSTART="TCP","127.0.0.1",0', ["ERROR"]),
        ("AT+CIPSHUT", ["SHUT OK"]),
        ("AT+CMEE=1", ["OK"]),
        ("AT+CIPSTATUS", ["OK", "STATE: IP INITIAL"]),
        ("AT+CGATT=0", ["OK"]),
    ], quiet=False)
    lines_until(at, ["+PDP DEACT"])  # context released ...
    replay(at, [
        ("AT+CIPSTART=TCP,127.0.0.1,%d" % port, ["+CME ERROR: 30"]),  # ... none brought up
        ("AT+CGATT=1", ["OK"]),
        ("AT+CIPSTART=TCP,127.0.0.1,%d" % port, ["OK", "CONNECT OK"]),
    ])


def test_state_machine_multi(modem, sink):
    sim, uart, at = modem(opts={"cipstatus_initial": "sim800"})
    port, refused = sink.port, free_port()
    online(at, mux=True)
    replay(at, [
        ("AT+CIPSTATUS", ["OK", "STATE: IP STATUS"] +
         ['C: %d,,"","","","INITIAL"' % n for n in range(6)]),
        ('AT+CIPSTART="TCP","127.0.0.1",%d' % port, ["ERROR"]),  # needs <n>
        ('AT+CIPSTART=6,"TCP","127.0.0.1",%d' % port, ["ERROR"]),  # 0-5
        ('AT+CIPSTART=0,"TCP","127.0.0.1",%d' % port, ["OK", "0, CONNECT OK"]),
        ('AT+CIPSTART=0,"TCP","127.0.0.1",%d' % port, ["ERROR", "0, ALREADY CONNECT"]),
        ('AT+CIPSTART=1,"TCP","127.0.0.1",%d' % refused, ["OK", "1, CONNECT FAIL"]),
        ("AT+CIPSTATUS", ["OK", "STATE: IP PROCESSING",
                          'C: 0,0,"TCP","127.0.0.1","%d","CONNECTED"' % port,
                          'C: 1,0,"TCP","127.0.0.1","%d","CLOSED"' % refused] +
         ['C: %d,,"","","","INITIAL"' % n for n in range(2, 6)]),
        ("AT+CIPSEND", ["ERROR"]),  # the execute form is single-link
        ("AT+CIPCLOSE", ["ERROR"]),  # likewise
        ("AT+CIPSEND=1,5", ["ERROR"]),  # link 1 is closed
        ("AT+CIPCLOSE=0,1", ["0, CLOSE OK"]),
        ("AT+CIPCLOSE=0", ["ERROR"]),
        ("AT+CIPMUX=0", ["ERROR"]),  # only in IP INITIAL
        ("AT+CIPSHUT", ["SHUT OK"]),
        ("AT+CIPMUX=0", ["OK"]),
    ])


def test_cipserver_single_and_multi(modem):
    # Not in the manual: SIM800-family forms (see yuge.py)
    sim, uart, at = modem()
    online(at, mux=True)
    port = free_port()
    replay(at, [
        ("AT+CIPSERVER?", ["+CIPSERVER: 0", "OK"]),
        ("AT+CIPSERVER=1,%d" % port, ["OK", "SERVER OK"]),
        ("AT+CIPSERVER?", ["+CIPSERVER: 1,%d,0" % port, "OK"]),
    ])
    c1 = socket.create_connection(("127.0.0.1", port))
    assert at.read_exact(len(framed(["0, REMOTE IP: 127.0.0.1"]))) == \
        framed(["0, REMOTE IP: 127.0.0.1"])
    c2 = socket.create_connection(("127.0.0.1", port))
    replay(at, [(None, ["1, REMOTE IP: 127.0.0.1"]),
                (lambda: c2.sendall(b"hi"), [b"\r\n+RECEIVE,1,2:\r\nhi"]),
                ("AT+CIPSEND=1,3", [PROMPT]), (b"yo!", ["1, SEND OK"])])
    assert c2.recv(10) == b"yo!"
    replay(at, [(c1.close, ["0, CLOSED"]),
                ("AT+CIPSERVER=0", ["OK", "SERVER CLOSE"]),
                ("AT+CIPSHUT", ["SHUT OK"])])
    c2.close()
    # single-link server
    at.ok("AT+CIPMUX=0")
    online(at)
    port = free_port()
    replay(at, [("AT+CIPSERVER=1,%d" % port, ["OK", "SERVER OK"]),
                ("AT+CIPSTATUS", ["OK", "STATE: SERVER LISTENING"])])
    c3 = socket.create_connection(("127.0.0.1", port))
    replay(at, [(None, ["REMOTE IP: 127.0.0.1"]),
                ("AT+CIPSTATUS", ["OK", "STATE: CONNECT OK"]),
                ("AT+CIPSEND=2", [PROMPT]), (b"ok", ["SEND OK"]),
                (c3.close, ["CLOSED"]),
                ("AT+CIPSTATUS", ["OK", "STATE: SERVER LISTENING"])])


# ================================================================== send details
def test_cipsend_line_end_quirk_9_14(modem, sink):
    # 9.14 note: a command ended by CR alone followed by data starting with LF: the
    # module takes CR LF as the line end and the LF is lost from the data
    sim, uart, at = modem()
    online(at)
    at.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port)
    at.wait_line("CONNECT OK")
    peer = sink.accept()
    at.write(b"AT+CIPSEND=7\r\n123456")
    assert at.read_exact(len(PROMPT)) == PROMPT
    time.sleep(0.05)
    assert at.drain() == b""  # still waiting for the 7th byte
    at.write(b"7")
    at.wait_line("SEND OK")
    assert peer.recv(100) == b"1234567"
    at.write(b"AT+CIPSEND=7\r\n\n123456")  # the manual's fix: end the command with CR LF
    at.read_exact(len(PROMPT))
    at.wait_line("SEND OK")
    assert peer.recv(100) == b"\n123456"


def test_cipsend_esc_sprt_limits(modem, sink):
    sim, uart, at = modem()
    online(at)
    at.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port)
    at.wait_line("CONNECT OK")
    peer = sink.accept()
    peer.settimeout(0.1)
    replay(at, [
        ("AT+CIPSEND", [PROMPT]),
        (b"never sent\x1b", ["OK"]),  # ESC cancels
        ("AT+CIPSEND=0", ["ERROR"]),
        ("AT+CIPSEND=1461", ["ERROR"]),  # <size> 1460
        ("AT+CIPSEND=?", ["+CIPSEND: (1-1460)", "OK"]),
        ("AT+CIPSPRT=0", ["OK"]),  # 9.16: no prompt, result still shown
        ("AT+CIPSEND=2", []),
        (b"ab", ["SEND OK"]),
        ("AT+CIPSPRT=2", ["OK"]),  # no prompt, no result
        ("AT+CIPSEND=2", []),
        (b"cd", []),
        ("AT+CIPSPRT=1", ["OK"]),
        ("AT+CIPQSEND=1", ["OK"]),
        ("AT+CMEE=2", ["OK"]),
        ("AT+CIPSEND=1461", ["+CME ERROR: BUFFER_OVER_SIZE"]),
    ])
    assert peer.recv(100) == b"abcd"
    # variable length: at most <size> bytes, sent when the buffer is full
    at.cmd("AT+CIPSEND", until=b"> ")
    at.write(b"x" * 1460)
    assert at.wait_line("DATA ACCEPT") == "DATA ACCEPT:1460"


def test_send_fail_and_transparent_tcp_error(modem, sink):
    # the peer goes away between the prompt and the data: <n>, SEND FAIL
    sim, uart, at = modem()
    online(at, mux=True)
    at.cmd('AT+CIPSTART=2,"TCP","127.0.0.1",%d' % sink.port)
    at.wait_line("2, CONNECT OK")
    peer = sink.accept()
    replay(at, [("AT+CIPSEND=2,3", [PROMPT]),
                (peer.close, ["2, CLOSED"]),
                (b"abc", ["2, SEND FAIL"])])
    # transparent TCP: the network drops -> TCP ERROR:5 (9.39 "Network error"), then
    # the PDP URC, and the module is back in command mode
    sim2, uart2, at2 = modem()
    at2.ok("AT+CIPMODE=1")
    replay(at2, [('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port, ["OK", "CONNECT"])])
    sim2.network_drop()
    lines_until(at2, ["TCP ERROR:5", "+PDP DEACT"])
    replay(at2, [("AT+CIPSTATUS", ["OK", "STATE: PDP DEACT"]),
                 ("ATO", ["NO CARRIER"])])


# ================================================================== options (quirks)
def test_option_forms(modem, sink, udp_sink):
    sim, uart, at = modem(opts={"data_accept_space": True, "colon_space": False,
                                "pdp_deact": "+PDP: DEACT"})
    online(at, mux=True)
    replay(at, [
        ("AT+CIPQSEND=1", ["OK"]),
        ("AT+CIPRXGET=1", ["OK"]),
        ('AT+CIPSTART=2,"TCP","127.0.0.1",%d' % sink.port, ["OK", "2, CONNECT OK"]),
        ("AT+CIPSEND=2,1", [PROMPT]), (b"z", ["DATA ACCEPT: 2,1"]),
    ])
    peer = sink.accept()
    replay(at, [
        (lambda: peer.sendall(b"q"), ["+CIPRXGET:1,2"]),
        ("AT+CIPRXGET=2,2,5", ["+CIPRXGET:2,2,1,0", b"q\r\n", "OK"]),
        ("AT+CIPRXGET?", ["+CIPRXGET:1", "OK"]),
    ])
    sim.network_drop()
    lines_until(at, ["+PDP: DEACT"])
    sim2, uart2, at2 = modem(opts={"pdp_deact": "+PDP:DEACT", "ciprxf": 0,
                                   "recv_from": "syntax"})
    online(at2)
    at2.cmd('AT+CIPSTART="UDP","127.0.0.1",%d' % udp_sink.getsockname()[1])
    at2.wait_line("CONNECT OK")
    module_udp = ("127.0.0.1", sim2.links[0].conn.local_port)
    src = "RECV FROM:127.0.0.1:%d" % udp_sink.getsockname()[1]
    replay(at2, [
        ("AT+CIPSRIP=1", ["OK"]),
        (lambda: udp_sink.sendto(b"abc", module_udp), [src, b"abc\r\n"]),  # CIPRXF=0
    ])
    sim2.network_drop()
    lines_until(at2, ["+PDP:DEACT"])


def test_plain_errors_and_cme_texts(modem):
    sim, uart, at = modem()
    replay(at, [
        ("AT+CMEE=2", ["OK"]),
        ("AT+CIPSEND=5", ["+CME ERROR: SOCKET_CONNECTION_NOT_EXIST"]),
        ("AT+CSTT", ["OK"]),
        ("AT+CSTT", ["+CME ERROR: operation not allowed"]),
        ("AT+CMEE=1", ["OK"]),
        ("AT+CIPSEND=5", ["+CME ERROR: 913"]),
        ("AT+CIICR", ["OK"]),
        ("AT+CIICR", ["ERROR"]),  # 9.4: a plain ERROR whatever AT+CMEE says
    ])
    sim2, uart2, at2 = modem(opts={"plain_errors": True})
    replay(at2, [("AT+CMEE=2", ["OK"]),
                 ("AT+CIPSEND=5", ["ERROR"]),
                 ("AT+CIPMUX=3", ["ERROR"]),
                 ("AT+CIMI=?", ["OK"])])


def test_ciicr_with_a_rejected_apn_9_4(modem):
    # 9.4: "如果激活失败, 返回: ERROR"; the module stays in IP START, and after AT+CIPSHUT
    # another APN activates
    sim, uart, at = modem(reject_apns=["blocked.apn"])
    replay(at, [
        ("AT+CMEE=2", ["OK"]),
        ('AT+CSTT="blocked.apn"', ["OK"]),
        ("AT+CIICR", ["ERROR"]),
        ("AT+CIPSTATUS", ["OK", "STATE: IP START"]),
        ("AT+CIPSHUT", ["SHUT OK"]),
        ('AT+CSTT="internet"', ["OK"]),
        ("AT+CIICR", ["OK"]),
    ])


def test_connect_result_late_inside_unrelated_reply(modem, sink):
    sim, uart, at = modem(opts={"connect_ms": 50, "connect_result_in_reply": True})
    online(at)
    assert at.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port) == ["OK"]
    time.sleep(0.2)
    assert at.drain() == b""  # held back ...
    at.write("AT+CSQ\r")
    assert at.read_exact(len(framed(["+CSQ: 20,99", "CONNECT OK", "OK"]))) == \
        framed(["+CSQ: 20,99", "CONNECT OK", "OK"])  # ... comes inside a reply


def test_close_discards_and_renotify(modem, sink):
    # quirk: data and close back to back, unread data gone
    sim, uart, at = modem(opts={"close_discards": True})
    online(at)
    at.ok("AT+CIPRXGET=1")
    at.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port)
    at.wait_line("CONNECT OK")
    peer = sink.accept()
    with sim.lock:  # hold the modem still so data and close arrive together
        peer.sendall(b"bye")
        peer.close()
        time.sleep(0.1)
    replay(at, [(None, ["+CIPRXGET: 1", "CLOSED"]),
                ("AT+CIPRXGET=4", ["+CIPRXGET: 4,0", "OK"])])
    # default: the data stays readable after CLOSED
    sim2, uart2, at2 = modem()
    online(at2)
    at2.ok("AT+CIPRXGET=1")
    at2.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port)
    at2.wait_line("CONNECT OK")
    peer = sink.accept()
    peer.sendall(b"bye")
    at2.wait_line("+CIPRXGET: 1")
    peer.close()
    replay(at2, [(None, ["CLOSED"]),
                 ("AT+CIPRXGET=2,10", ["+CIPRXGET: 2,3,0", b"bye\r\n", "OK"])])
    # renotify="drained": a partial read does not re-arm the URC
    for renotify, want in (("read", [b"\r\n+CIPRXGET: 1\r\n"]), ("drained", [])):
        sim3, uart3, at3 = modem(opts={"renotify": renotify})
        online(at3)
        at3.ok("AT+CIPRXGET=1")
        at3.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port)
        at3.wait_line("CONNECT OK")
        peer = sink.accept()
        peer.sendall(b"0123456789")
        at3.wait_line("+CIPRXGET: 1")
        replay(at3, [("AT+CIPRXGET=2,4", ["+CIPRXGET: 2,4,6", b"0123\r\n", "OK"]),
                     (lambda: peer.sendall(b"X"), want)])
        replay(at3, [("AT+CIPRXGET=2,100", ["+CIPRXGET: 2,7,0", b"456789X\r\n", "OK"]),
                     (lambda: peer.sendall(b"Y"), ["+CIPRXGET: 1"])])
    # mode 5: every arrival is announced
    sim4, uart4, at4 = modem()
    online(at4)
    at4.ok("AT+CIPRXGET=5")
    at4.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port)
    at4.wait_line("CONNECT OK")
    peer = sink.accept()
    replay(at4, [(lambda: peer.sendall(b"a"), ["+CIPRXGET: 1"]),
                 (lambda: peer.sendall(b"b"), ["+CIPRXGET: 1"]),
                 ("AT+CIPRXGET=2,10", ["+CIPRXGET: 2,2,0", b"ab\r\n", "OK"])])


# ================================================================== faults
def test_fault_network_drop(modem, sink):
    sim, uart, at = modem(faults=["drop=300"])
    online(at)
    at.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port)
    at.wait_line("CONNECT OK")
    lines_until(at, ["+PDP DEACT"])
    replay(at, [("AT+CIPSTATUS", ["OK", "STATE: PDP DEACT"]),
                ("AT+CIFSR", ["ERROR"]),
                ("AT+CIPSEND", ["ERROR"]),
                ("AT+CIPSHUT", ["SHUT OK"])])
    online(at)  # CIICR brings the context back (and arms the next drop)
    assert at.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port)[:1] == ["OK"]
    at.wait_line("CONNECT OK")


def test_fault_peer_close_hold_and_urc_noise(modem, tcp_echo):
    sim, uart, at = modem(faults=["peer-close=100"])
    online(at, mux=True)
    at.cmd('AT+CIPSTART=3,"TCP","127.0.0.1",%d' % tcp_echo[1])
    assert at.wait_line("3, C") == "3, CONNECT OK"
    assert at.wait_line("3, C") == "3, CLOSED"
    assert at.cmd("AT+CIPSEND=3,2") == ["ERROR"]
    # hold: an asynchronous URC comes out inside the next reply
    sim2, uart2, at2 = modem()
    online(at2)
    at2.ok("AT+CIPRXGET=1")
    at2.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % tcp_echo[1])
    at2.wait_line("CONNECT OK")
    sim2.faults.hold = 1.0
    at2.cmd("AT+CIPSEND=3", until=b"> ")
    at2.write(b"abc")
    at2.wait_line("SEND OK")
    time.sleep(0.1)
    assert b"CIPRXGET" not in at2.drain()
    assert "+CIPRXGET: 1" in at2.cmd("AT")
    # urc noise between the lines of a reply
    sim3, uart3, at3 = modem(faults=["urc=0.5"], seed=4)
    seen = set()
    for _ in range(15):
        lines = at3.cmd("AT+CIPPING?")
        assert lines[-1] == "OK"
        seen.update(l for l in lines if not l.startswith("+CIPPING"))
    assert seen & set(sim3.noise_urcs)


def test_fault_overflow_reboot_cme(modem, sink):
    sim, uart, at = modem(faults=["overflow=1000"])
    online(at)
    at.ok("AT+CIPRXGET=1")
    at.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port)
    at.wait_line("CONNECT OK")
    peer = sink.accept()
    peer.sendall(bytes(3000))
    at.wait_line("+CIPRXGET: 1")
    time.sleep(0.2)
    replay(at, [("AT+CIPRXGET=4", ["+CIPRXGET: 4,1000", "OK"])], quiet=False)
    assert sim.links[0].conn.lost == 2000
    # reboot in the middle of a reply: state, sockets, settings gone
    sim2, uart2, at2 = modem(faults=["reboot=6"])
    online(at2)  # commands 2-4 (ATE0 was 1)
    at2.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % sink.port)  # 5
    at2.write("AT+CIPSTATUS\r")  # 6
    at2.wait_line("RDY")
    at2.wait_line("+CPIN: READY")
    at2.ok("ATE0")
    replay(at2, [("AT+CIPSTATUS", ["OK", "STATE: IP INITIAL"])])
    # cme=: an injected error with the Cat.1 text table
    sim3, uart3, at3 = modem(faults=["cme=+CIICR:149:1"])
    at3.ok("AT+CMEE=2")
    at3.ok("AT+CSTT")
    assert at3.cmd("AT+CIICR") == ["+CME ERROR: PDP authentication failure"]
    assert at3.cmd("AT+CIICR") == ["OK"]


def test_fault_chunked_output_echo_on(modem, tcp_echo):
    # chunk fault (random 1..7 byte pieces) plus FakeUART's own chunking, echo on
    sim, uart, at = modem(echo=True, chunk=(1, 5, 9), faults=["chunk=1-7", "chunk-gap-ms=0.1"],
                          seed=5)
    online(at)
    at.ok("AT+CIPRXGET=1")
    at.ok("AT+CIPQSEND=1")
    at.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % tcp_echo[1])
    at.wait_line("CONNECT OK")
    data = payload(8192, 3)
    assert roundtrip_buffered(at, data) == data


# ================================================================== 64 KiB through real servers
def payload(n, seed):
    rnd = random.Random(seed)
    data = bytearray(rnd.getrandbits(8) for _ in range(n - 256 - len(NASTY) * 4))
    data += bytes(range(256))
    for _ in range(4):
        i = rnd.randrange(len(data))
        data[i:i] = NASTY
    assert len(data) == n
    return bytes(data)


def send(at, chunk, n=None):
    cmd = "AT+CIPSEND=%d" % len(chunk) if n is None else "AT+CIPSEND=%d,%d" % (n, len(chunk))
    lines = at.cmd(cmd, until=b"> ")
    assert "ERROR" not in lines, lines
    at.write(chunk)
    line = at.wait_line(re.compile(r"^(DATA ACCEPT|SEND OK|\d, SEND OK|.*SEND FAIL)"))
    assert "FAIL" not in line, line


def rxget(at, n=None, mode=2):
    """One AT+CIPRXGET=2/3 read -> (data, bytes still buffered)."""
    lim = 1460 if mode == 2 else 730
    at.write("AT+CIPRXGET=%d,%s%d\r" % (mode, "" if n is None else "%d," % n, lim))
    at.expect(b"+CIPRXGET: %d," % mode)
    fields = at.read_until(b"\r\n").split(b",")
    cn, rest = int(fields[-2]), int(fields[-1])
    data = b""
    if cn:
        data = at.read_exact(cn if mode == 2 else 2 * cn)
        assert at.read_exact(2) == b"\r\n"
        if mode == 3:
            data = bytes.fromhex(data.decode())
    at.wait_line("OK")
    return data, rest


def roundtrip_buffered(at, data, n=None, mode=2, step=1460, deadline=40):
    end = time.monotonic() + deadline
    sent, got = 0, bytearray()
    while len(got) < len(data):
        assert time.monotonic() < end, "stuck at %d/%d" % (len(got), len(data))
        if sent < len(data):
            chunk = data[sent:sent + step]
            send(at, chunk, n)
            sent += len(chunk)
        part, rest = rxget(at, n, mode)
        got += part
        while rest:
            part, rest = rxget(at, n, mode)
            got += part
    return bytes(got)


class PushReader:
    """Byte-level reader of push mode: +IPD / +RECEIVE payloads by their length,
    the `> ` prompt, and plain lines, in the order they come."""

    def __init__(self, at):
        self.at = at

    def _need(self, dl):
        self.at._fill(dl)

    def event(self, timeout=5):
        at = self.at
        dl = time.monotonic() + timeout
        while True:
            buf = at.buf
            while buf[:2] == b"\r\n":
                del buf[:2]
            if not buf:
                self._need(dl)
                continue
            if buf[:1] == b">":
                if len(buf) < 2:
                    self._need(dl)
                    continue
                del buf[:2]
                return ("prompt", None)
            if buf[:1] == b"+" and len(buf) < 9:
                self._need(dl)
                continue
            if buf.startswith(b"+IPD,") or buf.startswith(b"+RECEIVE,"):
                end = b":\r\n" if buf.startswith(b"+RECEIVE,") else b":"
                i = buf.find(end)
                if i < 0:
                    self._need(dl)
                    continue
                # +IPD,<len>[,<proto>]: / +RECEIVE,<n>,<len>:
                fields = bytes(buf[:i]).split(b",")
                length = int(fields[1] if buf.startswith(b"+IPD,") else fields[2])
                del buf[:i + len(end)]
                return ("data", at.read_exact(length, timeout))
            i = buf.find(b"\r\n")
            if i < 0:
                self._need(dl)
                continue
            line = bytes(buf[:i]).decode("latin-1")
            del buf[:i + 2]
            return ("line", line)


def roundtrip_push(at, data, n=None, step=1460, deadline=40):
    rd = PushReader(at)
    end = time.monotonic() + deadline
    sent, got = 0, bytearray()

    def until(kind, pred=lambda v: True):
        while True:
            assert time.monotonic() < end, "stuck at %d/%d" % (len(got), len(data))
            ev, val = rd.event()
            if ev == "data":
                got.extend(val)
            elif ev == kind and pred(val):
                return val
            elif ev == "line":
                assert "ERROR" not in val and "FAIL" not in val, val
    while sent < len(data):
        chunk = data[sent:sent + step]
        at.write("AT+CIPSEND=%d\r" % len(chunk) if n is None
                 else "AT+CIPSEND=%d,%d\r" % (n, len(chunk)))
        until("prompt")
        at.write(chunk)
        until("line", lambda v: v.startswith("DATA ACCEPT") or "SEND OK" in v)
        sent += len(chunk)
    while len(got) < len(data):
        assert time.monotonic() < end, "stuck at %d/%d" % (len(got), len(data))
        ev, val = rd.event()
        assert ev == "data", (ev, val)
        got.extend(val)
    return bytes(got)


def test_tcp_echo_64k_buffered_text(modem, tcp_echo):
    sim, uart, at = modem()
    online(at)
    at.ok("AT+CIPRXGET=1")
    at.ok("AT+CIPQSEND=1")
    at.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % tcp_echo[1])
    at.wait_line("CONNECT OK")
    data = payload(65536, 1)
    assert roundtrip_buffered(at, data) == data
    assert at.cmd("AT+CIPCLOSE") == ["CLOSE OK"]


def test_tcp_echo_64k_buffered_hex_multi(modem, tcp_echo):
    sim, uart, at = modem()
    at.ok("AT+CIPRXGET=1")
    online(at, mux=True)
    at.cmd('AT+CIPSTART=2,"TCP","127.0.0.1",%d' % tcp_echo[1])
    at.wait_line("2, CONNECT OK")
    data = payload(65536, 2)
    assert roundtrip_buffered(at, data, n=2, mode=3) == data


def test_tcp_echo_64k_push_ipd(modem, tcp_echo):
    sim, uart, at = modem()
    online(at)
    at.ok("AT+CIPHEAD=1")
    at.cmd('AT+CIPSTART="TCP","127.0.0.1",%d' % tcp_echo[1])
    at.wait_line("CONNECT OK")
    data = payload(65536, 3)
    assert roundtrip_push(at, data) == data


def test_tcp_echo_64k_push_receive_multi(modem, tcp_echo):
    sim, uart, at = modem()
    online(at, mux=True)
    at.ok("AT+CIPQSEND=1")
    at.cmd('AT+CIPSTART=0,"TCP","127.0.0.1",%d' % tcp_echo[1])
    at.wait_line("0, CONNECT OK")
    data = payload(65536, 4)
    assert roundtrip_push(at, data, n=0) == data


def test_tcp_echo_64k_transparent(modem, tcp_echo):
    sim, uart, at = modem()
    at.ok("AT+CIPMODE=1")
    at.write('AT+CIPSTART="TCP","127.0.0.1",%d\r' % tcp_echo[1])
    at.wait_line("OK")
    at.wait_line("CONNECT")
    data = payload(65536, 5)
    for i in range(0, len(data), 1024):
        at.write(data[i:i + 1024])  # raw bytes: no framing, no escaping
    assert at.read_exact(len(data), timeout=20) == data


def test_udp_echo_64k_buffered(modem, udp_echo):
    sim, uart, at = modem(hosts={"udp.test": "127.0.0.1"})
    online(at)
    at.ok("AT+CIPRXGET=1")
    at.cmd('AT+CIPSTART="UDP","udp.test",%d' % udp_echo[1])
    at.wait_line("CONNECT OK")
    data = payload(65536, 6)
    assert roundtrip_buffered(at, data) == data


def test_udp_echo_64k_push_multi(modem, udp_echo):
    sim, uart, at = modem()
    online(at, mux=True)
    at.cmd('AT+CIPSTART=5,"UDP","127.0.0.1",%d' % udp_echo[1])
    at.wait_line("5, CONNECT OK")
    data = payload(65536, 7)
    assert roundtrip_push(at, data, n=5) == data


def test_udp_echo_64k_push_ipd_single(modem, udp_echo):
    sim, uart, at = modem()
    online(at)
    at.ok("AT+CIPHEAD=1")
    at.ok("AT+CIPSHOWTP=1")
    at.cmd('AT+CIPSTART="UDP","127.0.0.1",%d' % udp_echo[1])
    at.wait_line("CONNECT OK")
    data = payload(65536, 8)
    assert roundtrip_push(at, data) == data


# ================================================================== CLI
def test_cli_pty_yuge_with_option():
    import select
    p = subprocess.Popen([sys.executable, "-m", "tools.modemsim", "--dialect", "yuge",
                          "--pty", "--reg-delay-ms", "0", "--opt", "link_space=false"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        path = p.stdout.readline().strip()
        assert path.startswith("/dev/"), path
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        try:
            import termios
            import tty
            tty.setraw(fd, termios.TCSANOW)
            buf = b""
            end = time.monotonic() + 5
            os.write(fd, b"ATE0\r")
            while b"+CPIN: READY" not in buf or not buf.endswith(b"OK\r\n"):
                assert time.monotonic() < end, buf
                if select.select([fd], [], [], 0.1)[0]:
                    buf += os.read(fd, 1024)
            os.write(fd, b"AT+CGMM\r")
            buf = b""
            while not buf.endswith(b"OK\r\n"):
                assert time.monotonic() < end, buf
                if select.select([fd], [], [], 0.1)[0]:
                    buf += os.read(fd, 1024)
            assert buf == b'\r\n+CGMM: "YM310 X09"\r\n\r\nOK\r\n'
        finally:
            os.close(fd)
    finally:
        p.terminate()
        p.communicate(timeout=5)


def test_personality_lookup():
    cls = get_personality("yuge")
    assert cls.name == "yuge"
    assert cls.defaults["link_space"] is True
