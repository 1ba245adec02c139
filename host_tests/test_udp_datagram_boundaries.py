"""UDP datagram boundaries (issue 19 item 9): two datagrams waiting in the module come
back as two recvfrom results, each with its sender, where the family's read keeps
them apart: Quectel's buffer-mode AT+QIRD (one datagram per read, UG 2.8:
"+QIRD: <len>[,"<ip>",<port>]") and every push mode (one +QIURC "recv" / +IPD /
+RECEIVE each). SIM7080 AT+CARECV and SIM7600/Yuge AT+CIPRXGET read bytes with no
sender, so datagrams that waited together come back joined there (README, sockets).

Transcript (quectel, buffered, the simulator's):
  +QIURC: "recv",0 / AT+QIRD=0,1458 / +QIRD: 5 / first / OK / AT+QIRD=0,1458 /
  +QIRD: 7 / second! / OK
"""
import time

import pytest

import cellmodem.socket as msocket
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from simfixtures import LOOPBACK
from tools.modemsim import get_personality

KEEP_APART = [("quectel", "buffered"), ("quectel", "push"), ("sim7600", "push"), ("yuge", "push")]


@pytest.mark.parametrize("dialect,rx_mode", KEEP_APART)
def test_udp_two_waiting_datagrams_are_two_recvfrom_results_with_their_senders(
        udp_echo, dialect, rx_mode):
    uart = FakeUART()
    sim = get_personality(dialect)(seed=4, hosts={"echo.example": LOOPBACK})
    sim.attach(uart)
    try:
        modem = Modem(uart, dialect=dialect)
        modem.connect(apn="internet", rx_mode=rx_mode)
        addr = msocket.getaddrinfo("echo.example", udp_echo[1], 0, msocket.SOCK_DGRAM)[0][-1]
        s = msocket.socket(msocket.AF_INET, msocket.SOCK_DGRAM)
        s.settimeout(30)
        s.sendto(b"first", addr)
        s.sendto(b"second!", addr)
        link = s._link
        deadline = time.monotonic() + 10  # liveness only: both echoes are back
        # (pushed: both in the ring, 2 length bytes each; buffered: both in the module)
        while not (link.ring.count >= 5 + 7 + 4 if rx_mode == "push" else _module_holds(sim, 12)):
            assert time.monotonic() < deadline
            modem.at.poll(20)
        assert s.recvfrom(100) == (b"first", (LOOPBACK, udp_echo[1]))
        assert s.recvfrom(100) == (b"second!", (LOOPBACK, udp_echo[1]))
        s.close()
    finally:
        msocket.use(None)
        sim.close()


def _module_holds(sim, n):
    """The module's buffers hold n bytes for the host (both datagrams waited)."""
    return sum(len(c.rx) for c in sim.net.conns()) >= n
