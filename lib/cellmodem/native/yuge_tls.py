"""Module TLS on the Yuge EC716S: SSL contexts (manual 9.7 AT+SSLCFG) and the
certificate files they name (ch.8 AT+FS*, as the 13.14 examples store ca.crt,
client.crt and client.key). Imported by the yuge dialect (sockets with a
cellmodem.tls.ModuleTLS, cellmodem.tls.cert_*) and the native MQTT client
(ssl=ModuleTLS) only when module TLS is used, so neither pays for it otherwise.

Usage: through cellmodem.tls (cert_upload/cert_list/cert_delete, ModuleTLS) on a
yuge modem; sslcfg(at, ctx, tls, host) sets one context.
"""
import errno

from cellmodem.errors import ATError

MAX_FILE = 10240  # 8.4 AT+FSWRITE <filesize>: "不能大于 10240 个字节"
_WRITE_S = 10  # 8.4 <inputtime> (s); the bytes follow the prompt at once
_FINALS = ((b"TimeOut", False),)  # 8.4: the bytes did not come within <inputtime>


def level(tls):
    """AT+SSLCFG "seclevel" (9.7) of a ModuleTLS: 0 nothing verified (verify=False),
    1 the server, 2 the server and a client certificate when the server asks.
    ValueError for a client certificate without verification (2 verifies too)."""
    if not tls.verify:
        if tls.cert is not None:
            raise ValueError("yuge: a client certificate goes with seclevel 2, which "
                             "verifies the server too: give ca= and keep verify=True")
        return 0
    return 2 if tls.cert is not None else 1


def sslcfg(at, ctx, tls, host):
    """AT+SSLCFG for SSL context ctx (9.7; link n's is n, MQTT's 88) from a ModuleTLS:
    "sslversion" 3 (TLS 1.2, the newest the manual names), "seclevel" (level()),
    "cacert" (level 1-2), "clientcert"/"clientkey" (level 2), "hostname" (the name
    sent as SNI and checked, as the HTTPS example of ch.11 sets it; "" erases an
    earlier one when sni=False: the address the connection is made to is checked).
    Settings left from earlier use of the context do not matter: seclevel says which
    ones count. "ignorelocaltime" is left as the module has it (0: dates checked)."""
    n = level(tls)
    c = at.command
    q = 'AT+SSLCFG="%s",%d,"%s"'
    c('AT+SSLCFG="sslversion",%d,3' % ctx)
    c('AT+SSLCFG="seclevel",%d,%d' % (ctx, n))
    if n:
        c(q % ("cacert", ctx, tls.ca))
    if n > 1:
        c(q % ("clientcert", ctx, tls.cert))
        c(q % ("clientkey", ctx, tls.key))
    c(q % ("hostname", ctx, host if tls.sni else ""))


# ---- certificate files: cert_upload/cert_list/cert_delete, reached through the dialect's TLS. Files
# in the flash root, by name. AT+FSWRITE=<name>,0,<len>,<s> (8.4, as 13.14) writes
# after "> "; the old file is deleted and created again first (8.4 does not say mode
# 0 drops an old tail), so the same name is replaced. The module's TLS takes PEM.
def cert_upload(d, name, data, kind):
    at = d.at
    if "/" in name or ":" in name:
        raise ValueError("certificate file name: a name, not a path: %r" % name)
    from cellmodem.tls import pem, send_secret
    data = pem(data, kind)
    n = len(data)
    if n > MAX_FILE:
        raise ValueError("%s: %d bytes; AT+FSWRITE takes %d at most (8.4)" % (name, n, MAX_FILE))
    try:
        at.command('AT+FSDEL="%s"' % name)
    except ATError:
        pass  # there was none
    at.command('AT+FSCREATE="%s"' % name)
    send_secret(at, 'AT+FSWRITE="%s",0,%d,%d' % (name, n, _WRITE_S), data, finals=_FINALS,
                timeout=_WRITE_S * 1000 + 5000)


def cert_list(d):
    """Every file in the flash root (AT+FSLS, 8.6; a trailing \\ marks a directory):
    where certificates are stored, with whatever else the application put there."""
    return [ln.decode() for ln in d.at.command('AT+FSLS="/"') if ln[-1:] != b"\\"]


def cert_delete(d, name):
    try:
        d.at.command('AT+FSDEL="%s"' % name)
    except ATError as e:  # 8.10: ERROR when there is no such file
        raise OSError(errno.ENOENT, "%s: no such file on the module (%s)" % (name, e))
