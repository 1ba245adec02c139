"""The Quectel family's data context (AT+QICSGP, AT+QIACT/QIDEACT; UG 2.1-2.3) and
AT+QPING: Dialect.activate/deactivate/ping load this module for each call and drop it
after (modem.forget), so a connected board keeps none of this code (issue 20).
Usage: ip = modem.dialect.activate(apn, user, password, timeout)
"""
import errno

from cellmodem.compat import const
from cellmodem.dialects.quectel import _oserror
from cellmodem.errors import ATError, NetworkError

_CTX = const(1)  # the context cellmodem uses (as in quectel.py)
_QPING = const(b"+QPING:")  # quectel.py's +QPING handler posts the first echo's time, or -<err>


def _ip(d):
    out = []

    def row(l):  # +QIACT: <contextID>,<context_state>,<context_type>,<IP_address>
        if l.int(0, -1) == _CTX and l.int(1, 0) == 1:
            out.append(l.field(3))
    d.at.command("AT+QIACT?", resp=b"+QIACT:", on_line=row)
    return out[0] if out else None


def activate(d, apn, user, password, timeout):
    at = d.at
    at.command("AT+QISDE=0")  # UG 2.10: no echo of the AT+QISEND data (default 1)
    # <context_type> 1 IPv4; <authentication> 0 none, 3 PAP or CHAP (UG 2.1)
    at.command('AT+QICSGP=%d,1,"%s","%s","%s",%d' % (_CTX, apn, user, password, 3 if user else 0))
    ip = _ip(d)
    if ip is None:
        if d._broken:
            d._broken = False
            try:
                at.command("AT+QIDEACT=%d" % _CTX)
            except ATError:
                pass
        try:
            at.command("AT+QIACT=%d" % _CTX, timeout=timeout if timeout < 150000 else 150000)
        except ATError as e:
            # UG 2.2: ERROR; AT+QIGETERROR's code and words say why (561 for a refused APN)
            e = d._qi_error(e)
            from cellmodem._rare import context_error  # only on a failure
            raise context_error(apn, e.command, e.text, e.code)
        ip = _ip(d)
    if ip is None:
        raise NetworkError("context %d not active after AT+QIACT" % _CTX)
    d.link_up = True
    return ip


def deactivate(d):
    d.link_up = False
    d._broken = False
    d.at.command("AT+QIDEACT=%d" % _CTX)


def ping(d, host, timeout=10000):
    # family (UG 2.12): AT+QPING=<contextID>,<host>,<timeout> s (1-255),<pingnum> (1-10)
    secs = (timeout + 999) // 1000
    secs = 1 if secs < 1 else 255 if secs > 255 else secs
    d.expect(_QPING)
    epoch = d._epoch
    try:
        d.at.command('AT+QPING=%d,"%s",%d,1' % (_CTX, host, secs))
    except ATError as e:
        d.got.pop(_QPING, None)
        raise d._failure(e, "AT+QPING")
    r = d.result(_QPING, secs * 1000 + 5000, "+QPING", "AT+QPING", d.NUDGE,
                 lambda: d._epoch != epoch)
    if r is None:
        raise OSError(errno.ECONNABORTED, "ping %s: link lost" % host)
    if r < 0:
        raise _oserror(-r, "ping %s: +QPING: %d" % (host, -r))
    return r
