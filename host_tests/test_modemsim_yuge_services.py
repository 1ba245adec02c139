"""The yuge personality's own services in the simulator (tools/modemsim/yuge_services.py,
tools/modemsim/yuge_ftp.py), as raw AT transcripts over a FakeUART (tools/modemsim/
rawat.py, not the cellmodem library), against REAL servers on 127.0.0.1: pyftpdlib
(ftp_server) and an SNTP responder (ntp_server) from servicefixtures.

Manual transcripts replayed: 7.1 (NTP), 8.12 (both halves: flash and SD card), 12.29
(FTPGET, FTPPUT, FTPEXTGET, FTPEXTPUT, FTPGETTOFS, FTPPUTFRMFS, FTPFILEPUT, remote
MKD/RMD/DELE, in one module session as the manual runs them), 9.33/9.34 (heartbeat).
Adaptations: the manual's servers (36.7.2.150, ...) are "ftp.example" -> 127.0.0.1
with AT+FTPPORT set to the server's free port (the manual's servers listen on 21);
file contents are ours; lines the PDF flattened ("testdir\\ test.txt OK") are one per
line; `+FTPGET: 2, 10` (a stray space in 12.29) is `+FTPGET: 2,10` as in 12.16.
"""
import hashlib
import os
import re
import time

import pytest

from servicefixtures import FIXED_UTC, ftp_server, ntp_server  # noqa: F401 (fixtures)
from tools.modemsim import get_personality

HOSTS = {"ftp.example": "127.0.0.1", "ntp.example": "127.0.0.1"}


@pytest.fixture
def modem(modem_factory):
    def make(**opts):
        sim, uart, at = modem_factory(get_personality("yuge"), hosts=HOSTS, opts=opts)
        time.sleep(0.05)
        at.drain()
        assert at.cmd("ATE0")[-1] == "OK"
        at.drain()
        return sim, uart, at
    return make


def replay(at, script):
    """script: [(command, [expected lines up to the final result])]."""
    for cmd, want in script:
        got = at.cmd(cmd)
        assert got == want, (cmd, got, want)


def urc(at, prefix, timeout=10):
    for i, ln in enumerate(at.seen):
        if ln.startswith(prefix):
            return at.seen.pop(i)
    return at.wait_line(prefix, timeout=timeout)


# ---------------------------------------------------------------- 8.12 file system
def test_8_12_flash_example_replayed(modem):
    sim, uart, at = modem()
    replay(at, [
        ('AT+FSMKDIR="/testdir"', ["OK"]),
        ('AT+FSMKDIR="/testdir/testdir"', ["OK"]),
        ('AT+FSCREATE="/testdir/test.txt"', ["OK"]),
        ('AT+FSLS="/testdir"', ["testdir\\", "test.txt", "OK"]),
    ])
    assert at.cmd('AT+FSWRITE="/testdir/test.txt",0,10,10', until=b">") == []
    at.write(b"1234567890")
    assert at.wait_line("OK") == "OK"
    replay(at, [
        ('AT+FSREAD="/testdir/test.txt",0,10,10', ["1234567890", "OK"]),
        ("AT+FSMEM", ["+FSMEM: 1304000 bytes", "OK"]),
        ('AT+FSFSIZE="/testdir/test.txt"', ["+FSFSIZE: 10", "OK"]),
        ('AT+FSDEL="/testdir/test.txt"', ["OK"]),
        ('AT+FSRMDIR="/testdir/testdir"', ["OK"]),
    ])


def test_8_12_sd_card_example_replayed(modem):
    sim, uart, at = modem()
    replay(at, [
        ('AT+FSMKDIR="D:/testdir"', ["OK"]),
        ('AT+FSMKDIR="D:/testdir/testdir"', ["OK"]),
        ('AT+FSCREATE="D:/testdir/test.txt"', ["OK"]),
        ('AT+FSLS="D:/testdir"', ["testdir\\", "test.txt", "OK"]),
    ])
    at.cmd('AT+FSWRITE="D:/testdir/test.txt",0,10,10', until=b">")
    at.write(b"1234567890")
    assert at.wait_line("OK") == "OK"
    replay(at, [
        ('AT+FSREAD="D:/testdir/test.txt",1,5,2', ["34567", "OK"]),
        ('AT+FSFSIZE="D:/testdir/test.txt"', ["+FSFSIZE: 10", "OK"]),
        ('AT+FSDEL="D:/testdir/test.txt"', ["OK"]),
        ('AT+FSRMDIR="D:/testdir/testdir"', ["OK"]),
        ("AT+FSDRIVE=0", ["+FSDRIVE: C", "OK"]),
        ("AT+FSDRIVE=1", ["+FSDRIVE: D", "OK"]),
    ])


def test_fsreadhead_counts_binary_data_exactly(modem):
    sim, uart, at = modem()
    data = b"\r\nOK\r\n\x00\xff>ERROR\r\n"
    at.ok("AT+FSCREATE=bin.dat")  # 8.1 syntax: no quotes needed
    at.cmd("AT+FSWRITE=bin.dat,0,%d,5" % len(data), until=b">")
    at.write(data)
    at.wait_line("OK")
    assert at.ok("AT+FSREADHEAD=1") == [] and at.ok("AT+FSREADHEAD?") == ["+FSREADHEAD: 1"]
    at.write("AT+FSREAD=bin.dat,1,100,2\r")
    at.expect(b"+FSREAD: %d\r\n" % (len(data) - 2))
    assert at.read_exact(len(data) - 2) == data[2:]
    assert at.wait_line("OK") == "OK"


def test_fs_failures_are_plain_error(modem):
    sim, uart, at = modem(sd_card=False)
    at.ok('AT+FSMKDIR="/d"')
    at.ok('AT+FSCREATE="/d/f"')
    assert at.cmd('AT+FSCREATE="/d/f"') == ["OK"]  # again: OK (13.14 does it)
    for cmd in ('AT+FSCREATE="/d"', 'AT+FSCREATE="/nodir/f"', 'AT+FSRMDIR="/d"',
                'AT+FSDEL="/missing"', 'AT+FSREAD="/d/f",1,5,0', 'AT+FSREAD="/d/f",0,10241,0',
                'AT+FSFSIZE="/missing"', 'AT+FSMKDIR="D:/x"', "AT+FSDRIVE=1",
                'AT+FSCREATE="%s"' % ("n" * 65), 'AT+FSWRITE="/missing",0,1,1'):
        assert at.cmd(cmd) == ["ERROR"], cmd


def test_fswrite_input_timeout_says_timeout(modem):
    sim, uart, at = modem()
    at.ok('AT+FSCREATE="/t"')
    at.cmd('AT+FSWRITE="/t",0,10,1', until=b">")
    at.write(b"123")
    assert at.wait_line("TimeOut", timeout=3) == "TimeOut"
    assert at.ok('AT+FSFSIZE="/t"') == ["+FSFSIZE: 0"]


def test_file_system_survives_a_reboot(modem):
    sim, uart, at = modem()
    at.ok('AT+FSCREATE="/keep"')
    sim.reboot()
    at.wait_line("RDY")
    at.cmd("ATE0")
    at.drain()
    assert at.ok('AT+FSFSIZE="/keep"') == ["+FSFSIZE: 0"]


# ---------------------------------------------------------------- 7.1 NTP
def test_7_1_example_replayed_against_a_local_sntp_server(modem, ntp_server):
    sim, uart, at = modem(ntp_port=ntp_server.port)
    replay(at, [
        ('AT+SAPBR=3,1,"Contype","GPRS"', ["OK"]),
        ('AT+SAPBR=3,1,"APN",""', ["OK"]),
        ("AT+SAPBR=1,1", ["OK"]),
        # not in the example: the server (and zone +32) the module asks
        ('AT+CNTP="ntp.example",32', ["OK"]),
        ("AT+CNTPCID=1", ["OK"]),
        ("AT+CNTP", ["OK"]),
    ])
    assert urc(at, "+CNTP:") == "+CNTP:1"
    (line, ok) = at.cmd("AT+CCLK?")
    assert ok == "OK" and re.fullmatch(r'\+CCLK: "18/05/16,15:49:(2[89]|3\d)\+32"', line), line
    assert ntp_server.queries == 1
    assert at.ok("AT+CNTP?") == ['+CNTP: "ntp.example",32,5']


@pytest.mark.parametrize("case,code", [("unknown", 62), ("refused", 63), ("bad", 64),
                                       ("nobearer", 61)])
def test_cntp_failures_give_the_7_1_codes(modem, ntp_server, case, code):
    port = ntp_server.port
    if case == "refused":
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
    ntp_server.mode = "bad" if case == "bad" else "ok"
    sim, uart, at = modem(ntp_port=port)
    if case == "nobearer":
        at.ok("AT+SAPBR=0,1")
    at.ok('AT+CNTP="%s"' % ("nowhere.example" if case == "unknown" else "ntp.example"))
    at.ok("AT+CNTP")
    assert urc(at, "+CNTP:") == "+CNTP:%d" % code


def test_cclk_set_and_read_back(modem):
    sim, uart, at = modem()
    at.ok('AT+CCLK="24/02/29,23:59:58-08"')
    line = at.ok("AT+CCLK?")[0]
    assert re.fullmatch(r'\+CCLK: "24/0(2/29,23:59:5[89]|3/01,00:00:0\d)-08"', line), line
    assert at.cmd('AT+CCLK="24/13/01,00:00:00+00"') == ["ERROR"]


# ---------------------------------------------------------------- 9.33-9.36
def test_9_33_and_9_34_heartbeat_examples_replayed(modem):
    sim, uart, at = modem()
    replay(at, [
        ("AT^HEARTCONFIG?", ["^HEARTCONFIG: 0,0,120", "OK"]),
        ("AT^HEARTCONFIG=1,0,180", ["OK"]),
        ("AT^HEARTCONFIG?", ["^HEARTCONFIG: 1,0,180", "OK"]),
        ("AT^HEARTBEAT?", ["^HEARTBEAT: 0,%s" % sim.imei, "OK"]),
        ("AT^HEARTBEAT=0,TCP-heart", ["OK"]),
        ("AT^HEARTBEAT?", ["^HEARTBEAT: 0,TCP-heart", "OK"]),
        ("AT^HEARTCONFIG=0", ["OK"]),
        ("AT^HEARTINQUIRE?", ["^HEARTINQUIRE: 0,0,0", "OK"]),
        ("AT+CIPTKA=1,60,30,3", ["OK"]),
        ("AT+CIPTKA?", ["+CIPTKA:1,60,30,3", "OK"]),
    ])


# ---------------------------------------------------------------- 12.29 FTP
def ftp_login(at, port, user="user556", pw="222333"):
    replay(at, [
        ('AT+SAPBR=3,1,"CONTYPE","GPRS"', ["OK"]),
        ('AT+SAPBR=3,1,"APN",""', ["OK"]),
        ("AT+SAPBR=1,1", ["OK"]),
        ("AT+FTPCID=1", ["OK"]),
        ('AT+FTPSERV="ftp.example"', ["OK"]),
        ("AT+FTPPORT=%d" % port, ["OK"]),  # not in 12.29: its servers listen on 21
        ('AT+FTPUN="%s"' % user, ["OK"]),
        ('AT+FTPPW="%s"' % pw, ["OK"]),
    ])


def test_12_29_ftpget_example_replayed(modem, ftp_server):
    for i in range(40):  # a LIST longer than one 1460-byte read, as in 12.29
        open(ftp_server.path("file%02d.txt" % i), "wb").write(b"x" * i)
    open(ftp_server.path("1.txt"), "wb").write(b"0123456789")
    sim, uart, at = modem()
    ftp_login(at, ftp_server.port)
    replay(at, [('AT+FTPGETPATH="/"', ["OK"]), ("AT+FTPLIST=1", ["OK"])])
    assert urc(at, "+FTPLIST:") == "+FTPLIST: 1,1"
    # the whole listing in the module's buffer first, so the read is a full 1460
    deadline = time.monotonic() + 5
    while not sim.ftp_job.finished and time.monotonic() < deadline:
        time.sleep(0.01)
    at.write("AT+FTPLIST=2,1460\r")
    at.expect(b"+FTPLIST: 2,1460\r\n")
    listing = at.read_exact(1460)
    assert b"1.txt\r\n" in listing and listing.startswith(b"-rw")
    assert at.wait_line("OK") == "OK"
    assert at.cmd("AT+FTPQUIT") == ["OK"]  # ends the FTPLIST session early
    assert urc(at, "+FTPLIST:") == "+FTPLIST: 1,86"
    replay(at, [('AT+FTPGETNAME="1.txt"', ["OK"]), ("AT+FTPGET=1", ["OK"])])
    assert urc(at, "+FTPGET:") == "+FTPGET: 1,1"
    assert at.cmd("AT+FTPGET=2,20") == ["+FTPGET: 2,10", "0123456789", "OK"]
    assert urc(at, "+FTPGET:") == "+FTPGET: 1,0"
    replay(at, [("AT+FTPREST=6", ["OK"]), ("AT+FTPGET=1", ["OK"])])
    assert urc(at, "+FTPGET:") == "+FTPGET: 1,1"
    assert at.cmd("AT+FTPQUIT") == ["OK"]
    assert urc(at, "+FTPGET:") == "+FTPGET: 1,86"
    # resume: REST 6 gives the last 4 bytes
    at.ok("AT+FTPGET=1")
    urc(at, "+FTPGET: 1,1")
    assert at.cmd("AT+FTPGET=2,20") == ["+FTPGET: 2,4", "6789", "OK"]
    assert urc(at, "+FTPGET:") == "+FTPGET: 1,0"


def _failing_session(sim, kill):
    """Run one FTP worker body in this thread (its exceptions come out here) that fails
    as ftplib does when its sockets were closed under it: reading from None."""
    from tools.modemsim.yuge_ftp import Job
    job = Job("GET", "+FTPGET")
    sim.ftp_job = job

    def run(job, ftp, p):
        if kill:
            sim._ftp_kill(job)  # what AT+FTPQUIT does from the AT thread
        ftp.readline()  # ftplib's getline on the file close() set to None

    sim._ftp_login = lambda job, ip, p: None
    sim._ftp_worker(job, "127.0.0.1", {}, run)


def test_a_worker_whose_session_was_quit_under_it_ends_quietly(modem):
    # AT+FTPQUIT (or a reset) closes the session while its worker thread may be inside
    # ftplib, which then fails with AttributeError: that worker ends without an
    # unhandled thread error and without a result URC for a session that is over
    sim, uart, at = modem()
    _failing_session(sim, kill=True)
    assert b"+FTPGET" not in at.drain()


def test_the_same_failure_in_a_live_session_is_not_hidden(modem):
    sim, uart, at = modem()
    with pytest.raises(AttributeError):
        _failing_session(sim, kill=False)


def test_12_29_ftpput_example_replayed(modem, ftp_server):
    os.mkdir(ftp_server.path("11"))
    sim, uart, at = modem()
    ftp_login(at, ftp_server.port, "user556", "222333")
    replay(at, [('AT+FTPPUTNAME="1222.txt"', ["OK"]), ('AT+FTPPUTPATH="/11/"', ["OK"]),
                ("AT+FTPPUT=1", ["OK"])])
    assert urc(at, "+FTPPUT:") == "+FTPPUT: 1,1,1360"
    assert at.cmd("AT+FTPPUT=2,7", until="+FTPPUT: 2,7") == ["+FTPPUT: 2,7"]
    at.write(b"1222abc")
    assert at.wait_line("OK") == "OK"
    assert at.cmd("AT+FTPPUT=2,0") == ["OK"]  # (12.17) instead of waiting for idle
    assert urc(at, "+FTPPUT:") == "+FTPPUT: 1,0"
    assert open(ftp_server.path("11", "1222.txt"), "rb").read() == b"1222abc"
    # the 12.29 alternative: FTPQUIT before "+FTPPUT: 1,0"
    at.ok("AT+FTPPUT=1")
    urc(at, "+FTPPUT: 1,1")
    assert at.cmd("AT+FTPQUIT") == ["OK"]
    assert urc(at, "+FTPPUT:") == "+FTPPUT: 1,86"


def test_12_29_ext_fs_and_remote_examples_replayed_in_one_session(modem, ftp_server):
    os.mkdir(ftp_server.path("11"))
    test2 = bytes(range(256)) * 1000  # 256000 bytes: under the 300 KB of 12.18
    open(ftp_server.path("11", "TEST2.txt"), "wb").write(test2)
    mp3 = os.urandom(245900)  # the size 12.29 shows
    open(ftp_server.path("11", "TEST.mp3"), "wb").write(mp3)
    open(ftp_server.path("HI.txt"), "wb").write(b"hi")
    sim, uart, at = modem()
    ftp_login(at, ftp_server.port)
    # FTPEXTGET
    replay(at, [('AT+FTPGETNAME="TEST2.txt"', ["OK"]), ('AT+FTPGETPATH="/11/"', ["OK"]),
                ("AT+FTPEXTGET=1", ["OK"])])
    q = at.ok("AT+FTPEXTGET?")[0]
    assert re.fullmatch(r"\+FTPEXTGET: (1,\d+|0,256000)", q), q
    assert urc(at, "+FTPEXTGET:") == "+FTPEXTGET: 1,0"
    assert at.cmd("AT+FTPEXTGET=2,hello") == ["+FTPEXTGET: 2,256000", "OK"]
    at.write("AT+FTPEXTGET=3,0,256000\r")
    at.expect(b"+FTPEXTGET: 3,256000\r\n")
    assert at.read_exact(256000) == test2
    assert at.wait_line("OK") == "OK"
    assert at.cmd("AT+FTPEXTGET=0") == ["OK"]
    # FTPEXTPUT: "1234567890AB" on the server (12.29's words)
    replay(at, [('AT+FTPPUTPATH="/11/"', ["OK"]), ('AT+FTPPUTNAME="TEST8861.txt"', ["OK"]),
                ("AT+FTPEXTPUT=1", ["OK"])])
    assert at.cmd("AT+FTPEXTPUT=2,0,5,10000", until="+FTPEXTPUT: 0,5") == ["+FTPEXTPUT: 0,5"]
    at.write(b"12345")
    at.wait_line("OK")
    assert at.cmd("AT+FTPEXTPUT=2,5,7,10000", until="+FTPEXTPUT: 5,7") == ["+FTPEXTPUT: 5,7"]
    at.write(b"67890AB")
    at.wait_line("OK")
    assert at.cmd("AT+FTPPUT=1") == ["OK"]
    assert urc(at, "+FTPPUT:") == "+FTPPUT: 1,0"
    assert open(ftp_server.path("11", "TEST8861.txt"), "rb").read() == b"1234567890AB"
    assert at.cmd("AT+FTPEXTPUT=0") == ["OK"]
    # FTPGETTOFS
    replay(at, [('AT+FTPGETNAME="TEST.mp3"', ["OK"]), ('AT+FTPGETPATH="/11/"', ["OK"]),
                ('AT+FTPGETTOFS=0,"TEST-1.mp3"', ["OK"])])
    q = at.ok("AT+FTPGETTOFS?")[0]
    assert re.fullmatch(r"\+FTPGETTOFS: (1,\d+,\d+|0)", q), q
    assert urc(at, "+FTPGETTOFS:") == "+FTPGETTOFS: 0,245900"
    assert at.cmd("AT+FSLS=C:/USER/FTP/") == ["hello", "TEST-1.mp3", "OK"]
    at.write('AT+FSREADHEAD=1\r')
    at.wait_line("OK")
    at.write('AT+FSREAD=C:/USER/FTP/TEST-1.mp3,1,10240,235660\r')
    at.expect(b"+FSREAD: 10240\r\n")
    assert at.read_exact(10240) == mp3[235660:]
    at.wait_line("OK")
    # FTPPUTFRMFS: a 41580-byte file as 12.29 shows
    txt = bytes(i % 97 + 32 for i in range(41580))
    sim.fs.put("C:/USER/FTP/TEST-1.txt", txt)
    replay(at, [('AT+FTPPUTPATH="/"', ["OK"]), ('AT+FTPPUTNAME="TEST001.txt"', ["OK"]),
                ('AT+FTPPUTFRMFS="C:/USER/FTP/TEST-1.txt"', ["OK"])])
    assert urc(at, "+FTPPUTFRMFS:") == "+FTPPUTFRMFS: 0,41580"
    assert open(ftp_server.path("TEST001.txt"), "rb").read() == txt
    # FTPFILEPUT
    replay(at, [('AT+FTPPUTPATH="/"', ["OK"]), ('AT+FTPPUTNAME="TEST_80.txt"', ["OK"]),
                ('AT+FTPFILEPUT=1,"C:/USER/FTP/TEST-1.txt"', ["OK"]), ("AT+FTPPUT=1", ["OK"])])
    assert urc(at, "+FTPPUT:") == "+FTPPUT: 1,0"
    assert at.cmd("AT+FTPFILEPUT=0") == ["OK"]
    assert open(ftp_server.path("TEST_80.txt"), "rb").read() == txt
    # remote directories and files
    replay(at, [('AT+FTPGETPATH="/test"', ["OK"]), ("AT+FTPMKD", ["OK"])])
    assert urc(at, "+FTPMKD:") == "+FTPMKD: 1,0"
    assert os.path.isdir(ftp_server.path("test"))
    assert at.cmd("AT+FTPRMD") == ["OK"]
    assert urc(at, "+FTPRMD:") == "+FTPRMD: 1,0"
    replay(at, [('AT+FTPGETPATH="/"', ["OK"]), ('AT+FTPGETNAME="HI.txt"', ["OK"]),
                ("AT+FTPDELE", ["OK"])])
    assert urc(at, "+FTPDELE:") == "+FTPDELE: 1,0"
    assert not os.path.exists(ftp_server.path("HI.txt"))


def test_ftp_settings_queries_size_and_state(modem, ftp_server):
    open(ftp_server.path("s.bin"), "wb").write(b"s" * 1234)
    sim, uart, at = modem()
    ftp_login(at, ftp_server.port)
    assert at.ok("AT+FTPPORT?") == ["+FTPPORT: %d" % ftp_server.port]
    assert at.ok("AT+FTPTYPE?") == ["+FTPTYPE: I"]
    assert at.cmd("AT+FTPMODE=0") == ["ERROR"]  # 12.2: active mode "暂不支持"
    assert at.cmd('AT+FTPUN="%s"' % ("u" * 50)) == ["ERROR"]  # 12.8: at most 49
    assert at.ok("AT+FTPSTATE") == ["+FTPSTATE: 0"]
    at.ok('AT+FTPGETPATH="/"')
    at.ok('AT+FTPGETNAME="s.bin"')
    at.ok("AT+FTPSIZE")
    assert urc(at, "+FTPSIZE:") == "+FTPSIZE: 1,0,1234"
    at.ok("AT+FTPGET=1")
    urc(at, "+FTPGET: 1,1")
    assert at.ok("AT+FTPSTATE") == ["+FTPSTATE: 1"]
    assert at.cmd("AT+FTPSIZE") == ["ERROR"]  # one session at a time
    at.ok("AT+FTPQUIT")
    assert urc(at, "+FTPGET:") == "+FTPGET: 1,86"
    assert at.cmd("AT+FTPQUIT") == ["ERROR"]  # 12.28: nothing to end


@pytest.mark.parametrize("case,code", [
    ("password", 72), ("dns", 62), ("refused", 63), ("missing", 77), ("bearer", 61),
    ("readonly", 78)])
def test_ftp_failures_give_the_12_16_codes(modem, ftp_server, case, code):
    sim, uart, at = modem()
    port = ftp_server.port
    if case == "refused":
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
    ftp_login(at, port, *(("user556", "wrong") if case == "password" else
                          ("reader", "secret") if case == "readonly" else ("user556", "222333")))
    if case == "dns":
        at.ok('AT+FTPSERV="nowhere.example"')
    if case == "bearer":
        at.ok("AT+SAPBR=0,1")
    if case == "readonly":
        at.ok('AT+FTPPUTNAME="x.txt"')
        at.ok("AT+FTPPUT=1")
        assert urc(at, "+FTPPUT:") == "+FTPPUT: 1,%d" % code
        return
    at.ok('AT+FTPGETNAME="missing.bin"')
    at.ok("AT+FTPGET=1")
    assert urc(at, "+FTPGET:") == "+FTPGET: 1,%d" % code


def test_large_ftpget_streams_through_the_module_buffer(modem, ftp_server):
    data = os.urandom(300000)
    open(ftp_server.path("big.bin"), "wb").write(data)
    sim, uart, at = modem(ftp_rx_buffer=20000)
    ftp_login(at, ftp_server.port)
    at.ok('AT+FTPGETNAME="big.bin"')
    at.ok("AT+FTPGET=1")
    urc(at, "+FTPGET: 1,1")
    got = bytearray()
    empty = 0
    while len(got) < len(data):
        at.write("AT+FTPGET=2,1460\r")
        head = at.wait_line(re.compile(r"^\+FTPGET: 2,\d+$"))
        n = int(head.split(",")[1])
        got += at.read_exact(n)
        at.wait_line("OK")
        if not n:  # the module's buffer ran empty: "+FTPGET: 1,1" when more came
            empty += 1
            urc(at, "+FTPGET: 1,1")
    assert urc(at, "+FTPGET:") == "+FTPGET: 1,0"
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
