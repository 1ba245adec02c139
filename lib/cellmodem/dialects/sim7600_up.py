"""The SIM7600/A7600 family's data context (AT+CGDCONT, AT+NETOPEN/NETCLOSE,
L1106-L1113; A7600 ch.2-5) and AT+CPING: Dialect.activate/deactivate/ping load this
module for each call and drop it after (modem.forget), so a connected board keeps none
of this code (issue 20).
Usage: ip = modem.dialect.activate(apn, user, password, timeout)
"""
import errno

from cellmodem.compat import const
from cellmodem.dialects.base import coded
from cellmodem.dialects.sim7600 import _ERR_TEXT, _ERRNO
from cellmodem.errors import ATError

# one-shot result keys, as in sim7600.py, whose URC handlers post them
_NET = const(b"net")  # +NETOPEN: <err>, or -2 - <err> of +NETCLOSE
_CPING = const(b"+CPING:")  # the first reply's time (ms), or -1 for none


def _forget(d):
    """Drop what the module held: a fresh NETOPEN starts with no links. (The
    containers are emptied, not replaced: no new objects in the middle of the heap.)"""
    for box in (d._dest, d._clients, d._stopping, d._orphans):
        box.clear()
    d._pulling = None


def _ip(d):
    lines = d.at.command("AT+IPADDR", resp=b"+IPADDR:")
    return lines[0].decode().split(":", 1)[1].strip() if lines else None


def _net_is_open(d):
    """AT+NETOPEN? answers +NETOPEN: 1 (the network is open). SIM7600G-H firmware
    answers a bare ERROR to AT+NETOPEN while the network is open (users' logs,
    public knowledge; the manuals give "Network is already opened"): its state is
    asked, not read from the error's text."""
    try:
        lines = d.at.command("AT+NETOPEN?", resp=b"+NETOPEN:")
    except ATError:
        return False
    return bool(lines) and lines[0][9:].split(b",")[0].strip() == b"1"


def activate(d, apn, user, password, timeout):
    at = d.at
    at.command('AT+CGDCONT=1,"IP","%s"' % apn)
    if user:  # AT+CGAUTH=<cid>,<type 1=PAP>,<passwd>,<user> (SIMCom order)
        at.command('AT+CGAUTH=1,1,"%s","%s"' % (password, user))
    # Receive mode before the network opens (L1106; A7600 1.2). Push: a header
    # before each payload (L1108 CIPHEAD=1) without the "RECV FROM:<ip>:<port>"
    # line (L1109 CIPSRIP=0), and the L1113 defaults except <HeaderType> 1:
    # "+RECEIVE,<link num>,<data length>". One line, commands joined by ";" (V.250).
    at.command("AT+CIPRXGET=0;+CIPHEAD=1;+CIPSRIP=0;+CIPCCFG=10,0,0,1,1,0,500"
               if d.push else "AT+CIPRXGET=1")
    if d.transparent != d._cipmode:  # A7600 2.10: set before AT+NETOPEN
        at.command("AT+CIPMODE=%d" % d.transparent)
        d._cipmode = d.transparent
    if not d.link_up:
        _forget(d)
    d.expect(_NET)
    try:
        at.command("AT+NETOPEN")
    except ATError as e:
        if "already opened" not in e.text and e.code != 4 and not _net_is_open(d):
            d.got.pop(_NET, None)
            from cellmodem._rare import context_error  # only on a failure
            raise context_error(apn, e.command, e.text, e.code)
        if d.link_up:
            d.post(_NET, 0)
        else:
            # Opened before us, or left open after a network loss (A7600 ch.5:
            # "uses AT+NETCLOSE to release the network library"): start afresh.
            deactivate(d)
            d.expect(_NET)
            at.command("AT+NETOPEN")
    err = d.result(_NET, timeout, "+NETOPEN", "AT+NETOPEN")
    if err != 0:
        # "+NETOPEN: <err>" (A7600 ch.4; a refused APN is 1, "Network failure")
        from cellmodem._rare import context_error  # only on a failure
        c = coded(_ERRNO, _ERR_TEXT, err - 1)
        raise context_error(apn, "AT+NETOPEN", c[1] if c else "+NETOPEN: %d" % err, err)
    d.link_up = True
    return _ip(d)


def deactivate(d):
    d.link_up = False
    d.expect(_NET)
    try:
        d.at.command("AT+NETCLOSE")
    except ATError:
        d.got.pop(_NET, None)
        return  # not open
    d.result(_NET, 120000, "+NETCLOSE", "AT+NETCLOSE")


def ping(d, host, timeout=10000):
    # <wait_time> 10000-100000 ms (L1134); one ping, then wait for the summary
    wait = 10000 if timeout < 10000 else 100000 if timeout > 100000 else timeout
    d.expect(_CPING)
    try:
        d.at.command('AT+CPING="%s",1,1,64,1000,%d,255' % (host, wait))
    except ATError as e:
        d.got.pop(_CPING, None)
        raise OSError(errno.EHOSTUNREACH, "cannot ping %s: %s" % (host, e))
    rtt = d.result(_CPING, wait + 5000, "+CPING", "AT+CPING")
    if rtt < 0:
        raise OSError(errno.ETIMEDOUT, "no ping reply from %s" % host)
    return rtt
