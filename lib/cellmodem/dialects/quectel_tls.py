"""Module TLS on the Quectel QI family: the AT+QSSL* commands and the certificate
files they name (AT+QFUPL/AT+QFLST/AT+QFDEL). Imported by the quectel dialect only
when module TLS is used (a ModuleTLS connection, cellmodem.tls.cert_*), so a board
that uses host TLS or none does not pay for it.

None of this is in our manual (the UGxx TCP/IP one stops in 2.5): it follows the
family's SSL and FILE application notes (BG96/BG95/EC2x) as publicly described and
users' logs of those modules. AT+QSSLOPEN=<pdpctx>,<sslctx>,<clientID>,"<server>",
<port>,<access_mode> answers OK, then +QSSLOPEN: <clientID>,<err>; the client ids
are the connectIDs of AT+QIOPEN (one pool of 12). AT+QSSLSEND, AT+QSSLRECV,
AT+QSSLCLOSE and the URCs +QSSLURC: "recv",<id>[,<len>] / "closed",<id> have the
shapes of AT+QISEND, AT+QIRD, AT+QICLOSE and +QIURC, so the dialect's handlers
parse them unchanged.

Usage: through cellmodem.tls (cert_upload/cert_list/cert_delete, ModuleTLS) and
socket.connect(addr, tls=ModuleTLS(...)) on a quectel modem.
"""
import errno

from cellmodem.compat import const
from cellmodem.errors import ATError

_SSL_ERR = const(-1)  # +QSSLOPEN: <id>,-1: the handshake failed (users' logs; no code of its own)
_FILE_NOT_FOUND = const(405)  # family FILE application note: +CME ERROR: 405 "file not found"


def open_command(d, cid, host, port, mode, tls):
    """Set SSL context cid % 6 up for tls (a ModuleTLS) and return the AT+QSSLOPEN
    command for clientID cid. The settings are sent every time (a context keeps them
    until the module restarts, and another connection may have changed them):
    "sslversion" 3 (TLS 1.2), "ciphersuite" 0XFFFF (every suite the firmware has; the
    family wants the number unquoted: quoted, it answers ERROR), "seclevel" 0 (no
    checks), 1 (the server verified with "cacert") or 2 (also a client certificate
    and key), "sni" on or off, and "ignorelocaltime" 0 when verifying, so an expired
    server certificate is refused as on the other families (the module's clock
    must be right: network time, or AT+QNTP)."""
    if tls.cert and not tls.verify:
        # seclevel 2 is "server and client authentication": no client certificate
        # without the server verified
        raise ValueError("quectel: a client certificate needs the server verified "
                         "(ca= and verify=True)")
    at = d.at
    for prefix, handler in ((b"+QSSLOPEN:", d._on_qiopen), (b'+QSSLURC: "recv",', d._on_recv),
                            (b'+QSSLURC: "closed",', d._on_closed)):
        at.urc(prefix, handler)  # replaces an entry of an earlier open
    ctx = cid % 6  # <sslctxID> 0-5
    c = at.command
    pre = 'AT+QSSLCFG="%s",' + str(ctx) + ","
    c(pre % "sslversion" + "3")
    c(pre % "ciphersuite" + "0XFFFF")
    c(pre % "seclevel" + ("2" if tls.cert else "1" if tls.verify else "0"))
    if tls.verify:
        c(pre % "cacert" + '"%s"' % tls.ca)
        c(pre % "ignorelocaltime" + "0")
    if tls.cert:
        c(pre % "clientcert" + '"%s"' % tls.cert)
        c(pre % "clientkey" + '"%s"' % tls.key)
    c(pre % "sni" + ("1" if tls.sni else "0"))
    return 'AT+QSSLOPEN=1,%d,%d,"%s",%d,%d' % (ctx, cid, host, port, mode)


def refused(cid, err):
    """The OSError for +QSSLOPEN: <cid>,<err> other than 0."""
    said = "+QSSLOPEN: %d,%d" % (cid, err)
    if err == _SSL_ERR:
        return OSError(errno.ECONNABORTED, "TLS handshake failed: %s (the server's "
                       "certificate refused, or no common version or cipher)" % said)
    from cellmodem.dialects.quectel import _oserror
    return _oserror(err, said)


# ---- certificates (cellmodem.tls reaches them through the dialect's TLS) ----
# The family's file system (FILE application note): AT+QFUPL="<name>",<size>,<s>
# answers CONNECT, takes exactly <size> bytes within <s> seconds, then
# +QFUPL: <size>,<checksum> and OK; a name that exists is refused (407), so it is
# deleted first. AT+QFLST="*" lists +QFLST: "<name>",<size>; AT+QFDEL="<name>"
# deletes, +CME ERROR: 405 when there is none. Files go to the module's own
# storage (UFS), where AT+QSSLCFG finds them by name. The TLS stack takes PEM.
def cert_upload(d, name, data, kind):
    from cellmodem.tls import pem, send_secret
    data = pem(data, kind)
    n = len(data)
    at = d.at
    try:
        at.command('AT+QFDEL="%s"' % name)
    except ATError:
        pass  # 405: no such file yet
    got = []

    def line(l):
        if l.equals(b"CONNECT"):
            at.engine.prompted = True  # CONNECT is this command's data prompt
        elif l.startswith(b"+QFUPL:"):
            got.append(l.int(0, -1))
    send_secret(at, 'AT+QFUPL="%s",%d,10' % (name, n), data, on_line=line,
                timeout=15000, prompt_timeout=5000)
    if got != [n]:
        raise OSError(errno.EIO, "%s: the module reports %s of %d bytes stored"
                      % (name, got[0] if got else "none", n))


def cert_list(d):
    """Every file in the module's storage (certificates, keys, and whatever else
    was put there)."""
    out = []
    d.at.command('AT+QFLST="*"', resp=b"+QFLST:", on_line=lambda l: out.append(l.field(0)))
    return out


def cert_delete(d, name):
    try:
        d.at.command('AT+QFDEL="%s"' % name)
    except ATError as e:
        if e.code == _FILE_NOT_FOUND or "not found" in e.text:  # numeric or verbose
            raise OSError(errno.ENOENT, "%s: no such file on the module (%s)" % (name, e))
        raise
