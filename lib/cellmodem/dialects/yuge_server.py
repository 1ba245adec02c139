"""A client accepted by the Yuge module's TCP server (AT+CIPSERVER), with its real
peer port. Imported by the first listen(): a program without a server spends no heap
on it.

Its "<n>, REMOTE IP: <ip>" line (SIM800 form) names no port, and AT+CIPSRIP shows a
sender's address only with AT+CIPMUX=0 (manual 9.22); AT+CIPSTATUS's line for the
link, "C: <n>,<bearer>,"TCP","<ip>","<port>","CONNECTED"" (9.17), does. The port is
asked once, when accept() or getpeername() first reads the peer (never inside a URC
handler); a client gone meanwhile keeps port 0.
"""
from cellmodem.compat import const
from cellmodem.dialects.yuge import CLINE
from cellmodem.errors import ModemError
from cellmodem.sockets import Link, TCP

_C_LINES_MS = const(1000)  # the C: lines follow AT+CIPSTATUS's STATE line at once: liveness only


class Client(Link):
    def __init__(self, dialect, rxbuf):
        self._d = dialect  # None once the port was asked
        super().__init__(TCP, rxbuf)

    def on_cstate(self, line):
        """The dialect's "C: " URC for this link: take the port if the IP is ours."""
        if self._d is not None and line.nfields() > 4:
            ip, port = line.field(3), line.field(4)  # "<port>" quoted, as SIM800's
            if port.isdigit() and ip == self._peer[0]:
                self._peer = (ip, int(port))

    @property
    def peer(self):
        d = self._d
        if d is not None and self.open:
            key = CLINE + self.id
            d.expect(key)
            try:
                d._status()  # OK, STATE: ...; the C: lines follow it (on_cstate)
                d.result(key, _C_LINES_MS, "C: %d" % self.id)
            except ModemError:  # no port then: (ip, 0) as the REMOTE IP line gave it
                d.got.pop(key, None)  # _status() failed before result() took the key
            self._d = None
        return self._peer

    @peer.setter
    def peer(self, value):
        self._peer = value
