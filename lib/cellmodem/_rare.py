"""What the library raises only when something is wrong: the error for a port that
failed. Imported on first use, so a program that never sees one of these errors
spends no heap on them.
Usage: raise port_closed(at)
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
