"""Bring-up from power-on through a messy boot, and the supply's warnings (issue 19
items 2 and 8), in CPython against the simulator (the real-MicroPython runs are in
test_micropython_boot_power.py).

Real modules start less tidily than their manuals show (users' captures; the
simulator's boot quirks model them, tools/modemsim/core.py):
  RDY / AT (lost: no echo, no result) / +CFUN: 1            a command lost while starting
  AT+CPIN? / ERROR                                          a plain ERROR, SIM not read yet
  AT+CGMM / +CPIN: READY / SIMCOM_SIM7080G / OK             a boot line inside a reply
  AT+CGMM / AT / OK / SIMCOM_SIM7080G / OK                  the late answer of an earlier AT
and later, on a battery board:
  UNDER-VOLTAGE WARNNING                                    (sic) the supply sags
  UNDER-VOLTAGE POWER DOWN                                  the module is off
Modem() and connect() ride through the first kind within their deadlines; the second
reaches modem.on_power(event, line), and a power down fails the sockets with
ECONNRESET, refuses commands at once (ModemOff) and counts as a restart: reconnect()
works once the module is back.

Nothing here depends on the host's speed: boot lines the tests place are released by
the tests themselves (a boot window no test outlives), and deadlines are liveness
bounds only.
"""
import errno
import time

import pytest

import cellmodem.socket as msocket
from cellmodem.fakeuart import FakeUART, Responder
from cellmodem.modem import Modem, ModemOff
from simfixtures import LOOPBACK
from tools.modemsim import get_personality
from tools import families

FAMILIES = ["sim7080", "sim7000", "sim7600", "quectel", "yuge"]
# every boot quirk the personality has (yuge: also call_ready), the stagger 3 s
BOOT_QUIRKS = "boot_stagger,boot_cpin_error,boot_lost_cmds,stale_answers"
# a boot window no test outlives (seed 5: the first staggered line is due after 370 s)
LONG_BOOT = {"boot_stagger_ms": 600000}


@pytest.fixture
def made():
    sims = []
    yield sims
    msocket.use(None)
    for sim in sims:
        sim.close()


def _sim(made, dialect, **kw):
    uart = FakeUART()
    sim = get_personality(dialect)(hosts={"echo.example": LOOPBACK}, **kw)
    sim.attach(uart)
    made.append(sim)
    return sim, uart


# ---- bring-up from power-on
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("dialect", FAMILIES)
def test_connect_from_power_on_with_the_boot_quirks_reaches_an_ip(made, dialect, seed):
    sim, uart = _sim(made, dialect, seed=seed, quirks=BOOT_QUIRKS + ",scale=2")
    assert {"boot_stagger", "boot_cpin_error", "stale_answers"} <= set(sim.quirks)
    modem = Modem(uart)
    assert modem.connect(apn="internet", timeout=30000) == sim.ip


@pytest.mark.parametrize("dialect", FAMILIES)
def test_connect_from_power_on_with_every_quirk_reaches_an_ip(made, dialect):
    sim, uart = _sim(made, dialect, seed=7, quirks="all")
    modem = Modem(uart)
    assert modem.connect(apn="internet", timeout=30000) == sim.ip


def test_boot_lines_inside_replies_are_not_the_answer(made):
    # +CFUN: 1, +CPIN: READY and SMS Ready each land inside an identity reply
    sim, uart = _sim(made, "sim7080", seed=5, opts=LONG_BOOT)
    modem = Modem(uart)
    assert sim.release_boot_line(inside_reply=True) == "+CFUN: 1"
    assert modem.model() == sim.model
    assert sim.release_boot_line(inside_reply=True) == "+CPIN: READY"
    assert modem.imei() == sim.imei
    assert sim.release_boot_line(inside_reply=True) == "SMS Ready"
    assert modem.manufacturer() == sim.manufacturer
    assert modem.sim_state() == "READY"


def test_plain_error_to_cpin_while_starting_is_asked_again(made):
    # AT+CPIN? / ERROR until the module has read its SIM; connect() asks again
    sim, uart = _sim(made, "sim7080", seed=5, opts=dict(LONG_BOOT, boot_cpin_error=True))
    modem = Modem(uart)
    assert sim.release_boot_line(False) == "+CFUN: 1"
    seen = []

    def trace(direction, data, ms):
        seen.append((direction, bytes(data)))
        if direction == b"<" and b"ERROR" in data and sim._boot_queue:
            sim.release_boot_line(False)  # the SIM is read after the first refusal

    modem.at.trace = trace
    assert modem.connect(apn="internet", timeout=30000) == sim.ip
    cpin = [d for k, d in seen if k == b">" and d.startswith(b"AT+CPIN?")]
    assert len(cpin) >= 2 and any(b"\r\nERROR\r\n" in d for k, d in seen if k == b"<")


def test_an_ok_without_the_cpin_line_is_asked_again():
    # a late OK of an earlier command answered AT+CPIN? in its place (echo is off by
    # then, so nothing marks it as another command's): the SIM state is asked again
    uart = FakeUART()
    script = Responder(uart, [
        (b"AT", b"\r\nOK\r\n"), (b"ATE0", b"\r\nOK\r\n"), (b"AT+CMEE=2", b"\r\nOK\r\n"),
        (b"AT+CPIN?", b"\r\nOK\r\n"),
        (b"AT+CPIN?", b"\r\n+CPIN: READY\r\n\r\nOK\r\n"),
    ])
    modem = Modem(uart, dialect="sim7600")
    from cellmodem import bringup
    assert bringup._sim_settled(modem, 5000) == "READY"
    assert script.mismatch is None and not script.steps


def test_a_ready_sim_reported_by_the_module_is_never_not_ready(made):
    # the module said +CPIN: READY by itself; a later plain ERROR does not undo it
    sim, uart = _sim(made, "sim7080", seed=5, opts=LONG_BOOT)
    modem = Modem(uart)
    sim.release_boot_line(False)  # +CFUN: 1
    sim.release_boot_line(False)  # +CPIN: READY
    modem.poll(200)
    sim.faults.parse("cme=+CPIN:14")  # from now on AT+CPIN? answers SIM busy
    assert modem.connect(apn="internet", timeout=30000) == sim.ip


def test_late_answer_of_an_earlier_command_is_dropped(made):
    # stale_answers=1: the answer of the first command after power-on comes out in
    # front of the next one's echo; the next command still gets its own answer
    sim, uart = _sim(made, "quectel", seed=2, opts={"stale_answers": 1})
    modem = Modem(uart)
    assert modem.model() == sim.model and modem.imei() == sim.imei


def test_restart_during_connect_starts_bring_up_again(made):
    # the module restarts (RDY) while connect() waits for registration
    sim, uart = _sim(made, "sim7600", seed=3, reg_delay_ms=300000)
    modem = Modem(uart)
    restarted = []

    def trace(direction, data, ms):
        if direction == b">" and data.startswith(b"AT+CREG?") and not restarted:
            restarted.append(1)
            sim.reg_delay_ms = 0
            sim.reboot()

    modem.at.trace = trace
    assert modem.connect(apn="internet", timeout=60000) == sim.ip
    assert restarted


# ---- supply voltage
@pytest.mark.parametrize("dialect,under,over", [
    ("sim7080", "UNDER-VOLTAGE WARNNING", "OVER-VOLTAGE WARNNING"),
    ("sim7000", "UNDER-VOLTAGE WARNNING", "OVER-VOLTAGE WARNNING"),
    ("sim7600", "UNDER-VOLTAGE WARNNING", "OVER-VOLTAGE WARNNING"),
    ("quectel", "UNDER_VOLTAGE WARNING", "OVER_VOLTAGE WARNING"),
    ("yuge", "UNDER-VOLTAGE WARNNING", "OVER-VOLTAGE WARNNING")])
def test_power_warnings_reach_the_callback_and_nothing_else_changes(made, dialect, under, over):
    sim, uart = _sim(made, dialect, seed=1)
    modem = Modem(uart)
    ip = modem.connect(apn="internet")
    events = []
    modem.on_power = lambda event, line: events.append((event, line))
    sim.voltage_warning("under")
    sim.voltage_warning("over")
    deadline = time.monotonic() + 10  # liveness only
    while len(events) < 2 and time.monotonic() < deadline:
        modem.poll(50)
    assert events == [("under", under), ("over", over)]
    assert modem.isconnected() and modem.ifconfig()[0] == ip and modem.signal() is not None


@pytest.mark.parametrize("dialect", families.NAMES)
def test_power_down_fails_sockets_refuses_commands_and_reconnect_works_after(
        made, tcp_echo, dialect):
    sim, uart = _sim(made, dialect, seed=1)
    modem = Modem(uart)
    modem.connect(apn="internet")
    events, lost = [], []
    modem.on_power = lambda event, line: events.append(event)
    modem.on_link_lost = lost.append
    s = msocket.socket()
    s.settimeout(30)
    s.connect(msocket.getaddrinfo("echo.example", tcp_echo[1])[0][-1])
    sim.voltage_power_down("under")
    deadline = time.monotonic() + 10  # liveness only
    while "down" not in events and time.monotonic() < deadline:
        modem.poll(50)
    assert events == ["down"] and lost
    with pytest.raises(OSError) as e:
        s.send(b"x")
    assert e.value.args[0] == errno.ECONNRESET and "lost power" in e.value.args[1]
    with pytest.raises(ModemOff):
        modem.signal()  # refused at once: nothing reaches the UART of a module that is off
    assert not modem.isconnected()
    sim.power_on()  # the supply is back; the board (or the module) powers it on
    assert modem.reconnect() == sim.ip
    s2 = msocket.socket()
    s2.settimeout(30)
    s2.connect(msocket.getaddrinfo("echo.example", tcp_echo[1])[0][-1])
    s2.send(b"again")
    assert s2.recv(5) == b"again"
    s.close()
    s2.close()


def test_brownout_with_restart_is_a_restart(made):
    # brownout= fault: warning, power down, the module boots again by itself
    sim, uart = _sim(made, "sim7080", seed=1, faults=["brownout=300:200"])
    modem = Modem(uart)
    events = []
    modem.on_power = lambda event, line: events.append(event)
    deadline = time.monotonic() + 20  # liveness only
    while events != ["under", "down"]:
        assert time.monotonic() < deadline, events
        modem.poll(50)
    assert modem.connect(apn="internet", timeout=30000) == sim.ip
