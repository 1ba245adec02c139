"""What the library raises only when something is wrong: the messages for bad
arguments (times of the wrong unit or type, a port that is no port), for a port
that failed and for a data context the module did not activate. Imported on first
use, so a program that never sees one of these errors spends no heap on them.
Usage: from cellmodem._rare import refuse; refuse("millis", "5", "timeout")
"""
from cellmodem.compat import const

_EIO = const(5)  # errno.EIO (Linux and MicroPython)


def refuse(kind, value, what):
    """Raise the TypeError (wrong type) or ValueError (wrong value) for value, the
    argument named what; kind: "millis" (an int of ms, the Modem and AT layers),
    "seconds" (a number or None; sockets, requests) or "uart" (a port object)."""
    name = type(value).__name__
    if kind == "millis":
        if type(value) is not int:  # a float or str: most often seconds by mistake
            raise TypeError("%s is in milliseconds: an int, not %s %r" % (what, name, value))
        raise ValueError("%s must be >= 0 ms, not %d" % (what, value))
    if kind == "seconds":
        if isinstance(value, tuple):
            raise ValueError("%s pair must be (connect, read), not %d items" % (what, len(value)))
        if type(value) is not int and type(value) is not float:
            raise TypeError("%s is in seconds: a number or None, not %s %r" % (what, name, value))
        raise ValueError("%s must be >= 0 s or None, not %r" % (what, value))
    raise TypeError("%s must have write() and readinto() (a machine.UART, open_serial(...), "
                    "FakeUART), not %s" % (what, name))


def port_closed(at):
    """The OSError(EIO, "port closed: <path>") for at's failed port (a machine.UART
    has no path: its repr); ends the command in flight, and at raises the same text
    on every later call (AT.port_failed)."""
    if at.closed is None:
        port = at.port
        port = getattr(port, "port", port)  # through a gate (power_down, data mode)
        path = getattr(port, "path", None)
        at.closed = "port closed: %s" % (path if isinstance(path, str) else repr(port))
    e = OSError(_EIO, at.closed)
    at.engine.abort(e)
    return e


def context_error(apn, command, text, code=None):
    """The NetworkError for a data context the module did not activate with apn, the
    same shape on every family: the module's words and code, never a user name or
    password (they are not in it)."""
    from cellmodem.errors import NetworkError
    e = NetworkError('data context not activated with APN "%s": %s: %s'
                     % (apn, command, text if code is None else "%s (%s)" % (text, code)))
    e.apn = apn
    e.code = code
    e.text = text
    e.command = command
    return e
