"""Credentials never reach a log: the AT trace hook (AT.trace, what tools/trace and
atterm record) shows every secret the library was given as *** (issue #9)."""
import base64

import pytest

import cellmodem.requests as requests
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from cellmodem.mqtt import MQTTClient
from httpserver import HTTPTestServer
from simfixtures import LOOPBACK
from tools.modemsim import get_personality
from tools import families

PASSWORD = "s3cret-Pw_42"


@pytest.fixture
def traced():
    made = []

    def make(dialect):
        uart = FakeUART()
        sim = get_personality(dialect)(seed=9, hosts={"web.example": LOOPBACK})
        made.append(sim)
        sim.attach(uart)
        modem = Modem(uart, dialect=dialect)
        log = []
        modem.at.trace = lambda d, data, ms: log.append(bytes(data))
        return sim, modem, log
    yield make
    for sim in made:
        sim.close()


@pytest.mark.parametrize("dialect", families.NAMES)
def test_apn_password_is_sent_but_never_traced(traced, dialect):
    sim, modem, log = traced(dialect)
    modem.connect(apn="internet", user="me", password=PASSWORD)
    seen = b"".join(log)
    assert PASSWORD.encode() not in seen
    assert b"***" in seen  # it was sent, masked in the trace


def test_mqtt_password_in_the_connect_packet_is_masked(traced, mosquitto):
    sim, modem, log = traced("sim7600")
    modem.connect(apn="internet")
    c = MQTTClient("redact", LOOPBACK, mosquitto[1], user="u", password=PASSWORD, modem=modem)
    c.connect()
    c.disconnect()
    assert PASSWORD.encode() not in b"".join(log) and b"***" in b"".join(log)


def test_http_basic_auth_token_is_masked(traced):
    srv = HTTPTestServer()
    try:
        sim, modem, log = traced("quectel")
        modem.connect(apn="internet")
        r = requests.get("http://web.example:%d/auth" % srv.port, auth=("user", "pass"),
                         modem=modem)
        assert r.status_code == 200
    finally:
        srv.close()
    token = base64.b64encode(b"user:pass")
    assert token not in b"".join(log) and b"Basic ***" in b"".join(log)


def test_native_mqtt_password_in_mconfig_is_masked(traced, mosquitto):
    from cellmodem.native.yuge_mqtt import MQTTClient as NativeClient
    sim, modem, log = traced("yuge")
    modem.connect(apn="internet")
    c = NativeClient("redact", LOOPBACK, mosquitto[1], user="u", password=PASSWORD, modem=modem)
    c.connect()
    c.disconnect()
    assert PASSWORD.encode() not in b"".join(log) and b"***" in b"".join(log)


def test_without_a_trace_hook_nothing_is_copied(traced):
    sim, modem, log = traced("sim7080")
    modem.at.trace = None
    assert modem.at.engine.trace is None  # no redaction work on the hot path
