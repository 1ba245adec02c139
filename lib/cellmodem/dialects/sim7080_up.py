"""The SIM7080 family's data context (AT+CNCFG, AT+CNACT, +APP PDP; manual C18):
Dialect.activate/deactivate load this module for each call and drop it after
(modem.forget), so a connected board keeps none of this code (issue 20). SIM7000
firmware (no <pdp_index> field) is told apart here on first use.
Usage: ip = modem.dialect.activate(apn, user, password, timeout)
"""
from cellmodem.compat import const
from cellmodem.errors import ATError, NetworkError

_PDP = const(0)  # the context cellmodem uses (as in sim7080.py)
_APP_PDP = const(b"+APP PDP:")  # the one-shot result sim7080.py's +APP PDP handler posts


def _active_ip(d):
    for l in d.at.command("AT+CNACT?", resp=b"+CNACT:"):
        f = l.decode().split(":", 1)[1].split(",")
        if len(f) == 2:  # SIM7000: +CNACT: <status>,"<ip>" (its one context)
            f.insert(0, str(_PDP))
        if int(f[0]) == _PDP and int(f[1]) == 1:
            return f[2].strip().strip('"')
    return None


def activate(d, apn, user, password, timeout):
    at = d.at
    if d._pdp is None:  # "" on a SIM7000 (no <pdp_index> field), else "0,"
        text = b""
        for cmd in ("AT+CGMM", "AT+CGMR"):
            try:
                text = b"".join(at.command(cmd)).upper()
            except ATError:
                continue
            if b"SIM70" in text:  # SIM7000, SIM7070, SIM7080, SIM7090
                break
        d._pdp = "" if b"SIM7000" in text else "%d," % _PDP
    s7000 = not d._pdp
    # CNCFG <auth>: 0 none, 3 PAP or CHAP; SIM7000: no index, <ip_type> 1 IPv4
    at.command('AT+CNCFG=%s1,"%s","%s","%s",%d'
               % (d._pdp, apn, user, password, 3 if user else 0))
    ip = _active_ip(d)
    if ip is None:
        d.expect(_APP_PDP)
        cmd = 'AT+CNACT=1,"%s"' % apn if s7000 else "AT+CNACT=%d,1" % _PDP
        try:
            at.command(cmd)
        except ATError as e:
            d.got.pop(_APP_PDP, None)
            from cellmodem._rare import context_error  # only on a failure
            raise context_error(apn, e.command, e.text, e.code)
        state, words = d.result(_APP_PDP, timeout, "+APP PDP", "AT+CNACT")
        if state != "ACTIVE":
            # a refused APN: OK, then "+APP PDP: 0,DEACTIVE" (no reason code)
            from cellmodem._rare import context_error  # only on a failure
            raise context_error(apn, cmd, words)
        ip = _active_ip(d)
    if ip is None:
        raise NetworkError("data context active but no IP address")
    d.link_up = True
    return ip


def deactivate(d):
    d.link_up = False
    if _active_ip(d) is not None:
        d.expect(_APP_PDP)
        try:
            d.at.command("AT+CNACT=0" if d._pdp == "" else "AT+CNACT=%d,0" % _PDP)
        except ATError:
            d.got.pop(_APP_PDP, None)
            raise
        d.result(_APP_PDP, 10000, "+APP PDP", "AT+CNACT")
