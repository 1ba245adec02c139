"""The Yuge (and SIM800) data context (AT+CIPMUX, AT+CSTT, AT+CIICR, AT+CIFSR,
AT+CIPSHUT; manual 9.1-9.29) and AT+CIPPING: Dialect.activate/deactivate/ping load
this module for each call and drop it after (modem.forget), so a connected board keeps
none of this code (issue 20).
Usage: ip = modem.dialect.activate(apn, user, password, timeout)
"""
import errno

from cellmodem.errors import ATError

_IP_FIRST_DIGIT = tuple((str(n).encode(), True) for n in range(10))
_ACTIVE = ("IP STATUS", "IP PROCESSING")  # 9.9: states where multi-link CIPSTART works


def activate(d, apn, user, password, timeout):
    at = d.at
    status = d._status()
    if status not in _ACTIVE or not _same_setup(d, apn, user, password):
        if status != "IP INITIAL":
            _shut(d)  # back to IP INITIAL (9.29, 9.40)
        if d._cipmode:  # 9.1: multi-link mode refuses while CIPMODE is 1
            at.command("AT+CIPMODE=0")
            d._cipmode = 0
        # 9.1/9.10: transparent mode is single-link only (CIPMUX=0, then CIPMODE=1)
        at.command("AT+CIPMUX=%d" % (0 if d.transparent else 1))
        if d.transparent:
            at.command("AT+CIPMODE=1")
            d._cipmode = 1
        at.command('AT+CSTT="%s","%s","%s"' % (apn, user, password))
        # 9.4: ERROR when the context is not activated (e.g. the APN is refused)
        try:
            at.command("AT+CIICR", timeout=timeout if timeout < 85000 else 85000)
        except ATError as e:
            from cellmodem._rare import context_error  # only on a failure
            raise context_error(apn, e.command, e.text, e.code)
    # 9.27: 1 holds data until AT+CIPRXGET=2; 0 pushes it as +RECEIVE (9.25)
    at.command("AT+CIPRXGET=%d" % (0 if d.push else 1))
    at.command("AT+CIPQSEND=1")  # 9.11: DATA ACCEPT once the module has the bytes
    # 9.6: TLS is one switch of the whole module, read at each AT+CIPSTART; off
    # until a ModuleTLS connection turns it on (a board restarted alone may have
    # left it on)
    at.command("AT+CIPSSL=0")
    d._cipssl = 0
    # SIM800-style AT+CIFSR answers the address alone, with no OK (manual 9.5)
    at.command("AT+CIFSR", finals=_IP_FIRST_DIGIT)
    d.link_up = True
    return at.engine.final.decode().strip()


def _same_setup(d, apn, user, password):
    # An active context is reused only in multi-link mode with the same APN/user/password
    out = []
    d.at.command("AT+CIPMUX?", resp=b"+CIPMUX:", on_line=lambda l: out.append(l.int(0, 0)))
    if not out or out[0] != 1:
        return False
    cstt = []
    d.at.command("AT+CSTT?", resp=b"+CSTT:",
                 on_line=lambda l: cstt.append((l.field(0), l.field(1), l.field(2))))
    return bool(cstt) and cstt[0] == (apn, user, password)


def _shut(d):
    # AT+CIPSHUT answers "SHUT OK", not OK (manual 9.29)
    d.at.command("AT+CIPSHUT", finals=((b"SHUT OK", True),))


def deactivate(d):
    d.link_up = False
    try:
        _shut(d)
    except ATError:
        pass


def ping(d, host, timeout=10000):
    # 9.31: AT+CIPPING=<host>,<retryNum>,<dataLen>,<timeout in 100 ms>,<ttl>;
    # +CIPPING: <replyId>,<ip>,<replyTime ms>,<ttl>; no reply: time 600, ttl 255
    t = (timeout + 99) // 100
    t = 1 if t < 1 else 600 if t > 600 else t
    out = []
    try:
        d.at.command('AT+CIPPING="%s",1,32,%d,64' % (host, t), resp=b"+CIPPING:",
                     timeout=t * 100 + 10000,
                     on_line=lambda l: out.append((l.int(2, -1), l.int(3, -1))))
    except ATError as e:
        raise OSError(errno.EHOSTUNREACH, "ping %s: %s" % (host, e))
    if not out or out[0][0] < 0 or out[0] == (600, 255):
        raise OSError(errno.ETIMEDOUT, "ping %s: no reply" % host)
    return out[0][0]
