"""Quectel BG95/BG96/EC2x/UGxx: the AT+QI* family.

AT+QICSGP configures context 1, AT+QIACT activates it (up to 150 s, UGxx manual
2.2), AT+QIACT? lists "+QIACT: 1,1,1,"<ip>"". Network loss: +QIURC: "pdpdeact",1.
Usage: Modem(uart, dialect="quectel")
"""
from cellmodem.dialects.base import Dialect
from cellmodem.errors import NetworkError

_CTX = 1


class Quectel(Dialect):
    NAME = "quectel"
    ICCID = (("AT+QCCID", "+QCCID:"), ("AT+CCID", "+CCID:"))  # UGxx firmware lacks QCCID
    # UGxx manual: QIACT 150 s, QIDEACT 40 s, QIOPEN 150 s ("determined by network")
    TIMEOUTS = {"+QIACT": 150000, "+QIDEACT": 40000, "+QIOPEN": 150000, "+QICLOSE": 10000}

    def __init__(self, modem):
        super().__init__(modem)
        self.at.urc(b'+QIURC: "pdpdeact"', self._on_link_lost)

    def _ip(self):
        for l in self.at.command("AT+QIACT?", resp=b"+QIACT:"):
            f = l.decode().split(":", 1)[1].split(",")
            if int(f[0]) == _CTX and int(f[1]) == 1:
                return f[3].strip().strip('"')
        return None

    def activate(self, apn, user, password, timeout):
        at = self.at
        # <context_type> 1 IPv4; <authentication> 0 none, 3 PAP or CHAP
        at.command('AT+QICSGP=%d,1,"%s","%s","%s",%d' % (_CTX, apn, user, password, 3 if user else 0))
        ip = self._ip()
        if ip is None:
            at.command("AT+QIACT=%d" % _CTX, timeout=timeout if timeout < 150000 else 150000)
            ip = self._ip()
        if ip is None:
            raise NetworkError("context %d not active after AT+QIACT" % _CTX)
        self.link_up = True
        return ip

    def deactivate(self):
        self.link_up = False
        self.at.command("AT+QIDEACT=%d" % _CTX)


DIALECT = Quectel
