"""Accepted TCP clients report their real peer port (issue 19 item 9), on every family
with a server, as the simulator gives each family's real form:

  sim7080  +CANEW: <cid>,<server cid>,<ip>,<port>                (CA manual)
  sim7600  +CLIENT: <link>,<server>,<ip>:<port>                  (7600 L1114)
  quectel  +QIURC: "incoming",<id>,<server id>,"<ip>",<port>     (UG 2.4 note 1)
  yuge     <n>, REMOTE IP: <ip>  (no port; SIM800 form), then on accept()
           AT+CIPSTATUS / OK / STATE: IP PROCESSING / S: ... /
           C: <n>,0,"TCP","<ip>","<port>","CONNECTED"           (manual 9.17)
"""
import socket as pysocket

import pytest

import cellmodem.socket as msocket
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from simfixtures import LOOPBACK, free_port
from tools.modemsim import get_personality
from tools import families

SERVERS = families.names(server=True)  # from the registry (tools/families.py)


@pytest.mark.parametrize("dialect", SERVERS)
@pytest.mark.parametrize("line", ["clean", "chunked"])
def test_accept_and_getpeername_give_the_clients_own_address(dialect, line):
    uart = FakeUART()
    sim = get_personality(dialect)(seed=6, faults=["chunk=1-64", "urc=0.3"] if line != "clean"
                                   else [])
    sim.attach(uart)
    try:
        modem = Modem(uart, dialect=dialect)
        modem.connect(apn="internet")
        port = free_port()
        srv = msocket.socket()
        srv.bind(("0.0.0.0", port))
        srv.listen(1)
        srv.settimeout(10)
        c = pysocket.create_connection((LOOPBACK, port), timeout=10)
        conn, addr = srv.accept()
        assert addr == c.getsockname() and conn.getpeername() == addr
        c.sendall(b"ping")
        conn.settimeout(10)
        assert conn.read(4) == b"ping"
        c.close()
        conn.close()
        srv.close()
    finally:
        msocket.use(None)
        sim.close()
