"""Yuge Cat.1 modules (Eigencomm EC716S): SIM800-style TCP/IP (manual ch.9).

Bring-up follows the manual's power-on flow (9.41): AT+CIPMUX=1, AT+CSTT (APN),
AT+CIICR (activate), AT+CIFSR (the IP alone on a line). Network loss: "+PDP DEACT".
Sockets are the multi-link CIP* family, links 0-5 (9.9):
  open   AT+CIPSTART=<n>,"TCP"|"UDP","<host>",<port>: OK, then "<n>, CONNECT OK" /
         "<n>, CONNECT FAIL" / "<n>, ALREADY CONNECT" as URCs (9.9)
  send   AT+CIPSEND=<n>,<len>, "> ", the bytes, "DATA ACCEPT:<n>,<len>" (CIPQSEND=1,
         9.11; "<n>, SEND OK" in mode 0) or "<n>, SEND FAIL" (9.14)
  pull   AT+CIPRXGET=1 (buffered): "+CIPRXGET: 1,<n>" says data waits, AT+CIPRXGET=2,<n>,
         <len> answers "+CIPRXGET: 2,<n>,<read>,<rest>" then the bytes (9.27)
  push   AT+CIPRXGET=0: "+RECEIVE,<n>,<len>:" then the bytes on the next line (9.25)
  close  "<n>, CLOSED" when the peer closes; AT+CIPCLOSE=<n> -> "<n>, CLOSE OK" (9.28)
  server AT+CIPSERVER=1,<port> -> OK, SERVER OK; "<n>, REMOTE IP: <ip>" per client
         (not in this manual: the SIM800 forms, as the simulator models them); the
         client's port from AT+CIPSTATUS (9.17), asked when accept() reads it
  DNS    AT+CDNSGIP (9.21), ping AT+CIPPING (9.31).
  TLS    module TLS (socket.connect(addr, tls=ModuleTLS(...))): AT+SSLCFG for SSL
         context <n> (= link n, 9.7), AT+CIPSSL=1 (9.6, one switch for the module,
         read at each AT+CIPSTART), then AT+CIPSTART; certificates are files in the
         module's flash root (ch.8 AT+FS*, the names 13.14 uses): cert_upload/
         cert_list/cert_delete (cellmodem.tls).
Usage: Modem(uart, dialect="yuge"); then cellmodem.socket as usual
"""
import errno

from cellmodem.compat import const
from cellmodem.dialects.base import Dialect
from cellmodem.timeouts import late  # manual figure + margin
from cellmodem.errors import ATError
from cellmodem.line import parse_int
from cellmodem.sockets import TCP, LISTEN


_SERVER = const(6)  # key of the listening link in modem.links: one past the last link id
# keys of the one-shot results (Dialect.expect/post/result); + link id
_CIPSTART = const(256)  # the connect result: "CONNECT OK" / "CONNECT FAIL" / "ALREADY CONNECT"
CLINE = 512  # True when AT+CIPSTATUS's "C: <n>,..." line for the link was read
_PROBE_MS = const(1000)  # no connect result this long: ask AT+CIPSTATUS (9.17)

# Final results of the data commands (9.14, 9.11, 9.28); the engine also matches them
# after a link number ("1, SEND OK", "DATA ACCEPT:1,65").
_SEND_FINALS = ((b"DATA ACCEPT", True), (b"SEND OK", True), (b"SEND FAIL", False))
_CLOSE_FINALS = ((b"CLOSE OK", True),)
_STATE_FINAL = ((b"STATE:", True),)  # 9.17: OK comes first, the state line ends it

# Manual 3.13 TCP/IP codes 901-918, numeric (AT+CMEE=1) and text (AT+CMEE=2), as
# errno (0: no such code); index code - 901 (as base.coded's tables: two constants)
_CME_ERRNO = bytes((errno.ENOTCONN, 0, 0, 0, 0, 0, 0, 0, 0, errno.ECONNREFUSED,
                    errno.ETIMEDOUT, errno.EALREADY, errno.ENOTCONN, errno.EINVAL,
                    errno.ETIMEDOUT, 0, errno.EHOSTUNREACH, errno.EHOSTUNREACH))
_CME_TEXT = ("PDP_NO_ACTIVE|||||||||TCP_CONNECTION_REJECT|TCP_CONNECT_OVERTIME|"
             "SOCKET_CONNECTION_EXIST|SOCKET_CONNECTION_NOT_EXIST|BUFFER_OVER_SIZE|"
             "SENDING_OVERTIME||DNS_PARSE_OVERTIME|DNS_PARSE_ERROR")

# 9.17 <client state> of a link while AT+CIPSTART is pending, as a connect result
_STATE_RESULT = {"CONNECTED": "CONNECT OK", "CLOSED": "CONNECT FAIL", "INITIAL": "CONNECT FAIL"}


def _errno_of(e):
    """errno for an ATError of a TCP/IP command (manual 3.13), EIO if not listed."""
    texts = _CME_TEXT.split("|")
    for i in range(len(_CME_ERRNO)):
        if _CME_ERRNO[i] and (e.code == 901 + i or e.text == texts[i]):
            return _CME_ERRNO[i]
    return errno.EIO


class Yuge(Dialect):
    NAME = "yuge"
    ICCID = ("AT+ICCID", "+ICCID:")
    TIMEOUTS = {"+CSTT": late(60000), "+CIICR": late(85000), "+CIPSTART": late(75000),
                "+CIPSHUT": late(90000), "+CIPSEND": late(60000), "+CIPCLOSE": late(20000),
                "+CIPSERVER": late(20000)}
    # "+PDP DEACT" in the 9.40/9.42 examples, "+PDP:DEACT" in the 9.29 note, and
    # "+PDP: DEACT" as SIM800 firmware prints it
    LINK_LOST = (b"+PDP DEACT", b"+PDP: DEACT", b"+PDP:DEACT")
    LINKS = 6  # 9.9 <n> 0~5
    MAX_SEND = 1460  # 9.14 <size>: 1460 bytes
    MAX_RECV = 1460  # 9.27 <len> 1-1460 (text reads)
    RX_MODES = ("buffered", "push")
    SERVER = True
    DNS_MS = 30000  # 9.21: the +CDNSGIP answer after OK (no maximum given; 30 s)
    HOST_MAX = 128  # 9.21: <domain name> at most 128 bytes
    TLS = "cellmodem.native.yuge_tls"  # module TLS: SSL contexts, certificate files
    UP = "yuge_up"  # the data context: AT+CSTT, AT+CIICR, AT+CIPSHUT; AT+CIPPING
    # Manual 4.2: AT+CPOWD=1 answers only "NORMAL POWER DOWN" (1.4: 9 s, the default).
    # 4.12: AT+CSCLK=1 sleeps while AP_WAKEUP_MODULE (the board's DTR line) is high;
    # pulling it low "大概50ms" or AT commands on the UART wake it (the first may be
    # lost). 4.1: AT+CFUN 0, 1, 4 (1.4: 45 s).
    POWER = {"power_down": ("AT+CPOWD=1", b"NORMAL POWER DOWN", False, 9000),
             "sleep": "AT+CSCLK", "uart_wakes": True, "wake_ms": 50, "cfun": (0, 1, 4)}

    def __init__(self, modem):
        super().__init__(modem)
        self.pull_line = self._on_ciprxget
        self._starting = False  # the AT+CIPSTART command itself is in flight
        self._cipmode = 0  # what AT+CIPMODE the module has
        self._cipssl = 0  # what AT+CIPSSL the module has (activate() sets 0)
        self._client = None  # the accepted clients' Link class (sock_listen imports it)
        at = self.at
        # "<n>, TEXT" or "<n>,TEXT" (9.9 syntax / 9.42 examples): one entry per link id,
        # the text after the comma picks the handler
        self._link_urcs = ((b"CLOSED", self._on_closed), (b"REMOTE IP:", self._on_remote),
                           (b"CONNECT OK", self._on_result), (b"CONNECT FAIL", self._on_result),
                           (b"ALREADY CONNECT", self._on_result))
        for n in range(self.LINKS):
            at.urc(("%d," % n).encode(), self._on_link_line)
        at.urc(b"+CIPRXGET:", self._on_ciprxget)
        at.urc(b"+RECEIVE,", self._on_receive)
        at.urc(b"C: ", self._on_cstate)
        at.urc(b"+CDNSGIP:", self._on_dns)

    # Transparent mode (9.10, 9.13, 9.37, 9.38; "透明传输应用 1"): only for one TCP
    # connection with AT+CIPMUX=0, both set in IP INITIAL, so the data context is
    # set up again around it; AT+CIPSTART answers OK, then CONNECT (or "STATE: ..."
    # and CONNECT FAIL); "+++" needs 1 s of silence before it (0.5 s after); ATO goes
    # back; a lost connection prints CLOSED; AT+CIPSHUT ends it.
    DATA = {"guard": 1000, "wide": True, "open": 'AT+CIPSTART="TCP","{1}",{2}', "ok_first": True,
            "finals": ((b"CONNECT FAIL", False), (b"ALREADY CONNECT", False), (b"CONNECT", True))}

    def _status(self):
        # 9.17: "OK", then "STATE: <state>", then a "C: ..." line per link (_on_cstate)
        self.at.command("AT+CIPSTATUS", ok_final=False, finals=_STATE_FINAL)
        return self.at.engine.final[6:].decode().strip()

    nudge = _status

    # ---- URCs ----
    def _on_link_line(self, line):
        buf = line.buf
        i = line.start + 2  # past "<n>,"
        if i < line.end and buf[i] == 32:
            i += 1
        off = i - line.start
        for text, handler in self._link_urcs:
            if line.startswith(text, off):
                handler(buf[line.start] - 48, line, off)
                return

    def _on_closed(self, n, line, off):
        # "<n>, CLOSED": the peer closed; in buffered mode the data before it stays
        # readable with AT+CIPRXGET=2 (9.27). The line's first field is <n>.
        self.on_peer_closed(line, 0)

    def _on_remote(self, n, line, off):
        # "<n>, REMOTE IP: <ip>": a client of AT+CIPSERVER got link n. The line has no
        # port: the client asks AT+CIPSTATUS for it when its peer is first read.
        server = self.modem.links.get(_SERVER)
        if server is None:
            return
        old = self.modem.links.get(n)
        if old is not None:  # the module reused an id we still held (peer closed it)
            old.open = False
            old.pending = False
            old.eof = True
        child = self._client(self, self.modem.sock_rxbuf)
        child.id = n
        child.open = True
        child.peer = (line.field(0), 0)
        child.local_port = server.local_port
        self.modem.links[n] = child
        server.incoming.append(child)

    def _on_result(self, n, line, off):
        result = bytes(line.buf[line.start + off:line.end]).decode()
        if self.post(_CIPSTART + n, result):
            if self._starting and result != "CONNECT OK":
                # A failure inside AT+CIPSTART's own reply is final in meaning: SIM800-
                # family firmware answers "ALREADY CONNECT" alone, with no OK or ERROR
                # (public knowledge: users' logs, not this manual, whose 9.9 puts OK or
                # +CME ERROR first). It ends the command now; an OK or ERROR after it
                # arrives idle and is dropped.
                self.at.engine.end(line)

    def _on_cstate(self, line):
        # 9.17: C: <n>,<bearer>,<mode>,<ip>,<port>,<client state>; asked while a connect
        # result is overdue (the URC may have been lost or held back), or for the port of
        # an accepted client (yuge_server.Client.peer)
        n = line.int(0, -1)
        if n < 0:
            return
        self.post(CLINE + n, True)
        if self.got.get(_CIPSTART + n, 0) is None:
            result = _STATE_RESULT.get(line.field(line.nfields() - 1))
            if result is not None:  # else still connecting
                self.post(_CIPSTART + n, result)
            return
        link = self.modem.links.get(n)
        if link is not None and type(link) is self._client:
            link.on_cstate(line)

    def _on_ciprxget(self, line):
        # 9.27: "+CIPRXGET: 1,<n>" data waits; "+CIPRXGET: 2,<n>,<read>,<rest>" then
        # <read> bytes answer AT+CIPRXGET=2. Both can come inside a pull's reply.
        mode = line.int(0, -1)
        if mode == 1:
            self.on_data_waiting(line, 1)
        elif mode == 2:
            link = self.pulled(line.int(2, 0), line.int(1, -1))
            if link is not None and line.int(3, 0) > 0:
                link.pending = True  # <rest>: the module holds more

    def _on_receive(self, line):
        # 9.25: "+RECEIVE,<n>,<length>:" and the data on the next line
        # (no flow control: what does not fit the ring is ENOBUFS on the socket)
        self.push_payload(self.link(line, 0), line.int(1, 0))

    def sock_open(self, link, host, port, tls=None):
        if tls is not None:
            if link.kind != TCP:
                raise OSError(errno.EOPNOTSUPP, "yuge: module TLS is for TCP only (9.6)")
            from cellmodem.native.yuge_tls import level, sslcfg
            level(tls)  # ValueError before anything is sent
        n = self.claim(link)
        try:
            on = 0 if tls is None else 1
            if on:
                sslcfg(self.at, n, tls, host)  # 9.7: link n's SSL context is n
            if on != self._cipssl:
                self.at.command("AT+CIPSSL=%d" % on)
                self._cipssl = on
            result = self._start(link, n, host, port)
            if result == "ALREADY CONNECT":
                # the module holds a link n we do not know (an earlier session): drop it
                self._cipclose(n)
                result = self._start(link, n, host, port)
        except Exception:
            self.release(link)
            raise
        if result != "CONNECT OK":
            self.release(link)
            if tls is not None and result == "CONNECT FAIL":
                # The manual gives AT+CIPSTART no result of its own for a failed
                # handshake (9.6, 9.9): a refused certificate (CA, name, dates), a
                # refused client certificate and a failed TCP connection are all
                # "<n>, CONNECT FAIL", as SIM800-style firmware reports them.
                raise OSError(errno.ECONNABORTED, "TLS handshake failed: AT+CIPSTART: %d, "
                              "CONNECT FAIL (or no connection: the module does not say "
                              "which)" % n)
            raise OSError(errno.EALREADY if result == "ALREADY CONNECT" else errno.ECONNREFUSED,
                          "AT+CIPSTART: %d, %s" % (n, result))
        link.open = True
        link.peer = (host, port)

    def _start(self, link, n, host, port):
        """AT+CIPSTART for link n; the connect result (9.9)."""
        cmd = 'AT+CIPSTART=%d,"%s","%s",%d' % (n, link.kind, host, port)
        key = _CIPSTART + n
        self.expect(key)
        try:
            self._starting = True
            try:
                self.at.command(cmd)
            except ATError as e:
                if _errno_of(e) == errno.EALREADY:
                    return "ALREADY CONNECT"  # 912, then "<n>, ALREADY CONNECT"
                raise OSError(_errno_of(e), str(e))
            finally:
                self._starting = False
            # no connect result for _PROBE_MS: nudge() asks AT+CIPSTATUS, whose C:
            # lines tell the link's state
            result = self.result(key, self.at.timeout_for(cmd), "connect result", cmd,
                                 _PROBE_MS, link=link)
            if result is None:
                raise link.error  # network lost or module restarted meanwhile
            return result
        finally:
            self.got.pop(key, None)

    def sock_listen(self, link, port):
        if _SERVER in self.modem.links:
            raise OSError(errno.EADDRINUSE, "yuge: the module has one TCP server")
        if self._client is None:  # only a program with a server spends heap on it
            from cellmodem.dialects.yuge_server import Client
            self._client = Client
        self.modem.links[_SERVER] = link
        link.id = _SERVER
        try:
            self.at.command("AT+CIPSERVER=1,%d" % port, ok_final=False,
                            finals=((b"SERVER OK", True),))
        except ATError as e:
            self.release(link)
            raise OSError(errno.EADDRINUSE, "AT+CIPSERVER=1,%d: %s" % (port, e))
        except Exception:
            self.release(link)
            raise
        link.open = True
        link.local_port = port

    def sock_send(self, link, mv):
        n = len(mv)
        if n > self.MAX_SEND:
            n = self.MAX_SEND
        if n < len(mv):
            mv = mv[:n]
        try:
            # 9.14 note: after a CR alone the module swallows a payload's leading LF
            self.at.send_data(self.command_for(b"AT+CIPSEND=%d,%d", link.id, n), mv,
                              finals=_SEND_FINALS, eol=b"\r\n")
            final = self.at.engine.final
        except ATError as e:
            if link.error is not None:
                raise link.error  # the network or the module went away meanwhile
            raise OSError(_errno_of(e), str(e))
        if final.startswith(b"DATA ACCEPT"):  # DATA ACCEPT:<n>,<length> (9.11)
            return parse_int(final, final.find(b",") + 1, len(final), n)
        return n

    def sock_fetch(self, link, n):
        # 9.27: AT+CIPRXGET=2,<n>,<len>
        return self.pull(link, n, b"AT+CIPRXGET=2,%d,%d", b"+CIPRXGET:")

    def sock_close(self, link):
        links = self.modem.links
        if link.id is not None and links.get(link.id) is link:
            self.release(link)
            if link.kind == LISTEN:
                for child in link.incoming:  # clients never accepted
                    self.sock_close(child)
                link.incoming = []
                try:
                    self.at.command("AT+CIPSERVER=0", ok_final=False,
                                    finals=((b"SERVER CLOSE", True),))
                except ATError:
                    pass
            else:
                self._cipclose(link.id)
        link.open = False

    def _cipclose(self, n):
        try:
            self.at.command("AT+CIPCLOSE=%d" % n, finals=_CLOSE_FINALS)
        except ATError:
            pass  # 9.28: ERROR when the link is not open (the peer closed it already)


DIALECT = Yuge
