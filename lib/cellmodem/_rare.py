"""What the library raises only when something is wrong: the errors for a port that
failed and for a data context the module did not activate. Imported on first use,
so a program that never sees one of these errors spends no heap on them.
Usage: raise port_closed(at); raise context_error(apn, command, text, code)
"""
_EIO = 5  # errno.EIO (Linux and MicroPython)


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
