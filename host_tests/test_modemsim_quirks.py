"""The simulator's real-module quirks (issue 19): options and fault knobs beyond the
manuals, each off by default, and the quirks= mode that turns them on by name or at
random (tools/modemsim/core.py parse_quirks).

Raw AT over a FakeUART (tools/modemsim/rawat.py), not the cellmodem library. The
transcripts are written from the modules' public behaviour. Nothing here depends on
the host's speed: boot lines are released by the test (a boot window far longer than
any test), delays are checked only as lower bounds the simulator's timers guarantee.
"""
import os
import socket
import subprocess
import sys
import time

import pytest

from tools.modemsim import get_personality
from tools.modemsim.core import CORE_DEFAULTS, parse_quirks
from tools import families

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOP = "127.0.0.1"
# A boot window no test outlives: with seed 5 the first staggered banner line is due
# more than 370 s after RDY (the times are drawn from the seeded generator at boot), so
# the tests release the lines themselves (sim.release_boot_line)
LONG_BOOT = {"seed": 5, "opts": {"boot_stagger_ms": 600000}}
# each personality's last power-on banner line (the registry's ready)
LAST_BANNER = dict({f.name: f.ready for f in families.FAMILIES},
                   **{v: families.get(v).ready for v in families.VARIANTS})


# The families each cross-family test below runs on: the personalities that have
# the behaviour (short= payloads, fail= results, fail_late_ms)
SHORT_READ = families.NAMES  # every family in the registry (tools/families.py)
SHORT_PUSH = families.names(push=True)
FAILING = families.NAMES  # every family in the registry (tools/families.py)
# each family's manual limit for an open's result (the late_fail quirk adds 0.5 s)
OPEN_LIMIT = {"sim7080": 150000, "sim7600": 120000, "quectel": 150000, "yuge": 75000,
              "sim800": 160000}  # public knowledge: SIM800 AT+CIPSTART, multi-link


# ------------------------------------------------------------------ helpers
def framed(lines):
    out = b""
    for ln in lines:
        if isinstance(ln, bytes):
            out += ln  # raw piece (prompt, payload) exactly as sent
        else:
            out += b"\r\n" + ln.encode("latin-1") + b"\r\n"
    return out


def replay(at, steps, quiet=True):
    """steps: (action, expected): action a command (str, CR added), bytes to write, a
    callable (the far end acts) or None; expected the framed lines / raw pieces that
    must come next, byte for byte."""
    for action, want in steps:
        if isinstance(action, str):
            at.write(action + "\r")
        elif isinstance(action, bytes):
            at.write(action)
        elif action is not None:
            action()
        exp = framed(want)
        got = at.read_exact(len(exp), timeout=5)
        assert got == exp, "%r:\n got %r\nwant %r" % (action, got, exp)
    if quiet:
        time.sleep(0.05)
        assert at.drain() == b""


def booted(modem_factory, dialect, echo=False, **kw):
    """(sim, uart, at) after the whole banner, echo off unless echo."""
    sim, uart, at = modem_factory(dialect, **kw)
    at.wait_line(LAST_BANNER[dialect])
    if not echo:
        assert at.cmd("ATE0")[-1] == "OK"
    return sim, uart, at


def wait_for(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not met in %.0f s" % timeout
        time.sleep(0.002)


def online(at, dialect):
    """Raw bring-up of the data context (the simulator registers at once)."""
    if dialect == "sim7080":
        replay(at, [("AT+CNACT=0,1", ["OK", "+APP PDP: 0,ACTIVE"])])
    elif dialect == "sim7000":
        replay(at, [('AT+CNACT=1,"internet"', ["OK", "+APP PDP: ACTIVE"])])
    elif dialect == "sim7600":
        replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"])])
    elif dialect == "quectel":
        replay(at, [('AT+QICSGP=1,1,"internet","","",1', ["OK"]), ("AT+QIACT=1", ["OK"])])
    else:
        replay(at, [("AT+CIPMUX=1", ["OK"]), ("AT+CSTT", ["OK"]), ("AT+CIICR", ["OK"]),
                    ("AT+CIFSR", [get_personality(dialect).ip])])


def closed_port():
    s = socket.socket()
    s.bind((LOOP, 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens: connecting is refused
    return port


@pytest.fixture
def server():
    srv = socket.socket()
    srv.bind((LOOP, 0))
    srv.listen(8)
    srv.settimeout(5)
    yield srv
    srv.close()


@pytest.fixture
def udp_peers():
    """Two UDP sockets on loopback: two different senders."""
    socks = []
    for _ in range(2):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((LOOP, 0))
        s.settimeout(5)
        socks.append(s)
    yield socks
    for s in socks:
        s.close()


# ==== section core: quirks= itself
def test_quirks_off_by_default(modem_factory):
    # no quirks=: nothing turned on, every new option at its off value, the banner
    # all at once as before
    sim, uart, at = modem_factory("sim7080")
    assert sim.quirks == []
    for k, v in CORE_DEFAULTS.items():
        assert sim.opts[k] == v
    replay(at, [(None, ["RDY", "+CFUN: 1", "+CPIN: READY", "SMS Ready"])])


def test_quirks_real_mode_is_seeded():
    cls = get_personality("sim7600")
    names = sorted(cls.quirk_names())
    a = cls(seed=3, quirks="real").quirks
    b = cls(seed=3, quirks="real").quirks
    assert a == b and set(a) <= set(names)
    # the seed decides: over a few seeds the choice differs and covers every quirk
    seen = [tuple(cls(seed=s, quirks="real").quirks) for s in range(8)]
    assert len(set(seen)) > 1
    assert set(n for q in seen for n in q) == set(names)
    # seed= in the spec wins over the simulator's seed
    assert cls(seed=1, quirks="real,seed=3").quirks == a
    assert cls(quirks="real=0").quirks == []
    assert cls(quirks="real=1").quirks == names
    assert cls(quirks="all").quirks == names


def test_quirks_by_name_and_off():
    cls = get_personality("sim7600")
    sim = cls(quirks="all,-stale_answers,-short_payload")
    assert "stale_answers" not in sim.quirks and "short_payload" not in sim.quirks
    assert sim.opts["stale_answers"] == 0 and sim.faults.short is None
    sim = cls(quirks=["boot_stagger", "late_fail", "scale=0.01"])
    assert sim.quirks == ["boot_stagger", "late_fail"]
    assert sim.opts["boot_stagger_ms"] == 30  # 3 s x 0.01
    assert sim.opts["fail_late_ms"] == round((cls.open_max_ms + 500) * 0.01)
    with pytest.raises(ValueError, match="unknown quirk 'nope'"):
        cls(quirks="nope")
    with pytest.raises(ValueError):
        parse_quirks("real=2")


def test_quirks_explicit_options_and_faults_win():
    cls = get_personality("sim7080")
    sim = cls(quirks="all", opts={"stale_answers": 0, "boot_stagger_ms": 7},
              faults=["short=0.5:3"])
    assert sim.opts["stale_answers"] == 0 and sim.opts["boot_stagger_ms"] == 7
    assert sim.faults.short == [0.5, 3]  # the quirk's short=0.005 did not replace it
    assert sim.opts["boot_cpin_error"] is True and sim.faults.vwarn == (60000, "both")


# ==== section core: boot messiness
def test_boot_stagger_banner_lines_come_one_by_one(modem_factory):
    # RDY at once; the rest only when due (released here); registration waits for the
    # SIM line
    sim, uart, at = modem_factory("sim7080", **LONG_BOOT)
    replay(at, [(None, ["RDY"]),
                ("ATE0", [b"ATE0\r", "OK"]),
                ("AT+CEREG?", ["+CEREG: 0,0", "OK"]),
                (lambda: sim.release_boot_line(False), ["+CFUN: 1"]),
                (lambda: sim.release_boot_line(False), ["+CPIN: READY"]),
                ("AT+CEREG?", ["+CEREG: 0,1", "OK"]),
                (lambda: sim.release_boot_line(False), ["SMS Ready"])])
    assert sim.release_boot_line() is None


def test_boot_stagger_line_inside_a_command_reply(modem_factory):
    # a boot line due while the host talks comes inside the reply: the seeded
    # generator places it; whatever the place, it comes after the command was sent
    # and before its final OK
    sim, uart, at = modem_factory("sim7600", **LONG_BOOT)
    replay(at, [(None, ["RDY"])])
    assert sim.release_boot_line(inside_reply=True) == "+CPIN: READY"
    time.sleep(0.05)
    assert at.drain() == b""  # held for the next reply
    lines = at.cmd("AT+CSQ")
    assert lines[-1] == "OK" and "+CPIN: READY" in lines, lines
    assert sorted(lines) == sorted(["+CPIN: READY", "+CSQ: 25,99", "OK"])


def test_boot_stagger_real_timers_deliver_every_line(modem_factory):
    # a short window: every banner line comes by itself, in order
    sim, uart, at = modem_factory("quectel", opts={"boot_stagger_ms": 40})
    want = ["RDY", "+CFUN: 1", "+CPIN: READY", "+QIND: SMS DONE", "+QIND: PB DONE"]
    got = [at.read_line() for _ in want]
    assert got == want


def test_boot_cpin_busy_while_starting(modem_factory):
    # 27.007 form by default: +CME ERROR: 14 (SIM busy) until the +CPIN line is out
    sim, uart, at = modem_factory("quectel", **LONG_BOOT)
    replay(at, [(None, ["RDY"]), ("ATE0", [b"ATE0\r", "OK"]),
                ("AT+CMEE=1", ["OK"]),
                ("AT+CPIN?", ["+CME ERROR: 14"]),
                (lambda: sim.release_boot_line(False), ["+CFUN: 1"]),
                ("AT+CPIN?", ["+CME ERROR: 14"]),
                (lambda: sim.release_boot_line(False), ["+CPIN: READY"]),
                ("AT+CPIN?", ["+CPIN: READY", "OK"])])


def test_boot_cpin_plain_error_while_starting(modem_factory):
    # boot_cpin_error: a plain ERROR, whatever AT+CMEE says (seen on real modules)
    sim, uart, at = modem_factory("sim7080", seed=5, opts={"boot_stagger_ms": 600000,
                                                            "boot_cpin_error": True})
    replay(at, [(None, ["RDY"]), ("ATE0", [b"ATE0\r", "OK"]),
                ("AT+CMEE=2", ["OK"]),
                ("AT+CPIN?", ["ERROR"]),
                (lambda: sim.release_boot_line(False), ["+CFUN: 1"]),
                (lambda: sim.release_boot_line(False), ["+CPIN: READY"]),
                ("AT+CPIN?", ["+CPIN: READY", "OK"])])


def test_boot_lost_commands_answered_by_boot_lines(modem_factory):
    # boot_lost_cmds=2: the first two commands get no echo and no result; a boot
    # line is all that comes back. The third is answered as usual.
    sim, uart, at = modem_factory("sim7080", seed=5, opts={"boot_stagger_ms": 600000,
                                                            "boot_lost_cmds": 2})
    replay(at, [(None, ["RDY"]),
                ("AT", ["+CFUN: 1"]),
                ("AT", ["+CPIN: READY"]),
                ("AT", [b"AT\r", "OK"]),
                (lambda: sim.release_boot_line(False), ["SMS Ready"])])


def test_stale_answer_before_next_reply(modem_factory):
    # stale_answers=1: the first command's echo and OK are held back (the host times
    # out) and come right in front of the next command's echo
    sim, uart, at = modem_factory("sim7600", opts={"stale_answers": 1})
    at.wait_line("PB DONE")
    at.write("AT\r")
    wait_for(lambda: sim._ncmds == 1)
    time.sleep(0.05)
    assert at.drain() == b""  # nothing yet
    replay(at, [("AT+CGMI", [b"AT\r", "OK", b"AT+CGMI\r", "SIMCOM INCORPORATED", "OK"]),
                ("AT", [b"AT\r", "OK"])])


def test_stale_answers_again_after_reboot(modem_factory):
    # every power-on starts the count again
    sim, uart, at = modem_factory("quectel", opts={"stale_answers": 1})
    at.wait_line("+QIND: PB DONE")
    replay(at, [("ATE0", []), ("AT", [b"ATE0\r", "OK", "OK"])], quiet=False)
    sim.reboot()
    at.wait_line("+QIND: PB DONE")
    at.write("AT+CGMM\r")
    wait_for(lambda: sim._ncmds == 3)
    replay(at, [("AT", [b"AT+CGMM\r", "UG96", "OK", b"AT\r", "OK"])])


# ==== section core: supply voltage
def test_voltage_warnings_simcom_form(modem_factory):
    # vwarn=MS:both: under, then over, every MS ms (SIM7000/SIM800 spelling)
    sim, uart, at = booted(modem_factory, "sim7080", faults=["vwarn=100:both"])
    replay(at, [(None, ["UNDER-VOLTAGE WARNNING"]), (None, ["OVER-VOLTAGE WARNNING"])],
           quiet=False)
    replay(at, [("AT", ["OK"])], quiet=False)  # still running


def test_undervoltage_power_down_then_restart(modem_factory, sink):
    # the power down line, sockets gone, the module deaf; then it boots again
    # (banner) as a board whose supply recovered
    sim, uart, at = booted(modem_factory, "sim7080")
    online(at, "sim7080")
    replay(at, [('AT+CAOPEN=0,0,"TCP","%s",%d' % (LOOP, sink.getsockname()[1]),
                 ["+CAOPEN: 0,0", "OK"])])
    peer, _ = sink.accept()
    peer.settimeout(5)
    replay(at, [(sim.voltage_warning, ["UNDER-VOLTAGE WARNNING"]),
                (lambda: sim.voltage_power_down("under", restart_ms=300),
                 ["UNDER-VOLTAGE POWER DOWN"])], quiet=False)
    assert not sim.powered
    assert peer.recv(10) == b""  # the connection died with the module
    at.write("AT\r")  # ignored while off
    replay(at, [(None, ["RDY", "+CFUN: 1", "+CPIN: READY", "SMS Ready"])], quiet=False)
    replay(at, [("AT", [b"AT\r", "OK"])])
    peer.close()


def test_brownout_fault(modem_factory):
    # brownout=MS:RESTART_MS: warning, power down, and the banner again
    sim, uart, at = modem_factory("yuge", faults=["brownout=100:100"])
    replay(at, [(None, ["RDY", "+CPIN: READY", "UNDER-VOLTAGE WARNNING",
                        "UNDER-VOLTAGE POWER DOWN", "RDY", "+CPIN: READY"])])


def test_power_down_without_restart_stays_off(modem_factory):
    sim, uart, at = booted(modem_factory, "yuge")
    replay(at, [(lambda: sim.voltage_power_down("over"), ["OVER-VOLTAGE POWER DOWN"])])
    at.write("AT\r")
    time.sleep(0.05)
    assert at.drain() == b""
    replay(at, [(sim.power_on, ["RDY", "+CPIN: READY"])])


# ==== section core: short payloads (every family)
def _buffer_two_ways(dialect, sim, at, server):
    """Open a connection, have the server send 200 bytes, leave them in the module.
    Returns (the server's socket, the command that reads 200 bytes, its header)."""
    port = server.getsockname()[1]
    payload = bytes(range(48, 48 + 50)) * 4  # no CR, LF or OK inside
    if dialect == "sim7080":
        replay(at, [('AT+CAOPEN=0,0,"TCP","%s",%d' % (LOOP, port), ["+CAOPEN: 0,0", "OK"])])
        peer, _ = server.accept()
        peer.sendall(payload)
        replay(at, [(None, ["+CADATAIND: 0"])])
        return peer, payload, "AT+CARECV=0,200", b"\r\n+CARECV: 200,"
    if dialect == "sim7600":
        replay(at, [("AT+CIPRXGET=1", ["OK"]),
                    ('AT+CIPOPEN=0,"TCP","%s",%d' % (LOOP, port), ["OK", "+CIPOPEN: 0,0"])])
        peer, _ = server.accept()
        peer.sendall(payload)
        replay(at, [(None, ["+CIPRXGET: 1,0"])])
        wait_for(lambda: len(sim.links[0].rx) == 200)
        return peer, payload, "AT+CIPRXGET=2,0,200", b"\r\n+CIPRXGET: 2,0,200,0\r\n"
    if dialect == "quectel":
        replay(at, [('AT+QIOPEN=1,0,"TCP","%s",%d,0,0' % (LOOP, port),
                     ["OK", "+QIOPEN: 0,0"])])
        peer, _ = server.accept()
        peer.sendall(payload)
        replay(at, [(None, ['+QIURC: "recv",0'])])
        wait_for(lambda: len(sim.links[0].rx) == 200)
        return peer, payload, "AT+QIRD=0,200", b"\r\n+QIRD: 200\r\n"
    replay(at, [("AT+CIPRXGET=1", ["OK"]),
                ('AT+CIPSTART=0,"TCP","%s",%d' % (LOOP, port), ["OK", "0, CONNECT OK"])])
    peer, _ = server.accept()
    peer.sendall(payload)
    replay(at, [(None, ["+CIPRXGET: 1,0"])])
    wait_for(lambda: len(sim.links[0].rx) == 200)
    return peer, payload, "AT+CIPRXGET=2,0,200", b"\r\n+CIPRXGET: 2,0,200,0\r\n"


@pytest.mark.parametrize("dialect", SHORT_READ)
def test_short_payload_read_reply(modem_factory, server, dialect):
    # short=1:1: the first counted payload loses 1-16 bytes; the header still says
    # 200, the line end and OK follow as usual, later payloads are whole
    sim, uart, at = booted(modem_factory, dialect, faults=["short=1:1"])
    online(at, dialect)
    peer, payload, cmd, head = _buffer_two_ways(dialect, sim, at, server)
    at.write(cmd + "\r")
    assert at.read_exact(len(head)) == head
    body = at.read_until(b"\r\nOK\r\n")
    assert body.endswith(b"\r\n")
    body = body[:-2]
    (n, lost), = sim.short_cuts
    assert n == 200 and 1 <= lost <= 16 and len(body) == 200 - lost
    # what arrived is the payload with one run of bytes missing
    i = next(i for i in range(200) if i >= len(body) or body[i] != payload[i])
    assert body == payload[:i] + payload[i + lost:]
    # the next payload is intact
    peer.sendall(payload[:10])
    wait_for(lambda: len(sim.links[0].rx) == 10)
    at.write(cmd.replace("200", "10") + "\r")
    assert at.read_until(b"\r\nOK\r\n").endswith(payload[:10] + b"\r\n")
    peer.close()


@pytest.mark.parametrize("dialect", SHORT_PUSH)
def test_short_payload_pushed_data(modem_factory, server, dialect):
    # direct push: the +IPD / +QIURC "recv" / +RECEIVE header says 100, fewer follow
    sim, uart, at = booted(modem_factory, dialect, faults=["short=1:1"])
    online(at, dialect)
    port = server.getsockname()[1]
    if dialect == "sim7600":
        replay(at, [("AT+CIPSRIP=0", ["OK"]),
                    ('AT+CIPOPEN=0,"TCP","%s",%d' % (LOOP, port), ["OK", "+CIPOPEN: 0,0"])])
        head = b"\r\n+IPD100\r\n"
    elif dialect == "quectel":
        replay(at, [('AT+QIOPEN=1,0,"TCP","%s",%d,0,1' % (LOOP, port),
                     ["OK", "+QIOPEN: 0,0"])])
        head = b'\r\n+QIURC: "recv",0,100\r\n'
    else:
        replay(at, [('AT+CIPSTART=0,"TCP","%s",%d' % (LOOP, port), ["OK", "0, CONNECT OK"])])
        head = b"\r\n+RECEIVE,0,100:\r\n"
    peer, _ = server.accept()
    peer.sendall(b"x" * 100)
    assert at.read_exact(len(head)) == head
    (n, lost), = sim.short_cuts
    assert n == 100 and at.read_exact(100 - lost) == b"x" * (100 - lost)
    time.sleep(0.05)
    rest = at.drain()
    assert rest in (b"", b"\r\n")  # quectel ends a push with CR LF; no more x
    peer.close()


# ==== section core: injected failures and late results (every family)
@pytest.mark.parametrize("dialect,cmd,want", [c for c in [
    ("sim7080", 'AT+CAOPEN=0,0,"TCP","127.0.0.1",%d', ["+CAOPEN: 0,2", "OK"]),
    ("sim7600", 'AT+CIPOPEN=0,"TCP","127.0.0.1",%d', ["OK", "+CIPOPEN: 0,2"]),
    ("quectel", 'AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0', ["OK", "+QIOPEN: 0,2"]),
    ("yuge", 'AT+CIPSTART=0,"TCP","127.0.0.1",%d', ["OK", "0, CONNECT FAIL"]),
] if c[0] in FAILING])
def test_open_failure_injected(modem_factory, sink, dialect, cmd, want):
    # fail=NAME:2: the family's own failure result, code 2 where it has one
    name = cmd.split("=")[0][2:]
    sim, uart, at = booted(modem_factory, dialect, faults=["fail=%s:2:1" % name])
    online(at, dialect)
    replay(at, [(cmd % sink.getsockname()[1], want)])


@pytest.mark.parametrize("dialect,cmd,want", [c for c in [
    ("sim7080", 'AT+CAOPEN=0,0,"TCP","127.0.0.1",%d', ["+CAOPEN: 0,23", "OK"]),
    ("sim7600", 'AT+CIPOPEN=0,"TCP","127.0.0.1",%d', ["OK", "+CIPOPEN: 0,1"]),
    ("quectel", 'AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0', ["OK", "+QIOPEN: 0,566"]),
    ("yuge", 'AT+CIPSTART=0,"TCP","127.0.0.1",%d', ["OK", "0, CONNECT FAIL"]),
] if c[0] in FAILING])
def test_late_connect_fail(modem_factory, dialect, cmd, want):
    # fail_late_ms: a refused open reports its failure that long after the command
    # (real: CONNECT FAIL 75.5 s after AT+CIPSTART against a 75 s limit; the late_fail
    # quirk uses the manual's limit + 0.5 s times scale=)
    sim, uart, at = booted(modem_factory, dialect, opts={"fail_late_ms": 400})
    online(at, dialect)
    t0 = time.monotonic()
    replay(at, [(cmd % closed_port(), want)])
    assert time.monotonic() - t0 >= 0.4  # never earlier (later on a slow host is fine)


def test_late_fail_quirk_is_the_manual_limit_plus_half_a_second():
    for name in FAILING:
        limit = OPEN_LIMIT[name]
        sim = get_personality(name)(quirks="late_fail")
        assert sim.opts["fail_late_ms"] == limit + 500, name
        sim = get_personality(name)(quirks="late_fail,scale=0.001")
        assert sim.opts["fail_late_ms"] == round((limit + 500) / 1000), name


@pytest.mark.parametrize("dialect,cmd,want", [
    ("sim7080", 'AT+CAOPEN=0,0,"TCP","127.0.0.1",%d', ["+CAOPEN: 0,0", "OK"]),
    ("sim7600", 'AT+CIPOPEN=0,"TCP","127.0.0.1",%d', ["OK", "+CIPOPEN: 0,0"]),
    ("quectel", 'AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0', ["OK", "+QIOPEN: 0,0"]),
    ("yuge", 'AT+CIPSTART=0,"TCP","127.0.0.1",%d', ["OK", "0, CONNECT OK"]),
])
def test_link_opens_late(modem_factory, sink, dialect, cmd, want):
    # connect_ms: the open succeeds after the host may have given up; the link is
    # real and open then (the host must close it)
    sim, uart, at = booted(modem_factory, dialect, opts={"connect_ms": 300})
    online(at, dialect)
    t0 = time.monotonic()
    replay(at, [(cmd % sink.getsockname()[1], want)])
    assert time.monotonic() - t0 >= 0.3
    sink.accept()[0].close()


# ==== section core: +CGEV off by default, accepted clients
def test_cgev_none_by_default(modem_factory):
    for dialect in ("sim7600", "quectel", "yuge"):
        sim, uart, at = booted(modem_factory, dialect)
        online(at, dialect)
        sim.network_drop()
        time.sleep(0.05)
        assert b"+CGEV" not in at.drain(), dialect


@pytest.mark.parametrize("dialect", families.NAMES)
def test_accepted_client_reports_its_real_port(modem_factory, dialect):
    sim, uart, at = booted(modem_factory, dialect)
    online(at, dialect)
    lport = closed_port()
    if dialect == "sim7080":
        replay(at, [('AT+CASERVER=0,0,"TCP",%d' % lport, ["+CASERVER: 0,0", "OK"])])
    elif dialect == "sim7600":
        replay(at, [("AT+SERVERSTART=%d,0" % lport, ["OK"])])
    elif dialect == "quectel":
        replay(at, [('AT+QIOPEN=1,0,"TCP LISTENER","127.0.0.1",0,%d,0' % lport,
                     ["OK", "+QIOPEN: 0,0"])])
    else:
        replay(at, [("AT+CIPSERVER=1,%d" % lport, ["OK", "SERVER OK"])])
    c = socket.create_connection((LOOP, lport), timeout=5)
    cport = c.getsockname()[1]
    if dialect == "sim7080":
        replay(at, [(None, ["+CANEW: 0,1,%s,%d" % (LOOP, cport)])])
    elif dialect == "sim7600":
        replay(at, [(None, ["+CLIENT: 0,0,%s:%d" % (LOOP, cport)])])
    elif dialect == "quectel":
        replay(at, [(None, ['+QIURC: "incoming",11,0,"%s",%d' % (LOOP, cport)])])
    else:
        # "REMOTE IP" has no port; AT+CIPSTATUS shows the client's real one
        replay(at, [(None, ["0, REMOTE IP: %s" % LOOP])], quiet=False)
        at.write("AT+CIPSTATUS\r")  # OK, STATE, the server, C: 0 ... C: 5
        lines = [at.read_line() for _ in range(9)]
        assert 'C: 0,0,"TCP","%s","%d","CONNECTED"' % (LOOP, cport) in lines, lines
    c.close()


# ==== section core: the command line
def test_cli_quirks_flag_runs_the_personality_with_them():
    p = subprocess.Popen([sys.executable, "-m", "tools.modemsim", "--dialect", "sim7080",
                          "--quirks", "real=1,scale=0.01", "--pty"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        path = p.stdout.readline().strip()
        assert path.startswith("/dev/"), path
    finally:
        p.terminate()
        _, err = p.communicate(timeout=10)
    assert "quirks on: boot_cpin_error, boot_lost_cmds, boot_stagger" in err, err
    r = subprocess.run([sys.executable, "-m", "tools.modemsim", "--quirks", "nope"],
                       cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "unknown quirk" in r.stderr


# ==== section sim7080: SIM7080 and the SIM7000 variant
def test_caopen_failure_without_ok(modem_factory, sink):
    # caopen_fail_no_ok + fail=+CAOPEN:11: "+CAOPEN: 0,11" ends the command, no OK
    sim, uart, at = booted(modem_factory, "sim7080", opts={"caopen_fail_no_ok": True},
                           faults=["fail=+CAOPEN:11:1"])
    online(at, "sim7080")
    port = sink.getsockname()[1]
    replay(at, [('AT+CAOPEN=0,0,"TCP","%s",%d' % (LOOP, port), ["+CAOPEN: 0,11"])])
    assert not sim._in_cmd
    replay(at, [("AT", ["OK"]),
                # the fault fired once: the next open works and has its OK
                ('AT+CAOPEN=0,0,"TCP","%s",%d' % (LOOP, port), ["+CAOPEN: 0,0", "OK"])])


def test_caopen_failure_with_ok_by_default(modem_factory):
    sim, uart, at = booted(modem_factory, "sim7080")
    online(at, "sim7080")
    replay(at, [('AT+CAOPEN=0,0,"TCP","%s",%d' % (LOOP, closed_port()),
                 ["+CAOPEN: 0,23", "OK"])])


def test_sim7080_casend_failure_is_error(modem_factory, sink):
    # the SIM7080's real form has no result line: a failed send is ERROR
    sim, uart, at = booted(modem_factory, "sim7080", faults=["fail=+CASEND:1:1"])
    online(at, "sim7080")
    port = sink.getsockname()[1]
    replay(at, [('AT+CAOPEN=0,0,"TCP","%s",%d' % (LOOP, port), ["+CAOPEN: 0,0", "OK"])])
    peer, _ = sink.accept()
    replay(at, [("AT+CASEND=0,2", [b"\r\n> "]), (b"hi", ["ERROR"])])
    peer.close()


def test_sim7000_identity(modem_factory):
    sim, uart, at = booted(modem_factory, "sim7000")
    replay(at, [("AT+CGMM", ["SIMCOM_SIM7000G", "OK"]),
                ("AT+CGMR", ["Revision:1529B11SIM7000G", "OK"]),
                ("ATI", ["SIM7000G R1529", "OK"])])
    assert get_personality("sim7080")(opts={"variant": "sim7000"}).model == "SIMCOM_SIM7000G"
    sim = get_personality("sim7080")()
    assert sim.opts["variant"] == "sim7080" and not sim.opts["caopen_fail_no_ok"]
    with pytest.raises(ValueError):
        get_personality("sim7080")(opts={"variant": "sim7070"})


def test_sim7000_cnact_one_context_without_cid(modem_factory):
    sim, uart, at = booted(modem_factory, "sim7000")
    ip = sim.ip
    replay(at, [("AT+CNACT?", ['+CNACT: 0,"0.0.0.0"', "OK"]),
                ('AT+CNACT=1,"internet"', ["OK", "+APP PDP: ACTIVE"]),
                ("AT+CNACT?", ['+CNACT: 1,"%s"' % ip, "OK"]),
                ('AT+CNACT=1,"internet"', ["ERROR"]),  # active already
                ("AT+CNACT=0", ["OK", "+APP PDP: DEACTIVE"]),
                ("AT+CNACT?", ['+CNACT: 0,"0.0.0.0"', "OK"])])


def test_sim7000_cnact_apn_from_cncfg_and_refused_apn(modem_factory):
    sim, uart, at = booted(modem_factory, "sim7000", reject_apns=["blocked"])
    replay(at, [('AT+CNCFG=1,"blocked"', ["OK"]),
                ("AT+CNACT=1", ["OK", "+APP PDP: DEACTIVE"]),
                ('AT+CNACT=1,"internet"', ["OK", "+APP PDP: ACTIVE"])])


def test_sim7000_refuses_sim7080_forms(modem_factory, sink):
    sim, uart, at = booted(modem_factory, "sim7000")
    port = sink.getsockname()[1]
    replay(at, [("AT+CNACT=0,1", ["ERROR"]),  # <pdpidx>,<action>: not SIM7000's
                ('AT+CNACT=1,"internet"', ["OK", "+APP PDP: ACTIVE"]),
                ('AT+CAOPEN=0,0,"TCP","%s",%d' % (LOOP, port), ["ERROR"]),
                ('AT+CASERVER=1,0,"TCP",0', ["ERROR"]),
                ('AT+CAOPEN=0,"TCP","%s",%d' % (LOOP, port), ["+CAOPEN: 0,0", "OK"])])


def test_sim7000_casend_result_after_ok(modem_factory, sink):
    sim, uart, at = booted(modem_factory, "sim7000")
    online(at, "sim7000")
    port = sink.getsockname()[1]
    replay(at, [('AT+CAOPEN=0,"TCP","%s",%d' % (LOOP, port), ["+CAOPEN: 0,0", "OK"])])
    peer, _ = sink.accept()
    peer.settimeout(5)
    replay(at, [("AT+CASEND=0,5", [b"\r\n> "]),
                (b"hello", ["OK", "+CASEND: 0,0,5"])])
    assert peer.recv(100) == b"hello"
    peer.close()


def test_sim7000_casend_failure_injected(modem_factory, sink):
    # fail=+CASEND:1: the send is not made, the result after OK says so
    sim, uart, at = booted(modem_factory, "sim7000", faults=["fail=+CASEND:1:1"])
    online(at, "sim7000")
    port = sink.getsockname()[1]
    replay(at, [('AT+CAOPEN=0,"TCP","%s",%d' % (LOOP, port), ["+CAOPEN: 0,0", "OK"])])
    peer, _ = sink.accept()
    peer.settimeout(5)
    replay(at, [("AT+CASEND=0,5", [b"\r\n> "]),
                (b"hello", ["OK", "+CASEND: 0,1,0"]),
                ("AT+CASEND=0,3", [b"\r\n> "]),
                (b"abc", ["OK", "+CASEND: 0,0,3"])])
    assert peer.recv(100) == b"abc"
    peer.close()


def test_cli_lists_quirks():
    r = subprocess.run([sys.executable, "-m", "tools.modemsim", "--dialect", "sim7080",
                        "--list-quirks"], cwd=ROOT, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert "caopen_fail_no_ok" in r.stdout and "fail_late_ms=150500" in r.stdout


# ==== section sim7600: SIM7600
def test_netopen_bare_error_when_open(modem_factory):
    sim, uart, at = booted(modem_factory, "sim7600", opts={"netopen_bare_error": True})
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ("AT+NETOPEN", ["ERROR"]),
                ("AT+NETOPEN?", ["+NETOPEN: 1", "OK"]),
                ("AT+IPADDR", ["+IPADDR: %s" % sim.ip, "OK"])])


def test_netopen_already_open_text_by_default(modem_factory):
    sim, uart, at = booted(modem_factory, "sim7600")
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0"]),
                ("AT+NETOPEN", ["+IP ERROR: Network is already opened", "ERROR"])])


def test_netopen_auto_open_before_the_host_asks(modem_factory):
    # the netopen_bare_error quirk: open on its own at registration, so the host's
    # first AT+NETOPEN gets the bare ERROR while the network is in fact open
    sim, uart, at = booted(modem_factory, "sim7600", quirks="netopen_bare_error")
    replay(at, [("AT+NETOPEN?", ["+NETOPEN: 1", "OK"]),
                ("AT+NETOPEN", ["ERROR"]),
                ("AT+IPADDR", ["+IPADDR: %s" % sim.ip, "OK"])])


def test_cgev_sim7600_context_lost_and_regained(modem_factory):
    sim, uart, at = booted(modem_factory, "sim7600", opts={"cgev_urcs": True})
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0", "+CGEV: EPS PDN ACT 1"]),
                (sim.network_drop, ["+CGEV: NW PDN DEACT 1",
                                    "+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY"]),
                ("AT+NETOPEN", ["OK", "+NETOPEN: 0", "+CGEV: EPS PDN ACT 1"]),
                ("AT+NETCLOSE", ["OK", "+NETCLOSE: 0", "+CGEV: ME PDN DEACT 1"])])


def test_cgev_only_sim7600(modem_factory, sink):
    # "only": the +CGEV line is the one sign of the lost context
    sim, uart, at = booted(modem_factory, "sim7600",
                           opts={"cgev_urcs": "only", "drop_ipclose": True})
    replay(at, [("AT+NETOPEN", ["OK", "+NETOPEN: 0", "+CGEV: EPS PDN ACT 1"]),
                ('AT+CIPOPEN=0,"TCP","%s",%d' % (LOOP, sink.getsockname()[1]),
                 ["OK", "+CIPOPEN: 0,0"]),
                (sim.network_drop, ["+CGEV: NW PDN DEACT 1"]),
                ("AT+NETOPEN?", ["+NETOPEN: 0", "OK"]),
                ("AT+CIPSEND=0,1", ["+CIPERROR: 2", "ERROR"])])  # network not opened


def test_udp_push_one_datagram_each_sim7600(modem_factory, udp_peers):
    # two datagrams from two senders wait in the buffer; back in push mode each
    # comes on its own with its sender (A7600 1.2)
    sim, uart, at = booted(modem_factory, "sim7600")
    online(at, "sim7600")
    lport = closed_port()
    replay(at, [("AT+CIPRXGET=1", ["OK"]),
                ('AT+CIPOPEN=1,"UDP",,,%d' % lport, ["+CIPOPEN: 1,0", "OK"])])
    a, b = udp_peers
    a.sendto(b"first", (LOOP, lport))
    replay(at, [(None, ["+CIPRXGET: 1,1"])])
    b.sendto(b"second!", (LOOP, lport))
    wait_for(lambda: len(sim.links[1].rx) == 12)
    replay(at, [("AT+CIPRXGET=0", ["OK",
                                    "RECV FROM:%s:%d" % (LOOP, a.getsockname()[1]),
                                    b"+IPD5\r\nfirst",
                                    "RECV FROM:%s:%d" % (LOOP, b.getsockname()[1]),
                                    b"+IPD7\r\nsecond!"])])


def test_udp_buffered_read_joins_sim7600(modem_factory, udp_peers):
    # buffer access mode: AT+CIPRXGET=2 reads bytes, no sender, rest counts the whole
    # buffer - this family's read cannot tell datagrams apart
    sim, uart, at = booted(modem_factory, "sim7600")
    online(at, "sim7600")
    lport = closed_port()
    replay(at, [("AT+CIPRXGET=1", ["OK"]),
                ('AT+CIPOPEN=1,"UDP",,,%d' % lport, ["+CIPOPEN: 1,0", "OK"])])
    a, b = udp_peers
    a.sendto(b"first", (LOOP, lport))
    replay(at, [(None, ["+CIPRXGET: 1,1"])])
    b.sendto(b"second!", (LOOP, lport))
    wait_for(lambda: len(sim.links[1].rx) == 12)
    replay(at, [("AT+CIPRXGET=2,1,100", [b"\r\n+CIPRXGET: 2,1,12,0\r\nfirstsecond!\r\n",
                                          "OK"])])


# ==== section quectel: Quectel
def test_cgev_quectel_context_lost(modem_factory):
    sim, uart, at = booted(modem_factory, "quectel", opts={"cgev_urcs": True})
    replay(at, [("AT+QIACT=1", ["OK", "+CGEV: EPS PDN ACT 1"]),
                (sim.network_drop, ["+CGEV: NW PDN DEACT 1", '+QIURC: "pdpdeact",1']),
                ("AT+QIDEACT=1", ["OK"]),  # gone already: no second +CGEV
                ("AT+QIACT=1", ["OK", "+CGEV: EPS PDN ACT 1"]),
                ("AT+QIDEACT=1", ["OK", "+CGEV: ME PDN DEACT 1"])])


def test_voltage_warning_quectel_form(modem_factory):
    sim, uart, at = booted(modem_factory, "quectel")
    replay(at, [(lambda: sim.voltage_warning("under"), ["UNDER_VOLTAGE WARNING"]),
                (lambda: sim.voltage_warning("over"), ["OVER_VOLTAGE WARNING"])])


def test_udp_qird_one_datagram_per_read_quectel(modem_factory, udp_peers):
    # UDP SERVICE: each AT+QIRD returns one datagram and its sender
    sim, uart, at = booted(modem_factory, "quectel")
    online(at, "quectel")
    lport = closed_port()
    replay(at, [('AT+QIOPEN=1,2,"UDP SERVICE","127.0.0.1",0,%d,0' % lport,
                 ["OK", "+QIOPEN: 2,0"])])
    a, b = udp_peers
    a.sendto(b"first", (LOOP, lport))
    replay(at, [(None, ['+QIURC: "recv",2'])])
    b.sendto(b"second!", (LOOP, lport))
    wait_for(lambda: len(sim.links[2].rx) == 12)
    replay(at, [("AT+QIRD=2,1500", ['+QIRD: 5,"%s",%d' % (LOOP, a.getsockname()[1]),
                                     b"first\r\n", "OK"]),
                ("AT+QIRD=2,1500", ['+QIRD: 7,"%s",%d' % (LOOP, b.getsockname()[1]),
                                     b"second!\r\n", "OK"]),
                ("AT+QIRD=2,1500", ["+QIRD: 0", "OK"])])


# ==== section yuge: Yuge
def test_yuge_quirks_by_name():
    sim = get_personality("yuge")(quirks="sapbr_quoted,no_tls,cgev,call_ready")
    assert sim.quirks == ["call_ready", "cgev", "no_tls", "sapbr_quoted"]
    assert sim.opts["sapbr_ip"] == "quoted" and sim.opts["tls_firmware"] is False
    assert sim.opts["cgev_urcs"] is True and "Call Ready" in sim.opts["banner"]


def test_boot_call_ready_banner_yuge(modem_factory):
    # the call_ready quirk: the SIM800-family power-on lines
    sim, uart, at = modem_factory("yuge", quirks="call_ready")
    replay(at, [(None, ["RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"])])


def test_cgev_yuge_with_cgerep_and_cfun(modem_factory):
    # yuge follows its manual (6.7/6.8): +CGEV once AT+CGEREP=1, EPS PDN DEACT for the
    # network's deactivation, ME PDN DEACT for the module's (AT+CFUN=0)
    sim, uart, at = booted(modem_factory, "yuge")
    # (+SAPBR 1: DEACT is the HTTP bearer's own URC, manual 10.1; after the network
    # took it, the bearer stays down until AT+SAPBR=1,1, so AT+CFUN=0 has none)
    replay(at, [("AT+CGEREP=1", ["OK"]),
                (sim.network_drop, ["+CGEV: EPS PDN DEACT 1", "+PDP DEACT",
                                    "+SAPBR 1: DEACT"]),
                ("AT+CGATT=1", ["OK", "+CGEV: EPS PDN ACT 1"]),
                ("AT+CFUN=0", ["OK", "+CGEV: ME PDN DEACT 1", "+PDP DEACT"])])


def test_yuge_sapbr_quoted_address(modem_factory):
    sim, uart, at = booted(modem_factory, "yuge", quirks="sapbr_quoted")
    replay(at, [("AT+SAPBR=2,1", ['+SAPBR: 1,1,"%s"' % sim.ip, "OK"])])


def test_yuge_cifsr_in_a_composite_line(modem_factory):
    # AT+CIFSR;E0: the address as a line, E0 runs, OK ends the line
    sim, uart, at = booted(modem_factory, "yuge", echo=True)
    replay(at, [("AT+CSTT", [b"AT+CSTT\r", "OK"]), ("AT+CIICR", [b"AT+CIICR\r", "OK"]),
                ("AT+CIFSR;E0", [b"AT+CIFSR;E0\r", "10.83.172.111", "OK"]),
                ("AT+CIFSR", ["10.83.172.111"])])  # E0 took effect; alone: no OK


def test_yuge_tls_refused_without_tls_firmware(modem_factory):
    sim, uart, at = booted(modem_factory, "yuge", quirks="no_tls")
    replay(at, [("AT+HTTPSSL=1", ["ERROR"]), ("AT+HTTPSSL=0", ["OK"]),
                ("AT+CIPSSL=1", ["ERROR"]), ("AT+CIPSSL?", ["+CIPSSL: 0", "OK"]),
                ('AT+SSLMIPSTART="127.0.0.1",8883', ["ERROR"])])


def test_udp_push_one_datagram_each_yuge(modem_factory, udp_peers):
    # datagrams that waited in the CIPRXGET buffer come one +RECEIVE each once the
    # host turns pushing back on
    sim, uart, at = booted(modem_factory, "yuge")
    online(at, "yuge")
    a = udp_peers[0]
    replay(at, [("AT+CIPRXGET=1", ["OK"]),
                ('AT+CIPSTART=0,"UDP","%s",%d' % (LOOP, a.getsockname()[1]),
                 ["OK", "0, CONNECT OK"])])
    at.write('AT+CIPSEND=0,2\r')
    at.expect(b"> ")
    at.write(b"hi")
    at.wait_line("0, SEND OK")
    data, addr = a.recvfrom(10)
    a.sendto(b"first", addr)
    replay(at, [(None, ["+CIPRXGET: 1,0"])])
    a.sendto(b"second!", addr)
    wait_for(lambda: len(sim.links[0].rx) == 12)
    replay(at, [("AT+CIPRXGET=0", ["OK", b"\r\n+RECEIVE,0,5:\r\nfirst",
                                    b"\r\n+RECEIVE,0,7:\r\nsecond!"])])


# ==== section all: every family, every quirk
def test_all_quirks_boot_and_answer(modem_factory):
    # every quirk at once, times scaled down: the module still boots, registers and
    # answers (what a host must ride through is the library's part)
    for dialect in ("sim7080", "sim7000", "sim7600", "quectel", "yuge"):
        sim, uart, at = modem_factory(dialect, quirks="all,-power_warnings,scale=0.01",
                                      seed=2)
        wait_for(lambda: sim.registered and not sim._boot_queue)
        time.sleep(0.05)
        at.drain()
        at.write("AT\r")  # the stale answer of this one comes before the next reply
        wait_for(lambda: sim._ncmds >= 1)
        at.write("AT+CSQ\r")
        lines = [at.read_line() for _ in range(5)]
        assert lines == ["AT", "OK", "AT+CSQ", lines[3], "OK"], (dialect, lines)
        assert lines[3].startswith("+CSQ: ") and lines[3] != "+CSQ: 99,99", dialect
