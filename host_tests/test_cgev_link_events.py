"""3GPP packet-domain URCs (27.007 10.1.19) as link events (issue 19 item 7).

"+CGEV: ME PDN DEACT <cid>" (the module's own), "+CGEV: NW PDN DEACT <cid>" (the
network's; Yuge says "EPS PDN DEACT <cid>", its manual 6.7/6.8) for the library's
context fail every open socket with ECONNABORTED at once, without an AT command;
connect() works after. The simulator's cgev_urcs option "only" prints the +CGEV line
as the one sign of the loss (no +CIPEVENT, +QIURC "pdpdeact" or +PDP DEACT), so only
the +CGEV handler can have noticed. That SIM7600/A7670 and Quectel firmware prints
these unasked is public knowledge (users' logs), not our manuals.

Transcripts (the simulator's, with the option on):
  sim7600  AT+NETOPEN / OK / +NETOPEN: 0 / +CGEV: EPS PDN ACT 1 ... +CGEV: NW PDN DEACT 1
  quectel  AT+QIACT=1 / OK / +CGEV: EPS PDN ACT 1 ... +CGEV: NW PDN DEACT 1
  yuge     ... +CGEV: EPS PDN DEACT 1
"""
import errno
import time

import pytest

import cellmodem.socket as msocket
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from simfixtures import LOOPBACK, echo_through
from tools.modemsim import get_personality

FAMILIES = ["sim7600", "quectel", "yuge"]


def _modem(dialect, made, **opts):
    uart = FakeUART()
    sim = get_personality(dialect)(seed=5, opts=dict(opts), hosts={"echo.example": LOOPBACK})
    made.append(sim)
    sim.attach(uart)
    modem = Modem(uart, dialect=dialect)
    written = []
    modem.at.engine.trace = lambda d, data, t: written.append(data) if d == b">" else None
    modem.connect(apn="internet")
    return sim, modem, written


@pytest.fixture
def made():
    sims = []
    yield sims
    msocket.use(None)
    for sim in sims:
        sim.close()


def _wait_lost(modem):
    deadline = time.monotonic() + 10  # liveness only
    while modem.isconnected():
        assert time.monotonic() < deadline, "the +CGEV line was not taken as a link event"
        modem.at.poll(20)


@pytest.mark.parametrize("dialect", FAMILIES)
@pytest.mark.parametrize("cause", ["nw", "me"])
def test_cgev_pdn_deact_fails_open_sockets_with_econnaborted_and_connect_works_after(
        made, tcp_echo, dialect, cause):
    sim, modem, written = _modem(dialect, made, cgev_urcs="only")
    s = msocket.socket()
    s.connect(msocket.getaddrinfo("echo.example", tcp_echo[1])[0][-1])
    assert echo_through(s, b"before") == b"before"
    sim.network_drop(cause)
    _wait_lost(modem)
    del written[:]
    for call in (lambda: s.send(b"x"), lambda: s.recv(10)):
        with pytest.raises(OSError) as e:
            call()
        assert e.value.errno == errno.ECONNABORTED
        assert "PDN DEACT 1" in str(e.value)
    assert written == []  # at once: the module was not asked
    s.close()
    assert modem.connect(apn="internet") == sim.ip
    with msocket.socket() as s2:
        s2.connect(msocket.getaddrinfo("echo.example", tcp_echo[1])[0][-1])
        assert echo_through(s2, b"after") == b"after"


@pytest.mark.parametrize("dialect", FAMILIES)
def test_cgev_own_disconnect_and_pdn_act_are_not_link_events(made, dialect):
    sim, modem, written = _modem(dialect, made, cgev_urcs=True)
    lost = []
    modem.on_link_lost = lost.append
    modem.disconnect()  # the module answers with +CGEV: ME PDN DEACT 1
    modem.at.poll(50)
    assert modem.connect(apn="internet") == sim.ip  # +CGEV: EPS PDN ACT 1 on the way
    modem.at.poll(50)
    assert modem.isconnected() and lost == []


def test_cgev_other_context_is_ignored(made):
    sim, modem, written = _modem("quectel", made)
    modem.at.engine.feed(b"\r\n+CGEV: NW PDN DEACT 3\r\n+CGEV: ME PDN DEACT 2\r\n")
    assert modem.isconnected()
    modem.at.engine.feed(b"\r\n+CGEV: NW PDN DEACT 1\r\n")
    assert not modem.isconnected()
