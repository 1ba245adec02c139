"""Tests of the Quectel QI personality (tools/modemsim/quectel.py).

Raw AT commands over a FakeUART through tools/modemsim/rawat.py, not the cellmodem
library. Source manual: /work/shared/manuals/quectel-ugxx-qi-tcpip.txt ("UG x.y").

That copy of the UGxx manual stops inside section 2.5: of its worked examples only
the one under 2.1 (AT+QICSGP) survives, and chapter 4 ("Example") is gone. The 2.1
example and the syntax tables of 2.1-2.4 are replayed as the manual prints them. The
chapter 4 headings (4.1 context, 4.2 TCP client in buffer access mode, 4.3 transparent,
4.4 direct push, 4.5 TCP server, 4.6 UDP, 4.7 PING, 4.8 NTP, 4.9 last error code) are
replayed as "family transcripts": the QI family's publicly documented exchanges
(BG96/EC2x/BG95), with the servers' addresses and ports replaced by local ones.
"""
import random
import socket
import time

import pytest

from simfixtures import free_port

NASTY = (b'\r\nOK\r\n\x1a\x1b\x03\r\nERROR\r\nSEND OK\r\n+QIURC: "recv",0,5\r\n'
         b'+QIRD: 3\r\n> +++\r\n')
PUSH = b'+QIURC: "recv",'


# ------------------------------------------------------------------ helpers
@pytest.fixture
def modem(modem_factory):
    """make(**kw) -> (sim, uart, at): the Quectel after its banner, echo off."""
    def make(echo=False, qisde=None, **kw):
        sim, uart, at = modem_factory("quectel", **kw)
        at.wait_line("+QIND: PB DONE")
        if not echo:
            assert at.cmd("ATE0")[-1] == "OK"
        if qisde is not None:
            assert at.cmd("AT+QISDE=%d" % qisde) == ["OK"]
        return sim, uart, at
    return make


def framed(lines):
    out = b""
    for ln in lines:
        if isinstance(ln, bytes):
            out += ln  # raw piece: prompt, payload, exactly as sent
        else:
            out += b"\r\n" + ln.encode("latin-1") + b"\r\n"
    return out


def replay(at, transcript, settle=0.05, rest=True):
    """Send each command and compare the answer byte for byte with the transcript.

    Steps are (command, expected) or (command, expected, data, expected_after_data);
    expected is a list of lines (framed CR LF <line> CR LF) or raw bytes pieces.
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
    if rest:
        time.sleep(settle)
        left = at.drain()
        assert left == b"", "unexpected output after the transcript: %r" % left


def online(at, ctx=1):
    assert at.cmd("AT+QIACT=%d" % ctx) == ["OK"]


def open_sock(at, cid, stype, host, port, lport=0, mode=0, ctx=1):
    lines = at.cmd('AT+QIOPEN=%d,%d,"%s","%s",%d,%d,%d' % (ctx, cid, stype, host, port,
                                                         lport, mode))
    assert lines == ["OK"], lines
    assert at.wait_line("+QIOPEN: ") == "+QIOPEN: %d,0" % cid


class Wire:
    """Reads the modem's output in order: direct push URCs (header + payload) go to
    .data[id], other whole lines to .lines; stops at a token or a byte count."""

    def __init__(self, at):
        self.at = at
        self.data = {}
        self.lines = []
        self.pushes = 0

    def pump(self, token=None, cid=None, count=None, timeout=10):
        at, buf = self.at, self.at.buf
        dl = time.monotonic() + timeout
        while True:
            if count is not None and len(self.data.get(cid, b"")) >= count:
                return
            i = 0
            while i < len(buf) and buf[i] in b"\r\n":
                i += 1
            del buf[:i]
            if token is not None and buf.startswith(token):
                del buf[:len(token)]
                return
            j = buf.find(b"\r\n")
            parts = bytes(buf[:j]).decode("latin-1").split(",") if j >= 0 else []
            if buf.startswith(PUSH) and (j < 0 or len(parts) >= 3):
                # a direct push header (buffer mode's URC has no length after the id)
                if j >= 0:
                    n = int(parts[2])
                    if len(buf) >= j + 2 + n:
                        self.data.setdefault(int(parts[1]), bytearray()).extend(
                            buf[j + 2:j + 2 + n])
                        del buf[:j + 2 + n]
                        self.pushes += 1
                        continue
            elif buf:
                if j >= 0:
                    self.lines.append(bytes(buf[:j]).decode("latin-1"))
                    del buf[:j + 2]
                    continue
            at._fill(dl)

    def send(self, cid, chunk, dest=None):
        extra = ',"%s",%d' % dest if dest else ""
        self.at.write("AT+QISEND=%d,%d%s\r" % (cid, len(chunk), extra))
        self.pump(b"> ")
        self.at.write(chunk)
        self.pump(b"SEND OK\r\n")

    def qird(self, cid, n=1500):
        """AT+QIRD=<id>,<n> -> payload (b"" for +QIRD: 0)."""
        self.at.write("AT+QIRD=%d,%d\r" % (cid, n) if n is not None else "AT+QIRD=%d\r" % cid)
        self.pump(b"+QIRD: ")
        head = self.at.read_until(b"\r\n").decode()
        size = int(head.split(",")[0])
        data = self.at.read_exact(size) if size else b""
        self.pump(b"OK\r\n")
        return data


def payload(n, seed):
    rnd = random.Random(seed)
    data = bytearray(rnd.getrandbits(8) for _ in range(n - 256 - len(NASTY) * 4))
    data += bytes(range(256))
    for _ in range(4):
        i = rnd.randrange(len(data))
        data[i:i] = NASTY
    assert len(data) == n
    return bytes(data)


# ------------------------------------------------------------------ the manual (UG 2.1-2.4)
def test_manual_2_1_example_qicsgp(modem):
    sim, uart, at = modem()
    # UG 2.1 "Example", as printed (the comments after // are the manual's)
    replay(at, [
        ("AT+QICSGP=1", ['+QICSGP: 1,"","","",0', "OK"]),
        ('AT+QICSGP=1,1,"UNINET","","",1', ["OK"]),
    ])
    # and the stored configuration comes back in the query form
    replay(at, [("AT+QICSGP=1", ['+QICSGP: 1,"UNINET","","",1', "OK"])])


def test_manual_syntax_tables_2_1_to_2_4(modem):
    sim, uart, at = modem()
    replay(at, [
        # UG 2.1 test command, printed as the manual's table prints it
        ("AT+QICSGP=?", ["+QICSGP: (1-20),1-IPV4,<apn>,<username>,<password>,(0-3)", "OK"]),
        ('AT+QICSGP=2,1,"CMNET","user","pass",3', ["OK"]),
        ("AT+QICSGP=2", ['+QICSGP: 1,"CMNET","user","pass",3', "OK"]),
        ('AT+QICSGP=1,2,"v6apn","","",0', ["ERROR"]),  # <context_type> 1 IPV4 only
        ('AT+QICSGP=1,1,"x","","",4', ["ERROR"]),  # <authentication> 0-3
        ("AT+QICSGP=21", ["ERROR"]),  # <contextID> 1-20
        # UG 2.2
        ("AT+QIACT=?", ["+QIACT: (1-20)", "OK"]),
        ("AT+QIACT?", ["OK"]),
        ("AT+QIACT=1", ["OK"]),
        ("AT+QIACT?", ['+QIACT: 1,1,1,"10.76.51.22"', "OK"]),
        ("AT+QIACT=2", ["OK"]),
        ("AT+QIACT=3", ["OK"]),
        ("AT+QIACT=4", ["ERROR"]),  # "the maximum number ... activated ... is 3"
        ("AT+QIACT?", ['+QIACT: 1,1,1,"10.76.51.22"', '+QIACT: 2,1,1,"10.76.51.23"',
                       '+QIACT: 3,1,1,"10.76.51.24"', "OK"]),
        # UG 2.3
        ("AT+QIDEACT=?", ["+QIDEACT: (1-20)", "OK"]),
        ("AT+QIDEACT=2", ["OK"]),
        ("AT+QIDEACT=3", ["OK"]),
        ("AT+QIACT?", ['+QIACT: 1,1,1,"10.76.51.22"', "OK"]),
        # UG 2.4 (the manual's table wraps the test response; no spaces on the wire)
        ("AT+QIOPEN=?", ['+QIOPEN: (1-20),(0-11),"TCP/UDP/TCP LISTENER/UDP SERVICE",'
                         '"<IP_address>/<domain_name>",<remote_port>,<local_port>,(0-2)',
                         "OK"]),
        ("AT+QIOPEN?", ["OK"]),
    ])


def test_manual_2_4_qiopen_results(modem, tcp_echo, sink):
    sim, uart, at = modem()
    port = tcp_echo[1]
    replay(at, [
        # context not active: OK, then the result URC with a non-zero <err>
        ('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % port, ["OK", "+QIOPEN: 0,561"]),
        ("AT+QIACT=1", ["OK"]),
        # buffer access mode: OK then +QIOPEN: <connectID>,<err>, <err> 0 = success
        ('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % port, ["OK", "+QIOPEN: 0,0"]),
        # direct push mode, <local_port> and <access_mode> given
        ('AT+QIOPEN=1,1,"TCP","127.0.0.1",%d,0,1' % port, ["OK", "+QIOPEN: 1,0"]),
        # <local_port>/<access_mode> optional: buffer access mode
        ('AT+QIOPEN=1,2,"UDP","127.0.0.1",%d' % port, ["OK", "+QIOPEN: 2,0"]),
        # the id is taken (family 563), refused (566), unknown name (565)
        ('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % port, ["OK", "+QIOPEN: 0,563"]),
        ('AT+QIOPEN=1,3,"TCP","127.0.0.1",1,0,0', ["OK", "+QIOPEN: 3,566"]),
        ('AT+QIOPEN=1,3,"TCP","nosuch.example",80,0,0', ["OK", "+QIOPEN: 3,565"]),
        # parameters out of range: ERROR at once
        ('AT+QIOPEN=1,12,"TCP","127.0.0.1",%d,0,0' % port, ["ERROR"]),
        ('AT+QIOPEN=1,3,"SCTP","127.0.0.1",%d,0,0' % port, ["ERROR"]),
        ('AT+QIOPEN=1,3,"TCP","127.0.0.1",%d,0,3' % port, ["ERROR"]),
        ('AT+QIOPEN=21,3,"TCP","127.0.0.1",%d,0,0' % port, ["ERROR"]),
        ('AT+QIOPEN=1,3,"TCP"', ["ERROR"]),
        # transparent access mode: CONNECT on success, ERROR otherwise
        ('AT+QIOPEN=1,3,"TCP","127.0.0.1",1,0,2', ["ERROR"]),
        ("AT+QIGETERROR", ["+QIGETERROR: 566,socket connect failed", "OK"]),
        ('AT+QIOPEN=1,3,"TCP","127.0.0.1",%d,0,2' % sink.getsockname()[1], ["CONNECT"]),
    ])


# ------------------------------------------------------------------ family transcripts (ch. 4)
def test_family_4_1_context(modem):
    sim, uart, at = modem()
    replay(at, [
        ('AT+QICSGP=1,1,"UNINET","","",1', ["OK"]),  # 4.1.1
        ("AT+QIACT=1", ["OK"]),  # 4.1.2
        ("AT+QIACT?", ['+QIACT: 1,1,1,"10.76.51.22"', "OK"]),
        ("AT+QIACT=1", ["ERROR"]),  # family: already active
        ("AT+QIDEACT=1", ["OK"]),  # 4.1.3
        ("AT+QIACT?", ["OK"]),
    ])


def test_family_4_2_tcp_client_buffer_mode(modem, sink):
    sim, uart, at = modem(qisde=0)
    port = sink.getsockname()[1]
    online(at)
    replay(at, [
        # 4.2.1 start a TCP client in buffer access mode
        ('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % port, ["OK", "+QIOPEN: 0,0"]),
    ])
    peer, _ = sink.accept()
    lport = peer.getpeername()[1]
    replay(at, [
        ("AT+QISTATE=1,0",
         ['+QISTATE: 0,"TCP","127.0.0.1",%d,%d,2,1,0,0,"uart1"' % (port, lport), "OK"]),
        ("AT+QISTATE?",
         ['+QISTATE: 0,"TCP","127.0.0.1",%d,%d,2,1,0,0,"uart1"' % (port, lport), "OK"]),
        ("AT+QISTATE=0,1",
         ['+QISTATE: 0,"TCP","127.0.0.1",%d,%d,2,1,0,0,"uart1"' % (port, lport), "OK"]),
        ("AT+QISTATE=0,2", ["OK"]),
        # 4.2.2 send: variable length (Ctrl-Z), fixed length, query
        ("AT+QISEND=0", [b"\r\n> "], b"test1\x1a", ["SEND OK"]),
        ("AT+QISEND=0,4", [b"\r\n> "], b"test", ["SEND OK"]),
        ("AT+QISEND=0,0", ["+QISEND: 9,9,0", "OK"]),
        ('AT+QISENDEX=0,"3132333435"', ["SEND OK"]),
        ("AT+QISEND=0,0", ["+QISEND: 14,14,0", "OK"]),
    ])
    assert peer.recv(100) == b"test1test12345"
    # 4.2.3 receive
    peer.sendall(b"test1")
    assert at.wait_line('+QIURC: ') == '+QIURC: "recv",0'
    replay(at, [
        ("AT+QIRD=0,1500", ["+QIRD: 5", b"test1\r\n", "OK"]),
        ("AT+QIRD=0,1500", ["+QIRD: 0", "OK"]),
        ("AT+QIRD=0,0", ["+QIRD: 5,5,0", "OK"]),
        # 4.2.4 close
        ("AT+QICLOSE=0", ["OK"]),
        ("AT+QISTATE?", ["OK"]),
        ("AT+QIRD=0,1500", ["ERROR"]),
        ("AT+QISEND=0,3", ["ERROR"]),
    ])
    peer.close()


def test_family_4_3_transparent_mode(modem, sink):
    sim, uart, at = modem(opts={"guard_ms": 60})
    port = sink.getsockname()[1]
    online(at)
    # 4.3.1 open in transparent access mode: CONNECT, then the port is the socket
    replay(at, [('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,2' % port, ["CONNECT"])])
    peer, _ = sink.accept()
    at.write(b"AT+QISTATE?\r\n+++x")  # 4.3.2: everything is data, even AT commands
    assert peer.recv(100) == b"AT+QISTATE?\r\n+++x"
    peer.sendall(b"\r\nOK\r\nfrom server")  # 4.3.3: received data comes out raw
    assert at.read_exact(17) == b"\r\nOK\r\nfrom server"
    # 4.3.4: "+++" with a quiet guard time on both sides returns OK, buffer mode
    time.sleep(0.1)
    at.write(b"+++")
    assert at.read_exact(6, timeout=2) == b"\r\nOK\r\n"
    replay(at, [("AT+QISTATE=1,0", ['+QISTATE: 0,"TCP","127.0.0.1",%d,%d,2,1,0,0,"uart1"'
                                    % (port, peer.getpeername()[1]), "OK"])])
    peer.sendall(b"later")
    assert at.wait_line("+QIURC: ") == '+QIURC: "recv",0'
    # UG 1.2 point 5: ATO (or QISWTMD=<id>,2) goes back; buffered data comes out
    replay(at, [("ATO", ["CONNECT", b"later"])])
    at.write(b"more")
    assert peer.recv(100) == b"more"
    time.sleep(0.1)
    at.write(b"+++")
    assert at.read_exact(6, timeout=2) == b"\r\nOK\r\n"
    replay(at, [("AT+QISWTMD=0,2", ["CONNECT"])])
    # the peer goes away: NO CARRIER, the socket waits for AT+QICLOSE
    peer.close()
    assert at.read_exact(14, timeout=2) == b"\r\nNO CARRIER\r\n"
    replay(at, [("ATO", ["NO CARRIER"]), ("AT+QICLOSE=0", ["OK"])])


def test_family_4_3_plus_without_guard_is_data(modem, sink):
    sim, uart, at = modem(opts={"guard_ms": 60})
    online(at)
    replay(at, [('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,2' % sink.getsockname()[1],
                 ["CONNECT"])])
    peer, _ = sink.accept()
    time.sleep(0.1)
    at.write(b"++")  # only two pluses: after the guard time they were data
    time.sleep(0.15)
    at.write(b"x+++")  # data before: no escape
    time.sleep(0.15)
    peer.settimeout(2)
    got = b""
    while len(got) < 6:
        got += peer.recv(100)
    assert got == b"++x+++"
    assert at.drain() == b""
    peer.close()


def test_family_4_3_transparent_port_is_exclusive(modem, sink, tcp_echo):
    # UG 1.2 point 3: the port is exclusive; other services' URCs and pushes wait
    sim, uart, at = modem(qisde=0, opts={"guard_ms": 60})
    online(at)
    open_sock(at, 1, "TCP", "127.0.0.1", tcp_echo[1], mode=1)
    open_sock(at, 2, "TCP", "127.0.0.1", sink.getsockname()[1], mode=0)
    peer2, _ = sink.accept()
    replay(at, [("AT+QISEND=1,4", [b"\r\n> "], b"echo",
                 ["SEND OK", '+QIURC: "recv",1,4', b"echo\r\n"])])
    replay(at, [('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,2' % sink.getsockname()[1],
                 ["CONNECT"])])
    peer0, _ = sink.accept()
    peer2.sendall(b"for 2")  # buffer mode link 2: its URC must wait
    peer0.sendall(b"raw")
    assert at.read_exact(3) == b"raw"
    with sim.lock:  # a push for link 1 arrives while the port is transparent
        sim.net_data(sim.links[1].conn, b"late")
    time.sleep(0.15)
    assert at.drain() == b""
    at.write(b"+++")
    exp = framed(["OK", '+QIURC: "recv",1,4', b"late\r\n", '+QIURC: "recv",2'])
    assert at.read_exact(len(exp), timeout=2) == exp
    assert at.cmd("AT+QIRD=2,100") == ["+QIRD: 5", "for 2", "OK"]
    peer0.close()
    peer2.close()


def test_family_4_4_direct_push_mode(modem, sink):
    sim, uart, at = modem(qisde=0)
    port = sink.getsockname()[1]
    online(at)
    replay(at, [('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,1' % port, ["OK", "+QIOPEN: 0,0"])])
    peer, _ = sink.accept()
    replay(at, [("AT+QISEND=0,4", [b"\r\n> "], b"test", ["SEND OK"])])
    assert peer.recv(10) == b"test"
    # 4.4.3: +QIURC: "recv",<connectID>,<currentrecvlength><CR><LF><data>
    peer.sendall(b"ab\r\nOK\r\n\x00")
    assert at.read_exact(len(b'\r\n+QIURC: "recv",0,9\r\nab\r\nOK\r\n\x00\r\n')) == \
        b'\r\n+QIURC: "recv",0,9\r\nab\r\nOK\r\n\x00\r\n'
    replay(at, [("AT+QIRD=0,1500", ["ERROR"]),  # nothing to read in direct push mode
                ("AT+QIRD=0,0", ["+QIRD: 9,9,0", "OK"]),
                ("AT+QISTATE=1,0", ['+QISTATE: 0,"TCP","127.0.0.1",%d,%d,2,1,0,1,"uart1"'
                                    % (port, peer.getpeername()[1]), "OK"])])
    # QISWTMD to buffer mode: data waits for AT+QIRD; back to push: it comes out
    replay(at, [("AT+QISWTMD=0,0", ["OK"])])
    peer.sendall(b"held")
    assert at.wait_line("+QIURC: ") == '+QIURC: "recv",0'
    replay(at, [("AT+QISWTMD=0,1", ["OK", '+QIURC: "recv",0,4', b"held\r\n"])])
    # 4.4.4: the peer closes
    peer.close()
    assert at.wait_line("+QIURC: ") == '+QIURC: "closed",0'
    replay(at, [("AT+QISTATE=1,0", ['+QISTATE: 0,"TCP","127.0.0.1",%d,%d,4,1,0,1,"uart1"'
                                    % (port, sim.links[0].lport), "OK"]),
                ("AT+QISEND=0,1", ["ERROR"]),
                ("AT+QICLOSE=0", ["OK"])])


def test_family_4_5_tcp_server(modem):
    sim, uart, at = modem(qisde=0)
    online(at)
    lport = free_port()
    # 4.5.1 start a TCP server (<IP_address> "127.0.0.1" as UG 2.4 says)
    replay(at, [('AT+QIOPEN=1,1,"TCP LISTENER","127.0.0.1",0,%d,0' % lport,
                 ["OK", "+QIOPEN: 1,0"]),
                ("AT+QISTATE?",
                 ['+QISTATE: 1,"TCP LISTENER","127.0.0.1",0,%d,3,1,1,0,"uart1"' % lport,
                  "OK"])])
    # 4.5.2 accept: the module picks a free connectID (the family's examples: 11)
    c = socket.create_connection(("127.0.0.1", lport))
    cport = c.getsockname()[1]
    assert at.wait_line("+QIURC: ") == '+QIURC: "incoming",11,1,"127.0.0.1",%d' % cport
    c2 = socket.create_connection(("127.0.0.1", lport))
    assert at.wait_line("+QIURC: ") == '+QIURC: "incoming",10,1,"127.0.0.1",%d' % \
        c2.getsockname()[1]
    replay(at, [("AT+QISTATE=1,11",
                 ['+QISTATE: 11,"TCP INCOMING","127.0.0.1",%d,%d,2,1,1,0,"uart1"'
                  % (cport, lport), "OK"])])
    # 4.5.3 receive from the incoming connection (buffer access mode, UG 2.4 note 1)
    c.sendall(b"test")
    assert at.wait_line("+QIURC: ") == '+QIURC: "recv",11'
    replay(at, [("AT+QIRD=11,1500", ["+QIRD: 4", b"test\r\n", "OK"]),
                ("AT+QISEND=11,5", [b"\r\n> "], b"hello", ["SEND OK"])])
    assert c.recv(10) == b"hello"
    # 4.5.4 close the server; the accepted connections stay
    replay(at, [("AT+QICLOSE=1", ["OK"]),
                ("AT+QISTATE?",
                 ['+QISTATE: 10,"TCP INCOMING","127.0.0.1",%d,%d,2,1,1,0,"uart1"'
                  % (c2.getsockname()[1], lport),
                  '+QISTATE: 11,"TCP INCOMING","127.0.0.1",%d,%d,2,1,1,0,"uart1"'
                  % (cport, lport), "OK"]),
                ("AT+QICLOSE=11", ["OK"]), ("AT+QICLOSE=10", ["OK"])])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", lport), timeout=1)
    c.close()
    c2.close()


def test_family_4_5_incoming_full(modem):
    sim, uart, at = modem(opts={"incoming_mode": "listener"})
    online(at)
    lport = free_port()
    open_sock(at, 0, "TCP LISTENER", "127.0.0.1", 0, lport, mode=1)
    clients = []
    for want in range(11, 0, -1):
        clients.append(socket.create_connection(("127.0.0.1", lport)))
        assert at.wait_line("+QIURC: ").startswith('+QIURC: "incoming",%d,0,' % want)
    assert sim.links[5].mode == 1  # BG96: the listener's access mode
    clients.append(socket.create_connection(("127.0.0.1", lport)))
    assert at.wait_line("+QIURC: ") == '+QIURC: "incoming full"'
    clients[0].sendall(b"x")
    assert at.wait_line("+QIURC: ") == '+QIURC: "recv",11,1'
    for c in clients:
        c.close()


def test_family_4_6_udp(modem, udp_echo):
    sim, uart, at = modem(qisde=0)
    online(at)
    port = udp_echo[1]
    # 4.6 UDP client in buffer access mode
    replay(at, [('AT+QIOPEN=1,2,"UDP","127.0.0.1",%d,0,0' % port, ["OK", "+QIOPEN: 2,0"]),
                ("AT+QISEND=2,5", [b"\r\n> "], b"first", ["SEND OK"])], rest=False)
    assert at.wait_line("+QIURC: ") == '+QIURC: "recv",2'
    replay(at, [("AT+QISEND=2,6", [b"\r\n> "], b"second", ["SEND OK"])])
    time.sleep(0.1)
    # one datagram per read
    replay(at, [("AT+QIRD=2", ["+QIRD: 5", b"first\r\n", "OK"]),
                ("AT+QIRD=2", ["+QIRD: 6", b"second\r\n", "OK"]),
                ("AT+QIRD=2", ["+QIRD: 0", "OK"]),
                ("AT+QICLOSE=2", ["OK"])])


def test_family_4_6_udp_service(modem):
    sim, uart, at = modem(qisde=0)
    online(at)
    lport = free_port(socket.SOCK_DGRAM)
    replay(at, [('AT+QIOPEN=1,2,"UDP SERVICE","127.0.0.1",0,%d,0' % lport,
                 ["OK", "+QIOPEN: 2,0"])])
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(2)
    pport = peer.getsockname()[1]
    replay(at, [('AT+QISEND=2,4,"127.0.0.1",%d' % pport, [b"\r\n> "], b"ping", ["SEND OK"]),
                ("AT+QISEND=2,4", ["ERROR"])])  # UDP SERVICE needs the destination
    data, addr = peer.recvfrom(100)
    assert data == b"ping" and addr[1] == lport
    peer.sendto(b"pong", ("127.0.0.1", lport))
    assert at.wait_line("+QIURC: ") == '+QIURC: "recv",2'
    # buffer mode read names the sender
    replay(at, [("AT+QIRD=2", ['+QIRD: 4,"127.0.0.1",%d' % pport, b"pong\r\n", "OK"]),
                ("AT+QISWTMD=2,1", ["OK"])])
    peer.sendto(b"push", ("127.0.0.1", lport))
    exp = b'\r\n+QIURC: "recv",2,4,"127.0.0.1",%d\r\npush\r\n' % pport
    assert at.read_exact(len(exp)) == exp
    replay(at, [("AT+QICLOSE=2", ["OK"])])
    peer.close()


def test_family_4_7_ping(modem):
    sim, uart, at = modem(opts={"ping_ms": 5})
    replay(at, [('AT+QPING=1,"127.0.0.1"', ["ERROR"])])  # no context yet
    online(at)
    at.write('AT+QPING=1,"localhost",4,3\r')
    lines = [at.read_line() for _ in range(5)]
    assert lines[0] == "OK"
    times = []
    for ln in lines[1:4]:
        assert ln.startswith('+QPING: 0,"127.0.0.1",32,') and ln.endswith(",255"), ln
        times.append(int(ln.split(",")[3]))
    assert lines[4] == "+QPING: 0,3,3,0,%d,%d,%d" % (min(times), max(times),
                                                      sum(times) // 3)
    replay(at, [('AT+QPING=1,"nosuch.example"', ["OK", "+QPING: 565"]),
                ('AT+QPING=1,"127.0.0.1",0', ["ERROR"]),
                ('AT+QPING=1,"127.0.0.1",4,11', ["ERROR"])])
    # no ICMP from here: anything outside the machine times out, one per request
    at.write('AT+QPING=1,"192.0.2.1",1,1\r')
    assert at.read_line() == "OK"
    assert at.read_line(timeout=3) == "+QPING: 569"
    assert at.read_line() == "+QPING: 0,1,0,1,0,0,0"


def test_family_4_8_ntp_and_dns(modem):
    sim, uart, at = modem(hosts={"ntp.test": "127.0.0.1", "broker.test": "127.0.0.5"})
    online(at)
    at.write('AT+QNTP=1,"ntp.test",123\r')
    assert at.read_line() == "OK"
    ln = at.read_line()
    assert ln.startswith('+QNTP: 0,"') and ln.endswith('+00"') and len(ln) == 33, ln
    replay(at, [('AT+QNTP=1,"nosuch.test"', ["OK", "+QNTP: 565"]),
                ('AT+QIDNSGIP=1,"broker.test"',
                 ["OK", '+QIURC: "dnsgip",0,1,600', '+QIURC: "dnsgip","127.0.0.5"']),
                ('AT+QIDNSGIP=1,"nosuch.test"', ["OK", '+QIURC: "dnsgip",565']),
                ('AT+QIDNSGIP=2,"broker.test"', ["ERROR"]),
                ("AT+QIDNSCFG=1", ['+QIDNSCFG: 1,"10.76.0.1","10.76.0.2"', "OK"]),
                ('AT+QIDNSCFG=1,"8.8.8.8","8.8.4.4"', ["OK"]),
                ("AT+QIDNSCFG=1", ['+QIDNSCFG: 1,"8.8.8.8","8.8.4.4"', "OK"]),
                ('AT+QIDNSCFG=1,"dns.google"', ["ERROR"])])


def test_family_4_9_last_error_code(modem, tcp_echo):
    sim, uart, at = modem()
    online(at)
    replay(at, [
        ("AT+QIGETERROR=?", ["OK"]),
        ("AT+QIGETERROR", ["+QIGETERROR: 0,operate successfully", "OK"]),
        ('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % tcp_echo[1], ["OK", "+QIOPEN: 0,0"]),
        ('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % tcp_echo[1], ["OK", "+QIOPEN: 0,563"]),
        ("AT+QIGETERROR", ["+QIGETERROR: 563,socket identity has been used", "OK"]),
        ("AT+QISEND=0,2000", ["ERROR"]),
        ("AT+QIGETERROR", ["+QIGETERROR: 552,invalid parameters", "OK"]),
        ("AT+QIRD=5", ["ERROR"]),
        ("AT+QIGETERROR", ["+QIGETERROR: 567,socket has been closed", "OK"]),
        ("AT+QICLOSE=0", ["OK"]),
        ("AT+QIGETERROR", ["+QIGETERROR: 0,operate successfully", "OK"]),
    ])


def test_family_other_commands(modem, tcp_echo):
    sim, uart, at = modem()
    replay(at, [
        ("AT+QISDE?", ["+QISDE: 1", "OK"]),
        ("AT+QISDE=2", ["ERROR"]),
        ('AT+QICFG="transpktsize"', ['+QICFG: "transpktsize",1024', "OK"]),
        ('AT+QICFG="transpktsize",512', ["OK"]),
        ('AT+QICFG="transpktsize"', ['+QICFG: "transpktsize",512', "OK"]),
        ('AT+QICFG="tcp/keepalive",1,60,30,3', ["OK"]),
        ('AT+QICFG="dataformat",1,1', ["ERROR"]),  # hex mode: not simulated
        ('AT+QICFG="nosuch",1', ["ERROR"]),
        ("AT+QISTATE=?", ["OK"]),
        ("AT+QISEND=?", ["+QISEND: (0-11),(0-1460)", "OK"]),
        ("AT+QIRD=?", ["+QIRD: (0-11),(0-1500)", "OK"]),
        ("AT+QISWTMD=?", ["+QISWTMD: (0-11),(0-2)", "OK"]),
        ("AT+QICLOSE=?", ["+QICLOSE: (0-11),(0-65535)", "OK"]),
        ("AT+QICLOSE=3", ["OK"]),  # nothing open there: still OK
        ("AT+QICLOSE=12", ["ERROR"]),
        ("AT+QISWTMD=3,1", ["ERROR"]),
        ("ATI", ["Quectel", "UG96", "Revision: UG96LNAR02A06E1G", "OK"]),
        ("AT+CGMR", ["UG96LNAR02A06E1G", "OK"]),
        ("AT+CGMI", ["Quectel", "OK"]),
    ])


# ------------------------------------------------------------------ QISEND data echo (QISDE)
def test_qisde_echoes_the_data_by_default(modem, tcp_echo):
    sim, uart, at = modem()  # ATE0, AT+QISDE left at its default 1
    online(at)
    open_sock(at, 0, "TCP", "127.0.0.1", tcp_echo[1])
    replay(at, [("AT+QISEND=0,5", [b"\r\n> "], b"hello", [b"hello", "SEND OK",
                                                          '+QIURC: "recv",0'])])
    replay(at, [("AT+QISDE=0", ["OK"]),
                ("AT+QISEND=0,5", [b"\r\n> "], b"again", ["SEND OK"])])


# ------------------------------------------------------------------ 64 KiB round trips
def roundtrip_buffer(at, cid, data, dest=None, deadline=40):
    w = Wire(at)
    end = time.monotonic() + deadline
    sent, got = 0, bytearray()
    while len(got) < len(data):
        assert time.monotonic() < end, "stuck at %d/%d" % (len(got), len(data))
        if sent < len(data):
            chunk = data[sent:sent + 1460]
            w.send(cid, chunk, dest)
            sent += len(chunk)
        piece = w.qird(cid)
        got += piece
        if not piece and sent >= len(data):
            time.sleep(0.005)
    return bytes(got), w


def roundtrip_push(at, cid, data, deadline=40):
    w = Wire(at)
    for i in range(0, len(data), 1460):
        w.send(cid, data[i:i + 1460])
    w.pump(cid=cid, count=len(data), timeout=deadline)
    return bytes(w.data[cid]), w


def test_tcp_echo_64k_buffer_mode(modem, tcp_echo):
    sim, uart, at = modem(qisde=0)
    online(at)
    open_sock(at, 0, "TCP", "127.0.0.1", tcp_echo[1], mode=0)
    data = payload(65536, 1)
    got, w = roundtrip_buffer(at, 0, data)
    assert got == data
    assert set(w.lines) <= {'+QIURC: "recv",0'}, w.lines
    assert at.cmd("AT+QIRD=0,0") == ["+QIRD: 65536,65536,0", "OK"]
    assert at.cmd("AT+QISEND=0,0") == ["+QISEND: 65536,65536,0", "OK"]


def test_tcp_echo_64k_direct_push(modem, tcp_echo):
    sim, uart, at = modem(qisde=0)
    online(at)
    open_sock(at, 1, "TCP", "127.0.0.1", tcp_echo[1], mode=1)
    data = payload(65536, 2)
    got, w = roundtrip_push(at, 1, data)
    assert got == data
    assert w.lines == []


def test_udp_echo_64k_buffer_mode(modem, udp_echo):
    sim, uart, at = modem(qisde=0, hosts={"udp.test": "127.0.0.1"})
    online(at)
    open_sock(at, 2, "UDP", "udp.test", udp_echo[1], mode=0)
    data = payload(65536, 3)
    got, w = roundtrip_buffer(at, 2, data)
    assert got == data


def test_udp_echo_64k_direct_push(modem, udp_echo):
    sim, uart, at = modem(qisde=0)
    online(at)
    open_sock(at, 3, "UDP", "127.0.0.1", udp_echo[1], mode=1)
    data = payload(65536, 4)
    got, w = roundtrip_push(at, 3, data)
    assert got == data
    assert w.pushes == 45  # one push per datagram (44 x 1460 + 1)


def test_tcp_echo_64k_transparent(modem, tcp_echo):
    sim, uart, at = modem()
    online(at)
    assert at.cmd('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,2' % tcp_echo[1]) == ["CONNECT"]
    data = payload(65536, 5)
    for i in range(0, len(data), 4096):
        at.write(data[i:i + 4096])
    assert at.read_exact(len(data), timeout=20) == data


def test_tcp_echo_chunked_output_echo_on(modem, tcp_echo):
    # chunk fault (1..7 byte pieces) plus FakeUART's own chunking, ATE1
    sim, uart, at = modem(echo=True, qisde=0, chunk=(1, 5, 9), faults=["chunk=1-7"], seed=5)
    online(at)
    assert at.cmd('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,1' % tcp_echo[1]) == ["OK"]
    assert at.wait_line("+QIOPEN: ") == "+QIOPEN: 0,0"
    at.ok("ATE0")
    data = payload(8192, 6)
    got, w = roundtrip_push(at, 0, data)
    assert got == data


# ------------------------------------------------------------------ quirks and faults
def test_qird_without_length_reads_up_to_1500(modem, sink):
    sim, uart, at = modem()
    online(at)
    open_sock(at, 0, "TCP", "127.0.0.1", sink.getsockname()[1])
    peer, _ = sink.accept()
    peer.sendall(bytes(range(256)) * 16)  # 4096 bytes
    at.wait_line('+QIURC: "recv",0')
    time.sleep(0.1)
    w = Wire(at)
    sizes = [len(w.qird(0, None)) for _ in range(4)]
    assert sizes == [1500, 1500, 1096, 0]
    assert at.cmd("AT+QIRD=0,1501") == ["ERROR"]
    peer.close()


def test_recv_urc_not_repeated_until_drained(modem, sink):
    sim, uart, at = modem()
    online(at)
    open_sock(at, 0, "TCP", "127.0.0.1", sink.getsockname()[1])
    peer, _ = sink.accept()
    peer.sendall(b"one")
    assert at.wait_line("+QIURC: ") == '+QIURC: "recv",0'
    peer.sendall(b"two")
    time.sleep(0.1)
    peer.sendall(b"three")
    time.sleep(0.1)
    assert at.drain() == b""  # UG 1.2: no new URC while the buffer is not empty
    assert at.cmd("AT+QIRD=0,4") == ["+QIRD: 4", "onet", "OK"]
    peer.sendall(b"four")
    time.sleep(0.1)
    assert at.drain() == b""  # still not empty
    assert at.cmd("AT+QIRD=0,100") == ["+QIRD: 11", "wothreefour", "OK"]
    peer.sendall(b"five")
    assert at.wait_line("+QIURC: ") == '+QIURC: "recv",0'  # drained: notified again
    peer.close()


def test_option_recv_len(modem, sink):
    sim, uart, at = modem(opts={"recv_len": True})
    online(at)
    open_sock(at, 4, "TCP", "127.0.0.1", sink.getsockname()[1])
    peer, _ = sink.accept()
    peer.sendall(b"12345")
    assert at.wait_line("+QIURC: ") == '+QIURC: "recv",4,5'
    assert at.drain() == b""  # only a header: no data follows it in buffer mode
    assert at.cmd("AT+QIRD=4,1500") == ["+QIRD: 5", "12345", "OK"]
    peer.close()


def test_peer_close_keeps_unread_data(modem, sink):
    sim, uart, at = modem()
    online(at)
    open_sock(at, 0, "TCP", "127.0.0.1", sink.getsockname()[1])
    peer, _ = sink.accept()
    with sim.lock:  # data and close arrive together
        peer.sendall(b"bye")
        peer.close()
        time.sleep(0.1)
    assert at.wait_line("+QIURC: ") == '+QIURC: "recv",0'
    assert at.wait_line("+QIURC: ") == '+QIURC: "closed",0'
    assert at.cmd("AT+QIRD=0,100") == ["+QIRD: 3", "bye", "OK"]
    assert at.cmd("AT+QISTATE=1,0")[0].split(",")[5] == "4"  # closing
    assert at.cmd("AT+QISEND=0,1") == ["ERROR"]
    at.ok("AT+QICLOSE=0")


def test_option_close_discards(modem, sink):
    sim, uart, at = modem(opts={"close_discards": True})
    online(at)
    open_sock(at, 0, "TCP", "127.0.0.1", sink.getsockname()[1])
    peer, _ = sink.accept()
    with sim.lock:
        peer.sendall(b"bye")
        peer.close()
        time.sleep(0.1)
    assert at.wait_line("+QIURC: ") == '+QIURC: "recv",0'
    assert at.read_line() == '+QIURC: "closed",0'
    assert at.cmd("AT+QIRD=0,100") == ["+QIRD: 0", "OK"]


def test_option_open_result_late_inside_other_reply(modem, sink):
    sim, uart, at = modem(opts={"open_result_in_reply": True, "connect_ms": 80})
    online(at)
    assert at.cmd('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % sink.getsockname()[1]) == ["OK"]
    assert at.cmd("AT+QISTATE=1,0")[0].split(",")[5] == "1"  # opening
    assert at.cmd("AT+QISEND=0,1") == ["ERROR"]  # not connected yet
    time.sleep(0.15)
    assert at.drain() == b""  # held back ...
    lines = at.cmd("AT+CSQ")
    assert "+QIOPEN: 0,0" in lines and lines[-1] == "OK"  # ... inside the next reply
    assert at.cmd("AT+QISTATE=1,0")[0].split(",")[5] == "2"


def test_option_connect_ms_and_close_while_opening(modem, sink):
    sim, uart, at = modem(opts={"connect_ms": 100})
    online(at)
    assert at.cmd('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % sink.getsockname()[1]) == ["OK"]
    at.ok("AT+QICLOSE=0")  # family: QICLOSE when +QIOPEN does not come in time
    time.sleep(0.2)
    assert at.drain() == b""
    t0 = time.monotonic()
    assert at.cmd('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % sink.getsockname()[1]) == ["OK"]
    assert at.wait_line("+QIOPEN: ") == "+QIOPEN: 0,0"
    assert time.monotonic() - t0 >= 0.09


def test_plain_error_even_with_cmee2_and_option_qi_cme(modem):
    sim, uart, at = modem()
    online(at)
    replay(at, [("AT+CMEE=2", ["OK"]),
                ("AT+QISEND=0,5", ["ERROR"]),
                ("AT+QIRD=0,5", ["ERROR"]),
                ("AT+QIACT=1", ["ERROR"]),
                ("AT+NOSUCH", ["ERROR"]),
                ("AT+CPIN?", ["+CPIN: READY", "OK"])])
    sim2, uart2, at2 = modem(opts={"qi_cme": True})
    replay(at2, [("AT+QIRD=0,5", ["ERROR"]),  # CMEE 0: plain
                 ("AT+CMEE=1", ["OK"]),
                 ("AT+QIRD=0,5", ["+CME ERROR: 567"]),
                 ("AT+CMEE=2", ["OK"]),
                 ("AT+QISEND=0,9999", ["+CME ERROR: invalid parameters"])])


def test_option_send_fail(modem, tcp_echo):
    sim, uart, at = modem(qisde=0, opts={"send_fail": 1})
    online(at)
    open_sock(at, 0, "TCP", "127.0.0.1", tcp_echo[1])
    replay(at, [("AT+QISEND=0,3", [b"\r\n> "], b"abc", ["SEND FAIL"]),
                ("AT+QISEND=0,0", ["+QISEND: 0,0,0", "OK"]),
                ("AT+QISEND=0,3", [b"\r\n> "], b"abc", ["SEND OK", '+QIURC: "recv",0'])])
    # ESC cancels variable-length input: nothing sent
    replay(at, [("AT+QISEND=0", [b"\r\n> "], b"xyz\x1b", ["SEND FAIL"]),
                ("AT+QISEND=0,0", ["+QISEND: 3,3,0", "OK"])])


def test_fault_network_drop_pdpdeact(modem, tcp_echo):
    sim, uart, at = modem(faults=["drop=150"])
    online(at)
    open_sock(at, 0, "TCP", "127.0.0.1", tcp_echo[1])
    assert at.wait_line("+QIURC: ", timeout=3) == '+QIURC: "pdpdeact",1'
    assert at.drain() == b""  # no "closed" per socket: pdpdeact says it all
    replay(at, [("AT+QISTATE=1,0", ['+QISTATE: 0,"TCP","127.0.0.1",%d,%d,4,1,0,0,"uart1"'
                                    % (tcp_echo[1], sim.links[0].lport), "OK"]),
                ("AT+QISEND=0,3", ["ERROR"]),
                ("AT+QIACT?", ["OK"]),
                ("AT+QIACT=1", ["ERROR"]),  # family: AT+QIDEACT first
                ("AT+QIDEACT=1", ["OK"]),
                ("AT+QISTATE?", ["OK"]),  # QIDEACT closed the dead sockets too
                ("AT+QIACT=1", ["OK"])])
    open_sock(at, 0, "TCP", "127.0.0.1", tcp_echo[1])


def test_cfun0_drops_contexts(modem, tcp_echo):
    sim, uart, at = modem(opts={"pdpdeact_needs_qideact": False})
    online(at)
    online(at, 2)
    replay(at, [("AT+CFUN=0", ["OK", '+QIURC: "pdpdeact",1', '+QIURC: "pdpdeact",2']),
                ("AT+QIACT=1", ["ERROR"]),  # no service
                ("AT+CFUN=1", ["OK"]),
                ("AT+QIACT=1", ["OK"])])


def test_fault_hold_and_noise_urcs(modem, sink):
    sim, uart, at = modem(faults=["hold=1.0", "urc=0.3"], seed=3)
    assert at.cmd("AT+QIACT=1")[-1] == "OK"
    lines = at.cmd('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % sink.getsockname()[1])
    assert lines[-1] == "OK"
    seen = list(lines)
    for _ in range(10):
        seen += at.cmd("AT+QIACT?")
        if "+QIOPEN: 0,0" in seen:
            break
    assert "+QIOPEN: 0,0" in seen  # held, then released inside a later reply
    peer, _ = sink.accept()
    peer.sendall(b"x")
    time.sleep(0.1)
    lines = at.cmd("AT+CSQ")
    assert '+QIURC: "recv",0' in lines + at.seen
    noise = set(sim.noise_urcs)
    for _ in range(20):
        if noise & set(at.cmd("AT+QIACT?")):
            break
    else:
        pytest.fail("no noise URC injected")
    peer.close()


def test_noise_urcs_never_split_the_qird_header_from_its_payload(modem, sink):
    # family 2.8: +QIRD: <read_actual_length><CR><LF><data> - a URC may come before
    # the header or after the data, never between them
    sim, uart, at = modem(faults=["urc=1.0"], seed=4)
    assert at.cmd("AT+QISDE=0")[-1] == "OK"
    assert at.cmd("AT+QIACT=1")[-1] == "OK"
    assert at.cmd('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % sink.getsockname()[1])[-1] == "OK"
    peer, _ = sink.accept()
    for i in range(5):
        peer.sendall(b"data%d" % i)
        at.wait_line('+QIURC: "recv",0')
        at.write("AT+QIRD=0,1500\r")
        at.read_until(b"+QIRD: 5\r\n")
        assert at.read_exact(5) == b"data%d" % i
        assert at.read_until(b"\r\nOK\r\n")
    peer.close()


def test_rejected_apn_fails_qiact_with_561(modem):
    # UG 2.2: AT+QIACT answers OK or ERROR; the network refused the APN of AT+QICSGP
    sim, uart, at = modem(reject_apns=["blocked.apn"])
    replay(at, [('AT+QICSGP=1,1,"blocked.apn","","",0', ["OK"]),
                ("AT+QIACT=1", ["ERROR"]),
                ("AT+QIGETERROR", ["+QIGETERROR: 561,open PDP context failed", "OK"]),
                ("AT+QIACT?", ["OK"]),
                ('AT+QICSGP=1,1,"internet","","",0', ["OK"]),
                ("AT+QIACT=1", ["OK"])])
    sim2, uart2, at2 = modem(reject_apns=["blocked.apn"], opts={"qi_cme": True})
    replay(at2, [("AT+CMEE=1", ["OK"]),
                 ('AT+QICSGP=1,1,"blocked.apn","","",0', ["OK"]),
                 ("AT+QIACT=1", ["+CME ERROR: 561"])])


def test_fault_overflow(modem, sink):
    sim, uart, at = modem(faults=["overflow=1000"])
    online(at)
    open_sock(at, 0, "TCP", "127.0.0.1", sink.getsockname()[1])
    peer, _ = sink.accept()
    peer.sendall(bytes(3000))
    at.wait_line('+QIURC: "recv",0')
    time.sleep(0.2)
    assert at.cmd("AT+QIRD=0,0") == ["+QIRD: 1000,0,1000", "OK"]
    w = Wire(at)
    assert len(w.qird(0)) == 1000
    assert w.qird(0) == b""
    assert sim.links[0].conn.lost == 2000
    peer.close()


def test_fault_reboot_mid_session(modem, tcp_echo):
    sim, uart, at = modem(faults=["reboot=4"])
    online(at)  # command 2 (ATE0 was 1)
    open_sock(at, 0, "TCP", "127.0.0.1", tcp_echo[1])  # 3
    at.write("AT+QISTATE?\r")  # 4: reboots part way through the reply
    at.wait_line("RDY")
    at.wait_line("+QIND: PB DONE")
    at.write("AT+QIACT?\r")
    assert at.read_line() == "AT+QIACT?"  # echo is back on
    assert at.read_line() == "OK"  # no context
    assert at.cmd("AT+QISTATE?") == ["OK"]


def test_banner_locked_sim_and_registration(modem_factory):
    sim, uart, at = modem_factory("quectel", sim="locked", reg_delay_ms=50)
    exp = framed(["RDY", "+CFUN: 1", "+CPIN: SIM PIN"])
    assert at.read_exact(len(exp)) == exp
    at.ok("ATE0")
    assert at.cmd("AT+QIACT=1") == ["ERROR"]
    assert at.cmd('AT+CPIN="1234"') == ["OK"]
    assert at.read_line() == "+CPIN: READY"
    assert at.read_line() == "+QIND: SMS DONE"
    assert at.read_line() == "+QIND: PB DONE"
    time.sleep(0.1)
    assert at.cmd("AT+QIACT=1") == ["OK"]


def test_banner_ready(modem_factory):
    sim, uart, at = modem_factory("quectel")
    exp = framed(["RDY", "+CFUN: 1", "+CPIN: READY", "+QIND: SMS DONE", "+QIND: PB DONE"])
    assert at.read_exact(len(exp)) == exp
