"""SIMCom SIM7080G/SIM7070G/SIM7000 (CAT-M/NB-IoT): AT+CNACT and the AT+CA* family.

The data context is configured with AT+CNCFG and activated with AT+CNACT, whose
result arrives as the URC "+APP PDP: <pdp>,ACTIVE" after OK. SIM7000 firmware
prints "+APP PDP: ACTIVE" without the context id (users' captures), so the state is
taken from the last field.
SIM7000 (told from AT+CGMM, else AT+CGMR, at the first connect()) speaks the same
family with one data context and no index; these forms come from public knowledge
(drivers written for the SIM7000, users' logs), not from our manuals:
AT+CNCFG=<ip_type>,"<apn>",..., AT+CNACT=1,"<apn>" / AT+CNACT=0, AT+CNACT? ->
+CNACT: <status>,"<ip>", CAOPEN/CASERVER without <pdp_index>, and after a send's OK
+CASEND: <cid>,<result>,<sendlen>, whose result is the send's.
Sockets are the AT+CA* family (SIM7080 "AT Commands for TCP/UDP Application",
C1801-C1811): CAOPEN, CASEND after a ">" prompt, CARECV pulls what the module holds
after +CADATAIND, +CASTATE: <cid>,0 says the peer closed, CASERVER listens and
+CANEW reports each accepted client. The family has no direct push mode.
Usage: Modem(uart, dialect="sim7080")
"""
import errno

from cellmodem.compat import const
from cellmodem.dialects.base import Dialect, coded
from cellmodem.timeouts import late  # manual figure + margin
from cellmodem.errors import ATError
from cellmodem.sockets import Link, TCP

_PDP = const(0)  # the context cellmodem uses
# keys of the one-shot results (Dialect.expect/post/result)
_APP_PDP = const(b"+APP PDP:")  # (state, the line) of the activation or deactivation awaited
_CAOPEN = const(256)  # + cid: the <result> of its AT+CAOPEN

# manual C1803 <result> codes 0-27, as OSError errno (0: no such code) and text
# (base.coded)
_OPEN_ERRNO = bytes((0, errno.EIO, errno.ENOMEM, errno.ENOMEM, errno.EINVAL, 0, errno.EINVAL,
                     errno.EOPNOTSUPP, 0, 0, 0, 0, errno.EADDRINUSE, errno.EADDRINUSE,
                     0, 0, 0, 0, 0, 0, errno.EHOSTUNREACH, errno.ENOTCONN, 0,
                     errno.ECONNREFUSED,
                     # 24-26 module TLS: the server's certificate was refused, nothing sent
                     errno.ECONNABORTED, errno.ECONNABORTED, errno.ECONNABORTED,
                     errno.ETIMEDOUT))
_OPEN_TEXT = ("|socket error|no memory|connection limit reached|parameter invalid||"
              "invalid IP address|not support the function|||||can't bind the port|"
              "can't listen the port|||||||can't resolve the host|network not active||"
              "remote refuse|certificate's time expired|certificate's common name does "
              "not match|certificate's common name does not match and time expired|"
              "connect failed")


class SIM7080(Dialect):
    NAME = "sim7080"
    ICCID = ("AT+CCID", None)  # SIM7080 answers the ICCID alone on a line
    TIMEOUTS = {"+CNACT": late(150000), "+CAOPEN": late(150000), "+CASEND": late(60000),
                "+CACLOSE": late(10000)}
    LINK_LOST = ()
    LINKS = 13  # cid 0-12 (SIM7080 firmware; manual C1801 leaves the range open)
    MAX_SEND = 1460  # AT+CASEND=? answers (1-1460)
    MAX_RECV = 1460  # AT+CARECV=? answers (1-1460)
    SERVER = True
    TLS = "cellmodem.dialects.sim7080_tls"  # module TLS: settings, certificates
    UP = "sim7080_up"  # the data context: AT+CNCFG, AT+CNACT
    # Not in the CA TCP/IP manual; the SIM7080 AT manual (family): AT+CPOWD=1 answers
    # only "NORMAL POWER DOWN"; no maximum time is given, 15 s covers the network
    # log-off. AT+CSCLK=1: sleeps while DTR is high, DTR low wakes it (about 50 ms),
    # a sleeping module does not listen to the UART. AT+CFUN 0, 1, 4 (27.007 8.2).
    # PSM/eDRX: 27.007 +CPSMS/+CEDRXS (an LTE-M/NB-IoT family; cellmodem.psm).
    POWER = {"power_down": ("AT+CPOWD=1", b"NORMAL POWER DOWN", False, 15000),
             "sleep": "AT+CSCLK", "uart_wakes": False, "wake_ms": 50, "cfun": (0, 1, 4),
             "psm": True}

    def __init__(self, modem):
        super().__init__(modem)
        self._tls = {}  # cid -> (ssl on, cacert, clientcert) as last set on the module
        self._pair = None  # (cert, key) converted by AT+CSSLCFG="CONVERT",1
        self._certs = []  # names of files this session stored or named (cert_list)
        self._pdp = None  # "0," (the pdp index field) or "" (SIM7000); None: not known yet
        self._late = []  # cids that opened after we gave up: closed before the next open
        at = self.at
        at.urc(b"+APP PDP:", self._on_app_pdp)
        at.urc(b"+CADATAIND:", self.on_data_waiting)
        at.urc(b"+CASTATE:", self._on_castate)
        at.urc(b"+CANEW:", self._on_canew)
        at.urc(b"+CDNSGIP:", self._on_dns)
        at.urc(b"+CAOPEN:", self._on_caopen)
        # Real SIM7070/SIM7080 firmware puts the payload right after the comma:
        # "+CARECV: 5,hello" (the manual's C1806 two-line form is not what ships).
        at.inline(b"+CARECV: ", b",", self._on_carecv)

    def _on_app_pdp(self, line):
        n = line.nfields()
        if n > 1 and line.int(0, -1) != _PDP:
            return
        state = line.field(n - 1)
        # with the module's words, for an activation that failed
        self.post(_APP_PDP, (state, line.str()))
        if state != "ACTIVE" and self.link_up:
            self.link_up = False
            self.modem.link_lost("PDP %s" % state)

    # ---- sockets ----
    def _on_castate(self, line):
        if line.int(1, -1) == 0:  # manual C1808: 0 closed
            self.on_peer_closed(line)

    def _on_canew(self, line):
        # manual C1804 NOTE: +CANEW: <server_cid>,<client_cid>,<client_ip>,<client_port>
        server = self.link(line, 0)
        cid = line.int(1, -1)
        if server is None or cid < 0:
            return
        child = Link(TCP, self.modem.sock_rxbuf)
        child.id = cid
        child.open = True
        child.peer = (line.field(2), line.int(3, 0))
        self.modem.links[cid] = child
        server.incoming.append(child)

    def _on_carecv(self, line):
        self.pulled(line.int(0, 0))  # +CARECV: <recvlen>,<data> (the data in line)

    def _on_caopen(self, line):
        # +CAOPEN: <cid>,<result>, the result of our AT+CAOPEN, or, outside it, a result
        # that came after we gave up (ATTimeout): a link that opened then is closed
        # before the next open, not left half-known.
        r = line.int(1, -1)
        cid = line.int(0, -1)
        if not self.post(_CAOPEN + cid, r):
            if r == 0 and cid >= 0 and cid not in self.modem.links:
                self._late.append(cid)
            return
        if r != 0:
            # Real modules (users' logs, not the manual) may end a failed AT+CAOPEN with
            # this line alone, no OK (e.g. "+CAOPEN: 0,11"): it is final in meaning, so
            # it ends the command now (an OK after it arrives idle and is dropped).
            self.at.engine.end(line)

    def sock_open(self, link, host, port, tls=None):
        while self._late:
            try:
                self.at.command("AT+CACLOSE=%d" % self._late.pop())
            except ATError:
                pass  # gone already
        cid = self.claim(link)
        try:
            if tls is not None or self._tls.get(cid, (0,))[0]:
                from cellmodem.dialects.sim7080_tls import ssl
                ssl(self, cid, host, tls)
            self.expect(_CAOPEN + cid)
            self.at.command('AT+CAOPEN=%d,%s"%s","%s",%d'
                            % (cid, self._pdp, link.kind, host, port),
                            resp=b"+CAOPEN:", on_line=self._on_caopen)
        except Exception:
            self.release(link)
            raise
        finally:
            result = self.got.pop(_CAOPEN + cid, None)
        if result is None:
            result = -1  # OK without a +CAOPEN line
        if result != 0:
            self.release(link)
            code, text = coded(_OPEN_ERRNO, _OPEN_TEXT, result) or (errno.EIO, "error")
            text = "+CAOPEN: %d,%d (%s)" % (cid, result, text)
            if tls is not None and result >= 24:
                # 27 with TLS: the TCP connection or the handshake failed (a server
                # whose certificate the CA does not sign, a TLS version refused, ...)
                raise OSError(errno.ECONNABORTED, "TLS handshake failed: " + text)
            raise OSError(code, text)
        link.open = True
        link.peer = (host, port)

    # Transparent mode (C1811): AT+CASWITCH=<cid>,1 on an open connection answers OK,
    # then CONNECT; other connections stay usable in command mode; after "+++" the
    # data stays readable with AT+CARECV (family). C1810: the module sends what the
    # UART gives it in TRANSPKTSIZE packets, a partial one after TRANSWAITTM (x 100
    # ms, family): full 1460-byte segments and no wait, so a request or the end of an
    # upload does not sit in the module. The manual gives no "+++" guard figures:
    # the SIMCom family's 1 s (A7600 1.2).
    DATA = {"guard": 1000, "switch": "AT+CASWITCH={0},1", "ok_first": True, "drain": True,
            "setup": ('AT+CACFG="TRANSWAITTM",0', 'AT+CACFG="TRANSPKTSIZE",1460')}

    def sock_listen(self, link, port):
        cid = self.claim(link)
        out = []
        try:
            self.at.command('AT+CASERVER=%d,%s"TCP",%d' % (cid, self._pdp, port),
                            resp=b"+CASERVER:", on_line=lambda l: out.append(l.int(1, -1)))
        except Exception:
            self.release(link)
            raise
        result = out[0] if out else -1
        if result != 0:
            self.release(link)
            code, text = coded(_OPEN_ERRNO, _OPEN_TEXT, result) or (errno.EIO, "error")
            raise OSError(code, "+CASERVER: %d,%d (%s)" % (cid, result, text))
        link.open = True
        link.local_port = port

    def sock_send(self, link, mv):
        n = len(mv)
        if n > self.MAX_SEND:
            n = self.MAX_SEND
            mv = mv[:n]
        if self._pdp == "":
            from cellmodem.dialects.sim7000 import send
            return send(self.at, link, mv, n)
        self.at.send_data(self.command_for(b"AT+CASEND=%d,%d", link.id, n), mv)
        return n

    def sock_fetch(self, link, n):
        got = self.pull(link, n, b"AT+CARECV=%d,%d", b"+CARECV:")
        if got == self._asked:
            link.pending = True  # a full read: the module may hold more
        return got

    def sock_close(self, link):
        if link.id is not None and self.modem.links.get(link.id) is link:
            self.release(link)
            try:
                self.at.command("AT+CACLOSE=%d" % link.id)
            except ATError:
                pass  # the module had already dropped it
        link.open = False


DIALECT = SIM7080
