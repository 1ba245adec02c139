"""cellmodem.native.yuge_fs, yuge_ftp and yuge_services: the Yuge EC716S module's own
file system (ch.8), FTP (ch.12), NTP (ch.7), ping (9.31), TCP keepalive (9.32) and
heartbeat (9.33-9.36), through a Modem with the yuge dialect and the simulator
(tools/modemsim/yuge_ftp.py, yuge_services.py), against pyftpdlib and an SNTP
responder on 127.0.0.1 (servicefixtures). The manual's 8.12 and 12.29 flows run here
through the library API (test_modemsim_yuge_services replays them as raw AT). Bad
input tests check that the simulator received no command at all. The 512 KiB
download and upload run in CPython and in the real micropython binary.
"""
import errno
import hashlib
import os
import subprocess
import time

import pytest

import cellmodem.socket as csocket
from cellmodem.errors import ATError
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from cellmodem.native import yuge_services as svc
from cellmodem.native.yuge_fs import FS
from cellmodem.native.yuge_ftp import FTP, FTPError
from servicefixtures import ftp_server, ntp_server  # noqa: F401 (fixtures)
from tools.modemsim import get_personality

HOSTS = {"ftp.example": "127.0.0.1", "ntp.example": "127.0.0.1"}
BIG = 512 * 1024


def big_data():
    return bytes((i * 7 + (i >> 10)) & 0xFF for i in range(BIG))


@pytest.fixture
def yuge():
    made = []

    def make(**opts):
        uart = FakeUART()
        sim = get_personality("yuge")(seed=7, hosts=HOSTS, opts=opts)
        made.append(sim)
        sim.attach(uart)
        m = Modem(uart, dialect="yuge")
        m.connect(apn="internet")
        return sim, m
    yield make
    for sim in made:
        sim.close()


def nothing_sent(sim, fn, exc=ValueError):
    before = sim._ncmds
    with pytest.raises(exc):
        fn()
    assert sim._ncmds == before, "a command reached the simulator"


# ---------------------------------------------------------------- file system (ch.8)
def test_8_12_flow_through_the_api(yuge):
    sim, m = yuge()
    fs = FS(m)
    fs.mkdir("/testdir")
    fs.mkdir("/testdir/testdir")
    fs.create("/testdir/test.txt")
    assert fs.ilistdir("/testdir") == [("testdir", 0x4000), ("test.txt", 0x8000)]
    assert fs.write("/testdir/test.txt", b"1234567890") == 10
    assert fs.read("/testdir/test.txt") == b"1234567890"
    assert fs.read("/testdir/test.txt", 5, 2) == b"34567"
    assert fs.read("/testdir/test.txt", head=False) == b"1234567890"
    assert fs.free() == 1304000
    assert fs.size("/testdir/test.txt") == 10
    fs.remove("/testdir/test.txt")
    fs.rmdir("/testdir/testdir")
    assert fs.listdir("/testdir") == []
    assert (fs.drive(), fs.drive(sd=True)) == ("C", "D")


def test_a_read_after_the_module_restarted_asks_for_the_read_header_again(yuge):
    # AT+FSREADHEAD (8.3) is a module setting: a restart puts it back to 0, so the
    # library must not trust what it set before the restart
    sim, m = yuge()
    fs = FS(m)
    data = b"\r\nOK\r\n binary \x00\xff"
    fs.write("/keep.dat", data)
    assert fs.read("/keep.dat") == data
    sim.reboot()
    m.connect(apn="internet")
    assert fs.read("/keep.dat") == data
    assert sim.fsreadhead == 1


def test_binary_data_round_trips_in_chunks_through_the_file_object(yuge):
    sim, m = yuge()
    fs = FS(m, chunk=1000)
    data = (b"\r\nOK\r\n\x00\xff>+FSREAD: 3\r\nERROR\r\n" * 700)[:12345]
    with fs.open("/bin.dat", "wb") as f:
        assert f.write(data[:5000]) == 5000
        f.write(data[5000:])
    assert fs.size("/bin.dat") == len(data)
    with fs.open("/bin.dat") as f:
        buf = bytearray(777)
        got = bytearray()
        while True:
            n = f.readinto(buf)
            if not n:
                break
            got += buf[:n]
    assert got == data
    with fs.open("/bin.dat", "a") as f:
        f.write("tail")
    assert fs.read("/bin.dat", pos=len(data)) == b"tail"
    with fs.open("/bin.dat", "w") as f:  # replaced, not overwritten in place
        f.write(b"short")
    assert fs.read("/bin.dat") == b"short"


def test_read_without_header_refuses_data_it_would_garble(yuge):
    sim, m = yuge()
    fs = FS(m)
    fs.create("/t")
    fs.write("/t", b"line1\r\nline2")
    assert fs.read("/t", head=False) == b"line1\r\nline2"
    fs.write("/t", b"a\nb")
    with pytest.raises(OSError) as e:
        fs.read("/t", head=False)
    assert e.value.args[0] == errno.EIO
    assert fs.read("/t") == b"a\nb"  # with the header: exact


def test_module_refusals_are_aterror(yuge):
    sim, m = yuge()
    fs = FS(m)
    for fn in (lambda: fs.size("/missing"), lambda: fs.rmdir("/nodir"),
               lambda: fs.create("/nodir/f"), lambda: fs.remove("/missing")):
        with pytest.raises(ATError) as e:
            fn()
        assert e.value.text == "ERROR" and e.value.command.startswith("AT+FS")
    assert not fs.exists("/missing")


@pytest.mark.parametrize("bad", ['a"b', "a\r\nAT+CFUN=0", "a\x1a", "a\\b", "é", "x" * 65, ""])
def test_bad_file_names_never_reach_the_uart(yuge, bad):
    sim, m = yuge()
    fs = FS(m)
    for fn in (fs.create, fs.mkdir, fs.rmdir, fs.remove, fs.size, fs.listdir,
               lambda n: fs.write(n, b"x"), lambda n: fs.read(n),
               lambda n: fs.readinto(n, bytearray(4)), lambda n: fs.open(n, "w")):
        nothing_sent(sim, lambda: fn(bad))


# ---------------------------------------------------------------- FTP (ch.12)
def ftp(m, srv, user="user556", pw="222333", **kw):
    return FTP("ftp.example", srv.port, user, pw, modem=m, timeout=20000, **kw)


def test_12_29_flows_through_the_api(yuge, ftp_server):
    os.mkdir(ftp_server.path("11"))
    open(ftp_server.path("1.txt"), "wb").write(b"0123456789")
    sim, m = yuge()
    f = ftp(m, ftp_server)
    assert any(ln.endswith(" 1.txt") for ln in f.list("/"))
    got = bytearray()
    assert f.get("/1.txt", got.extend) == 10 and got == b"0123456789"
    del got[:]
    assert f.get("/1.txt", got.extend, rest=6) == 4 and got == b"6789"  # FTPREST
    assert f.put("/11/1222.txt", b"1222abc") == 7
    assert open(ftp_server.path("11", "1222.txt"), "rb").read() == b"1222abc"
    f.put("/11/1222.txt", b"+more", append=True)
    assert open(ftp_server.path("11", "1222.txt"), "rb").read() == b"1222abc+more"
    assert f.size("/11/1222.txt") == 12
    got = bytearray()
    assert f.get("/11/1222.txt", got.extend, ext=True) == 12 and got == b"1222abc+more"
    assert f.put("/11/TEST8861.txt", b"1234567890AB", ext=True) == 12
    assert open(ftp_server.path("11", "TEST8861.txt"), "rb").read() == b"1234567890AB"
    f.mkdir("/test")
    assert os.path.isdir(ftp_server.path("test"))
    f.rmdir("/test")
    f.delete("/11/TEST8861.txt")
    assert not os.path.exists(ftp_server.path("11", "TEST8861.txt"))
    assert f.state() == 0
    assert f.quit() is False  # 12.28: ERROR, nothing to end


def test_get_to_fs_and_put_from_fs_move_nothing_over_the_uart(yuge, ftp_server):
    mp3 = os.urandom(245900)
    open(ftp_server.path("TEST.mp3"), "wb").write(mp3)
    sim, m = yuge()
    f = ftp(m, ftp_server)
    seen = []
    assert f.get_to_fs("/TEST.mp3", "TEST-1.mp3", progress=lambda d, t: seen.append(d)) \
        == 245900
    fs = FS(m)
    assert "TEST-1.mp3" in fs.listdir("C:/USER/FTP/")
    assert fs.read("C:/USER/FTP/TEST-1.mp3", 1000, 244900) == mp3[-1000:]
    assert f.put_from_fs("C:/USER/FTP/TEST-1.mp3", "/back.mp3") == 245900
    assert open(ftp_server.path("back.mp3"), "rb").read() == mp3
    with pytest.raises(FTPError) as e:
        f.get_to_fs("/missing.mp3", "m.mp3")
    assert e.value.code == 77


@pytest.mark.parametrize("case,code,text", [
    ("password", 72, "password error"), ("dns", 62, "DNS error"),
    ("refused", 63, "connect error"), ("missing", 77, "operate error"),
    ("bearer", 61, "net error"), ("readonly", 78, "upload error")])
def test_session_errors_raise_ftperror_with_the_12_16_code_and_text(yuge, ftp_server, case,
                                                                     code, text):
    sim, m = yuge()
    port = ftp_server.port
    if case == "refused":
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
    host = "nowhere.example" if case == "dns" else "ftp.example"
    user, pw = {"password": ("user556", "bad"), "readonly": ("reader", "secret")}.get(
        case, ("user556", "222333"))
    f = FTP(host, port, user, pw, modem=m, timeout=20000)
    if case == "bearer":
        m.at.command("AT+SAPBR=0,1")
    with pytest.raises(FTPError) as e:
        if case == "readonly":
            f.put("/x.txt", b"x")
        else:
            f.get("/missing.bin", bytearray().extend)
    assert (e.value.code, e.value.text) == (code, text)
    assert isinstance(e.value, ATError) and e.value.command.startswith("AT+FTP")


@pytest.mark.parametrize("kw", [dict(host='a"b'), dict(host="h\r\nAT+CFUN=0"),
                                dict(host="h" * 50), dict(user="u\x00"), dict(password="p" * 50),
                                dict(port=0), dict(passive=False), dict(cid=4)])
def test_bad_settings_are_refused_before_the_uart(yuge, kw):
    sim, m = yuge()
    args = dict(host="ftp.example", port=21, user="u", password="p")
    args.update(kw)
    host = args.pop("host")
    nothing_sent(sim, lambda: FTP(host, modem=m, **args))


@pytest.mark.parametrize("bad", ['/a"b', "/dir/\r\nAT+CFUN=0", "/x\x1b", "/" + "d" * 300 + "/f",
                                 "/dir/" + "n" * 100, "/dir/", ""])
def test_bad_remote_paths_are_refused_before_the_uart(yuge, ftp_server, bad):
    sim, m = yuge()
    f = ftp(m, ftp_server)
    for fn in (lambda: f.get(bad, bytearray().extend), lambda: f.put(bad, b"x"),
               lambda: f.size(bad), lambda: f.delete(bad)):
        nothing_sent(sim, fn)
    nothing_sent(sim, lambda: f.get_to_fs("/ok.bin", 'n"ame'))
    nothing_sent(sim, lambda: f.put_from_fs("C:/" + "p" * 130, "/ok.bin"))
    nothing_sent(sim, lambda: f.put("/ok.bin", b"x" * 307201, ext=True))


def test_512_kib_download_and_upload_in_cpython(yuge, ftp_server, tmp_path):
    data = big_data()
    open(ftp_server.path("big.bin"), "wb").write(data)
    sim, m = yuge()
    f = ftp(m, ftp_server)
    h = hashlib.sha256()
    marks = []
    t0 = time.monotonic()
    n = f.get("/big.bin", h.update, progress=lambda d, t: marks.append(d))
    t_get = time.monotonic() - t0
    assert n == BIG and h.digest() == hashlib.sha256(data).digest()
    assert marks[-1] == BIG and len(marks) >= BIG // 1460
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    t0 = time.monotonic()
    assert f.put("/up.bin", str(local)) == BIG
    t_put = time.monotonic() - t0
    assert hashlib.sha256(open(ftp_server.path("up.bin"), "rb").read()).digest() \
        == hashlib.sha256(data).digest()
    print("CPython 512 KiB: get %.2f s, put %.2f s" % (t_get, t_put))


# ---------------------------------------------------------------- NTP, ping, TKA, heartbeat
def test_ntp_sync_sets_and_returns_the_modules_clock(yuge, ntp_server):
    sim, m = yuge(ntp_port=ntp_server.port)
    t = svc.ntp_sync("ntp.example", tz=32, modem=m)
    assert t[:5] == (2018, 5, 16, 15, 49) and 28 <= t[5] <= 40 and t[6] == 32
    assert svc.clock(m)[:4] == (2018, 5, 16, 15)
    assert svc.set_rtc(t) is False  # CPython has no machine.RTC
    assert svc.weekday(2018, 5, 16) == 2  # a Wednesday


@pytest.mark.parametrize("case,num,text", [("unknown", errno.EHOSTUNREACH, "DNS error"),
                                           ("bad", errno.EIO, "server response error")])
def test_ntp_failures_are_oserror_with_the_7_1_text(yuge, ntp_server, case, num, text):
    ntp_server.mode = "bad" if case == "bad" else "ok"
    sim, m = yuge(ntp_port=ntp_server.port)
    with pytest.raises(OSError) as e:
        svc.ntp_sync("nowhere.example" if case == "unknown" else "ntp.example", modem=m)
    assert e.value.args[0] == num and text in e.value.args[1]


def test_ping_reports_every_reply(yuge):
    sim, m = yuge(ping_ms="35,20")
    out = svc.ping("ftp.example", count=3, modem=m)
    assert out == [(1, "127.0.0.1", 35, 64), (2, "127.0.0.1", 20, 64), (3, "127.0.0.1", 35, 64)]
    with pytest.raises(ATError):
        svc.ping("nowhere.example", modem=m)


def test_keepalive_is_set_and_read_back(yuge):
    sim, m = yuge()
    svc.tcp_keepalive(True, idle=60, interval=30, count=3, modem=m)
    assert svc.tcp_keepalive_config(m) == (1, 60, 30, 3)
    svc.tcp_keepalive(False, modem=m)
    assert svc.tcp_keepalive_config(m)[0] == 0


def test_heartbeat_goes_out_on_the_link(yuge, tcp_echo):
    sim, m = yuge(heartbeat_unit_ms=50)
    s = csocket.socket()
    s.connect(tcp_echo)
    s.settimeout(5)
    link = s._link.id
    svc.heartbeat(link, 5, b"AB\x00\r\n", modem=m)  # 9.35: goes out at once too
    assert s.recv(5) == b"AB\x00\r\n"
    assert svc.heartbeat_config(m) == (1, link, 5)
    assert s.recv(5) == b"AB\x00\r\n"  # the periodic one, 5 "seconds" of 50 ms later
    suc, nxt, count = svc.heartbeat_status(m)
    assert count >= 2
    svc.heartbeat_text(link, "TCP-heart", modem=m)
    svc.heartbeat_off(m)
    assert svc.heartbeat_status(m) == (0, 0, 0)
    s.close()


def test_service_arguments_are_checked_before_the_uart(yuge):
    sim, m = yuge()
    for fn in (lambda: svc.ntp_sync('n"tp', modem=m), lambda: svc.ntp_sync("ntp", tz=49, modem=m),
               lambda: svc.ping("h\r\nAT", modem=m), lambda: svc.ping("h", count=0, modem=m),
               lambda: svc.ping("h", size=2000, modem=m),
               lambda: svc.tcp_keepalive(True, idle=10, modem=m),
               lambda: svc.heartbeat(6, modem=m), lambda: svc.heartbeat(0, 4, modem=m),
               lambda: svc.heartbeat_text(0, "a,b", modem=m),
               lambda: svc.heartbeat_text(0, "x" * 257, modem=m),
               lambda: svc.heartbeat_hex(0, b"x" * 257, modem=m)):
        nothing_sent(sim, fn)


# ---------------------------------------------------------------- MicroPython
MPY_SCRIPT = """
import sys, time, hashlib
from cellmodem.modem import Modem
from cellmodem.ports import open_serial
from cellmodem.native.yuge_ftp import FTP
from cellmodem.native.yuge_fs import FS
from cellmodem.native import yuge_services as svc

modem = Modem(open_serial(sys.argv[1]), dialect="yuge")
modem.connect(apn="internet")
ftp = FTP("ftp.example", int(sys.argv[2]), "user556", "222333", timeout=30000)
h = hashlib.sha256()
t0 = time.ticks_ms()
n = ftp.get("/big.bin", h.update)
t_get = time.ticks_diff(time.ticks_ms(), t0)
print("GET", n, t_get, h.digest().hex())
t0 = time.ticks_ms()
n = ftp.get("/big.bin", sys.argv[3])
n = ftp.put("/up.bin", sys.argv[3])
t_put = time.ticks_diff(time.ticks_ms(), t0)
print("PUT", n, t_put)
fs = FS(modem)
fs.write("/m.txt", b"micro\\r\\npython")
assert fs.read("/m.txt") == b"micro\\r\\npython"
t = svc.ntp_sync("ntp.example", tz=32)
print("NTP", t)
print("MPY SERVICES OK")
"""



def test_micropython_512_kib_ftp_from_mpy_files(tmp_path, ftp_server, ntp_server):
    """The real micropython binary with the modules as .mpy files: 512 KiB down (SHA-256
    while streaming) and, after a second download into a local file, up again; the
    server's copy has the same SHA-256."""
    from mpy import LIB, compile_tree, tool
    data = big_data()
    open(ftp_server.path("big.bin"), "wb").write(data)
    # the whole library as .mpy (what it imports loads lazily; a hand-written list
    # went stale whenever a module was added)
    compile_tree(LIB, str(tmp_path))
    script = tmp_path / "services.py"
    script.write_text(MPY_SCRIPT)
    sim = get_personality("yuge")(seed=3, hosts=HOSTS, opts={"ntp_port": ntp_server.port})
    try:
        pty = sim.open_pty()
        t0 = time.monotonic()
        # 168k: the modem stack grew (power and sleep: 144k; the error vocabulary and
        # module TLS: 152k; the SIM800 family's hooks in the Yuge dialect: 152k fails,
        # 156k passes); 128k was the smallest before
        p = subprocess.run([tool("micropython"), "-X", "heapsize=168k", str(script), pty,
                            str(ftp_server.port), str(tmp_path / "local.bin")],
                           env={"MICROPYPATH": str(tmp_path)}, capture_output=True,
                           text=True, timeout=300)
        wall = time.monotonic() - t0
        ncmds = sim._ncmds
    finally:
        sim.close()
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "MPY SERVICES OK" in p.stdout, out
    want = hashlib.sha256(data).hexdigest()
    assert "GET %d " % BIG in p.stdout and want in p.stdout, out
    assert "PUT %d " % BIG in p.stdout, out
    assert hashlib.sha256(open(ftp_server.path("up.bin"), "rb").read()).hexdigest() == want
    assert "NTP (2018, 5, 16, 15, 49" in p.stdout, out
    # 3 x 512 KiB in pieces of 1460 / 1360 bytes: one command each
    assert ncmds > 2 * BIG // 1460 + BIG // 1360, ncmds
    print(p.stdout, "wall %.2f s, %d commands" % (wall, ncmds))
