"""cellmodem.datamode: transparent (data) mode on every family, through the simulator
to real loopback servers.

Each test is one behaviour; each runs for every family in the registry (SIM7080 AT+CASWITCH,
SIM7600 AT+CIPMODE=1, Quectel AT+QIOPEN access mode 2, Yuge and SIM800 AT+CIPMODE=1). The
simulators keep the manuals' "+++" rules (silence before and after, the three '+'
close together) with a 200 ms guard instead of 1 s, and the library waits 250 ms.
"""
import errno
import hashlib
import os
import socket as pysocket
import threading
import time

import asyncio

import pytest

import cellmodem.socket as msocket
from cellmodem.aio import AsyncDataSocket, AsyncModem
from cellmodem.datamode import DataSocket
from cellmodem.errors import InDataMode
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from simfixtures import LOOPBACK
from tools.modemsim import get_personality
from tools import families

DIALECTS = list(families.NAMES)  # every family in the registry (tools/families.py)
# the simulator option that sets each family's "+++" guard time (the registry's guard)
GUARD_OPT = {f.name: f.guard for f in families.FAMILIES}
SIM_GUARD = 200
GUARD = 250
LINES = {"clean": [], "chunked": ["chunk=1-64", "urc=0.3"]}
# transparent mode is a setting of the whole module (the dialect's DATA["wide"])
MODULE_WIDE = [f for f in DIALECTS if families.dialect(f).DATA.get("wide")]


@pytest.fixture
def data_modem():
    """make(dialect, line) -> (sim, modem, trace): connected; trace lists (dir, bytes, t)."""
    made = []

    def make(dialect, line="clean"):
        uart = FakeUART()
        sim = get_personality(dialect)(seed=5, faults=list(LINES[line]),
                                       hosts={"echo.example": LOOPBACK},
                                       opts={GUARD_OPT[dialect]: SIM_GUARD})
        made.append(sim)
        sim.attach(uart)
        modem = Modem(uart, dialect=dialect)
        modem.connect(apn="internet")
        trace = []
        modem.at.trace = lambda d, data, t: trace.append((d, data, time.monotonic()))
        return sim, modem, trace

    yield make
    msocket.use(None)
    for sim in made:
        sim.close()


def written(trace):
    return b"".join(data for d, data, t in trace if d == b">")


def pump(s, data):
    """Write data (a few KiB at most) and read as much back from the echo server."""
    s.settimeout(10)
    s.write(data)
    return s.read(len(data))


class Server:
    """A TCP server on loopback whose per-connection behaviour is handler(conn)."""

    def __init__(self, handler):
        self.handler = handler
        self.srv = pysocket.socket()
        self.srv.bind((LOOPBACK, 0))
        self.srv.listen(4)
        self.addr = self.srv.getsockname()
        self.received = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self.handler, args=(self, c), daemon=True).start()

    def close(self):
        self.srv.close()


# ---------------------------------------------------------------- bulk data
@pytest.mark.parametrize("line", list(LINES))
@pytest.mark.parametrize("dialect", DIALECTS)
def test_one_mib_each_way_in_data_mode_keeps_its_sha256(data_modem, dialect, line):
    # on the chunked line (1-64 byte pieces, URCs raised meanwhile) 256 KiB: the
    # simulator's tiny writes cost time, not the library
    size = 1 << 20 if line == "clean" else 1 << 18
    sim, modem, _ = data_modem(dialect, line)
    down = os.urandom(size)
    up_hash = []
    done = threading.Event()

    def serve(server, c):
        # download: 1 MiB to the device; upload: 1 MiB from it, hashed as it comes
        c.sendall(down)
        h = hashlib.sha256()
        n = 0
        while n < size:
            b = c.recv(65536)
            if not b:
                break
            h.update(b)
            n += len(b)
        up_hash.append((n, h.hexdigest()))
        done.set()
        c.recv(1)  # the device closes
        c.close()

    srv = Server(serve)
    up = os.urandom(size)
    with DataSocket(modem, guard_ms=GUARD) as s:
        s.connect(srv.addr)
        s.settimeout(10)
        got = bytearray()
        sent = 0
        while len(got) < len(down) or sent < len(up):
            if sent < len(up):
                s.write(up[sent:sent + 8192])
                sent += 8192
            if len(got) < len(down):
                chunk = s.recv(16384)
                assert chunk, "EOF after %d bytes" % len(got)
                got += chunk
        assert done.wait(20)
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(down).hexdigest()
        assert up_hash == [(size, hashlib.sha256(up).hexdigest())]
    srv.close()


# ---------------------------------------------------------------- +++ and ATO
@pytest.mark.parametrize("dialect", DIALECTS)
def test_escape_a_command_and_ato_then_data_flows_again(data_modem, tcp_echo, dialect):
    sim, modem, trace = data_modem(dialect)
    s = DataSocket(modem, guard_ms=GUARD)
    s.connect(tcp_echo)
    assert pump(s, b"first" * 100) == b"first" * 100
    s.escape()
    assert not s.data_mode
    assert -113 <= modem.signal() <= -51  # a command is answered in command mode
    s.resume()  # ATO
    assert s.data_mode
    assert pump(s, b"second" * 100) == b"second" * 100
    s.escape()
    s.write(b"third")  # a write after escape() goes back in by itself
    assert s.read(5) == b"third"
    s.close()
    out = written(trace)
    assert out.count(b"+++") == 3 and out.count(b"ATO\r") == 2  # the third: close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_plus_escape_waits_the_guard_time_on_both_sides(data_modem, tcp_echo, dialect):
    sim, modem, trace = data_modem(dialect)
    s = DataSocket(modem, guard_ms=GUARD)
    s.connect(tcp_echo)
    s.write(b"x" * 100)
    s.escape()
    writes = [(data, t) for d, data, t in trace if d == b">"]
    i = [k for k, (data, t) in enumerate(writes) if data == b"+++"][0]
    quiet_before = writes[i][1] - writes[i - 1][1]
    quiet_after = writes[i + 1][1] - writes[i][1]  # the next write: the AT that resyncs
    assert quiet_before >= GUARD / 1000.0  # (the library adds a margin: ticks are whole ms)
    # the module answers OK only after its guard after "+++": Yuge 9.37 waits half, as
    # the SIM800 does (public knowledge: 1 s of silence before "+++", 0.5 s after)
    after = SIM_GUARD / 2 if dialect in ("yuge", "sim800") else SIM_GUARD
    # (the trace stamps "+++" just after the write the simulator timed it from)
    assert quiet_after >= (after - 5) / 1000.0
    s.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_plus_signs_inside_the_data_are_data(data_modem, tcp_echo, dialect):
    sim, modem, _ = data_modem(dialect)
    with DataSocket(modem, guard_ms=GUARD) as s:
        s.connect(tcp_echo)
        for payload in (b"+++", b"a+++b", b"+++\r\nAT+CFUN=0\r\n", b"+"):
            assert pump(s, payload) == payload
        time.sleep(SIM_GUARD * 2 / 1000.0)
        s.write(b"+++")
        s.write(b"abc")  # silence before, but data right after: no escape
        assert s.read(6) == b"+++abc"
        assert s.data_mode


@pytest.mark.parametrize("dialect", DIALECTS)
def test_plus_written_alone_between_quiet_spells_is_sent_again_not_lost(data_modem, tcp_echo, dialect):
    # V.250: "+++" with silence on both sides IS the escape, whoever meant it. The
    # module answers OK; the library sees that, goes back in with ATO and sends the
    # '+' again right in front of the next data, so the peer gets every byte.
    sim, modem, trace = data_modem(dialect)
    with DataSocket(modem, guard_ms=GUARD) as s:
        s.connect(tcp_echo)
        time.sleep(GUARD * 1.2 / 1000.0)
        s.write(b"+++")
        time.sleep(GUARD * 2 / 1000.0)  # the module escaped meanwhile
        s.write(b"more")
        assert s.read(7) == b"+++more"
        assert s.data_mode
        assert written(trace).count(b"ATO\r") == 1


# ---------------------------------------------------------------- the peer closes
@pytest.mark.parametrize("line", list(LINES))
@pytest.mark.parametrize("dialect", DIALECTS)
def test_peer_close_in_data_mode_ends_the_stream_after_every_byte(data_modem, dialect, line):
    sim, modem, _ = data_modem(dialect, line)
    body = os.urandom(20000)

    def serve(server, c):
        c.recv(2)  # (SIM7080 opens first and switches after: a peer gone by then is ERROR)
        c.sendall(body)
        c.close()

    srv = Server(serve)
    s = DataSocket(modem, guard_ms=GUARD)
    s.connect(srv.addr)
    s.settimeout(10)
    s.write(b"go")
    assert s.read() == body  # everything, then EOF
    assert s.recv(10) == b""
    assert not s.data_mode
    with pytest.raises(OSError) as e:
        s.write(b"more")
    assert e.value.errno == errno.ECONNRESET
    assert -113 <= modem.signal() <= -51  # the engine is in step again
    s.close()
    srv.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_ordinary_sockets_work_after_a_data_session(data_modem, tcp_echo, dialect):
    sim, modem, _ = data_modem(dialect)
    with DataSocket(modem, guard_ms=GUARD) as s:
        s.connect(tcp_echo)
        assert pump(s, b"data mode") == b"data mode"
    msocket.use(modem)
    t = msocket.socket()
    t.connect(tcp_echo)
    t.send(b"command mode")
    assert t.recv(100) == b"command mode"
    t.close()


# ---------------------------------------------------------------- the rules
@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_at_command_in_data_mode_is_refused_before_the_uart(data_modem, tcp_echo, dialect):
    sim, modem, trace = data_modem(dialect)
    s = DataSocket(modem, guard_ms=GUARD)
    s.connect(tcp_echo)
    before = len(written(trace))
    with pytest.raises(InDataMode):
        modem.signal()
    assert len(written(trace)) == before  # nothing went out: it would be data for the peer
    assert pump(s, b"still fine") == b"still fine"
    s.close()
    assert -113 <= modem.signal() <= -51


@pytest.mark.parametrize("dialect", DIALECTS)
def test_only_one_data_mode_connection_at_a_time(data_modem, tcp_echo, dialect):
    sim, modem, _ = data_modem(dialect)
    with DataSocket(modem, guard_ms=GUARD) as s:
        s.connect(tcp_echo)
        with pytest.raises(OSError) as e:
            DataSocket(modem).connect(tcp_echo)
        assert e.value.errno == errno.EBUSY
        s.escape()
        with pytest.raises(OSError) as e:  # escaped, the connection is still the module's
            DataSocket(modem).connect(tcp_echo)
        assert e.value.errno == errno.EBUSY


@pytest.mark.parametrize("dialect", MODULE_WIDE)
def test_module_wide_families_refuse_data_mode_beside_another_socket(data_modem, tcp_echo, dialect):
    sim, modem, _ = data_modem(dialect)
    msocket.use(modem)
    t = msocket.socket()
    t.connect(tcp_echo)
    with pytest.raises(OSError) as e:
        DataSocket(modem).connect(tcp_echo)
    assert e.value.errno == errno.EBUSY and "close the other" in str(e.value)
    t.send(b"untouched")
    assert t.recv(100) == b"untouched"
    t.close()


@pytest.mark.parametrize("dialect", ["sim7080", "quectel"])
def test_other_sockets_work_while_the_data_connection_is_escaped(data_modem, tcp_echo, dialect):
    sim, modem, _ = data_modem(dialect)
    msocket.use(modem)
    with DataSocket(modem, guard_ms=GUARD) as s:
        s.connect(tcp_echo)
        assert pump(s, b"one") == b"one"
        s.escape()
        t = msocket.socket()
        t.connect(tcp_echo)
        t.send(b"beside")
        assert t.recv(100) == b"beside"
        t.close()
        assert pump(s, b"two") == b"two"


@pytest.mark.parametrize("dialect", ["sim7600"])
def test_sim7600_data_mode_runs_on_link_0(data_modem, tcp_echo, dialect):
    sim, modem, trace = data_modem(dialect)
    with DataSocket(modem, guard_ms=GUARD) as s:
        s.connect(tcp_echo)
    out = written(trace)
    assert b"AT+CIPMODE=1\r" in out and b'AT+CIPOPEN=0,"TCP"' in out
    assert out.index(b"AT+CIPMODE=1") < out.index(b"AT+NETOPEN", out.index(b"AT+CIPMODE=1"))
    assert b"AT+CIPMODE=0\r" in out  # back to ordinary sockets at close


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_bad_address_is_a_valueerror_with_nothing_sent(data_modem, dialect):
    sim, modem, trace = data_modem(dialect)
    before = len(written(trace))
    for addr in [('x"\r\nAT+CFUN=0\r\n', 80), ("host", 0), ("", 80), "host:80"]:
        with pytest.raises(ValueError):
            DataSocket(modem).connect(addr)
    for addr in [("host", "80"), (80, 80)]:  # the wrong type: TypeError (issue 18)
        with pytest.raises(TypeError):
            DataSocket(modem).connect(addr)
    assert len(written(trace)) == before
    assert modem.data_socket is None


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_refused_connection_is_an_oserror_and_the_modem_goes_on(data_modem, dialect):
    sim, modem, _ = data_modem(dialect)
    s = pysocket.socket()
    s.bind((LOOPBACK, 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there
    with pytest.raises(OSError):
        DataSocket(modem, guard_ms=GUARD).connect((LOOPBACK, port))
    assert modem.data_socket is None
    assert -113 <= modem.signal() <= -51


# ---------------------------------------------------------------- held URCs
@pytest.mark.parametrize("dialect", DIALECTS)
def test_urcs_the_module_held_in_data_mode_are_delivered_after_escape(data_modem, tcp_echo, dialect):
    sim, modem, _ = data_modem(dialect)
    seen = []
    modem.urc(b"+CTZV:", lambda line: seen.append(line.str()))
    with DataSocket(modem, guard_ms=GUARD) as s:
        s.connect(tcp_echo)
        with sim.lock:
            sim.urc("+CTZV: +32,0")  # the network's time zone, while the port is data
        assert pump(s, b"payload") == b"payload"  # not mixed into the data
        assert seen == []
        s.escape()
        modem.poll(100)
        assert seen == ["+CTZV: +32,0"]


# ---------------------------------------------------------------- closed while escaped
@pytest.mark.parametrize("dialect", DIALECTS)
def test_peer_closing_while_escaped_keeps_what_the_module_can_give_back(data_modem, dialect):
    # Quectel switches an escaped connection to buffer access mode (UG 1.2) and SIM7080
    # keeps it readable with AT+CARECV: every byte comes back, then EOF. The SIM7600
    # and Yuge manuals have no command-mode read of a transparent connection: the
    # socket ends (EOF on read, ENOTCONN on resume) - the README says so.
    sim, modem, _ = data_modem(dialect)
    body = os.urandom(30000)
    go = threading.Event()

    def serve(server, c):
        c.recv(2)
        go.wait(10)
        c.sendall(body)
        c.close()

    srv = Server(serve)
    s = DataSocket(modem, guard_ms=GUARD)
    s.connect(srv.addr)
    s.settimeout(10)
    s.write(b"go")
    s.escape()
    go.set()
    time.sleep(0.5)  # the body arrives and the peer closes while in command mode
    modem.poll(100)
    if dialect in ("quectel", "sim7080"):
        assert s.read() == body
    else:
        assert s.read() == b""
        with pytest.raises(OSError):
            s.resume()
    assert -113 <= modem.signal() <= -51
    s.close()
    srv.close()


# ---------------------------------------------------------------- the asyncio face
@pytest.mark.parametrize("dialect", DIALECTS)
def test_asyncio_face_awaits_reads_and_the_escape_while_the_loop_runs(data_modem, tcp_echo, dialect):
    sim, modem, _ = data_modem(dialect)
    data = os.urandom(64 * 1024)

    async def main():
        am = AsyncModem(modem)
        am.start()
        ticks = [0]

        async def ticker():
            while True:
                ticks[0] += 1
                await asyncio.sleep(0.01)
        t = asyncio.create_task(ticker())
        s = AsyncDataSocket(am, guard_ms=GUARD)
        await s.connect(tcp_echo)
        reader = asyncio.create_task(s.readexactly(5))
        await asyncio.sleep(0.2)
        assert not reader.done() and ticks[0] >= 5  # a read waits without blocking the loop
        await s.sendall(b"first")
        assert await reader == b"first"
        got = bytearray()
        for i in range(0, len(data), 4096):
            await s.sendall(data[i:i + 4096])
            got += await s.readexactly(4096)
        before = ticks[0]
        await s.escape()  # two guard times, awaited
        assert ticks[0] - before >= 10 and not s.data_mode
        assert -113 <= modem.signal() <= -51
        await s.resume()
        await s.sendall(b"again\n")
        assert await s.readline() == b"again\n"
        s.close()
        t.cancel()
        am.stop()
        return bytes(got)

    assert asyncio.run(main()) == data
    assert modem.data_socket is None


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_non_blocking_read_looks_at_the_port_then_says_eagain(data_modem, tcp_echo, dialect):
    sim, modem, _ = data_modem(dialect)
    with DataSocket(modem, guard_ms=GUARD) as s:
        s.connect(tcp_echo)
        s.setblocking(False)
        with pytest.raises(OSError) as e:
            s.recv(10)
        assert e.value.errno == errno.EAGAIN
        s.write(b"ping")
        got = b""
        deadline = time.monotonic() + 5
        while len(got) < 4 and time.monotonic() < deadline:
            try:
                got += s.recv(10)  # (once read a non-blocking read must find the bytes)
            except OSError as e:
                assert e.errno == errno.EAGAIN
                time.sleep(0.005)
        assert got == b"ping"
