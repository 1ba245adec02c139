"""What every dialect shares: waiting for a result URC, the link state, network loss.

A dialect subclass sets its tables as class attributes and overrides the hooks
(activate, deactivate). Usage: class SIM7080(Dialect): ICCID = ("AT+CCID", None)
"""


class Dialect:
    NAME = "?"
    ICCID = ("AT+CCID", "+CCID:")  # command, answer prefix (None: bare line)
    TIMEOUTS = {}  # extra maximum response times, ms, by command name
    DETAILS = ()  # lines that give a following plain ERROR its text
    LINK_LOST = ()  # URC prefixes that mean the data link dropped

    def __init__(self, modem):
        self.modem = modem
        self.at = modem.at
        self.link_up = False
        self.at.timeouts.update(self.TIMEOUTS)
        self.at.engine.detail_prefixes = self.DETAILS
        for prefix in self.LINK_LOST:
            self.at.urc(prefix, self._on_link_lost)

    def _on_link_lost(self, line):
        self.link_up = False
        self.modem.link_lost(line.str())

    def wait_for(self, cond, timeout, what, cmd=None):
        """Pump the port until cond() is true (a URC handler set some state).
        Raises ATTimeout after timeout ms."""
        self.at.wait_until(cond, timeout, what, cmd)

    def activate(self, apn, user, password, timeout):
        raise NotImplementedError

    def deactivate(self):
        raise NotImplementedError
