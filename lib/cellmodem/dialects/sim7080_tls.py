"""Module TLS on the SIM7080 family: per-connection settings (manual C1802
AT+CASSLCFG, the family's AT+CSSLCFG) and the certificate files they name (the
family's AT+CFS* file system). Imported by the sim7080 dialect only when module TLS
is used (a ModuleTLS connection, cellmodem.tls.cert_*), so a board that uses host
TLS or none does not pay for it. The state stays on the dialect d: d._tls (cid ->
(ssl on, cacert, clientcert) as last set on the module), d._pair (the client
certificate and key converted together), d._certs (names this session knows).

Usage: through cellmodem.tls (cert_upload/cert_list/cert_delete, ModuleTLS) and
socket.connect(addr, tls=ModuleTLS(...)) on a sim7080 modem.
"""
import errno

from cellmodem.compat import const
from cellmodem.errors import ATError

_CFS = const(3)  # AT+CFS* directory index 3: /customer/, where certificates go (family)
_CFS_MAX = const(10240)  # AT+CFSWFILE <filesize> 1-10240 (family)
_OFF = (0, "", "")  # a cid's TLS settings as the module starts: SSL off, no CA, no cert


def ssl(d, cid, host, tls):
    """Module TLS settings for cid before AT+CAOPEN (manual C1802 AT+CASSLCFG).
    AT+CSSLCFG (SSL contexts, not in our manual) as the family has it: "SSLVERSION",
    <ctx>,3 is TLS 1.2; "SNI",<ctx>,"<host>"; "CONVERT",1,"<cert>","<key>" makes
    a stored client certificate and its key usable as one (it needs both names,
    so it is done here, once per pair and session). The settings stay on the
    module per cid (NO_SAVE: until it restarts), so d._tls remembers them: a
    plain connection (tls None) on a cid that had TLS turns "SSL" off, and a CA or
    client certificate of an earlier connection is cleared (an empty "cacert" trusts
    every server, manual C1802 - used only with verify=False). With sni=False no
    SNI is set; one an earlier connection set on the same context may stay."""
    c = d.at.command
    old = d._tls.get(cid, _OFF)
    if tls is None:
        c('AT+CASSLCFG=%d,"SSL",0' % cid)
        d._tls[cid] = (0, old[1], old[2])
        return
    ctx = cid % 6  # crindex 0-5 (manual C1802): one SSL context per cid in use
    ca = tls.ca if tls.verify else ""
    cert = tls.cert or ""
    for n in (tls.ca, cert, tls.key):
        if n and n not in d._certs:
            d._certs.append(n)
    d._tls[cid] = (1, ca or old[1], cert or old[2])  # if a command below fails
    c('AT+CSSLCFG="SSLVERSION",%d,3' % ctx)
    if tls.sni:
        c('AT+CSSLCFG="SNI",%d,"%s"' % (ctx, host))
    c('AT+CASSLCFG=%d,"SSL",1' % cid)
    c('AT+CASSLCFG=%d,"CRINDEX",%d' % (cid, ctx))
    if ca or old[1]:
        c('AT+CASSLCFG=%d,"CACERT","%s"' % (cid, ca))
    if cert and d._pair != (cert, tls.key):
        c('AT+CSSLCFG="CONVERT",1,"%s","%s"' % (cert, tls.key))
        d._pair = (cert, tls.key)
    if cert or old[2]:
        c('AT+CASSLCFG=%d,"CLIENTCERT","%s"' % (cid, cert))
    d._tls[cid] = (1, ca, cert)


# ---- certificates (cellmodem.tls reaches them through the dialect's TLS) ----
# Not in our manual (the CA TCP/IP one): the family's file system commands as the
# SIM7080 series is publicly known to work. AT+CFSINIT takes the file system's
# buffer, AT+CFSTERM frees it (sent after every use, also after an error).
# AT+CFSWFILE=3,"<name>",0,<len>,<ms>: "DOWNLOAD", then exactly <len> bytes
# (1-10240) within <ms> (up to 10000), OK; mode 0 overwrites a file of that name in
# /customer/ (index 3). AT+CFSGFIS=3,"<name>" answers its size, ERROR if there is
# none; AT+CFSDFILE=3,"<name>" deletes it. The module's TLS takes PEM text; a CA
# becomes usable with AT+CSSLCFG="CONVERT",2,"<name>" (done here), a client
# certificate with its key when a ModuleTLS names both (ssl()).
def cert_upload(d, name, data, kind):
    if "/" in name:
        raise ValueError("certificate file name: a name, not a path: %r" % name)
    from cellmodem.tls import pem, send_secret
    data = pem(data, kind)
    n = len(data)
    if n > _CFS_MAX:
        raise ValueError("%s: %d bytes; the module stores %d at most" % (name, n, _CFS_MAX))
    at = d.at

    def download(line):
        at.engine.prompted = True  # "DOWNLOAD" is this command's data prompt
    _cfs(at)
    try:
        send_secret(at, 'AT+CFSWFILE=%d,"%s",0,%d,10000' % (_CFS, name, n), data,
                    resp=b"DOWNLOAD", on_line=download, timeout=15000, prompt_timeout=9000)
    finally:
        _cfs(at, False)
    if name not in d._certs:
        d._certs.append(name)
    if kind == "ca":
        at.command('AT+CSSLCFG="CONVERT",2,"%s"' % name)
    else:
        d._pair = None  # converted again with the new file on the next open


def _cfs(at, on=True):
    # AT+CFSINIT (on) or AT+CFSTERM. CFSINIT answers ERROR while the buffer is still
    # held (a session cut off before its CFSTERM): freed and taken again, once.
    # CFSTERM's ERROR (nothing held) is no failure.
    c = at.command
    try:
        c("AT+CFSINIT" if on else "AT+CFSTERM")
    except ATError:
        if on:
            c("AT+CFSTERM")
            c("AT+CFSINIT")


def cert_list(d):
    """The family's file system has no directory listing: this asks AT+CFSGFIS for
    the names this session uploaded or a ModuleTLS named, and returns those the
    module holds. Files stored before (another session, before the board
    restarted) are not listed unless named again."""
    out = []
    at = d.at
    _cfs(at)
    try:
        for name in d._certs:
            try:
                at.command('AT+CFSGFIS=%d,"%s"' % (_CFS, name), resp=b"+CFSGFIS:")
                out.append(name)
            except ATError:
                pass
    finally:
        _cfs(at, False)
    return out


def cert_delete(d, name):
    at = d.at
    _cfs(at)
    try:
        at.command('AT+CFSDFILE=%d,"%s"' % (_CFS, name))
    except ATError as e:
        # the module answers ERROR when there is no such file
        raise OSError(errno.ENOENT, "%s: no such file on the module (%s)" % (name, e))
    finally:
        _cfs(at, False)
    if name in d._certs:
        d._certs.remove(name)
    d._pair = None
