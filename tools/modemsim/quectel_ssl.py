"""Module TLS and the file store of the Quectel QI family personality.

Not in our manual (the UGxx TCP/IP copy stops in 2.5): written from the family's SSL
and FILE application notes (BG96/BG95/EC2x) as publicly described and from users'
logs of those modules, independently of the library.

  AT+QFUPL="<name>",<size>[,<timeout s>[,<ackmode>]]: CONNECT, exactly <size> bytes
        within <timeout> (default 5 s), then +QFUPL: <size>,<checksum> (16-bit XOR
        of the data, hex) and OK; a name in use: +CME ERROR: 407, no data in time:
        421. Files live in the module's flash (kept across restarts).
  AT+QFLST[="<pattern>"]: +QFLST: "<name>",<size> per file ("*": all).
  AT+QFDEL="<name>": OK, or +CME ERROR: 405 (no such file); "*" deletes all.
  AT+QSSLCFG="<key>",<sslctxID>[,<value>]: sslversion (0 SSL 3.0, 1 TLS 1.0, 2 TLS
        1.1, 3 TLS 1.2, 4 all; default 4), ciphersuite (hex number, unquoted:
        a quoted value answers ERROR, as users' logs show; 0XFFFF all), seclevel
        (0 none, 1 server verified, 2 server and client; default 0), cacert,
        clientcert, clientkey (file names), ignorelocaltime (1 default: validity
        dates not checked), sni (0 default), negotiatetime (10-300 s, default 300).
        Without a value: +QSSLCFG: "<key>",<sslctxID>,<value>.
  AT+QSSLOPEN=<pdpctxID>,<sslctxID>,<clientID>,"<server>",<port>[,<access_mode>]:
        OK, then +QSSLOPEN: <clientID>,<err>: 0, a QI code (565 DNS, 566 connect), or
        -1 when the handshake failed (users' logs: no code of its own). clientIDs are
        the connectIDs of AT+QIOPEN. Access modes 0 (buffer) and 1 (direct push);
        transparent (2) is not simulated (555).
  AT+QSSLSEND=<clientID>,<len>: "> ", exactly <len> bytes (1-1460), SEND OK.
  AT+QSSLRECV=<clientID>,<len>: +QSSLRECV: <n> CR LF <data>, OK (buffer mode).
  AT+QSSLCLOSE=<clientID>[,<timeout>]: OK.
  AT+QSSLSTATE[=<clientID>]: +QSSLSTATE: <id>,"SSLClient","<ip>",<port>,<local>,
        <state>,<pdpctxID>,<serverID>,<access_mode>,"uart1",<sslctxID>.
  URCs: +QSSLURC: "recv",<id>[,<len> CR LF <data>] and +QSSLURC: "closed",<id>,
        as +QIURC (quectel.py emits them for a link with .ssl set).

The handshake is real (tlsclient.py); with seclevel 1 or 2 the server's chain is
verified against "cacert", its name against the host given (whether every firmware
checks the name is not publicly documented; this one does, as the SIM7080 does),
and its dates unless "ignorelocaltime" is 1.
"""
from .core import command
from .tlsclient import SSL_VERSIONS, connect_checked

SSL_DEFAULTS = {"sslversion": "4", "ciphersuite": "0XFFFF", "seclevel": "0",
                "cacert": "", "clientcert": "", "clientkey": "", "ignorelocaltime": "1",
                "sni": "0", "negotiatetime": "300"}
NSSLCTX = 6  # <sslctxID> 0-5
E_FILE_NOT_FOUND, E_FILE_EXISTS, E_FILE_TIMEOUT = 405, 407, 421
SSL_HANDSHAKE_FAILED = -1


def checksum(data):
    """The 16-bit XOR of data taken as big-endian words (a last odd byte as the high
    byte), as +QFUPL reports it."""
    x = 0
    for i in range(0, len(data) - 1, 2):
        x ^= data[i] << 8 | data[i + 1]
    if len(data) % 2:
        x ^= data[-1] << 8
    return x


class QSSLCommands:
    """Mixed into the Quectel personality (it provides links, Link, _fail, ...)."""

    def ssl_reset(self):
        self.sslcfg = {}  # sslctxID -> {key: value}; back to defaults on a restart
        if not hasattr(self, "ufs"):
            self.ufs = {}  # name -> bytes: flash, kept across restarts

    def _file_error(self, code):
        # +CME ERROR with the FILE code; the family prints the number even in
        # verbose mode (users' logs)
        if self.cmee == 0:
            return self.final("ERROR")
        self.final("+CME ERROR: %d" % code)

    # ---------------------------------------------------------------- files
    @command("+QFUPL")
    def at_qfupl(self, c):
        if c.kind != "set" or not 1 <= len(c) <= 4:
            return self.error()
        name = c.str(0)
        size = c.int(1, 10240)
        secs = c.int(2, 5)
        if not name or "*" in name or size < 1 or not 1 <= secs <= 65535:
            return self.error()
        if name in self.ufs:
            return self._file_error(E_FILE_EXISTS)

        def done(data, reason):
            if reason != "len":
                return self._file_error(E_FILE_TIMEOUT)  # nothing stored
            self.ufs[name] = data
            self.answer("+QFUPL: %d,%x" % (len(data), checksum(data)))
        self.collect(done, n=size, prompt=b"\r\nCONNECT\r\n", timeout_ms=secs * 1000)

    @command("+QFLST")
    def at_qflst(self, c):
        pattern = c.str(0) if c.kind == "set" else "*"
        if c.kind not in ("set", "exec"):
            return self.ok()
        names = sorted(self.ufs) if pattern == "*" else [n for n in sorted(self.ufs)
                                                          if n == pattern]
        self.answer(*['+QFLST: "%s",%d' % (n, len(self.ufs[n])) for n in names])

    @command("+QFDEL")
    def at_qfdel(self, c):
        if c.kind != "set":
            return self.error()
        name = c.str(0)
        if name == "*":
            self.ufs.clear()
        elif self.ufs.pop(name, None) is None:
            return self._file_error(E_FILE_NOT_FOUND)
        self.ok()

    # ---------------------------------------------------------------- SSL contexts
    @command("+QSSLCFG")
    def at_qsslcfg(self, c):
        if c.kind != "set" or len(c) < 2:
            return self.error()
        key = c.str(0).lower()
        ctx = c.int(1)
        if key not in SSL_DEFAULTS or not 0 <= ctx < NSSLCTX or len(c) > 3:
            return self.error()
        cfg = self.sslcfg.setdefault(ctx, dict(SSL_DEFAULTS))
        if len(c) == 2:
            v = cfg[key]
            shown = '"%s"' % v if key in ("cacert", "clientcert", "clientkey") else v
            return self.answer('+QSSLCFG: "%s",%d,%s' % (key, ctx, shown))
        if key in ("cacert", "clientcert", "clientkey"):
            if not c.quoted[2]:
                return self.error()
            cfg[key] = c.str(2)
            return self.ok()
        if c.quoted[2]:
            return self.error()  # numbers only; "0XFFFF" quoted is refused (users' logs)
        raw = c.str(2).upper()
        try:
            n = int(raw, 16) if key == "ciphersuite" else int(raw)
        except ValueError:
            return self.error()
        lim = {"sslversion": (0, 4), "seclevel": (0, 2), "ignorelocaltime": (0, 1),
               "sni": (0, 1), "negotiatetime": (10, 300), "ciphersuite": (0, 0xFFFF)}[key]
        if not lim[0] <= n <= lim[1]:
            return self.error()
        cfg[key] = raw if key == "ciphersuite" else str(n)
        self.ok()

    # ---------------------------------------------------------------- connections
    @command("+QSSLOPEN")
    def at_qsslopen(self, c):
        from .quectel import E_ID_USED, E_NOTSUP, E_PARAM, E_PDP_OPEN, Link, QiError
        if c.kind != "set" or not 5 <= len(c) <= 6:
            raise QiError(E_PARAM)
        ctx, sslctx, cid = self._ctx(c), c.int(1), self._connid(c, 2)
        host, port, mode = c.str(3), c.int(4), c.int(5, 0)
        if not 0 <= sslctx < NSSLCTX or not 1 <= port <= 65535 or mode not in (0, 1, 2):
            raise QiError(E_PARAM)
        if mode == 2:
            raise QiError(E_NOTSUP)
        err = E_ID_USED if cid in self.links else E_PDP_OPEN if ctx not in self.contexts \
            else None
        self.ok()
        if err is not None:
            return self._ssl_result(cid, err)
        link = Link(cid, "TCP", ctx, host, port, 0, mode)
        link.ssl = sslctx
        self.links[cid] = link
        delay = int(self.opts["connect_ms"])
        if delay:
            link.timer = self.after(delay, self._ssl_finish, link)
        else:
            self._ssl_finish(link)

    def _ssl_finish(self, link):
        from .quectel import S_CONNECTED
        link.timer = None
        if self.links.get(link.cid) is not link:
            return  # closed before it finished
        err = self.fail_code("+QSSLOPEN")  # fail= fault
        early = b""
        if err is None:
            err, early = self._ssl_connect(link)
        if err:
            del self.links[link.cid]
            return self._ssl_result(link.cid, err)
        link.state = S_CONNECTED
        self._ssl_result(link.cid, 0)
        if early:  # the server spoke first: its bytes came with the handshake
            self.net_data(link.conn, early)

    def _ssl_result(self, cid, err):
        self.last_err = err if err > 0 else 0
        self.urc("+QSSLOPEN: %d,%d" % (cid, err))

    def _ssl_connect(self, link):
        """(err, early plaintext) of a real TLS connection for link."""
        from .quectel import E_CONNECT, E_DNS, E_PARAM
        cfg = self.sslcfg.get(link.ssl, SSL_DEFAULTS)
        level = int(cfg["seclevel"])
        ca = chain = None
        if level >= 1:
            ca = self.ufs.get(cfg["cacert"])
            if ca is None:
                self.log("-- cacert %r: no such file" % cfg["cacert"])
                return SSL_HANDSHAKE_FAILED, b""
        if level == 2 and cfg["clientcert"]:
            cert, key = self.ufs.get(cfg["clientcert"]), self.ufs.get(cfg["clientkey"])
            if cert is None or key is None:
                self.log("-- clientcert/clientkey: no such file")
                return SSL_HANDSHAKE_FAILED, b""
            chain = (cert, key)
        sni = link.host if cfg["sni"] == "1" else None
        failure, conn, ts = connect_checked(self, link.host, link.rport, ca, chain,
                                            SSL_VERSIONS[int(cfg["sslversion"])], sni,
                                            cfg["ignorelocaltime"] == "0")
        if failure:
            return {"context": E_PARAM, "resolve": E_DNS, "connect": E_CONNECT}.get(
                failure, SSL_HANDSHAKE_FAILED), b""
        conn.tag = link.cid
        link.conn = conn
        link.lport = conn.local_port
        link.host = conn.peer[0]
        return 0, ts.early

    @command("+QSSLSEND")
    def at_qsslsend(self, c):
        from .quectel import E_CLOSED, E_PARAM, MAX_SEND, S_CONNECTED, QiError
        if c.kind != "set" or len(c) != 2:
            raise QiError(E_PARAM)
        link = self._ssl_link(c)
        n = c.int(1)
        if not 1 <= n <= MAX_SEND:
            raise QiError(E_PARAM)
        if link.state != S_CONNECTED or link.conn is None or link.conn.peer_closed:
            raise QiError(E_CLOSED)
        self.collect(lambda data, reason: self._sent(link, data, reason), n=n)

    @command("+QSSLRECV")
    def at_qsslrecv(self, c):
        from .quectel import E_CLOSED, E_PARAM, MAX_READ, QiError
        if c.kind != "set" or len(c) != 2:
            raise QiError(E_PARAM)
        link = self._ssl_link(c)
        want = c.int(1)
        if link.conn is None:
            raise QiError(E_CLOSED)
        if not 0 < want <= MAX_READ or link.mode != 0:
            raise QiError(E_PARAM)
        self._read_out(link, want, "+QSSLRECV")

    @command("+QSSLCLOSE")
    def at_qsslclose(self, c):
        if c.kind != "set":
            return self.error()
        link = self.links.get(self._connid(c))
        if link is not None and link.ssl is not None:
            self._drop_link(link)
        self._good()
        self.ok()

    @command("+QSSLSTATE")
    def at_qsslstate(self, c):
        links = [l for _, l in sorted(self.links.items()) if l.ssl is not None]
        if c.kind == "set":
            cid = self._connid(c)
            links = [l for l in links if l.cid == cid]
        elif c.kind not in ("exec", "read"):
            return self.ok()
        self.answer(*['+QSSLSTATE: %d,"SSLClient","%s",%d,%d,%d,%d,%d,%d,"uart1",%d' % (
            l.cid, l.host, l.rport, l.lport, l.state, l.ctx, l.server_id, l.mode, l.ssl)
            for l in links])

    def _ssl_link(self, c):
        from .quectel import E_CLOSED, QiError
        link = self._link(c)
        if link.ssl is None:
            raise QiError(E_CLOSED)
        return link
