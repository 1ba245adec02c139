"""Power and sleep: Modem.power_down / set_functionality / sleep / wake /
power_features on every family, against the simulator's power commands (AT+CPOWD,
AT+QPOWD, AT+CPOF, AT+CFUN, AT+CSCLK, AT+QSCLK) and its DTR line (sim.set_dtr).

What goes over the wire is checked from the library's trace; that the module really
went off or to sleep is checked on the simulator (sim.powered, sim.asleep) and by a
raw AT that gets no answer.
"""
import errno
import time

import pytest

from cellmodem.errors import ATTimeout, ModemError
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem, ModemOff
from simfixtures import split_line_end
from tools.modemsim import get_personality
from tools import families

DIALECTS = list(families.NAMES)  # every family in the registry (tools/families.py)
# family -> (command sent, last line the module prints)
POWER_DOWN = {
    "sim7080": ("AT+CPOWD=1", b"NORMAL POWER DOWN"),
    "sim7600": ("AT+CPOF", b"OK"),
    "quectel": ("AT+QPOWD=1", b"POWERED DOWN"),
    "yuge": ("AT+CPOWD=1", b"NORMAL POWER DOWN"),
    "sim800": ("AT+CPOWD=1", b"NORMAL POWER DOWN"),  # public knowledge
}
SLEEP = {f.name: f.sleep for f in families.FAMILIES}  # the registry's sleep command


@pytest.fixture
def modems():
    """make(dialect, connect=True) -> (sim, modem, log): log fills with what the
    library writes (b">") and reads (b"<")."""
    made = []

    def make(dialect, connect=True, **kw):
        uart = FakeUART()
        sim = get_personality(dialect)(seed=4, **kw)
        made.append(sim)
        sim.attach(uart)
        m = Modem(uart, dialect=dialect)
        log = []
        m.at.trace = lambda d, data, t: log.extend(
            (d, x) for x in (split_line_end(data) if d == b">" else [bytes(data)]))
        if connect:
            m.connect(apn="internet")
        return sim, m, log
    yield make
    for sim in made:
        sim.close()


def sent(log):
    return [d.decode() for k, d in log if k == b">" and d not in (b"\r", b"\r\n")]


def received(log):
    return b"".join(d for k, d in log if k == b"<")


def uart_of(m):
    """The FakeUART under the modem (behind the gate while it is off or asleep)."""
    return m.at.port.port if hasattr(m.at.port, "engine") else m.at.port


def raw_answer(m, cmd=b"AT\r", wait=0.3):
    """Bytes the module sends back to a command written past the library."""
    port = uart_of(m)
    while port.readinto(bytearray(256)):
        pass
    port.write(cmd)
    time.sleep(wait)
    buf = bytearray(256)
    n = port.readinto(buf) or 0
    return bytes(buf[:n])


# ---------------------------------------------------------------- power_down
@pytest.mark.parametrize("dialect", DIALECTS)
def test_power_down_sends_the_family_command_and_waits_for_its_last_line(modems, dialect):
    sim, m, log = modems(dialect)
    cmd, last = POWER_DOWN[dialect]
    m.power_down()
    assert sent(log)[-1] == cmd
    assert last in received(log)  # it returned only after the module's last line
    assert not sim.powered


@pytest.mark.parametrize("dialect", DIALECTS)
def test_after_power_down_commands_raise_modemoff_and_nothing_is_written(modems, dialect):
    sim, m, log = modems(dialect)
    m.power_down()
    assert m.ip is None and not m.isconnected()
    n = len(uart_of(m).tx)
    for call in (m.imei, m.signal, lambda: m.connect(apn="internet"), m.power_down,
                 lambda: m.set_functionality(1)):
        with pytest.raises(ModemOff) as e:
            call()
        assert e.value.state == "off"
        assert "powered down" in str(e.value)
    # not a byte reached the UART (the trace shows the attempts: it runs before write)
    assert bytes(uart_of(m).tx[n:]) == b""
    assert raw_answer(m) == b""  # and the module really is silent


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_power_on_banner_brings_the_modem_back(modems, dialect):
    sim, m, log = modems(dialect)
    m.power_down()
    sim.power_on()
    time.sleep(0.1)
    assert m.imei() == sim.imei  # the banner was read before the command went out
    assert m.connect(apn="internet") == sim.ip


@pytest.mark.parametrize("dialect", DIALECTS)
def test_sync_fails_while_off_and_brings_the_modem_back_after_power_on(modems, dialect):
    sim, m, log = modems(dialect)
    m.power_down()
    with pytest.raises(ATTimeout):
        m.sync(timeout=600)  # still off: sync fails and the modem stays off
    with pytest.raises(ModemOff):
        m.imei()
    sim.power_on()
    time.sleep(0.1)
    m.sync()
    assert m.imei() == sim.imei


def test_a_socket_open_at_power_down_fails_with_enodev(modems, tcp_echo):
    import cellmodem.socket as socket
    sim, m, log = modems("sim7080")
    s = socket.socket(modem=m)
    s.settimeout(5)
    s.connect((tcp_echo[0], tcp_echo[1]))
    s.write(b"hi")
    assert s.read(2) == b"hi"
    m.power_down()
    with pytest.raises(OSError) as e:
        s.read(1)
    assert e.value.args[0] == errno.ENODEV


def test_quectel_power_down_waits_for_powered_down_after_ok(modems):
    sim, m, log = modems("quectel", opts={"powerdown_ms": 500})
    t0 = time.monotonic()
    m.power_down()
    assert time.monotonic() - t0 >= 0.45  # not satisfied by the OK alone
    rx = received(log)
    assert rx.index(b"OK") < rx.index(b"POWERED DOWN")


def test_power_down_that_never_ends_is_attimeout_and_the_modem_is_not_marked_off(modems):
    sim, m, log = modems("quectel", opts={"powerdown_ms": 60000})
    cmd, line, ok_first, ms = m.dialect.POWER["power_down"]
    assert ms == 65000  # family: forced shutdown after 60 s
    m.dialect.POWER = dict(m.dialect.POWER, power_down=(cmd, line, ok_first, 300))
    with pytest.raises(ATTimeout):
        m.power_down()
    assert type(m.at.port) is FakeUART  # not marked off: commands still go out
    assert m.imei() == sim.imei


# ---------------------------------------------------------------- CFUN
@pytest.mark.parametrize("dialect", DIALECTS)
def test_cfun_levels_reach_the_module_and_radio_off_drops_the_link(modems, dialect):
    sim, m, log = modems(dialect)
    lost = []
    m.on_link_lost = lost.append
    m.set_functionality(4)
    assert sent(log)[-1] == "AT+CFUN=4"
    assert sim.cfun == 4 and m.functionality() == 4
    assert m.registration() == 0 and m.signal() is None
    assert not m.isconnected() and lost
    with pytest.raises(ModemError):
        m.connect(apn="internet", timeout=1000)  # no network in flight mode
    m.set_functionality(0)
    assert sim.cfun == 0 and m.functionality() == 0
    m.set_functionality(1)
    assert m.functionality() == 1
    assert m.connect(apn="internet") == sim.ip


@pytest.mark.parametrize("dialect", DIALECTS)
def test_cfun_level_the_family_does_not_list_is_valueerror_before_sending(modems, dialect):
    sim, m, log = modems(dialect, connect=False)
    n = len(log)
    for bad in (2, 5, -1, "1", None):
        with pytest.raises(ValueError):
            m.set_functionality(bad)
    assert log[n:] == []


# ---------------------------------------------------------------- sleep / wake
@pytest.mark.parametrize("dialect", ["sim7080", "sim7600", "quectel"])
def test_dtr_sleep_and_wake(modems, dialect):
    sim, m, log = modems(dialect)
    m.sleep(True, dtr=sim.set_dtr)
    assert sent(log)[-1] == SLEEP[dialect] + "=1"
    assert sim.dtr == 1 and sim.csclk == 1
    time.sleep(0.1)
    assert sim.asleep
    assert raw_answer(m) == b""  # DTR high: the module does not listen to the UART
    with pytest.raises(ModemOff) as e:
        m.imei()
    assert e.value.state == "asleep" and "wake()" in str(e.value)
    m.wake(dtr=sim.set_dtr)
    assert sim.dtr == 0 and not sim.asleep
    assert m.imei() == sim.imei
    assert m.isconnected()  # sleep keeps the network
    m.sleep(False, dtr=sim.set_dtr)
    assert sent(log)[-1] == SLEEP[dialect] + "=0" and sim.csclk == 0


@pytest.mark.parametrize("dialect", ["sim7080", "sim7600", "quectel"])
def test_wake_without_dtr_low_times_out_and_stays_asleep(modems, dialect):
    sim, m, log = modems(dialect)
    m.sleep(True, dtr=sim.set_dtr)
    time.sleep(0.1)
    with pytest.raises(ATTimeout):
        m.wake(timeout=700)  # no dtr given: DTR stays high, the module sleeps on
    with pytest.raises(ModemOff):
        m.imei()
    sim.set_dtr(0)
    time.sleep(0.1)
    m.wake()
    assert m.imei() == sim.imei


def test_dtr_object_with_value_method_is_driven_like_a_pin(modems):
    sim, m, log = modems("sim7080", connect=False)

    class Pin:
        levels = []

        def value(self, v):
            self.levels.append(v)
            sim.set_dtr(v)
    pin = Pin()
    m.sleep(True, dtr=pin)
    m.wake(dtr=pin)
    assert Pin.levels == [1, 0]
    assert m.imei() == sim.imei


def test_yuge_sleep_mode_1_wakes_on_the_uart_losing_the_first_line(modems):
    # manual 4.12: mode 1 sleeps with AP_WAKEUP_MODULE high after WAKETIM quiet
    # seconds; "串口输入几个AT命令 (一两个AT就可以了)" wakes it
    sim, m, log = modems("yuge")
    m.at.command("AT+WAKETIM=1")
    m.sleep(True, dtr=sim.set_dtr)
    assert sent(log)[-1] == "AT+CSCLK=1"
    time.sleep(0.5)
    assert not sim.asleep  # WAKETIM not over yet
    time.sleep(0.8)
    assert sim.asleep
    assert raw_answer(m) == b""  # the waking line is lost
    time.sleep(0.1)
    assert not sim.asleep
    m.wake()  # no DTR change: AT on the UART is enough
    assert m.imei() == sim.imei


def test_yuge_sleep_mode_1_wakes_by_the_pin(modems):
    sim, m, log = modems("yuge")
    m.at.command("AT+WAKETIM=1")
    m.sleep(True, dtr=sim.set_dtr)
    time.sleep(1.3)
    assert sim.asleep
    m.wake(dtr=sim.set_dtr)
    assert not sim.asleep and sim.dtr == 0
    assert m.imei() == sim.imei


def test_yuge_mode_1_with_the_pin_low_never_sleeps(modems):
    sim, m, log = modems("yuge")
    m.at.command("AT+WAKETIM=1")
    m.at.command("AT+CSCLK=1")
    time.sleep(1.3)
    assert not sim.asleep
    assert m.imei() == sim.imei


def test_yuge_waketim_query_and_csclk_test_forms(modems):
    sim, m, log = modems("yuge", connect=False)
    assert m.at.command("AT+WAKETIM?") == [b"+WAKETIM:5"]  # 4.12 example
    assert m.at.command("AT+CSCLK=?") == [b"+CSCLK: (0,1,2,3,4)"]
    with pytest.raises(ModemError):
        m.at.command("AT+WAKETIM=0")  # 4.12: 0 disables sleep; refused


# ---------------------------------------------------------------- power_features
def test_power_features_per_family(modems):
    want = {
        "sim7080": {"power_down": "AT+CPOWD=1", "power_down_urc": "NORMAL POWER DOWN",
                    "sleep": "AT+CSCLK", "uart_wakes": False, "cfun": (0, 1, 4), "psm": True},
        "sim7600": {"power_down": "AT+CPOF", "power_down_urc": None,
                    "sleep": "AT+CSCLK", "uart_wakes": False, "cfun": (0, 1, 4)},
        "quectel": {"power_down": "AT+QPOWD=1", "power_down_urc": "POWERED DOWN",
                    "sleep": "AT+QSCLK", "uart_wakes": False, "cfun": (0, 1, 4), "psm": True},
        "yuge": {"power_down": "AT+CPOWD=1", "power_down_urc": "NORMAL POWER DOWN",
                 "sleep": "AT+CSCLK", "uart_wakes": True, "cfun": (0, 1, 4)},
        # public knowledge: the SIM800 wakes from AT+CSCLK=1 by DTR only
        "sim800": {"power_down": "AT+CPOWD=1", "power_down_urc": "NORMAL POWER DOWN",
                   "sleep": "AT+CSCLK", "uart_wakes": False, "cfun": (0, 1, 4)},
    }
    for dialect in DIALECTS:
        sim, m, log = modems(dialect, connect=False)
        assert m.power_features() == want[dialect], dialect


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_simulator_refuses_the_other_families_power_commands(modems, dialect):
    sim, m, log = modems(dialect, connect=False)
    own = {POWER_DOWN[dialect][0].split("=")[0], SLEEP[dialect]}
    for cmd in ("AT+CPOWD=1", "AT+QPOWD=1", "AT+CPOF", "AT+CSCLK=0", "AT+QSCLK=0"):
        if cmd.split("=")[0] in own:
            continue
        with pytest.raises(ModemError):
            m.at.command(cmd)
    assert sim.powered


def test_a_family_without_a_feature_raises_eopnotsupp_before_sending(modems):
    sim, m, log = modems("sim7080", connect=False)
    m.dialect.POWER = {}  # a family whose table lists nothing (the base Dialect's)
    n = len(log)
    for call, what in ((m.power_down, "power-down"), (m.sleep, "sleep"),
                       (lambda: m.set_functionality(4), "CFUN")):
        with pytest.raises(OSError) as e:
            call()
        assert e.value.args[0] == errno.EOPNOTSUPP
        assert "sim7080" in str(e.value) and what in str(e.value)
    assert log[n:] == []
    assert m.power_features() == {}
