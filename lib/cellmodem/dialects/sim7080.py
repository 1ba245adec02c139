"""SIMCom SIM7080G/SIM7070G/SIM7000 (CAT-M/NB-IoT): AT+CNACT and the AT+CA* family.

The data context is configured with AT+CNCFG and activated with AT+CNACT, whose
result arrives as the URC "+APP PDP: <pdp>,ACTIVE" after OK. SIM7000 firmware
prints "+APP PDP: ACTIVE" without the context id (users' captures), so the state is
taken from the last field.
Usage: Modem(uart, dialect="sim7080")
"""
from cellmodem.dialects.base import Dialect
from cellmodem.errors import NetworkError

_PDP = 0  # the context cellmodem uses


class SIM7080(Dialect):
    NAME = "sim7080"
    ICCID = ("AT+CCID", None)  # SIM7080 answers the ICCID alone on a line
    TIMEOUTS = {"+CNACT": 150000, "+CAOPEN": 150000, "+CASEND": 60000, "+CACLOSE": 10000}
    LINK_LOST = ()

    def __init__(self, modem):
        super().__init__(modem)
        self._pdp_state = None
        self.at.urc(b"+APP PDP:", self._on_app_pdp)

    def _on_app_pdp(self, line):
        n = line.nfields()
        if n > 1 and line.int(0, -1) != _PDP:
            return
        state = line.field(n - 1)
        self._pdp_state = state
        if state != "ACTIVE" and self.link_up:
            self.link_up = False
            self.modem.link_lost("PDP %s" % state)

    def _active_ip(self):
        for l in self.at.command("AT+CNACT?", resp=b"+CNACT:"):
            f = l.decode().split(":", 1)[1].split(",")
            if int(f[0]) == _PDP and int(f[1]) == 1:
                return f[2].strip().strip('"')
        return None

    def activate(self, apn, user, password, timeout):
        at = self.at
        # CNCFG <auth>: 0 none, 3 PAP or CHAP
        at.command('AT+CNCFG=%d,1,"%s","%s","%s",%d'
                   % (_PDP, apn, user, password, 3 if user else 0))
        ip = self._active_ip()
        if ip is None:
            self._pdp_state = None
            at.command("AT+CNACT=%d,1" % _PDP)
            self.wait_for(lambda: self._pdp_state is not None, timeout, "+APP PDP", "AT+CNACT")
            if self._pdp_state != "ACTIVE":
                raise NetworkError("data context not activated: %s" % self._pdp_state)
            ip = self._active_ip()
        if ip is None:
            raise NetworkError("data context active but no IP address")
        self.link_up = True
        return ip

    def deactivate(self):
        self.link_up = False
        if self._active_ip() is not None:
            self._pdp_state = None
            self.at.command("AT+CNACT=%d,0" % _PDP)
            self.wait_for(lambda: self._pdp_state is not None, 10000, "+APP PDP", "AT+CNACT")


DIALECT = SIM7080
