"""Quectel BG95/BG96/EC2x/UGxx: the AT+QI* family.

Source: the UGxx TCP/IP AT Commands Manual V1.2 ("UG x.y"). Our copy stops inside
2.5; what it lacks (QISEND 2.7, QIRD 2.8, QISDE 2.10, QPING 2.12, QIDNSGIP 2.15,
QIGETERROR 2.17, the URCs of 2.18 and the error codes of chapter 3) follows the QI
family (BG96/EC2x/BG95), marked "family".

AT+QICSGP configures context 1, AT+QIACT activates it (up to 150 s, UG 2.2),
AT+QIACT? lists "+QIACT: 1,1,1,"<ip>"". Network loss: +QIURC: "pdpdeact",1, after
which the context must be closed with AT+QIDEACT before AT+QIACT works again
(family). A failing QI command answers plain ERROR; AT+QIGETERROR gives its code.
Sockets: AT+QIOPEN with <access_mode> 0 (buffer: +QIURC: "recv",<id> then AT+QIRD
pulls) or 1 (direct push: +QIURC: "recv",<id>,<len> followed by the data), result
URC +QIOPEN: <id>,<err>; AT+QISEND after a ">" prompt, SEND OK / SEND FAIL;
+QIURC: "closed",<id> when the peer closes; "TCP LISTENER" and
+QIURC: "incoming",... for a server. Module TLS: AT+QSSL* (family, quectel_tls.py),
the same link table and handlers with their SSL names.
Usage: Modem(uart, dialect="quectel")
"""
import errno

from cellmodem.compat import const
from cellmodem.dialects.base import Dialect, coded
from cellmodem.timeouts import late  # manual figure + margin
from cellmodem.errors import ATError, ModemError
from cellmodem.sockets import Link, TCP, UDP

_CTX = const(1)  # the context cellmodem uses
# keys of the one-shot results (Dialect.expect/post/result)
_QIOPEN = const(256)  # + connectID: the <err> of its +QIOPEN
_DNSGIP = const(b"dnsgip")  # the first address of the lookup, or its <err>
_QPING = const(b"+QPING:")  # the first echo's time, or -<err>

# Chapter 3 (family): <err> 550-574 of +QIOPEN, +QIURC: "dnsgip", +QPING and
# AT+QIGETERROR, as OSError errno and the module's text (base.coded; index err - 550).
_ERR_FIRST = const(550)
_ERRNO = bytes((errno.EIO, errno.EIO, errno.EINVAL, errno.ENOMEM, errno.ENOMEM,
                errno.EOPNOTSUPP, errno.EADDRINUSE, errno.EADDRINUSE, errno.EIO, errno.EIO,
                errno.EIO, errno.ENOTCONN, errno.EIO, errno.EALREADY, errno.EHOSTUNREACH,
                errno.EHOSTUNREACH, errno.ECONNREFUSED, errno.ENOTCONN, errno.EIO,
                errno.ETIMEDOUT, errno.ECONNABORTED, errno.EIO, errno.EPERM, errno.ENOTCONN,
                errno.EADDRINUSE))
_ERR_TEXT = ("unknown error|operation blocked|invalid parameters|memory not enough|"
             "create socket failed|operation not supported|socket bind failed|"
             "socket listen failed|socket write failed|socket read failed|"
             "socket accept failed|open PDP context failed|close PDP context failed|"
             "socket identity has been used|DNS busy|DNS parse failed|"
             "socket connect failed|socket has been closed|operation busy|"
             "operation timeout|PDP context broken down|cancel send|"
             "operation not allowed|APN not configured|port busy")

# family (UG 2.7): AT+QISEND ends in SEND OK, or SEND FAIL when the send buffer is full
_SEND_FINALS = ((b"SEND OK", True), (b"SEND FAIL", False))


def _code(code):
    # (errno, text) of a QI error code, None for another code (or None)
    return coded(_ERRNO, _ERR_TEXT, code - _ERR_FIRST) if code else None


def _oserror(code, said):
    """OSError for QI error code, the message being what the module said and the text."""
    e, text = _code(code) or (errno.EIO, "error")
    return OSError(e, "%s (%s)" % (said, text))


class Quectel(Dialect):
    NAME = "quectel"
    ICCID = (("AT+QCCID", "+QCCID:"), ("AT+CCID", "+CCID:"))  # UGxx firmware lacks QCCID
    # UG 2.2 QIACT 150 s, 2.3 QIDEACT 40 s, 2.4 QIOPEN 150 s ("determined by network");
    # family: QICLOSE waits up to its <timeout> argument, 10 s by default
    # AT+QSSLOPEN and AT+QSSLCLOSE (family SSL application note) as their QI twins
    TIMEOUTS = {"+QIACT": late(150000), "+QIDEACT": late(40000), "+QIOPEN": late(150000),
                "+QICLOSE": late(10000), "+QSSLOPEN": late(150000), "+QSSLCLOSE": late(10000)}
    LINKS = 12  # UG 2.4: <connectID> 0-11
    MAX_SEND = 1460  # family (UG 2.7): AT+QISEND <send_length> at most 1460
    MAX_RECV = 1500  # family (UG 2.8): AT+QIRD <read_length> at most 1500
    RX_MODES = ("buffered", "push")  # UG 1.2: buffer and direct push access modes
    TLS = "cellmodem.dialects.quectel_tls"  # module TLS: AT+QSSL*, certificate files
    UP = "quectel_up"  # the data context: AT+QICSGP, AT+QIACT; AT+QPING
    SERVER = True  # UG 2.4 note 1: "TCP LISTENER"
    # ms of quiet after which a bare AT lets out a result URC some firmware holds back
    # until the next command's reply (sim option open_result_in_reply)
    NUDGE = 2000
    # Not in the UG TCP/IP manual (family: QI AT manuals, UC20/UG hardware designs):
    # AT+QPOWD=1 answers OK, logs off the network, then prints "POWERED DOWN"; the
    # module forces the shutdown after 60 s, so 65 s bounds it. AT+QSCLK=1: sleeps
    # while DTR is high, DTR low wakes it, a sleeping module does not listen to the
    # UART. AT+CFUN 0, 1, 4. PSM/eDRX: 27.007 +CPSMS/+CEDRXS on BG9x (LTE-M/NB-IoT;
    # cellmodem.psm).
    POWER = {"power_down": ("AT+QPOWD=1", b"POWERED DOWN", True, 65000),
             "sleep": "AT+QSCLK", "uart_wakes": False, "wake_ms": 50, "cfun": (0, 1, 4),
             "psm": True}

    def __init__(self, modem):
        super().__init__(modem)
        self.pull_line = self._on_qird
        self._broken = False  # pdpdeact seen: AT+QIDEACT before AT+QIACT (family)
        self._epoch = 0  # counts link losses and restarts: ends waits for a result URC
        self._direct = set()  # connectIDs the module runs in direct push access mode
        self._ssl = set()  # connectIDs opened with AT+QSSLOPEN (module TLS)
        self._opening = -1  # connectID whose AT+QIOPEN command is in flight
        at = self.at
        at.urc(b'+QIURC: "pdpdeact"', self._on_pdpdeact)
        at.urc(b"+QIOPEN:", self._on_qiopen)
        at.urc(b'+QIURC: "recv",', self._on_recv)
        at.urc(b'+QIURC: "closed",', self._on_closed)
        at.urc(b'+QIURC: "incoming",', self._on_incoming)
        at.urc(b'+QIURC: "incoming full"', _ignore)  # UG 2.18.3: a client was refused
        at.urc(b'+QIURC: "dnsgip",', self._on_dnsgip)
        at.urc(b"+QPING:", self._on_qping)

    def _on_pdpdeact(self, line):
        self._broken = True
        self._epoch += 1
        self._on_link_lost(line)

    _on_cgev_lost = _on_pdpdeact  # +CGEV: NW/ME PDN DEACT 1 leaves the same state
    PUSH_LINE_END = True  # UG 2.8: +QIURC: "recv",<id>,<len> CR LF <data> CR LF

    def _on_rebooted(self, line):
        self._broken = False  # a fresh module has no context to clear
        self._epoch += 1
        self._direct = set()
        self._ssl = set()
        super()._on_rebooted(line)

    def _qi_error(self, e):
        """e with the module's QI error code and text: a plain ERROR is explained by
        AT+QIGETERROR (UG 2.17: "+QIGETERROR: <err>,<errcode_description>")."""
        if not isinstance(e, ATError):
            return e
        code = e.code
        if code is None:
            out = []
            try:
                self.at.command("AT+QIGETERROR", resp=b"+QIGETERROR:",
                                on_line=lambda l: out.append(l.int(0, -1)))
            except ModemError:
                return e
            if not out or out[0] <= 0:
                return e
            code = out[0]
        c = _code(code)
        if c is None:
            return e
        return ATError(code, c[1], e.command)

    def _failure(self, e, cmd):
        """What to raise for a socket, DNS or ping command that failed: OSError with the
        QI error code, or e itself when the module gave none."""
        e = self._qi_error(e)
        if _code(e.code) is not None:
            return _oserror(e.code, "%s: error %d" % (cmd, e.code))
        return e

    # ---- sockets: URCs ----
    def _on_qiopen(self, line):
        # UG 2.4: +QIOPEN: <connectID>,<err>, <err> 0 when the service is set up
        cid = line.int(0, -1)
        err = line.int(1, 550)
        self.post(_QIOPEN + cid, err)
        if err and cid == self._opening:
            # A failure before AT+QIOPEN's OK is final in meaning (UG 2.4 puts OK
            # first): a module that sends no OK after it must not hold the wait to the
            # command's limit (issue 19 item 4). An OK after it arrives idle and is dropped.
            self.at.engine.end(line)

    def _on_recv(self, line):
        # +QIURC: "recv",<connectID>[,<currentrecvlength>]
        cid = line.int(1, -1)
        if cid in self._direct:
            # UG 1.2 point 2: direct push, <len> bytes of data follow the header line
            n = line.int(2, 0)
            if n > 0:
                link = self.modem.links.get(cid)
                if link is not None and line.nfields() > 4:
                    # UDP SERVICE: +QIURC: "recv",<id>,<len>,"<ip>",<port>, one datagram
                    link.next_from = (line.field(3), line.int(4, 0))
                self.push_payload(link, n)
            return
        # UG 1.2 point 1: buffer access mode, the data waits for AT+QIRD (BG95-era
        # firmware adds the length; there is no data after it)
        self.on_data_waiting(line, 1)

    def _on_closed(self, line):
        # family (UG 2.18.1): +QIURC: "closed",<connectID>. In buffer access mode what
        # arrived before the close is still read with AT+QIRD; pushed data is with us.
        link = self.link(line, 1)
        if link is not None:
            link.peer_closed()
            if link.id in self._direct:
                link.pending = False

    def _on_incoming(self, line):
        # UG 2.4 note 1: +QIURC: "incoming",<connectID>,<serverID>,<remoteIP>,<remote_port>;
        # the new connection is in buffer access mode
        server = self.link(line, 2)
        cid = line.int(1, -1)
        if server is None or cid < 0:
            return
        self._direct.discard(cid)
        self._ssl.discard(cid)
        child = Link(TCP, self.modem.sock_rxbuf)
        child.id = cid
        child.open = True
        child.peer = (line.field(3), line.int(4, 0))
        self.modem.links[cid] = child
        server.incoming.append(child)

    def _on_dnsgip(self, line):
        # family (UG 2.15): +QIURC: "dnsgip",<err>[,<IP_count>,<DNS_ttl>], then one
        # +QIURC: "dnsgip","<IP_address>" per address; the first address is taken
        code = line.int(1, -1)
        if code < 0:  # an address line
            self.post(_DNSGIP, line.field(1))
        elif code or line.int(2, 0) == 0:  # the result line: an error, or no address
            self.post(_DNSGIP, code or 565)

    def _on_qping(self, line):
        # family (UG 2.12): +QPING: 0,"<IP_address>",<bytes>,<time>,<ttl> per echo,
        # +QPING: <err> for one that failed, then +QPING: 0,<sent>,<rcvd>,<lost>,...
        code = line.int(0, -1)
        if code != 0:
            self.post(_QPING, -(code if code > 0 else 550))
        elif line.int(1, -1) < 0:  # a quoted address: an echo came back
            self.post(_QPING, line.int(3, 0))

    # ---- sockets: hooks ----
    def _open(self, link, service, host, rport, lport, mode, tls=None):
        cid = self.claim(link)
        if mode == 1:
            self._direct.add(cid)
        else:
            self._direct.discard(cid)
        key = _QIOPEN + cid
        self.expect(key)
        epoch = self._epoch
        ssl = self._ssl
        try:
            if tls is None:
                ssl.discard(cid)
                # UG 2.4: AT+QIOPEN=<contextID>,<connectID>,<service_type>,<IP_address>/
                # <domain_name>,<remote_port>,<local_port>,<access_mode>
                cmd = 'AT+QIOPEN=%d,%d,"%s","%s",%d,%d,%d' % (_CTX, cid, service, host, rport,
                                                              lport, mode)
            else:
                ssl.add(cid)
                from cellmodem.dialects.quectel_tls import open_command
                cmd = open_command(self, cid, host, rport, mode, tls)
        except BaseException:
            self.got.pop(key, None)
            self.release(link)
            raise
        try:
            self._opening = cid
            try:
                self.at.command(cmd)
            finally:
                self._opening = -1
            # UG 2.4: OK, then +QIOPEN: <connectID>,<err> (TCP connect: up to 75 s)
            err = self.result(key, self.at.timeout_for(cmd), "+QIOPEN", "AT+QIOPEN",
                              self.NUDGE, lambda: self._epoch != epoch)
        except ATError as e:
            self.got.pop(key, None)
            self.release(link)
            raise self._failure(e, cmd)
        except ModemError:
            self.release(link)
            if self._epoch == epoch:
                try:  # the result may still come: do not leave the module a link
                    self.at.command("AT+Q%sCLOSE=%d" % ("SSL" if cid in ssl else "I", cid))
                except ModemError:
                    pass
            raise
        if err is None:  # the network or the module went away meanwhile
            self.release(link)
            raise link.error or OSError(errno.ECONNABORTED, "%s: link lost" % cmd)
        if err != 0:
            self.release(link)
            if cid in ssl:
                from cellmodem.dialects.quectel_tls import refused
                raise refused(cid, err)
            raise _oserror(err, "+QIOPEN: %d,%d" % (cid, err))
        link.open = True

    def sock_open(self, link, host, port, tls=None):
        if tls and link.kind == UDP:
            raise OSError(errno.EOPNOTSUPP, "quectel: module TLS is for TCP only (no DTLS)")
        # <local_port> 0: the module picks one; <access_mode> per the session
        self._open(link, link.kind, host, port, 0, 1 if self.push else 0, tls or None)
        link.peer = (host, port)

    # Transparent access mode (UG 1.2 point 3-5): AT+QIOPEN <access_mode> 2 answers
    # CONNECT (or ERROR); "+++" with T1 = 1 s of silence on both sides gives OK and
    # leaves the connection in buffer access mode (AT+QIRD reads it); ATO goes back;
    # a lost connection prints NO CARRIER and AT+QICLOSE is still needed. Other
    # connections stay usable.
    DATA = {"guard": 1000, "open": 'AT+QIOPEN=1,{0},"TCP","{1}",{2},0,2', "drain": True}

    def sock_listen(self, link, port):
        # UG 2.4: "TCP LISTENER" takes "127.0.0.1" and the <local_port>. Buffer access
        # mode always: its connections are in buffer mode anyway (UG 2.4 note 1).
        self._open(link, "TCP LISTENER", "127.0.0.1", 0, port, 0)
        link.local_port = port

    def sock_send(self, link, mv):
        n = len(mv)
        if n > self.MAX_SEND:
            n = self.MAX_SEND
            mv = mv[:n]
        # family (UG 2.7, and the SSL note's AT+QSSLSEND of the same shape): ">"
        # prompt, exactly <send_length> bytes, SEND OK
        cmd = self.command_for(b"AT+QSSLSEND=%d,%d" if link.id in self._ssl
                               else b"AT+QISEND=%d,%d", link.id, n)
        try:
            self.at.send_data(cmd, mv, finals=_SEND_FINALS)
        except ATError as e:
            if link.error is not None:
                raise link.error
            if e.text == "SEND FAIL":
                raise OSError(errno.ENOBUFS, "%s: SEND FAIL (the module's send buffer is full)" % cmd)
            raise self._failure(e, cmd)
        return n

    def _on_qird(self, line):
        # family (UG 2.8): +QIRD: <read_actual_length>[,"<remoteIP>",<remote_port>]
        # then exactly that many bytes after the line end
        n = line.int(0, 0)
        if n > 0:
            link = self._pulling
            if link is not None:
                # A read that filled the ask may have left more in the module, which
                # says "recv" again only once its buffer was read empty (UG 1.2 point
                # 1). UDP gives one datagram per read: more may wait behind any of them.
                if n >= self._asked or link.kind == UDP:
                    link.pending = True
                if line.nfields() > 2:  # UDP SERVICE: the datagram's sender (UG 2.8)
                    link.next_from = (line.field(1), line.int(2, 0))
            self.pulled(n)

    def sock_fetch(self, link, n):
        if n > self.MAX_RECV:
            n = self.MAX_RECV
        if link.kind == UDP and n < self.MAX_RECV and link.ring.count:
            return 0  # a datagram longer than the read would be split: read the ring first
        if link.id in self._ssl:  # family SSL note: +QSSLRECV: <len>, as +QIRD
            return self.pull(link, n, b"AT+QSSLRECV=%d,%d", b"+QSSLRECV:")
        return self.pull(link, n, b"AT+QIRD=%d,%d", b"+QIRD:")

    def sock_close(self, link):
        if link.id is not None and self.modem.links.get(link.id) is link:
            self._direct.discard(link.id)  # the id's next connection may be in buffer mode
            self.release(link)
            try:
                self.at.command("AT+Q%sCLOSE=%d" % ("SSL" if link.id in self._ssl else "I",
                                                    link.id))
            except ATError:
                pass  # the module had already dropped it
        link.open = False

    # ---- DNS and ping ----
    def resolve(self, host):
        self.expect(_DNSGIP)
        epoch = self._epoch
        try:
            self.at.command('AT+QIDNSGIP=%d,"%s"' % (_CTX, host))
        except ATError as e:
            self.got.pop(_DNSGIP, None)
            raise self._failure(e, "AT+QIDNSGIP")
        # no maximum response time in our copy; DNS answers well within 60 s
        r = self.result(_DNSGIP, 60000, '+QIURC: "dnsgip"', "AT+QIDNSGIP", self.NUDGE,
                        lambda: self._epoch != epoch)
        if r is None:
            raise OSError(errno.ECONNABORTED, "cannot resolve %s: link lost" % host)
        if not isinstance(r, str):
            raise _oserror(r, 'cannot resolve %s: +QIURC: "dnsgip",%d' % (host, r))
        return r


def _ignore(line):
    pass


DIALECT = Quectel
