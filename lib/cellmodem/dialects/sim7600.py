"""SIMCom SIM7600 / A7600 (LTE Cat.1/4): AT+NETOPEN and the AT+CIP* family.

Sources: "7600 manual" (SIM7500/SIM7600 TCPIP AT manual, sections L11xx) and
"A7600 manual" (A7600 series TCPIP AT manual: 1.2 access modes, ch.2 commands,
ch.4 <err>, ch.5 URCs, ch.6 worked examples).

The APN goes into context 1 with AT+CGDCONT; AT+NETOPEN answers OK and then the
result URC "+NETOPEN: <err>" (7600 L1101; A7600 6.1.3).
Network loss: "+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY" (A7600 ch.5).
Sockets: link numbers 0-9. AT+CIPOPEN answers OK then "+CIPOPEN: <link>,<err>" for
TCP, "+CIPOPEN: <link>,0" then OK for UDP (L1103). AT+CIPSEND=<link>,<len> writes
after a ">" prompt; OK, then "+CIPSEND: <link>,<req>,<cnf>" (L1105). Receive modes
(A7600 1.2): buffer access (AT+CIPRXGET=1: "+CIPRXGET: 1,<link>", then
AT+CIPRXGET=2,<link>,<len> returns the bytes; the default here) and direct push
(AT+CIPRXGET=0, with AT+CIPCCFG <HeaderType>=1 so each payload is announced as
"+RECEIVE,<link>,<len>" - the plain "+IPD<len>" does not say which link, L1113).
"+IPCLOSE: <link>,<reason>" says the peer closed; AT+SERVERSTART listens and
"+CLIENT: <link>,<server>,<ip>:<port>" reports each accepted client (L1114).
Module TLS: the AT+CCH* SSL service (family, sim7600_tls.py), sessions 0-1 as
link ids 14-15.
Usage: Modem(uart, dialect="sim7600")
"""
import errno

from cellmodem.compat import const, ticks_ms
from cellmodem.dialects.base import Dialect, coded
from cellmodem.timeouts import late  # manual figure + margin
from cellmodem.errors import ATError, ATTimeout
from cellmodem.line import parse_int
from cellmodem.sockets import Link, TCP, UDP, LISTEN

_NSERVER = const(4)  # <server_index> 0-3 (L1114)
_SSL = const(14)  # link ids 14-15: the SSL service's sessions 0-1 (sim7600_tls.FIRST)
_CLOSE_WAIT = const(10000)  # ms to wait for "+CIPCLOSE: <link>,<err>" after OK
_UDP_PORTS = const(16000)  # local UDP ports are taken from 49152 + (0..this)
# keys of the one-shot results (Dialect.expect/post/result); + link: per link
_NET = const(b"net")  # +NETOPEN: <err>, or -2 - <err> of +NETCLOSE
_CIPOPEN = const(256)  # + link: the <err> of its +CIPOPEN
_CIPCLOSE = const(512)  # + link: the <err> of its +CIPCLOSE
_CIPSEND = const(768)  # + link: the <cnfSendLength> of its +CIPSEND
_CPING = const(b"+CPING:")  # the first reply's time (ms), or -1 for none

# A7600 manual ch.4 <err> 1-12 (+NETOPEN, +CIPOPEN, +CIPCLOSE, +CIPERROR, +SERVERSTOP):
# the OSError errno of each code, and the manual's words for it (base.coded; index
# err - 1). Real firmware (and the simulator) report a refused TCP connection as 1,
# hence ECONNREFUSED.
_ERRNO = bytes((errno.ECONNREFUSED, errno.ENOTCONN, errno.EINVAL, errno.EOPNOTSUPP,
                errno.ENOMEM, errno.EADDRINUSE, errno.EADDRINUSE, errno.EAGAIN,
                errno.EALREADY, errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.EIO))
_ERR_TEXT = ("Network failure|Network not opened|Wrong parameter|Operation not supported|"
             "Failed to create socket|Failed to bind socket|TCP server is already listening|"
             "Busy|Sockets opened|Timeout|DNS parse failed for AT+CIPOPEN|Unknown error")
_NO_DATA = const(22)  # <err_info> "No data" (A7600 ch.3) when AT+CIPCCFG <errMode> is 0


def _oserror(msg, err):
    """OSError for the module's <err>, with its words: "+CIPOPEN: 0,1 (Network failure)"."""
    c = coded(_ERRNO, _ERR_TEXT, err - 1)
    if c is not None:
        return OSError(c[0], "%s (%s)" % (msg, c[1]))
    return OSError(errno.EIO, msg)


class SIM7600(Dialect):
    NAME = "sim7600"
    ICCID = ("AT+CICCID", "+ICCID:")
    # 7600 manual: NETOPEN, CIPOPEN, CIPSEND 120000 ms (L1101-L1105, AT+CIPTIMEOUT
    # defaults); NETCLOSE and CIPCLOSE likewise. CDNSGIP: up to 3 network openings of
    # 30 s each by the AT+CIPDNSSET defaults (L1133).
    TIMEOUTS = {"+NETOPEN": late(120000), "+NETCLOSE": late(120000),
                "+CIPOPEN": late(120000), "+CIPSEND": late(120000),
                "+CIPCLOSE": late(120000), "+CDNSGIP": late(120000),
                "+CCHOPEN": late(120000), "+CCHSEND": late(120000)}  # family: as CIP*
    DETAILS = (b"+IP ERROR:", b"+CIPERROR:")
    LINK_LOST = (b"+CIPEVENT:",)
    LINKS = 10  # <link_num> 0-9 (L1103); listening servers get ids LINKS + <server_index>
    MAX_SEND = 1500  # AT+CIPSEND <length> 1-1500 (L1105)
    MAX_RECV = 1500  # AT+CIPRXGET=2 reads at most 1500 (L1106)
    RX_MODES = ("buffered", "push")
    SERVER = True
    TLS = "cellmodem.dialects.sim7600_tls"  # module TLS: AT+CCH*, AT+CCERT*
    UP = "sim7600_up"  # the data context: AT+NETOPEN/NETCLOSE; AT+CPING
    NUDGE = 1000  # quiet ms after which a bare AT lets out a held-back result URC
    # Not in the TCP/IP manuals; the SIM7600/A7600 AT manuals (family): the power-off
    # command is AT+CPOF, which answers OK and prints nothing more (no AT+CPOWD);
    # 9 s bounds its OK. AT+CSCLK=1: sleeps while DTR is high, DTR low wakes it
    # (about 50 ms), a sleeping module does not listen to the UART. AT+CFUN 0, 1, 4.
    POWER = {"power_down": ("AT+CPOF", None, True, 9000),
             "sleep": "AT+CSCLK", "uart_wakes": False, "wake_ms": 50, "cfun": (0, 1, 4)}

    def __init__(self, modem):
        super().__init__(modem)
        self.pull_line = self._on_ciprxget
        self._opening = -1  # link whose AT+CIPOPEN command is in flight
        self._dest = {}  # UDP link -> '"<ip>",<port>' for AT+CIPSEND
        self._clients = {}  # accepted link -> its <server_index>
        self._stopping = set()  # server indexes to stop once their clients are closed
        self._orphans = []  # links the module opened that nobody owns: close them
        self._udp_port = 49152 + ticks_ms() % _UDP_PORTS
        self._cipmode = 0  # what AT+CIPMODE the module has (power-on default 0)
        at = self.at
        at.urc(b"+NETOPEN:", self._on_netopen)
        at.urc(b"+NETCLOSE:", self._on_netclose)
        at.urc(b"+CIPOPEN:", self._on_cipopen)
        at.urc(b"+CIPCLOSE:", self._on_cipclose)
        at.urc(b"+CIPSEND:", self._on_cipsend)
        at.urc(b"+CIPRXGET:", self._on_ciprxget)
        at.urc(b"+IPCLOSE:", self.on_peer_closed)
        at.urc(b"+CLIENT:", self._on_client)
        at.urc(b"+RECEIVE,", self._on_receive)
        at.urc(b"+IPD", self._on_ipd)
        at.urc(b"+CDNSGIP:", self._on_dns)
        at.urc(b"+CPING:", self._on_cping)

    # ---- the data context ----
    def _on_netopen(self, line):
        self.post(_NET, line.int(0, -1))

    def _on_netclose(self, line):
        self.post(_NET, -2 - line.int(0, 0))  # closed (-2 for success)
        if self.link_up:
            self.link_up = False
            self.modem.link_lost("NETCLOSE")

    # ---- URCs ----
    def _on_cipopen(self, line):
        # L1103 result "+CIPOPEN: <link_num>,<err>" (also inside another command's reply)
        n = line.int(0, -1)
        err = line.int(1, -1)
        if n < 0 or err < 0 or line.nfields() != 2:
            return
        self.post(_CIPOPEN + n, err)
        if err == 0 and n not in self.modem.links:
            self._orphans.append(n)  # a late success for an open we gave up on
        elif err and n == self._opening:
            # A failure inside AT+CIPOPEN's own reply is final in meaning: L1103 puts
            # ERROR after it, and a module that leaves the ERROR out must not hold the
            # wait to the command's limit (issue 19 item 4). An ERROR after it arrives
            # idle and is dropped.
            self.at.engine.end(line)

    def _on_cipclose(self, line):
        n = line.int(0, -1)
        if n >= 0:
            self.post(_CIPCLOSE + n, line.int(1, -1))

    def _on_cipsend(self, line):
        # L1105: "+CIPSEND: <link_num>,<reqSendLength>,<cnfSendLength>"
        n = line.int(0, -1)
        if n >= 0:
            self.post(_CIPSEND + n, line.int(2, -1))

    def _on_ciprxget(self, line):
        mode = line.int(0, -1)
        if mode == 1:  # L1106: "+CIPRXGET: 1,<link_num>" data waiting
            link = self.link(line, 1)
            if link is not None:
                link.pending = True
        elif mode == 2:
            # L1106: "+CIPRXGET: 2,<link_num>,<read_len>,<rest_len>" then the bytes;
            # drained (rest 0): "+CIPRXGET: 1" comes again for new data
            link = self.pulled(line.int(2, 0), line.int(1, -1))
            if link is not None and line.int(3, 0) > 0:
                link.pending = True

    def _on_receive(self, line):
        # L1113 <HeaderType> 1: "+RECEIVE,<link num>,<data length>" then the bytes
        self.push_payload(self.link(line, 0), line.int(1, 0))

    def _on_ipd(self, line):
        # "+IPD<len>" (L1108) names no link: firmware that ignores <HeaderType>. The
        # bytes go to the only open link, or are skipped when that is ambiguous.
        n = parse_int(line.buf, line.start + 4, line.end, 0)
        only = None
        for link in self.modem.links.values():
            if link.kind != LISTEN and link.open and link.id < _SSL:
                if only is not None:
                    only = None
                    break
                only = link
        self.push_payload(only, n)

    def _on_client(self, line):
        # L1114: +CLIENT: <link_num>,<server_index>,<client_IP>:<port>
        n = line.int(0, -1)
        idx = line.int(1, -1)
        if n < 0:
            return
        server = self.modem.links.get(self.LINKS + idx) if 0 <= idx < _NSERVER else None
        self._clients[n] = idx
        if server is None or n in self.modem.links:
            self._orphans.append(n)  # nobody listens here any more
            return
        addr = line.field(2)  # "<client_IP>:<port>"
        i = addr.rfind(":")
        j = line.buf.rfind(b":", line.start, line.end)
        child = Link(TCP, self.modem.sock_rxbuf)
        child.id = n
        child.open = True
        child.peer = (addr[:i], parse_int(line.buf, j + 1, line.end, 0)) if i > 0 else (addr, 0)
        self.modem.links[n] = child
        server.incoming.append(child)

    # ---- sockets ----
    def _tidy(self):
        """Close links the module opened that nobody owns (late results, clients of a
        server already closed), so their numbers are free again."""
        while self._orphans:
            n = self._orphans.pop()
            if n not in self.modem.links:
                self._drop(n)

    def _drop(self, n):
        """AT+CIPCLOSE link n; then stop its server if that waited for its last client."""
        self._dest.pop(n, None)
        idx = self._clients.pop(n, None)
        self._cipclose(n)
        if idx in self._stopping and idx not in self._clients.values():
            self._stopping.discard(idx)
            self._serverstop(idx)

    def sock_open(self, link, host, port, tls=None):
        if tls:
            from cellmodem.dialects.sim7600_tls import open_session
            return open_session(self, link, host, port, tls)
        self._tidy()
        if link.kind == UDP:
            # AT+CIPSEND names the UDP remote by IP address (L1105)
            dest = '"%s",%d' % (self.modem.resolve(host), port)
        n = self.claim(link)
        for attempt in range(3):
            if link.kind == UDP:
                # L1103: AT+CIPOPEN=<link>,"UDP",,,<localPort> ("the local port must be
                # specified", A7600 6.3.1.1): one from the dynamic range (RFC 6335)
                self._udp_port = 49152 + (self._udp_port - 49152 + 1) % _UDP_PORTS
                cmd = 'AT+CIPOPEN=%d,"UDP",,,%d' % (n, self._udp_port)
            else:
                cmd = 'AT+CIPOPEN=%d,"TCP","%s",%d' % (n, host, port)
            err = self._open(link, cmd)
            if not (err == 6 and link.kind == UDP):
                break  # 6: "Failed to bind socket" - the local port is taken, try another
        if err != 0:
            self.release(link)
            raise _oserror("+CIPOPEN: %d,%d" % (n, err), err)
        if link.kind == UDP:
            self._dest[n] = dest
        link.open = True
        link.peer = (host, port)

    def _open(self, link, cmd):
        """Run one AT+CIPOPEN for link; its <err>. Releases link on an exception."""
        n = link.id
        key = _CIPOPEN + n
        self.expect(key)
        try:
            self._opening = n
            try:
                self.at.command(cmd, resp=b"+CIPOPEN:", on_line=self._on_cipopen)
            except ATError:
                if self.got.get(key, 0) is None:  # "+IP ERROR: ..." ERROR: no <err> for it
                    raise
            finally:
                self._opening = -1
            err = self.result(key, self.at.timeout_for(cmd), "+CIPOPEN", cmd, self.NUDGE,
                              link=link)
        except ATTimeout:
            self.release(link)
            self._cipclose(n)  # the module may still be connecting: stop it
            raise
        except Exception:
            self.got.pop(key, None)
            self.release(link)
            raise
        if link.error is not None:
            self.release(link)
            raise link.error
        return err

    def sock_listen(self, link, port):
        self._tidy()
        links = self.modem.links
        err = None
        for idx in range(_NSERVER):
            sid = self.LINKS + idx
            if sid in links or idx in self._stopping:
                continue
            link.id = sid
            links[sid] = link
            try:
                # L1114: AT+SERVERSTART=<port>,<server_index>; "+CIPERROR: <err>" ERROR
                self.at.command("AT+SERVERSTART=%d,%d" % (port, idx))
            except ATError as e:
                self.release(link)
                err = e.code if e.code is not None else 12
                if err == 7:
                    continue  # "TCP server is already listening": a server not ours
                break
            link.open = True
            link.local_port = port
            return
        if err is None:
            raise OSError(errno.ENOMEM, "all %d servers of the module are in use" % _NSERVER)
        raise _oserror("AT+SERVERSTART=%d: +CIPERROR: %d" % (port, err), err)

    def sock_send(self, link, mv):
        if link.id >= _SSL:
            from cellmodem.dialects.sim7600_tls import send
            return send(self, link, mv)
        n = len(mv)
        if n > self.MAX_SEND:
            n = self.MAX_SEND
            mv = mv[:n]
        if link.kind == UDP:
            # L1105 UDP: AT+CIPSEND=<link_num>,<length>,<serverIP>,<serverPort>
            cmd = "AT+CIPSEND=%d,%d,%s" % (link.id, n, self._dest[link.id])
        else:
            cmd = self.command_for(b"AT+CIPSEND=%d,%d", link.id, n)
        key = _CIPSEND + link.id
        self.expect(key)
        try:
            self.at.send_data(cmd, mv)
        except ATError as e:
            self.got.pop(key, None)
            if link.error is not None:
                raise link.error
            if e.code in (2, 4):  # +CIPERROR: the link or the network is not open
                raise OSError(errno.ENOTCONN, "%s: +CIPERROR: %d" % (cmd, e.code))
            raise
        sent = self.result(key, self.at.timeout_for(cmd), "+CIPSEND", cmd, self.NUDGE,
                           link=link)
        if link.error is not None:
            raise link.error
        if sent > 0:
            return sent  # the count confirmed (L1105 <cnfSendLength>)
        # -1 "the connection is disconnected"; 0 "own send buffer or other side's
        # congestion window are full" - either way the socket is no longer usable
        raise OSError(errno.ECONNRESET if sent < 0 else errno.ENOBUFS,
                      "+CIPSEND: %d,%d,%d" % (link.id, n, sent))

    def sock_fetch(self, link, n):
        if link.id >= _SSL:
            from cellmodem.dialects.sim7600_tls import fetch
            return fetch(self, link, n)
        try:
            # L1106: AT+CIPRXGET=2,<link_num>,<len>
            return self.pull(link, n, b"AT+CIPRXGET=2,%d,%d", b"+CIPRXGET:")
        except ATError as e:
            if e.code != _NO_DATA and e.text != "No data":
                raise
            return 0  # "+IP ERROR: No data": nothing waits (unless a URC said so since)

    def sock_close(self, link):
        links = self.modem.links
        if link.id is None or links.get(link.id) is not link:
            link.open = False
            return
        n = link.id
        if n >= _SSL:
            from cellmodem.dialects.sim7600_tls import close
            return close(self, link)
        self.release(link)
        if link.kind != LISTEN:
            self._drop(n)
            self._tidy()
            return
        idx = n - self.LINKS
        while link.incoming:  # clients never accepted: nobody else will close them
            self.sock_close(link.incoming.pop(0))
        if idx in self._clients.values():
            # L1115: "all sockets <server_index> of which equals to the closing TCP
            # server index must be closed first": stop it after its last client
            self._stopping.add(idx)
        else:
            self._serverstop(idx)

    # Transparent mode (A7600 1.2, 6.2.3): AT+CIPMODE=1 before AT+NETOPEN makes the
    # whole network library transparent, and only link 0 carries it; AT+CIPOPEN
    # then answers "CONNECT 115200" (or CONNECT FAIL). "+++" needs 1 s of silence
    # before and after it; ATO goes back; a lost connection prints CLOSED.
    DATA = {"guard": 1000, "wide": True, "open": 'AT+CIPOPEN={0},"TCP","{1}",{2}'}

    def _cipclose(self, n):
        # L1104: TCP "OK" then "+CIPCLOSE: <link>,<err>"; UDP "+CIPCLOSE: <link>,0" then
        # OK; "+CIPCLOSE: <link>,<err>" ERROR if the module had dropped the link already
        key = _CIPCLOSE + n
        self.expect(key)
        try:
            self.at.command("AT+CIPCLOSE=%d" % n, resp=b"+CIPCLOSE:", on_line=self._on_cipclose)
            self.result(key, _CLOSE_WAIT, "+CIPCLOSE", "AT+CIPCLOSE", self.NUDGE,
                        lambda: not self.link_up)
        except (ATError, ATTimeout):
            pass  # already gone, or the module never said: the number is free to us
        self.got.pop(key, None)

    def _serverstop(self, idx):
        try:
            self.at.command("AT+SERVERSTOP=%d" % idx, resp=b"+SERVERSTOP:")
        except ATError:
            pass  # not listening any more

    # ---- DNS and ping ----
    def _on_cping(self, line):
        # L1134: +CPING: 1,<ip>,<size>,<rtt>,<ttl> | +CPING: 2 (timed out) | +CPING: 3,...
        # (one ping is sent: the reply's time is the result; a summary first means none)
        kind = line.int(0, -1)
        if kind == 1:
            self.post(_CPING, line.int(3, -1))
        elif kind == 3:
            self.post(_CPING, -1)


DIALECT = SIM7600
