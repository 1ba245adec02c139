"""SIMCom SIM800/SIM900 modules (SIM800L, SIM800C, SIM800H, SIM808, SIM868, SIM900):
the AT+CIPSTART TCP/IP family.

Everything here is public knowledge, not our manuals (../shared/manuals has no SIM800
document): the behaviour SIMCom's SIM800 Series AT command manual and its TCP/IP
application note describe, as hobby users' logs show it. The Yuge EC716S command set
(yuge.py) copies this family, so the Yuge dialect is reused as it stands wherever the
SIM800 behaves the same, which is nearly everywhere:
  bring-up AT+CIPMUX=1, AT+CSTT="<apn>","<user>","<pass>", AT+CIICR, AT+CIFSR (the IP
         alone on a line, no OK); AT+CIPSHUT -> SHUT OK; AT+CIPSTATUS -> OK, "STATE:
         <state>", then one "C: ..." line per link
  open   AT+CIPSTART=<n>,"TCP"|"UDP","<host>",<port>: OK, then "<n>, CONNECT OK" /
         "<n>, CONNECT FAIL" / "<n>, ALREADY CONNECT" (links 0-5)
  send   AT+CIPSEND=<n>,<len>, "> ", the bytes, "<n>, SEND OK" / "<n>, SEND FAIL"
         ("DATA ACCEPT:<n>,<len>" with AT+CIPQSEND=1, which the Yuge bring-up sets)
  pull   AT+CIPRXGET=1: "+CIPRXGET: 1,<n>"; AT+CIPRXGET=2,<n>,<len> answers
         "+CIPRXGET: 2,<n>,<read>,<rest>" then the bytes
  push   AT+CIPRXGET=0: "+RECEIVE,<n>,<len>:" then the bytes on the next line
         (multi-link mode; "+IPD,<len>:" is the single-link AT+CIPHEAD=1 form)
  close  "<n>, CLOSED"; AT+CIPCLOSE=<n> -> "<n>, CLOSE OK"; network loss "+PDP: DEACT"
  DNS    AT+CDNSGIP="<name>" -> OK, then +CDNSGIP: 1,"<name>","<ip>"
What differs is tables: the identity (AT+CGMM "SIMCOM_SIM800L", AT+CCID answering
the ICCID alone), the response times, the power and sleep forms, and no module TLS
in the multi-link mode the sockets use (the SIM800's AT+CIPSSL is single-link only).
Usage: Modem(uart, dialect="sim800"); then cellmodem.socket as usual
"""
import errno

from cellmodem.dialects.base import _NO_MODULE_TLS
from cellmodem.dialects.yuge import Yuge
from cellmodem.timeouts import late  # published figure + margin


class SIM800(Yuge):
    NAME = "sim800"
    # Public knowledge: AT+CCID answers the ICCID alone on a line, then OK
    ICCID = ("AT+CCID", None)
    # Public knowledge (the SIM800 manual's maximum response times): AT+CSTT and
    # AT+CIICR 85 s, AT+CIPSTART 75 s (160 s in multi-link mode: the larger is used),
    # AT+CIPSHUT 65 s, AT+CIPSEND 645 s without a peer's ACK under CIPQSEND=0 (the
    # Yuge 60 s applies with CIPQSEND=1, set at bring-up), AT+CIPCLOSE 20 s
    TIMEOUTS = {"+CSTT": late(85000), "+CIICR": late(85000), "+CIPSTART": late(160000),
                "+CIPSHUT": late(65000), "+CIPSEND": late(60000), "+CIPCLOSE": late(20000),
                "+CIPSERVER": late(20000)}
    # Public knowledge: no module TLS for the multi-link sockets (AT+CIPSSL works in
    # single-link mode only); host TLS (cellmodem.tls) runs over the plain sockets
    TLS = None
    # Public knowledge: AT+CPOWD=1 answers "NORMAL POWER DOWN" alone; AT+CSCLK=1 sleeps
    # while DTR is high and the UART ignores input until DTR goes low (then about 50 ms
    # before it answers); AT+CFUN 0, 1, 4 (10 s maximum)
    POWER = {"power_down": ("AT+CPOWD=1", b"NORMAL POWER DOWN", False, 10000),
             "sleep": "AT+CSCLK", "uart_wakes": False, "wake_ms": 50, "cfun": (0, 1, 4)}

    def sock_open(self, link, host, port, tls=None):
        # Public knowledge: the SIM800's AT+CIPSSL and its SSL settings serve the
        # single-link mode only, so no module TLS here: said before anything is sent,
        # in the words of the other families without it
        if tls is not None:
            raise OSError(errno.EOPNOTSUPP, _NO_MODULE_TLS % self.NAME)
        Yuge.sock_open(self, link, host, port)


DIALECT = SIM800
