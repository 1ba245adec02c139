"""Module TLS of the SIM7600/A7600 personality: the AT+CCH* SSL service, its SSL
contexts and the certificate store.

Not in our manuals (the TCP/IP ones): written from the family's SSL application
notes and AT manuals as publicly described, independently of the library.

  AT+CCERTDOWN="<name>",<len>: ">", exactly <len> bytes (1-10240), OK; the name ends
        in .pem or .der (else ERROR). Kept in flash across restarts.
  AT+CCERTLIST: +CCERTLIST: "<name>" per file. AT+CCERTDELE="<name>": OK / ERROR.
  AT+CSSLCFG="<key>",<ctx>,<value> (ctx 0-9): sslversion 0-4 (3 TLS 1.2, 4 all;
        default 4), authmode 0 none, 1 server, 2 server and client, 3 client only
        (default 0), cacert / clientcert / clientkey (names), enableSNI 0/1 (default
        0), ignorelocaltime 0/1 (default 1: dates not checked), negotiatetime 10-300.
  AT+CCHSET=<report_send_result>,<recv_mode> (before AT+CCHSTART, else ERROR).
  AT+CCHSTART: OK, +CCHSTART: 0 (ERROR when started). AT+CCHSTOP: OK, +CCHSTOP: 0.
  AT+CCHSSLCFG=<session>,<ctx>: the context a session uses (session 0-1).
  AT+CCHOPEN=<session>,"<host>",<port>[,<client_type>]: OK, then +CCHOPEN:
        <session>,<err>: 0, 9 (no network), 13 (DNS), 14 (connect), 15 (handshake:
        the server refused or not verified), 19 (a certificate file missing).
  AT+CCHSEND=<session>,<len>: ">", the bytes (1-2048), OK, then +CCHSEND:
        <session>,0 when <report_send_result> is 1.
  AT+CCHRECV=<session>[,<max_len>] (recv_mode 1): OK, then +CCHRECV: DATA,
        <session>,<len> CR LF <data> per piece (up to max_len in all), then
        +CCHRECV: <session>,0. With recv_mode 1 "+CCHEVENT: <session>,RECV EVENT" says
        data waits, once until it was all read; recv_mode 0 pushes it as +CCHRECV: DATA.
  AT+CCHCLOSE=<session>: OK, then +CCHCLOSE: <session>,0 (ERROR if not open).
  +CCH_PEER_CLOSED: <session> when the server closes (unread data stays readable).

The handshake is real (tlsclient.py): with authmode 1 or 2 the server's chain is
verified against "cacert" and its name against the host (with enableSNI 1 the name
is sent too), its dates unless "ignorelocaltime" is 1; authmode 2 and 3 present
"clientcert" with "clientkey".
"""
from .core import command
from .tlsclient import SSL_VERSIONS, connect_checked

DEFAULTS = {"sslversion": "4", "authmode": "0", "cacert": "", "clientcert": "",
            "clientkey": "", "enablesni": "0", "ignorelocaltime": "1", "negotiatetime": "300"}
LIMITS = {"sslversion": (0, 4), "authmode": (0, 3), "enablesni": (0, 1),
          "ignorelocaltime": (0, 1), "negotiatetime": (10, 300)}
NAMES = ("cacert", "clientcert", "clientkey")
NCTX, NSESSION = 10, 2
CERT_MAX, SEND_MAX = 10240, 2048
E_NET, E_DNS, E_CONNECT, E_HANDSHAKE, E_NOCERT = 9, 13, 14, 15, 19


class Session:
    def __init__(self, sid, host, port):
        self.sid = sid
        self.host = host
        self.port = port
        self.conn = None
        self.state = "opening"  # "open", "closed" (by the peer, until AT+CCHCLOSE)
        self.armed = True  # recv_mode 1: the next arrival says RECV EVENT
        self.cch = True  # marks the tag of its Conn (net_data / net_closed)


class CCHCommands:
    """Mixed into the SIM7600 personality."""

    def cch_reset(self):
        self.cch_started = False
        self.cch_mode = (0, 0)  # AT+CCHSET: report send result, receive mode
        self.cssl = {}  # ctx -> {key: value}; back to defaults on a restart
        self.cch_ctx = {}  # session -> ctx (AT+CCHSSLCFG)
        self.sessions = {}  # session -> Session
        if not hasattr(self, "certs"):
            self.certs = {}  # name -> bytes: flash, kept across restarts

    # ---------------------------------------------------------------- certificates
    @command("+CCERTDOWN")
    def at_ccertdown(self, c):
        if c.kind != "set" or len(c) != 2:
            return self.error()
        name, n = c.str(0), c.int(1)
        if name[-4:].lower() not in (".pem", ".der") or not 1 <= n <= CERT_MAX:
            return self.error()

        def done(data, reason):
            if reason != "len":
                return self.error()
            self.certs[name] = data
            self.ok()
        self.collect(done, n=n, timeout_ms=10000)

    @command("+CCERTLIST")
    def at_ccertlist(self, c):
        if c.kind != "exec":
            return self.ok()
        self.answer(*['+CCERTLIST: "%s"' % n for n in sorted(self.certs)])

    @command("+CCERTDELE")
    def at_ccertdele(self, c):
        if c.kind != "set" or self.certs.pop(c.str(0), None) is None:
            return self.error()
        self.ok()

    # ---------------------------------------------------------------- contexts
    @command("+CSSLCFG")
    def at_csslcfg(self, c):
        if c.kind != "set" or len(c) != 3:
            return self.error()
        key, ctx = c.str(0).lower(), c.int(1)
        if not 0 <= ctx < NCTX or key not in DEFAULTS:
            return self.error()
        cfg = self.cssl.setdefault(ctx, dict(DEFAULTS))
        if key in NAMES:
            if not c.quoted[2]:
                return self.error()
            cfg[key] = c.str(2)
            return self.ok()
        v = c.int(2)
        lo, hi = LIMITS[key]
        if c.quoted[2] or not lo <= v <= hi:
            return self.error()
        cfg[key] = str(v)
        self.ok()

    @command("+CCHSET")
    def at_cchset(self, c):
        if c.kind == "read":
            return self.answer("+CCHSET: %d,%d" % self.cch_mode)
        if c.kind != "set" or self.cch_started:
            return self.error()
        report, mode = c.int(0), c.int(1, 0)
        if report not in (0, 1) or mode not in (0, 1):
            return self.error()
        self.cch_mode = (report, mode)
        self.ok()

    @command("+CCHSTART")
    def at_cchstart(self, c):
        if c.kind != "exec" or self.cch_started:
            return self.error()
        self.cch_started = True
        self.ok()
        self.urc("+CCHSTART: 0")

    @command("+CCHSTOP")
    def at_cchstop(self, c):
        if c.kind != "exec" or not self.cch_started:
            return self.error()
        for s in list(self.sessions.values()):
            self._cch_drop(s)
        self.cch_started = False
        self.ok()
        self.urc("+CCHSTOP: 0")

    @command("+CCHSSLCFG")
    def at_cchsslcfg(self, c):
        if c.kind != "set" or len(c) != 2:
            return self.error()
        sid, ctx = c.int(0), c.int(1)
        if not 0 <= sid < NSESSION or not 0 <= ctx < NCTX:
            return self.error()
        self.cch_ctx[sid] = ctx
        self.ok()

    # ---------------------------------------------------------------- sessions
    @command("+CCHOPEN")
    def at_cchopen(self, c):
        if c.kind != "set" or not 3 <= len(c) <= 5 or not self.cch_started:
            return self.error()
        sid, host, port = c.int(0), c.str(1), c.int(2)
        if not 0 <= sid < NSESSION or sid in self.sessions or not 1 <= port <= 65535 \
                or c.int(3, 2) != 2:
            return self.error()  # (client type 1, plain TCP, is not simulated)
        s = Session(sid, host, port)
        self.sessions[sid] = s
        self.ok()
        err, early = self._cch_connect(s) if self.net_open else (E_NET, b"")
        if err:
            del self.sessions[sid]
            return self.urc("+CCHOPEN: %d,%d" % (sid, err))
        s.state = "open"
        self.urc("+CCHOPEN: %d,0" % sid)
        if early:
            self._cch_data(s.conn, early)

    def _cch_connect(self, s):
        cfg = self.cssl.get(self.cch_ctx.get(s.sid, 0), DEFAULTS)
        mode = int(cfg["authmode"])
        ca = chain = None
        if mode in (1, 2):
            ca = self.certs.get(cfg["cacert"])
            if ca is None:
                return E_NOCERT, b""
        if mode in (2, 3):
            cert, key = self.certs.get(cfg["clientcert"]), self.certs.get(cfg["clientkey"])
            if cert is None or key is None:
                return E_NOCERT, b""
            chain = (_pem(cert), _pem(key, b"PRIVATE KEY"))
        sni = s.host if cfg["enablesni"] == "1" else None
        failure, conn, ts = connect_checked(self, s.host, s.port, ca and _pem(ca), chain,
                                            SSL_VERSIONS[int(cfg["sslversion"])], sni,
                                            cfg["ignorelocaltime"] == "0")
        if failure:
            return {"resolve": E_DNS, "connect": E_CONNECT}.get(failure, E_HANDSHAKE), b""
        conn.tag = s
        s.conn = conn
        return 0, ts.early

    def _cch_session(self, c):
        s = self.sessions.get(c.int(0))
        return s if s is not None and s.conn is not None else None

    @command("+CCHSEND")
    def at_cchsend(self, c):
        if c.kind != "set" or len(c) != 2:
            return self.error()
        s, n = self._cch_session(c), c.int(1)
        if s is None or s.state != "open" or not 1 <= n <= SEND_MAX:
            return self.error()

        def done(data, reason):
            if reason != "len":
                return self.error()
            if s.conn is None or not s.conn.open or s.state != "open":
                return self.error()
            s.conn.send(data)
            self.ok()
            if self.cch_mode[0]:
                self.urc("+CCHSEND: %d,0" % s.sid)
        self.collect(done, n=n, timeout_ms=10000)

    @command("+CCHRECV")
    def at_cchrecv(self, c):
        if c.kind != "set" or not 1 <= len(c) <= 2 or not self.cch_mode[1]:
            return self.error()
        s = self._cch_session(c)
        want = c.int(1, 1500)
        if s is None or not 1 <= want <= 2048:
            return self.error()
        self.ok()
        data = s.conn.read(min(want, len(s.conn.rx)))
        for i in range(0, len(data), 1500):
            self._cch_out(s, data[i:i + 1500])
        self.urc("+CCHRECV: %d,0" % s.sid)
        if not s.conn.rx:
            s.armed = True  # a new RECV EVENT once more data comes

    def _cch_out(self, s, piece):
        self.log("<- CCHRECV DATA session %d %d bytes" % (s.sid, len(piece)))
        wire = self.short_payload(piece)
        self.raw(b"\r\n+CCHRECV: DATA,%d,%d\r\n" % (s.sid, len(piece)) + wire)

    @command("+CCHCLOSE")
    def at_cchclose(self, c):
        if c.kind != "set":
            return self.error()
        s = self.sessions.get(c.int(0))
        if s is None:
            return self.error()
        self._cch_drop(s)
        self.ok()
        self.urc("+CCHCLOSE: %d,0" % s.sid)

    def _cch_drop(self, s):
        if s.conn is not None:
            s.conn.close()
        self.sessions.pop(s.sid, None)

    # ---------------------------------------------------------------- network events
    def _cch_data(self, conn, data):
        s = conn.tag
        if self.sessions.get(s.sid) is not s or s.conn is not conn:
            return
        if not self.cch_mode[1]:
            for i in range(0, len(data), 1500):
                self._cch_out(s, data[i:i + 1500])
            return
        conn.rx += data
        if s.armed and s.state == "open":
            s.armed = False
            self.urc("+CCHEVENT: %d,RECV EVENT" % s.sid)

    def _cch_closed(self, conn):
        s = conn.tag
        if self.sessions.get(s.sid) is not s or s.conn is not conn or s.state != "open":
            return
        s.state = "closed"
        self.urc("+CCH_PEER_CLOSED: %d" % s.sid)

    def _cch_network_drop(self):
        for s in list(self.sessions.values()):
            if s.state == "open":
                self.urc("+CCH_PEER_CLOSED: %d" % s.sid)
            s.state = "closed"
            s.conn = None


def _pem(data, label=b"CERTIFICATE"):
    """PEM text of a stored file (.der files hold DER)."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return data
    import base64
    if label != b"CERTIFICATE":
        label = _key_kind(data)
    b64 = base64.encodebytes(data).replace(b"\n", b"")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return b"-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, b"\n".join(lines), label)


def _key_kind(der):
    """The PEM label of a DER private key, from what follows its version INTEGER:
    an OCTET STRING (SEC1, EC), an INTEGER (PKCS#1, RSA) or a SEQUENCE (PKCS#8)."""
    i = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)  # past the outer SEQUENCE header
    i += 2 + der[i + 1]  # past the version INTEGER
    return {4: b"EC PRIVATE KEY", 2: b"RSA PRIVATE KEY"}.get(der[i], b"PRIVATE KEY")
