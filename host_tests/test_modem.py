"""Modem bring-up through the simulator: from the power-on banner to an IP address.

Every dialect whose simulator personality exists runs the same specification.
"""
import pytest

from cellmodem.errors import SIMError, NetworkError
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from tools.modemsim import get_personality
from tools import families

DIALECTS = list(families.NAMES)  # every family in the registry (tools/families.py)


@pytest.fixture
def sim_modem():
    made = []

    def make(dialect, chunk=None, **kw):
        uart = FakeUART(chunk=chunk)
        sim = get_personality(dialect)(seed=7, **kw)
        made.append(sim)
        sim.attach(uart)
        return sim, uart

    yield make
    for sim in made:
        sim.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_bring_up_from_banner_to_ip_address(sim_modem, dialect):
    sim, uart = sim_modem(dialect, boot_ms=200)
    modem = Modem(uart)  # "auto": detected from AT+CGMM
    assert modem.dialect.NAME == dialect
    ip = modem.connect(apn="internet")
    assert ip == sim.contexts[min(sim.contexts)] and modem.isconnected()
    assert modem.ifconfig()[0] == ip


@pytest.mark.parametrize("dialect", DIALECTS)
def test_identity_and_status_come_from_the_module(sim_modem, dialect):
    sim, uart = sim_modem(dialect)
    modem = Modem(uart, dialect=dialect)
    assert modem.imei() == sim.imei
    assert modem.imsi() == sim.imsi
    assert modem.iccid() == sim.iccid
    assert modem.sim_state() == "READY"
    dbm = modem.signal()
    assert dbm is None or -113 <= dbm <= -51


@pytest.mark.parametrize("dialect", DIALECTS)
def test_connect_waits_for_a_registration_that_takes_time(sim_modem, dialect):
    sim, uart = sim_modem(dialect, reg_delay_ms=800)
    modem = Modem(uart, dialect=dialect)
    assert modem.registration() not in (1, 5)
    assert modem.connect(apn="internet")
    assert modem.registration() in (1, 5)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_connect_gives_up_when_registration_never_comes(sim_modem, dialect):
    sim, uart = sim_modem(dialect, reg_delay_ms=60000)
    modem = Modem(uart, dialect=dialect)
    with pytest.raises(NetworkError):
        modem.connect(apn="internet", timeout=600)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_locked_sim_needs_the_pin_and_a_wrong_pin_is_refused(sim_modem, dialect):
    sim, uart = sim_modem(dialect, sim="locked", pin="4321")
    modem = Modem(uart, dialect=dialect)
    with pytest.raises(SIMError) as e:
        modem.connect(apn="internet")
    assert e.value.state == "SIM PIN"
    with pytest.raises(SIMError):
        modem.unlock("1111")
    modem.unlock("4321")
    assert modem.connect(apn="internet")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_missing_sim_is_a_clear_error(sim_modem, dialect):
    sim, uart = sim_modem(dialect, sim="absent")
    modem = Modem(uart, dialect=dialect)
    with pytest.raises(SIMError) as e:
        modem.connect(apn="internet")
    assert e.value.state == "NOT INSERTED"


@pytest.mark.parametrize("bad", ['inter"net', "a\rAT+CFUN=0", "x\ny", "tab\there", "\x00", "é"])
@pytest.mark.parametrize("field", ["apn", "user", "password"])
def test_strings_that_could_inject_at_commands_are_refused_before_the_uart(sim_modem, bad, field):
    sim, uart = sim_modem("sim7080")
    modem = Modem(uart, dialect="sim7080")
    sent = len(uart.tx)
    args = {"apn": "internet", field: bad}
    with pytest.raises(ValueError):
        modem.connect(**args)
    assert len(uart.tx) == sent  # nothing reached the UART
    assert modem.connect(apn="internet")  # the session is unaffected


def test_unknown_dialect_name_is_refused(sim_modem):
    sim, uart = sim_modem("sim7080")
    with pytest.raises(ValueError):
        Modem(uart, dialect="sim9000")


@pytest.mark.parametrize("text,name", [
    ("SIMCOM_SIM7080G", "sim7080"), ("SIMCOM_SIM7000E", "sim7080"), ("SIMCOM_SIM7600E-H", "sim7600"),
    ("A7670E-LASE", "sim7600"), ("Quectel BG96", "quectel"), ("EC25", "quectel"),
    ('+CGMM: "YM310 X09"', "yuge"), ("EC716S", "yuge"), ("Nokia 3310", None)])
def test_dialect_detection_from_the_model(text, name):
    from cellmodem import dialects
    assert dialects.detect(text) == name
