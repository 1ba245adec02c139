"""Yuge Cat.1 modules (Eigencomm EC716S): SIM800-style TCP/IP (manual ch.9).

Bring-up follows the manual's power-on flow (9.41): AT+CIPMUX=1, AT+CSTT (APN),
AT+CIICR (activate), AT+CIFSR (the IP alone on a line). Network loss: "+PDP: DEACT".
Usage: Modem(uart, dialect="yuge")
"""
from cellmodem.dialects.base import Dialect
from cellmodem.errors import ATError


_IP_FIRST_DIGIT = tuple((str(d).encode(), True) for d in range(10))


class Yuge(Dialect):
    NAME = "yuge"
    ICCID = ("AT+ICCID", "+ICCID:")
    TIMEOUTS = {"+CSTT": 60000, "+CIICR": 85000, "+CIPSTART": 75000, "+CIPSHUT": 90000,
                "+CIPSEND": 60000}
    LINK_LOST = (b"+PDP: DEACT",)

    def activate(self, apn, user, password, timeout):
        at = self.at
        status = self._status()
        if status != "IP STATUS" and status != "IP PROCESSING":
            if status != "IP INITIAL":
                self._shut()  # back to IP INITIAL (9.x state machine)
            at.command("AT+CIPMUX=1")
            at.command('AT+CSTT="%s","%s","%s"' % (apn, user, password))
            at.command("AT+CIICR", timeout=timeout if timeout < 85000 else 85000)
        # SIM800-style AT+CIFSR answers the address alone, with no OK (manual 9.5)
        at.command("AT+CIFSR", finals=_IP_FIRST_DIGIT)
        self.link_up = True
        return at.engine.final.decode().strip()

    def _status(self):
        for l in self.at.command("AT+CIPSTATUS"):
            s = l.decode()
            if s.startswith("STATE:"):
                return s[6:].strip()
        return None

    def _shut(self):
        # AT+CIPSHUT answers "SHUT OK", not OK (manual 9.x)
        self.at.command("AT+CIPSHUT", finals=((b"SHUT OK", True),))

    def deactivate(self):
        self.link_up = False
        try:
            self._shut()
        except ATError:
            pass


DIALECT = Yuge
