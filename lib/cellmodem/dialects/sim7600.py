"""SIMCom SIM7600 / A7600 (LTE Cat.1/4): AT+NETOPEN and the AT+CIP* family.

The APN goes into context 1 with AT+CGDCONT; AT+NETOPEN answers OK and then the
result URC "+NETOPEN: <err>" (SIM7600 manual, NETOPEN; A7600 manual 6.2).
Network loss: "+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY" (A7600 manual, URCs).
Usage: Modem(uart, dialect="sim7600")
"""
from cellmodem.dialects.base import Dialect
from cellmodem.errors import ATError
from cellmodem.errors import NetworkError


class SIM7600(Dialect):
    NAME = "sim7600"
    ICCID = ("AT+CICCID", "+ICCID:")
    # SIM7600 manual: NETOPEN, CIPOPEN, CIPSEND 120000 ms; NETCLOSE likewise.
    TIMEOUTS = {"+NETOPEN": 120000, "+NETCLOSE": 120000, "+CIPOPEN": 120000,
                "+CIPSEND": 120000, "+CIPCLOSE": 120000}
    DETAILS = (b"+IP ERROR:", b"+CIPERROR:")
    LINK_LOST = (b"+CIPEVENT:",)

    def __init__(self, modem):
        super().__init__(modem)
        self._net = None
        self.at.urc(b"+NETOPEN:", self._on_netopen)
        self.at.urc(b"+NETCLOSE:", self._on_netclose)

    def _on_netopen(self, line):
        self._net = line.int(0, -1)

    def _on_netclose(self, line):
        self._net = -2 - line.int(0, 0)  # closed (-2 for success)
        if self.link_up:
            self.link_up = False
            self.modem.link_lost("NETCLOSE")

    def _ip(self):
        lines = self.at.command("AT+IPADDR", resp=b"+IPADDR:")
        return lines[0].decode().split(":", 1)[1].strip() if lines else None

    def activate(self, apn, user, password, timeout):
        at = self.at
        at.command('AT+CGDCONT=1,"IP","%s"' % apn)
        if user:  # AT+CGAUTH=<cid>,<type 1=PAP>,<passwd>,<user> (SIMCom order)
            at.command('AT+CGAUTH=1,1,"%s","%s"' % (password, user))
        at.command("AT+CIPRXGET=1")  # buffer access mode: the module holds received data
        self._net = None
        try:
            at.command("AT+NETOPEN")
        except ATError as e:
            if "already opened" not in e.text:
                raise
            self._net = 0
        self.wait_for(lambda: self._net is not None, timeout, "+NETOPEN", "AT+NETOPEN")
        if self._net != 0:
            raise NetworkError("NETOPEN failed with error %d" % self._net)
        self.link_up = True
        return self._ip()

    def deactivate(self):
        self.link_up = False
        self._net = None
        try:
            self.at.command("AT+NETCLOSE")
        except ATError:
            return  # not open
        self.wait_for(lambda: self._net is not None, 120000, "+NETCLOSE", "AT+NETCLOSE")


DIALECT = SIM7600
