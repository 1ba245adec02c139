"""SIM7000 forms of the CA family that only it needs, imported on first use by the
sim7080 dialect (the rest of its forms are table entries there).

Public knowledge (drivers written for the SIM7000, users' logs), not our manuals: after
AT+CASEND's data and OK, SIM7000 firmware prints "+CASEND: <cid>,<result>,<sendlen>",
the send's own result (0 sent; else it failed although OK came).
Usage: sent = send(at, link, memoryview(data), len(data))
"""
import errno

_FINALS = ((b"+CASEND:", True),)


def send(at, link, mv, n):
    """AT+CASEND=<cid>,<n>, the data, OK, then its +CASEND line: the count sent;
    OSError(EIO) with the module's line when its result is not 0."""
    at.send_data(b"AT+CASEND=%d,%d" % (link.id, n), mv, ok_final=False, finals=_FINALS)
    line = at.engine.final
    f = line[line.find(b":") + 1:].split(b",")
    if int(f[1]) != 0:
        raise OSError(errno.EIO, "send failed: %s" % line.decode())
    return int(f[2])
