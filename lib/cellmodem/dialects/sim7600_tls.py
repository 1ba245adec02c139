"""Module TLS on the SIM7600/A7600 family: the AT+CCH* SSL service, its SSL contexts
(AT+CSSLCFG) and the certificate store (AT+CCERTDOWN/AT+CCERTLIST/AT+CCERTDELE).
Imported by the sim7600 dialect only when module TLS is used (a ModuleTLS
connection, cellmodem.tls.cert_*), so a board that uses host TLS or none does not
pay for it.

None of this is in our manuals (the TCP/IP ones): it follows the family's SSL
application notes and AT manuals as publicly described. The service has two
sessions (0, 1), apart from the CIPOPEN links: they get the link ids 14 and 15,
after the 10 links and the 4 servers. AT+CCHSET=1,1 (before AT+CCHSTART) asks for
"+CCHSEND: <session>,<err>" after each send and for manual receiving: the module
says "+CCHEVENT: <session>,RECV EVENT" once data waits, AT+CCHRECV=<session>,<len>
answers OK and then "+CCHRECV: DATA,<session>,<len>" CR LF <data> per piece and
"+CCHRECV: <session>,<err>" at the end. "+CCH_PEER_CLOSED: <session>" when the
server closes, "+CCH_RECV_CLOSED: <session>,<err>" when the module dropped the
session because its receive buffer was full.

Usage: through cellmodem.tls (cert_upload/cert_list/cert_delete, ModuleTLS) and
socket.connect(addr, tls=ModuleTLS(...)) on a sim7600 modem.
"""
import errno

from cellmodem.compat import const
from cellmodem.errors import ATError, ATTimeout
from cellmodem.sockets import TCP

FIRST = 14  # link id of session 0 (sim7600.py: LINKS 10 + 4 servers)
_MAX = const(1500)  # bytes per AT+CCHSEND / AT+CCHRECV (the family takes up to 2048)
_CERT_MAX = const(10240)  # AT+CCERTDOWN <len> (family)
# keys of the one-shot results (Dialect.expect/post/result): + session, its <err>
_OPEN = const(1024)
_SEND = const(1280)
_RECV = const(1536)
_CLOSE = const(1792)
_START = const(b"+CCHSTART:")  # the service's <err>
_STOP = const(b"+CCHSTOP:")
# <err> 1-19 of +CCHOPEN, +CCHSEND, +CCHRECV, +CCHCLOSE (family SSL AT manual)
_WORDS = ("Alerting state|Unknown error|Busy|Peer closed|Operation timeout|Transfer failed|"
          "Memory error|Invalid parameter|Network error|Open session error|State error|"
          "Create socket error|Get DNS error|Connect socket error|Handshake error|"
          "Close socket error|Nonet|Send data timeout|Not set certificates")
_ERRNO = {4: errno.ECONNRESET, 5: errno.ETIMEDOUT, 9: errno.ENOTCONN, 13: errno.EHOSTUNREACH,
          14: errno.ECONNREFUSED, 15: errno.ECONNABORTED, 17: errno.ENOTCONN,
          18: errno.ETIMEDOUT, 19: errno.ECONNABORTED}


def _error(said, err):
    """OSError for the service's <err>, with its words; a handshake error (15) says so."""
    words = _WORDS.split("|")[err - 1] if 1 <= err <= 19 else "error"
    text = "%s (%s)" % (said, words)
    return OSError(_ERRNO.get(err, errno.EIO),
                   "TLS handshake failed: " + text if err == 15 else text)


def _start(d):
    """Register the service's URCs and start it, once per module session."""
    state = d.modem.module_state
    if state.get("cch"):
        return
    at = d.at
    links = d.modem.links

    def data(line):  # +CCHRECV: DATA,<session>,<len>, the bytes follow
        d.push_payload(links.get(FIRST + line.int(1, -1)), line.int(2, 0))

    def result(key):  # +CCH...: <session>,<err>
        def post(line):
            sid = line.int(0, -1)
            if sid >= 0:
                d.post(key + sid, line.int(1, -1))
        return post

    def waiting(line):  # +CCHEVENT: <session>,RECV EVENT
        link = links.get(FIRST + line.int(0, -1))
        if link is not None:
            link.pending = True

    def peer(line):
        link = links.get(FIRST + line.int(0, -1))
        if link is not None:
            link.peer_closed()

    def dropped(line):  # the module's receive buffer overflowed: the session is gone
        link = links.get(FIRST + line.int(0, -1))
        if link is not None:
            link.fail(OSError(errno.ECONNRESET, line.str()))
    def one(key):  # +CCHSTART: <err>, +CCHSTOP: <err>
        def post(line):
            d.post(key, line.int(0, -1))
        return post
    started = one(_START)
    for prefix, handler in ((b"+CCHRECV: DATA,", data), (b"+CCHRECV:", result(_RECV)),
                            (b"+CCHOPEN:", result(_OPEN)), (b"+CCHSEND:", result(_SEND)),
                            (b"+CCHCLOSE:", result(_CLOSE)), (b"+CCHEVENT:", waiting),
                            (b"+CCH_PEER_CLOSED:", peer), (b"+CCH_RECV_CLOSED:", dropped),
                            (_START, started), (_STOP, one(_STOP))):
        at.urc(prefix, handler)  # replaces an entry of an earlier module session
    for attempt in (0, 1):
        try:
            # AT+CCHSET <report_send_result> 1, <recv_mode> 1 (manual), set before
            # AT+CCHSTART; a service still started from before refuses both: stopped first
            at.command("AT+CCHSET=1,1")
            d.expect(_START)
            at.command("AT+CCHSTART", resp=_START, on_line=started)
            err = d.result(_START, 12000, "+CCHSTART", "AT+CCHSTART")
            if err == 0:
                state["cch"] = True
                return
        except ATError:
            d.got.pop(_START, None)
            if attempt:
                raise
        d.expect(_STOP)
        try:
            at.command("AT+CCHSTOP")
            d.result(_STOP, 12000, "+CCHSTOP", "AT+CCHSTOP")
        except (ATError, ATTimeout):
            d.got.pop(_STOP, None)
    raise OSError(errno.EIO, "AT+CCHSTART: the SSL service did not start (+CCHSTART: %s)" % err)


def open_session(d, link, host, port, tls):
    """Open link as an SSL session to host:port with tls (a ModuleTLS)."""
    if link.kind != TCP:
        raise OSError(errno.EOPNOTSUPP, "sim7600: module TLS is for TCP only (no DTLS)")
    links = d.modem.links
    sid = 0 if FIRST not in links else 1 if FIRST + 1 not in links else -1
    if sid < 0:
        raise OSError(errno.ENOMEM, "sim7600: both SSL sessions of the module are in use")
    _start(d)
    at = d.at
    c = at.command
    # AT+CSSLCFG per SSL context (context n for session n): "sslversion" 3 (TLS 1.2),
    # "authmode" 0 none, 1 server, 2 server and client, 3 client only; "ignorelocaltime"
    # 0 when verifying (an expired server is refused: the module's clock must be
    # right); the files by name; "enableSNI"
    pre = 'AT+CSSLCFG="%s",' + str(sid) + ","
    c(pre % "sslversion" + "3")
    c(pre % "authmode" + str((2 if tls.verify else 3) if tls.cert else 1 if tls.verify else 0))
    c(pre % "ignorelocaltime" + ("0" if tls.verify else "1"))
    if tls.verify:
        c(pre % "cacert" + '"%s"' % tls.ca)
    if tls.cert:
        c(pre % "clientcert" + '"%s"' % tls.cert)
        c(pre % "clientkey" + '"%s"' % tls.key)
    c(pre % "enableSNI" + ("1" if tls.sni else "0"))
    c("AT+CCHSSLCFG=%d,%d" % (sid, sid))
    link.id = FIRST + sid
    links[link.id] = link
    d.expect(_OPEN + sid)
    # <client_type> 2: SSL/TLS client; OK, then +CCHOPEN: <session>,<err>
    cmd = 'AT+CCHOPEN=%d,"%s",%d,2' % (sid, host, port)
    try:
        c(cmd)
        err = d.result(_OPEN + sid, at.timeout_for(cmd), "+CCHOPEN", cmd, d.NUDGE,
                       link=link)
    except BaseException:
        d.got.pop(_OPEN + sid, None)
        d.release(link)
        raise
    if err is None:
        d.release(link)
        raise link.error
    if err:
        d.release(link)
        raise _error("+CCHOPEN: %d,%d" % (sid, err), err)
    link.open = True
    link.peer = (host, port)


def send(d, link, mv):
    n = len(mv)
    if n > _MAX:
        n = _MAX
        mv = mv[:n]
    sid = link.id - FIRST
    cmd = d.command_for(b"AT+CCHSEND=%d,%d", sid, n)
    at = d.at
    d.expect(_SEND + sid)
    try:
        at.send_data(cmd, mv)
    except ATError:
        d.got.pop(_SEND + sid, None)
        if link.error is not None:
            raise link.error
        raise OSError(errno.ENOTCONN, "%s: ERROR (the session is closed)" % cmd.decode())
    err = d.result(_SEND + sid, at.timeout_for(cmd), "+CCHSEND", cmd, d.NUDGE,
                   link=link)
    if err is None:
        raise link.error
    if err:
        raise _error("+CCHSEND: %d,%d" % (sid, err), err)
    return n


def fetch(d, link, n):
    if n > _MAX:
        n = _MAX
    sid = link.id - FIRST
    ring = link.ring
    before = ring.count
    link.pending = False  # a RECV EVENT parsed with the answer sets it again
    d.expect(_RECV + sid)
    cmd = d.command_for(b"AT+CCHRECV=%d,%d", sid, n)
    try:
        d.at.command(cmd)
    except ATError:
        d.got.pop(_RECV + sid, None)
        raise
    err = d.result(_RECV + sid, 10000, "+CCHRECV", cmd, 0, link=link)
    got = ring.count - before
    if got >= n:
        link.pending = True  # a read that filled the ask may have left more
    if err and not got and link.error is None and not link.eof:
        raise _error("+CCHRECV: %d,%d" % (sid, err), err)
    return got


def close(d, link):
    sid = link.id - FIRST
    d.release(link)
    d.expect(_CLOSE + sid)
    try:
        # OK, then +CCHCLOSE: <session>,<err>; ERROR when the module dropped it already
        d.at.command("AT+CCHCLOSE=%d" % sid)
        d.result(_CLOSE + sid, 10000, "+CCHCLOSE", "AT+CCHCLOSE", 0, lambda: not d.link_up)
    except (ATError, ATTimeout):
        pass
    d.got.pop(_CLOSE + sid, None)


# ---- certificates (cellmodem.tls reaches them through the dialect's TLS) ----
# AT+CCERTDOWN="<name>",<len>: ">" prompt, exactly <len> bytes (1-10240), OK; the
# name says the format: it must end in .pem or .der (family). AT+CCERTLIST lists
# +CCERTLIST: "<name>" per file; AT+CCERTDELE="<name>" deletes, ERROR if none.
def cert_upload(d, name, data, kind):
    from cellmodem.tls import der, pem, send_secret
    ext = name[-4:].lower()
    if ext not in (".pem", ".der"):
        raise ValueError("%s: the module takes certificate names ending in .pem or .der" % name)
    data = pem(data, kind) if ext == ".pem" else der(data, kind)
    n = len(data)
    if n > _CERT_MAX:
        raise ValueError("%s: %d bytes; the module stores %d at most" % (name, n, _CERT_MAX))
    send_secret(d.at, 'AT+CCERTDOWN="%s",%d' % (name, n), data, timeout=15000)


def cert_list(d):
    out = []
    d.at.command("AT+CCERTLIST", resp=b"+CCERTLIST:", on_line=lambda l: out.append(l.field(0)))
    return out


def cert_delete(d, name):
    try:
        d.at.command('AT+CCERTDELE="%s"' % name)
    except ATError as e:
        raise OSError(errno.ENOENT, "%s: no such file on the module (%s)" % (name, e))
