"""Exceptions raised by cellmodem. Each carries what the modem itself said.

Usage: except ATError as e: print(e.code, e.text, e.command)
"""


class ModemError(Exception):
    """Base class of every error the library raises on purpose."""

    command = None  # the AT command it concerns, when there is one


class ATError(ModemError):
    """The modem answered a command with an error final result.

    code: the numeric error (int) when the modem gave one, else None.
    text: the modem's own text (e.g. "SIM not inserted", "ERROR", "SEND FAIL").
    command: the command that failed (str), when known.
    """

    def __init__(self, code=None, text="ERROR", command=None):
        self.code = code
        self.text = text
        self.command = command

    # The message is the exception's one argument, rebuilt when the command is set
    # (the engine names it after the fact): MicroPython prints an exception from its
    # args, never from __str__, so both interpreters show "AT+CIICR: ERROR".
    @property
    def command(self):
        return self._command

    @command.setter
    def command(self, command):
        self._command = command
        s = self.text if self.code is None else "%s (%s)" % (self.text, self.code)
        super().__init__(s if command is None else "%s: %s" % (command, s))


class ATTimeout(ModemError):
    """No final result within the command's maximum response time (ms)."""

    def __init__(self, command=None, timeout_ms=0, what="final result"):
        if isinstance(command, bytes):
            command = command.decode()
        self.command = command
        self.timeout_ms = timeout_ms
        super().__init__("%s: no %s within %d ms" % (command, what, timeout_ms))


class ATLineTooLong(ModemError):
    """The modem sent a line longer than the receive buffer; it was dropped."""


class ATBusy(ModemError):
    """A command was started while another one is still in flight."""


class SIMError(ModemError):
    """The SIM is missing, locked or refused the PIN. .state is "SIM PIN", "SIM PUK",
    "NOT INSERTED", ... as the modem said it."""

    def __init__(self, state, msg=None):
        self.state = state
        super().__init__(msg or "SIM not ready: %s" % state)


class NetworkError(ModemError):
    """Registration denied or not reached in time, or the data context failed.

    A data context the module did not activate (a wrong APN, most often) reads the
    same on every family: 'data context not activated with APN "<apn>": <command>:
    <the module's words> (<its code>)', e.g. 'data context not activated with APN
    "blocked.apn": AT+QIACT=1: open PDP context failed (561)'; then .apn is the APN,
    .code the module's number (int, or None when it gave none), .text its words and
    .command the command that failed (None for the other network errors).
    """

    apn = None
    code = None
    text = None


class InDataMode(ModemError):
    """An AT command while the module is in transparent data mode (a DataSocket owns
    the UART): nothing was written. escape() or close() the DataSocket first."""
