"""Quectel QI family personality (UG95/UG96, same AT+QI* stack as BG96/EC2x/BG95).

Source: /work/shared/manuals/quectel-ugxx-qi-tcpip.txt ("UGxx TCP/IP AT Commands
Manual" V1.2, cited as "UG 2.x"). That copy stops half way, in the middle of 2.5
(AT+QICLOSE): sections 1.1-1.2 (process, data access modes), 2.1 QICSGP, 2.2 QIACT,
2.3 QIDEACT and 2.4 QIOPEN are complete; the only worked example left is the one
under 2.1. Everything after that (QICLOSE results, QISTATE, QISEND, QIRD, QISENDEX,
QISDE, QISWTMD, QPING, QNTP, QIDNSCFG, QIDNSGIP, QICFG, QIGETERROR, the +QIURC
forms, the error code table of chapter 3 and the chapter 4 examples) follows what
the QI family (BG96, EC2x, BG95 TCP/IP application notes, and the modules) is
publicly known to do; each such place says "family" in a comment.

Family behaviour this file assumes where the UG copy is silent (details at the code):
  - AT+QISDE defaults to 1: the bytes typed after the AT+QISEND prompt are echoed
    back before SEND OK, whatever ATE says (drivers send AT+QISDE=0).
  - QI command failures answer plain ERROR; AT+QIGETERROR gives the code and text.
  - AT+QIOPEN on a context that is not active: OK, then +QIOPEN: <id>,561.
  - AT+QIACT with an APN the network refuses (reject_apns=): ERROR, and
    AT+QIGETERROR says 561 "open PDP context failed" (with qi_cme: +CME ERROR).
  - AT+QIRD prints its header and the payload as one piece, nothing between them.
  - An accepted client gets the highest free connectID (the family examples: 11).
  - After +QIURC: "pdpdeact" no "closed" URC follows for each socket.
  - In transparent mode the port is exclusive (UG 1.2): other URCs wait.
  - No ICMP, DNS or NTP traffic leaves the simulator: QPING answers for loopback
    hosts, QIDNSGIP and QNTP use the simulator's hosts table.

Options (sim(opts={...}) or --opt key=value):
  recv_len      False (default): buffer access mode data URC is `+QIURC: "recv",<id>`
                (UG 1.2). True: `+QIURC: "recv",<id>,<len>` as BG95-era firmware does
                (the same shape as the direct push header, without data after it).
  close_discards  False. True: when the peer closes with unread data, the data URC and
                `+QIURC: "closed",<id>` come back to back and the unread data is gone
                (seen on real modules when a server sends and closes at once).
  open_result_in_reply  False. True: the `+QIOPEN: <id>,<err>` URC is held back and
                appears inside the next, unrelated reply.
  open_fail_alone  False. True: an AT+QIOPEN that fails at once (the connectID in use,
                no context, a fail= fault) answers `+QIOPEN: <id>,<err>` alone, no OK
                before or after it. A test aid, not a form seen in captures: the
                library must take a failure line as final (issue 19 item 4) in every
                family, as real SIM7080 firmware needs (+CAOPEN: <cid>,<err> alone).
  connect_ms    0. Time QIOPEN takes before its result (real networks: up to 150 s).
  act_ms        0. Time AT+QIACT takes before its OK (UG 2.2: up to 150 s).
  qi_cme        False (default): a failing QI command answers plain ERROR even with
                AT+CMEE=1/2 (UG 2.4: "ERROR. Error description can be got via
                AT+QIGETERROR"). True: `+CME ERROR: <err>` with the QI error code
                (as some firmware does with CMEE on).
  incoming_mode "buffer" (default, UG 2.4 note 1: an incoming connection uses buffer
                access mode) or "listener" (BG96: the listener's access mode).
  send_fail     0. The next N AT+QISEND answer SEND FAIL after the data (family: "the
                sending buffer is full"; loopback never fills it on its own).
  pdpdeact_needs_qideact  True (family): after `+QIURC: "pdpdeact"` the context must
                be closed with AT+QIDEACT before AT+QIACT works again.
  prompt        "\\r\\n> " data-mode prompt of AT+QISEND.
  push_max      1500. Largest payload of one direct push URC.
  guard_ms      1000. "+++" guard time in transparent mode (UG 1.2 point 4: T1 = 1 s),
                silence before and after; the '+' may come up to that far apart.
  ping_ms       20. Simulated round trip of one AT+QPING echo (loopback hosts).
  dns_ms        0. Delay of the QIDNSGIP / QNTP result URCs.
  cgev_urcs     False. True: 3GPP packet domain URCs (27.007 10.1.19) as the QI
                family's LTE modules print them (BG96/EC2x users' logs; on most firmware
                they follow AT+CGEREP, which this personality does not model): "+CGEV:
                EPS PDN ACT <ctx>" after AT+QIACT, "+CGEV: ME PDN DEACT <ctx>" for
                AT+QIDEACT / AT+CFUN=0, "+CGEV: NW PDN DEACT <ctx>" when the network
                takes it (drop= fault), before +QIURC: "pdpdeact". "only": without the
                "pdpdeact" line (a test aid: the host must act on +CGEV alone).

Injected failures (fault knobs, see core.Faults): fail=+QIOPEN:CODE opens fail with
<err> CODE (+QIOPEN: <id>,CODE; ERROR in transparent mode); short= cuts +QIRD and
+QIURC "recv" payloads; fail_late_ms (core option) delays a failed open's result
(late_fail quirk: open_max_ms + 0.5 s). Supply voltage URCs (vwarn=, brownout=) use the
family's underscore forms.

Module TLS (AT+QSSL*, the file commands AT+QFUPL/QFLST/QFDEL): quectel_ssl.py.

UDP keeps its datagrams: AT+QIRD returns one datagram per read (UDP SERVICE with its
sender: +QIRD: <len>,"<ip>",<port>; a UDP client's peer is known), direct push one
+QIURC "recv" per datagram (family TCP/IP application notes).
"""
import ipaddress
import socket
import time

from .gnss import QGPSReceiver
from .core import GuardedEscape, ModemSim, command, NetError
from .psm import PSMCommands
from .quectel_ssl import QSSLCommands
from .net import Conn

NCTX = 20  # UG 2.1: <contextID> 1-20
MAX_ACTIVE = 3  # UG 2.2: "the maximum number of context which can be activated ... is 3"
NCONN = 12  # UG 2.4: <connectID> 0-11
MAX_SEND = 1460  # family: AT+QISEND <send_length> maximum 1460
MAX_READ = 1500  # family: AT+QIRD <read_length> 0-1500; without a length, up to 1500
MAX_SENDEX = 512  # family: AT+QISENDEX hex string carries at most 512 bytes

# Socket states of AT+QISTATE (family)
S_INITIAL, S_OPENING, S_CONNECTED, S_LISTENING, S_CLOSING = 0, 1, 2, 3, 4

# Chapter 3 of the UG manual is missing from our copy; the family's TCP/IP error
# codes are well known. The texts are what AT+QIGETERROR prints (lower case as the
# modules print them: "+QIGETERROR: 0,operate successfully").
QI_ERR = {
    0: "operate successfully",
    550: "unknown error",
    551: "operation blocked",
    552: "invalid parameters",
    553: "memory not enough",
    554: "create socket failed",
    555: "operation not supported",
    556: "socket bind failed",
    557: "socket listen failed",
    558: "socket write failed",
    559: "socket read failed",
    560: "socket accept failed",
    561: "open PDP context failed",
    562: "close PDP context failed",
    563: "socket identity has been used",
    564: "DNS busy",
    565: "DNS parse failed",
    566: "socket connect failed",
    567: "socket has been closed",
    568: "operation busy",
    569: "operation timeout",
    570: "PDP context broken down",
    571: "cancel send",
    572: "operation not allowed",
    573: "APN not configured",
    574: "port busy",
}
E_UNKNOWN, E_PARAM, E_NOTSUP, E_BIND, E_LISTEN = 550, 552, 555, 556, 557
E_PDP_OPEN, E_PDP_CLOSE, E_ID_USED, E_DNS, E_CONNECT = 561, 562, 563, 565, 566
E_CLOSED, E_TIMEOUT, E_NOT_ALLOWED = 567, 569, 572

SERVICE_TYPES = ("TCP", "UDP", "TCP LISTENER", "UDP SERVICE")


class QiError(Exception):
    """A QI command failed with a family error code (answered per the qi_cme option)."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


class Link:
    """One <connectID>."""

    def __init__(self, cid, stype, ctx, host, rport, lport, mode):
        self.cid = cid
        self.stype = stype  # "TCP" "UDP" "TCP LISTENER" "UDP SERVICE" "TCP INCOMING"
        self.ctx = ctx
        self.host = host  # remote address (clients, incoming) or local one (servers)
        self.rport = rport
        self.lport = lport
        self.mode = mode  # access mode 0 buffer, 1 direct push, 2 transparent
        self.server_id = cid
        self.conn = None
        self.state = S_OPENING
        self.armed = True  # buffer mode: the next arrival raises +QIURC: "recv"
        self.dgrams = []  # UDP: (length, (ip, port)) of each buffered datagram
        self.rx_total = 0  # bytes received (AT+QIRD=<id>,0)
        self.read_total = 0  # bytes the host read
        self.timer = None
        self.ssl = None  # <sslctxID> of a connection of AT+QSSLOPEN (module TLS)

    @property
    def rx(self):
        return self.conn.rx if self.conn is not None else bytearray()

    @property
    def udp(self):
        return self.stype in ("UDP", "UDP SERVICE")


class _DgramSock:
    """An unconnected UDP socket for "UDP SERVICE", shaped like the socket the core's
    net thread expects; recv() remembers who sent the datagram (net.py only has
    connected UDP sockets, so the sender would otherwise be lost)."""

    def __init__(self, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.s.bind(("127.0.0.1", port))
        except OSError:
            self.s.close()
            raise
        self.s.setblocking(False)
        self.last_addr = None

    def fileno(self):
        return self.s.fileno()

    def recv(self, n):
        data, self.last_addr = self.s.recvfrom(n)
        return data

    def sendto(self, data, addr):
        return self.s.sendto(data, addr)

    def send(self, data):
        raise OSError("UDP SERVICE needs a destination")

    def getsockname(self):
        return self.s.getsockname()

    def setblocking(self, flag):
        self.s.setblocking(flag)

    def settimeout(self, t):
        self.s.settimeout(t)

    def shutdown(self, how):
        pass

    def close(self):
        self.s.close()


class Quectel(QSSLCommands, PSMCommands, QGPSReceiver, ModemSim):
    name = "quectel"
    manufacturer = "Quectel"
    model = "UG96"
    revision = "Revision: UG96LNAR02A06E1G"
    imei = "866758040123456"
    imsi = "460011234567890"
    iccid = "89860116123456789012"
    operator = "CHN-UNICOM"
    plmn = "46001"
    act = 2  # UTRAN: UG95/UG96 are UMTS/HSPA modules
    ip = "10.76.51.22"
    default_cmee = 0
    noise_urcs = ('+QIND: "csq",20,99', "+CGEV: NW MODIFY 1,0", '+QIND: "act","HSPA+"')
    defaults = {
        "recv_len": False,
        "close_discards": False,
        "open_result_in_reply": False,
        "open_fail_alone": False,
        "connect_ms": 0,
        "act_ms": 0,
        "qi_cme": False,
        "incoming_mode": "buffer",
        "send_fail": 0,
        "pdpdeact_needs_qideact": True,
        "prompt": "\r\n> ",
        "push_max": 1500,
        "guard_ms": 1000,
        "ping_ms": 20,
        "dns_ms": 0,
        "powerdown_ms": 200,
        "cgev_urcs": False,
    }
    quirk_table = {"cgev": {"cgev_urcs": True}}
    open_max_ms = 150000  # UG 2.4: AT+QIOPEN "Maximum Response Time 150 seconds"
    # Supply voltage URCs: the QI family's forms with an underscore (its modules'
    # hardware design documents, public knowledge; the UG TCP/IP manual is silent)
    power_urcs = {"under": "UNDER_VOLTAGE WARNING", "over": "OVER_VOLTAGE WARNING",
                  "under_down": "UNDER_VOLTAGE POWER DOWN",
                  "over_down": "OVER_VOLTAGE POWER DOWN"}
    # Power and sleep (not in the UGxx TCP/IP manual; the QI family's AT manuals and
    # hardware designs): AT+QPOWD=1 answers OK, logs off the network and then prints
    # "POWERED DOWN" (forced after 60 s at the latest); AT+QPOWD=0 powers down at once.
    # AT+QSCLK=1 lets the module sleep while DTR is high; DTR low wakes it, and a
    # sleeping module does not listen to the UART. The family has no AT+CPOWD/CSCLK.
    commands = {"+QSCLK": "at_csclk", "+QPOWD": "at_qpowd"}
    unsupported = ("+CPOWD", "+CSCLK")
    dtr_sleep = (1,)

    def at_qpowd(self, c):
        n = c.int(0, 1) if c.kind == "set" else 1
        if c.kind not in ("set", "exec") or n not in (0, 1):
            return self.error()
        self.power_off(["POWERED DOWN"], ok=True,
                       delay_ms=int(self.opts["powerdown_ms"]) if n else 0)

    def __init__(self, **kw):
        super().__init__(**kw)
        self.prompt = self.opts["prompt"].encode("latin-1")

    def reset_state(self):
        super().reset_state()
        self.links = {}  # connectID -> Link
        self.csgp = {}  # contextID -> (type, apn, user, password, auth)
        self.broken = set()  # contexts lost by pdpdeact, waiting for AT+QIDEACT
        self.dns = {}  # contextID -> (primary, secondary)
        self.qicfg = {"transpktsize": "1024", "transwaittm": "2", "dataformat": "0,0",
                      "viewmode": "0", "tcp/retranscfg": "10,600",
                      "tcp/keepalive": "0"}
        self.qisde = 1  # family: AT+QISDE default 1, the data of AT+QISEND is echoed
        self.last_err = 0
        self.send_fail_left = int(self.opts["send_fail"])
        self.transp = None  # Link in transparent access mode (UG 1.2 point 3)
        self.last_transp = None  # for ATO (UG 1.2 point 5)
        self.ssl_reset()  # module TLS (quectel_ssl.py)

    # ---------------------------------------------------------------- identity
    def banner_lines(self):
        # Family power-on output: RDY, then the SIM state, then the phone book and
        # SMS stores are ready. UG96 prints no "APP RDY" (that is BG96's).
        if self.sim_state == "absent":
            return ["RDY", "+CFUN: 1", "+CPIN: NOT INSERTED"]
        lines = ["RDY", "+CFUN: 1", self.cpin_line()]
        if self.pin_ok:
            lines += ["+QIND: SMS DONE", "+QIND: PB DONE"]
        return lines

    def after_unlock(self):
        self.urc("+QIND: SMS DONE", hold=False)
        self.urc("+QIND: PB DONE", hold=False)

    @command("+CGMR", "+GMR")
    def at_cgmr(self, c):
        # ATI prints "Revision: <rev>"; AT+CGMR prints the bare revision (family)
        if c.kind == "test":
            return self.ok()
        self.answer(self.revision.split(": ", 1)[-1])

    # ---------------------------------------------------------------- error helpers
    def _fail(self, code):
        """A QI command failed: remember the code for AT+QIGETERROR and answer."""
        self.last_err = code
        if not self.opts["qi_cme"] or self.cmee == 0:
            return ModemSim.error(self)
        if self.cmee == 1:
            return self.final("+CME ERROR: %d" % code)
        return self.final("+CME ERROR: %s" % QI_ERR.get(code, "unknown error"))

    def _good(self):
        self.last_err = 0

    def error(self):
        # a plain ERROR from inside a QI command (bad arguments) counts as 552
        if self._in_qi:
            self.last_err = E_PARAM
        ModemSim.error(self)

    _in_qi = False

    def _qi(self, fn, c):
        """Run a QI handler: QiError and malformed arguments become the family's
        error answer (plain ERROR by default) and set AT+QIGETERROR."""
        self._in_qi = True
        try:
            fn(c)
        except QiError as e:
            self._fail(e.code)
        except (ValueError, IndexError):
            self._fail(E_PARAM)
        finally:
            self._in_qi = False

    def handler_for(self, name):
        fn = super().handler_for(name)
        if fn is not None and name.startswith("+Q"):
            return lambda c, _fn=fn: self._qi(_fn, c)
        return fn

    @staticmethod
    def _ctx(c, i=0):
        ctx = c.int(i)
        if not 1 <= ctx <= NCTX:
            raise QiError(E_PARAM)
        return ctx

    @staticmethod
    def _connid(c, i=0):
        cid = c.int(i)
        if not 0 <= cid < NCONN:
            raise QiError(E_PARAM)
        return cid

    def _link(self, c, i=0):
        link = self.links.get(self._connid(c, i))
        if link is None:
            raise QiError(E_CLOSED)
        return link

    # ---------------------------------------------------------------- UG 2.1 QICSGP
    @command("+QICSGP")
    def at_qicsgp(self, c):
        if c.kind == "test":
            # UG 2.1 test response, as printed in the manual
            return self.answer("+QICSGP: (1-%d),1-IPV4,<apn>,<username>,<password>,(0-3)"
                               % NCTX)
        if c.kind != "set":
            return self.error()
        ctx = self._ctx(c)
        if len(c) == 1:
            t, apn, user, pwd, auth = self.csgp.get(ctx, (1, "", "", "", 0))
            # UG 2.1 example: +QICSGP: 1,"","","",0
            return self.answer('+QICSGP: %d,"%s","%s","%s",%d' % (t, apn, user, pwd, auth))
        ctype = c.int(1)
        apn = c.str(2, "")
        user, pwd = c.str(3, ""), c.str(4, "")
        auth = c.int(5, 0)
        # UG 2.1: <context_type> 1 IPV4 only; <authentication> 0-3
        if ctype != 1 or not 0 <= auth <= 3 or len(c) > 6:
            return self.error()
        self.csgp[ctx] = (ctype, apn, user, pwd, auth)
        self.ok()

    # ---------------------------------------------------------------- UG 2.2 QIACT
    @command("+QIACT")
    def at_qiact(self, c):
        if c.kind == "test":
            return self.answer("+QIACT: (1-%d)" % NCTX)
        if c.kind == "read":
            # UG 2.2: one line per activated context; none active -> OK alone
            lines = ['+QIACT: %d,1,1,"%s"' % (ctx, ip) for ctx, ip in sorted(self.contexts.items())]
            return self.answer(*lines)
        if c.kind != "set":
            return self.error()
        ctx = self._ctx(c)
        # family: activating an active context, without service, a broken context
        # (pdpdeact not yet cleared with QIDEACT) or a 4th context -> ERROR
        if ctx in self.contexts or not self.registered or self.cfun != 1 \
                or (ctx in self.broken and self.opts["pdpdeact_needs_qideact"]) \
                or len(self.contexts) >= MAX_ACTIVE:
            return self._fail(E_PDP_OPEN)
        self.broken.discard(ctx)
        ip = self.ip if ctx == 1 else "10.76.51.%d" % (21 + ctx)

        def done():
            if not self.registered:
                return self._fail(E_PDP_OPEN)
            if self.apn_rejected(self.csgp.get(ctx, (1, "", "", "", 0))[1]):
                # the network refuses the APN of AT+QICSGP: UG 2.2 "OK or ERROR",
                # the reason (561) left for AT+QIGETERROR (or +CME ERROR, qi_cme)
                return self._fail(E_PDP_OPEN)
            self.context_up(ctx, ip)
            self.dns.setdefault(ctx, ("10.76.0.1", "10.76.0.2"))
            self._good()
            self.ok()
            self.cgev("EPS PDN ACT", ctx)
        delay = int(self.opts["act_ms"])
        if delay:
            # UG 2.2: "Before the response is returned, other AT commands cannot be
            # executed" - the reply just waits
            self.after(delay, done)
        else:
            done()

    # ---------------------------------------------------------------- UG 2.3 QIDEACT
    @command("+QIDEACT")
    def at_qideact(self, c):
        if c.kind == "test":
            return self.answer("+QIDEACT: (1-%d)" % NCTX)
        if c.kind != "set":
            return self.error()
        ctx = self._ctx(c)
        # UG 2.3: deactivates the context and closes every connection in it
        for link in [l for l in self.links.values() if l.ctx == ctx]:
            self._drop_link(link)
        up = ctx in self.contexts
        self.context_down(ctx)
        self.broken.discard(ctx)
        self._good()
        self.ok()
        if up:
            self.cgev("ME PDN DEACT", ctx)

    def cgev(self, event, ctx):
        """cgev_urcs: a 3GPP +CGEV line (see the module docstring)."""
        if self.opts["cgev_urcs"]:
            self.urc("+CGEV: %s %d" % (event, ctx))

    # ---------------------------------------------------------------- UG 2.4 QIOPEN
    @command("+QIOPEN")
    def at_qiopen(self, c):
        if c.kind == "test":
            # UG 2.4 test response (the manual's table wraps it across cells, adding
            # spaces at the breaks; the module prints it without them)
            return self.answer('+QIOPEN: (1-%d),(0-11),"TCP/UDP/TCP LISTENER/UDP SERVICE",'
                               '"<IP_address>/<domain_name>",<remote_port>,<local_port>,(0-2)'
                               % NCTX)
        if c.kind == "read":
            return self.ok()  # UG 2.4: Read Command -> OK
        if c.kind != "set" or len(c) < 5 or len(c) > 7:
            return self._fail(E_PARAM)
        ctx, cid = self._ctx(c), self._connid(c, 1)
        stype = c.str(2).upper()
        host = c.str(3)
        rport = c.int(4)
        lport = c.int(5, 0)
        mode = c.int(6, 0)
        if stype not in SERVICE_TYPES or not 0 <= rport <= 65535 \
                or not 0 <= lport <= 65535 or mode not in (0, 1, 2):
            return self._fail(E_PARAM)
        if stype in ("TCP", "UDP") and not 1 <= rport <= 65535:
            return self._fail(E_PARAM)
        if mode == 2:
            return self._open_transparent(c, ctx, cid, stype, host, rport, lport)
        # UG 2.4: buffer / direct push -> OK, then +QIOPEN: <connectID>,<err>
        alone = self.opts["open_fail_alone"]
        err = E_ID_USED if cid in self.links else E_PDP_OPEN if ctx not in self.contexts \
            else self.fail_code("+QIOPEN") if alone else None
        if err is not None:
            if alone:  # open_fail_alone: the result line is the whole answer
                self.last_err = err
                return self.reply("+QIOPEN: %d,%d" % (cid, err))
            self.ok()
            return self._open_result(cid, err)
        if stype in ("TCP LISTENER", "UDP SERVICE"):
            rport = 0  # family: the remote port means nothing for a server
        link = Link(cid, stype, ctx, host, rport, lport, mode)
        self.links[cid] = link
        self._good()
        self.ok()
        delay = int(self.opts["connect_ms"])
        if delay:
            link.timer = self.after(delay, self._finish_open, link, delay)
        else:
            self._finish_open(link)

    def _finish_open(self, link, waited=0):
        link.timer = None
        if self.links.get(link.cid) is not link:
            return  # closed (QICLOSE, QIDEACT, network drop) before it finished
        err = self.fail_code("+QIOPEN")  # fail= fault
        if err is None:
            err = self._connect(link)
        if err:
            late = int(self.opts["fail_late_ms"]) - waited
            if late > 0:
                # fail_late_ms: the failure is reported that long after AT+QIOPEN
                link.timer = self.after(late, self._fail_open, link, err)
                return
            del self.links[link.cid]
        self._open_result(link.cid, err)
        if not err and link.conn is not None and link.conn.rx:
            self._notify(link)  # data that came while the result was pending

    def _fail_open(self, link, err):
        link.timer = None
        if self.links.get(link.cid) is not link:
            return
        del self.links[link.cid]
        self._open_result(link.cid, err)

    def _connect(self, link):
        """Open the real socket of a link; returns 0 or a family error code."""
        try:
            if link.stype == "TCP":
                conn = self.net.open_tcp(link.host, link.rport)
            elif link.stype == "UDP":
                conn = self.net.open_udp(link.host, link.rport, link.lport)
            elif link.stype == "TCP LISTENER":
                conn = self.net.listen_tcp(link.lport)
            else:
                conn = self._open_udp_service(link.lport)
        except NetError as e:
            return {"resolve": E_DNS, "refused": E_CONNECT, "notloopback": E_CONNECT,
                    "timeout": E_TIMEOUT, "bind": E_BIND}.get(e.kind, E_CONNECT)
        except OSError:
            return E_BIND
        conn.tag = link.cid
        link.conn = conn
        link.lport = conn.local_port
        if link.stype in ("TCP", "UDP"):
            link.host = conn.peer[0]  # AT+QISTATE shows the address, not the name
            link.state = S_CONNECTED
        elif link.stype == "TCP LISTENER":
            link.state = S_LISTENING
        else:
            link.state = S_CONNECTED
        return 0

    def _open_udp_service(self, port):
        # "UDP SERVICE" (UG 2.4 note 2): bound to <local_port>, talks to anybody on
        # 127.0.0.0/8. Registered with the core's net thread as a normal UDP Conn.
        sock = _DgramSock(port)
        conn = Conn(self.net, "udp", sock, None)
        self.net._add(conn)  # noqa: SLF001 - net.py has no public call for this
        return conn

    def _open_result(self, cid, err):
        self.last_err = err
        line = "+QIOPEN: %d,%d" % (cid, err)
        if self.opts["open_result_in_reply"]:
            self.urc_in_next_reply(line)
        else:
            self.urc(line)

    # ---------------------------------------------------------------- transparent mode
    def _open_transparent(self, c, ctx, cid, stype, host, rport, lport):
        # UG 2.4: transparent access mode answers CONNECT on success, else ERROR
        # (the reason is left for AT+QIGETERROR)
        if stype not in ("TCP", "UDP"):
            return self._fail(E_NOTSUP)
        if cid in self.links:
            return self._fail(E_ID_USED)
        if ctx not in self.contexts:
            return self._fail(E_PDP_OPEN)
        link = Link(cid, stype, ctx, host, rport, lport, 2)

        def go(waited=0):
            err = self.fail_code("+QIOPEN")  # fail= fault
            if err is None:
                err = self._connect(link)
            if err:
                late = int(self.opts["fail_late_ms"]) - waited
                if late > 0:
                    return self.after(late, self._fail, err)  # fail_late_ms
                return self._fail(err)
            self.links[cid] = link
            self._good()
            self._enter_transparent(link)
        delay = int(self.opts["connect_ms"])
        if delay:
            self.after(delay, go, delay)
        else:
            go()

    def _enter_transparent(self, link):
        link.mode = 2
        self.transp = self.last_transp = link
        guard = int(self.opts["guard_ms"])
        # UG 1.2 point 4: "+++" with a quiet guard time (T1 = 1 s) on both sides; the
        # pluses themselves may come at any pace shorter than that (family)
        esc = GuardedEscape(self, lambda data: self._tp_forward(link, data),
                            self._leave_transparent, guard, guard, guard)
        # UG 1.2 point 3: in transparent access mode the port is exclusive to the
        # connection; other URCs wait until it is back in command mode (the core
        # holds them while streaming)
        self.stream_begin("CONNECT", esc)
        link.dgrams = []
        pending = link.conn.read(len(link.conn.rx)) if link.conn is not None else b""
        if pending:
            self.raw(pending)
        if link.conn is None or link.conn.peer_closed:
            self._leave_transparent(carrier_lost=True)

    def _tp_forward(self, link, data):
        if self.transp is link and link.conn is not None and link.conn.open:
            link.conn.send(bytes(data))

    def _leave_transparent(self, carrier_lost=False):
        link = self.transp
        self.transp = None
        if carrier_lost:
            # UG 1.2 point 3: "the module will report NO CARRIER and exit from the
            # transparent access mode"; AT+QICLOSE is still needed
            self.stream_end("NO CARRIER")
        else:
            if link is not None:
                # UG 1.2 point 3: after "+++" returns OK the connection is in buffer mode
                link.mode = 0
                link.armed = True
            self.stream_end("OK")
        # back in command mode: what other services had to say came out (stream_end),
        # now the links whose data waited announce it
        for other in sorted(self.links.values(), key=lambda l: l.cid):
            if other.conn is not None and other.conn.rx and other.state != S_OPENING \
                    and (other.mode == 1 or other.armed):
                self._notify(other)

    @command("O")
    def at_o(self, c):
        # UG 1.2 point 5(2): ATO returns to the connection that left transparent mode
        # last; none -> NO CARRIER
        link = self.last_transp
        if link is None or self.links.get(link.cid) is not link or link.conn is None \
                or link.state != S_CONNECTED:
            return self.final("NO CARRIER")
        self._enter_transparent(link)

    # ---------------------------------------------------------------- UG 2.5 QICLOSE
    @command("+QICLOSE")
    def at_qiclose(self, c):
        # family: AT+QICLOSE=<connectID>[,<timeout>]; an unused id is OK too
        if c.kind == "test":
            return self.answer("+QICLOSE: (0-11),(0-65535)")
        if c.kind != "set":
            return self.error()
        cid = self._connid(c)
        c.int(1, 10)
        link = self.links.get(cid)
        if link is not None:
            self._drop_link(link)
        self._good()
        self.ok()

    def _drop_link(self, link):
        if link.timer:
            link.timer.cancel()
        if link.conn is not None:
            link.conn.close()
        if self.transp is link:
            self.transp = None
        self.links.pop(link.cid, None)

    # ---------------------------------------------------------------- QISTATE (family)
    def _state_line(self, l):
        return '+QISTATE: %d,"%s","%s",%d,%d,%d,%d,%d,%d,"uart1"' % (
            l.cid, l.stype, l.host, l.rport, l.lport, l.state, l.ctx, l.server_id, l.mode)

    @command("+QISTATE")
    def at_qistate(self, c):
        if c.kind == "test":
            return self.ok()
        links = sorted(self.links.values(), key=lambda l: l.cid)
        if c.kind in ("read", "exec"):
            return self.answer(*[self._state_line(l) for l in links])
        if c.kind != "set" or len(c) != 2:
            return self.error()
        qtype = c.int(0)
        if qtype == 0:
            ctx = self._ctx(c, 1)
            return self.answer(*[self._state_line(l) for l in links if l.ctx == ctx])
        if qtype == 1:
            link = self.links.get(self._connid(c, 1))
            return self.answer(*([self._state_line(link)] if link else []))
        self.error()

    # ---------------------------------------------------------------- QISEND (family)
    @command("+QISEND")
    def at_qisend(self, c):
        if c.kind == "test":
            return self.answer("+QISEND: (0-11),(0-%d)" % MAX_SEND)
        if c.kind != "set":
            return self.error()
        n = c.int(1) if len(c) >= 2 else None
        if n is not None and not 0 <= n <= MAX_SEND:
            raise QiError(E_PARAM)
        link = self._link(c)
        if n == 0 and len(c) == 2:
            # AT+QISEND=<id>,0: +QISEND: <total_send>,<acked>,<unacked>. Loopback
            # acknowledges at once.
            if link.conn is None or link.stype == "TCP LISTENER":
                raise QiError(E_CLOSED)
            self._good()
            return self.answer("+QISEND: %d,%d,0" % (link.conn.tx_total, link.conn.tx_total))
        dest = None
        if link.stype == "UDP SERVICE":
            if len(c) != 4:
                raise QiError(E_PARAM)
            dest = (c.str(2), c.int(3))
            try:
                if not ipaddress.IPv4Address(dest[0]).is_loopback:
                    raise QiError(E_CONNECT)
            except ValueError:
                raise QiError(E_PARAM)
        elif len(c) > 2:
            raise QiError(E_PARAM)
        if n == 0:
            raise QiError(E_PARAM)
        # family: "If the connection is not established, abnormally closed, or any
        # parameter is incorrect: ERROR"
        if link.state != S_CONNECTED or link.conn is None or link.conn.peer_closed \
                or link.stype == "TCP LISTENER" or link.mode == 2 or link.ssl is not None:
            raise QiError(E_CLOSED)
        self.collect(lambda data, reason: self._sent(link, data, reason, dest, self.qisde), n=n)

    def _sent(self, link, data, reason, dest=None, echo=False):
        """The data of AT+QISEND / AT+QSSLSEND (collect's on_done) goes out."""
        if reason == "esc":
            # family: ESC cancels the input; nothing is sent
            self.last_err = 571
            return self.final("SEND FAIL")
        if reason not in ("len", "ctrlz") or len(data) > MAX_SEND:
            return self._fail(E_PARAM)
        if echo:
            self.raw(data)  # AT+QISDE=1: the data comes back as it is typed
        if self.links.get(link.cid) is not link or link.conn is None \
                or not link.conn.open or link.conn.peer_closed:
            return self._fail(E_CLOSED)
        if self.send_fail_left > 0:
            self.send_fail_left -= 1
            return self.final("SEND FAIL")
        if dest is not None:
            try:
                link.conn.sock.sendto(data, dest)
                link.conn.tx_total += len(data)
                sent = len(data)
            except OSError:
                sent = 0
        else:
            sent = link.conn.send(data) if data else 0
        if sent != len(data):
            return self._fail(558)
        self._good()
        self.final("SEND OK")

    @command("+QISENDEX")
    def at_qisendex(self, c):
        # family: AT+QISENDEX=<connectID>,"<hex_string>" -> SEND OK / SEND FAIL / ERROR
        if c.kind == "test":
            return self.answer("+QISENDEX: (0-11),<hex_string>")
        if c.kind != "set" or len(c) != 2:
            return self.error()
        link = self._link(c)
        try:
            data = bytes.fromhex(c.str(1))
        except ValueError:
            raise QiError(E_PARAM)
        if not 1 <= len(data) <= MAX_SENDEX:
            raise QiError(E_PARAM)
        if link.state != S_CONNECTED or link.conn is None or link.conn.peer_closed \
                or link.stype in ("TCP LISTENER", "UDP SERVICE"):
            raise QiError(E_CLOSED)
        if self.send_fail_left > 0:
            self.send_fail_left -= 1
            return self.final("SEND FAIL")
        if link.conn.send(data) != len(data):
            raise QiError(558)
        self._good()
        self.final("SEND OK")

    @command("+QISDE")
    def at_qisde(self, c):
        # UG 2.10 (family): echo the data of AT+QISEND or not; default 1
        if c.kind == "test":
            return self.answer("+QISDE: (0,1)")
        if c.kind == "read":
            return self.answer("+QISDE: %d" % self.qisde)
        if c.kind != "set" or c.int(0) not in (0, 1):
            return self.error()
        self.qisde = c.int(0)
        self.ok()

    # ---------------------------------------------------------------- QIRD (family)
    @command("+QIRD")
    def at_qird(self, c):
        if c.kind == "test":
            return self.answer("+QIRD: (0-11),(0-%d)" % MAX_READ)
        if c.kind != "set" or len(c) > 2:
            return self.error()
        link = self._link(c)
        if link.stype == "TCP LISTENER" or link.conn is None:
            raise QiError(E_CLOSED)
        want = c.int(1, MAX_READ)  # "AT+QIRD=<id>" reads up to 1500 bytes
        if want == 0:
            # +QIRD: <total_receive_length>,<have_read_length>,<unread_length>
            self._good()
            return self.answer("+QIRD: %d,%d,%d" % (link.rx_total, link.read_total,
                                                    len(link.rx)))
        if not 0 < want <= MAX_READ or link.mode != 0 or link.ssl is not None:
            raise QiError(E_PARAM)  # direct push / transparent / TLS: nothing to read here
        self._read_out(link, want, "+QIRD")

    def _read_out(self, link, want, name):
        """Answer a read of up to want bytes (AT+QIRD / AT+QSSLRECV): name: <len>,
        the data, OK."""
        addr = None
        if link.udp and link.dgrams:
            # one datagram per read; a datagram longer than the read stays in part
            size, addr = link.dgrams[0]
            take = min(want, size)
            if take < size:
                link.dgrams[0] = (size - take, addr)
            else:
                link.dgrams.pop(0)
        else:
            take = min(want, len(link.rx))
        data = link.conn.read(take)
        link.read_total += len(data)
        if not link.rx:
            # UG 1.2: a new "recv" URC only after everything was read
            link.armed = True
        self._good()
        if not data:
            return self.answer(name + ": 0")
        if link.stype == "UDP SERVICE":
            head = '+QIRD: %d,"%s",%d' % (len(data), addr[0], addr[1])
        else:
            head = "%s: %d" % (name, len(data))
        # family (UG 2.8): +QIRD: <read_actual_length><CR><LF><data>. Header and
        # payload go out as one piece: a URC between them would be read as payload.
        self.log("<- %r + %d bytes" % (head, len(data)))
        wire = self.short_payload(data)  # short= fault: the header keeps len(data)
        self.raw(b"\r\n" + head.encode() + b"\r\n" + wire + b"\r\n")
        self.ok()

    # ---------------------------------------------------------------- incoming data
    def net_data(self, conn, data):
        link = self.links.get(conn.tag)
        if link is None or link.conn is not conn:
            return
        link.rx_total += len(data)
        if link is self.transp:
            self.raw(data)  # transparent access mode: straight to the port
            return
        addr = None
        if link.stype == "UDP SERVICE":
            addr = conn.sock.last_addr
        elif link.udp:
            addr = conn.peer
        if link.mode == 1 and link.state in (S_CONNECTED, S_CLOSING) and self.transp is None:
            self._push(link, data, addr)
            return
        conn.rx += data
        if link.udp:
            link.dgrams.append((len(data), addr))
        if link.state == S_CONNECTED and self.transp is None:
            self._notify(link)

    def _push(self, link, data, addr=None):
        # UG 1.2 point 2: +QIURC: "recv",<connectID>,<currentrecvlength><CR><LF><data>
        # (UDP SERVICE adds ,"<remoteIP>",<remote_port>, UG 2.4 note 2). Header and
        # payload go out as one piece: nothing may come between them.
        step = max(1, int(self.opts["push_max"]))
        for i in range(0, len(data), step):
            piece = data[i:i + step]
            head = '%s: "recv",%d,%d' % (self._urc_name(link), link.cid, len(piece))
            if link.stype == "UDP SERVICE" and addr:
                head += ',"%s",%d' % addr
            self.log("<- push %r" % head)
            wire = self.short_payload(piece)  # short= fault: the header keeps the length
            self.raw(b"\r\n" + head.encode() + b"\r\n" + wire + b"\r\n")
            link.read_total += len(piece)

    def _notify(self, link):
        # UG 1.2 point 1: +QIURC: "recv",<connectID> once, then silence until the
        # buffer was read empty with AT+QIRD
        if link.mode == 1:
            if link.udp and link.dgrams:
                for size, addr in link.dgrams:
                    self._push(link, link.conn.read(size), addr)
                link.dgrams = []
            else:
                self._push(link, link.conn.read(len(link.conn.rx)))
            return
        if not link.armed:
            return
        link.armed = False
        if self.opts["recv_len"]:
            self.urc('%s: "recv",%d,%d' % (self._urc_name(link), link.cid, len(link.rx)))
        else:
            self.urc('%s: "recv",%d' % (self._urc_name(link), link.cid))

    @staticmethod
    def _urc_name(link):
        # a connection of AT+QSSLOPEN reports as +QSSLURC (family SSL application note)
        return "+QIURC" if link.ssl is None else "+QSSLURC"

    def net_overflow(self, conn, lost):
        # The family's manuals do not describe a full receive buffer (the stack
        # closes the TCP window). The overflow= fault models a module that keeps
        # what fits and loses the rest silently.
        self.log("-- connectID %s receive buffer full, %d bytes lost" % (conn.tag, lost))

    def net_closed(self, conn):
        link = self.links.get(conn.tag)
        if link is None or link.conn is not conn:
            return
        if link is self.transp:
            link.state = S_CLOSING
            return self._leave_transparent(carrier_lost=True)
        if self.opts["close_discards"] and len(conn.rx) and link.mode == 0:
            # quirk: the data URC and the close URC back to back, unread data gone
            if link.armed:
                self._notify(link)
            self.urc('%s: "closed",%d' % (self._urc_name(link), link.cid))
            conn.rx.clear()
            link.dgrams = []
        else:
            # family 2.3.1: "closed" URC; the socket stays in state 4 "closing" until
            # AT+QICLOSE, and what was received can still be read
            self.urc('%s: "closed",%d' % (self._urc_name(link), link.cid))
        link.state = S_CLOSING

    def net_accept(self, listener, conn):
        server = self.links.get(listener.tag)
        if server is None or server.conn is not listener:
            return False
        free = [i for i in range(NCONN - 1, -1, -1) if i not in self.links]
        if not free:
            # family 2.3.3: no connectID left for the new client
            self.urc('+QIURC: "incoming full"')
            return False
        # family: the module picks a free id; its examples show the highest first (11)
        cid = free[0]
        mode = server.mode if self.opts["incoming_mode"] == "listener" else 0
        link = Link(cid, "TCP INCOMING", server.ctx, conn.peer[0], conn.peer[1],
                    server.lport, mode)
        link.server_id = server.cid
        link.state = S_CONNECTED
        link.conn = conn
        conn.tag = cid
        self.links[cid] = link
        # UG 2.4 note 1: +QIURC: "incoming",<connectID>,<serverID>,<remoteIP>,<remote_port>
        self.urc('+QIURC: "incoming",%d,%d,"%s",%d' % (cid, server.cid, conn.peer[0],
                                                      conn.peer[1]))
        return True

    # ---------------------------------------------------------------- network drop
    def on_network_drop(self, lost, conns):
        # family 2.3.5: +QIURC: "pdpdeact",<contextID> for each context the network
        # took; its sockets are dead (state closing) until AT+QICLOSE / AT+QIDEACT
        for ctx in sorted(lost):
            self.cgev("%s PDN DEACT" % self.drop_cause.upper(), ctx)
            if self.opts["cgev_urcs"] != "only":
                self.urc('+QIURC: "pdpdeact",%d' % ctx)
            self.broken.add(ctx)
        if self.transp is not None and self.transp.ctx in lost:
            self.transp.state = S_CLOSING
            self._leave_transparent(carrier_lost=True)
        for link in list(self.links.values()):
            if link.ctx in lost:
                if link.timer:
                    link.timer.cancel()
                    link.timer = None
                link.state = S_CLOSING
                if link.conn is not None:
                    link.conn.rx.clear()
                link.conn = None

    # ---------------------------------------------------------------- QISWTMD (family)
    @command("+QISWTMD")
    def at_qiswtmd(self, c):
        if c.kind == "test":
            return self.answer("+QISWTMD: (0-11),(0-2)")
        if c.kind != "set" or len(c) != 2:
            return self.error()
        link = self._link(c)
        mode = c.int(1)
        if mode not in (0, 1, 2) or link.stype in ("TCP LISTENER",):
            raise QiError(E_PARAM)
        self._good()
        if mode == 2:
            if link.stype not in ("TCP", "UDP", "TCP INCOMING") or link.conn is None \
                    or link.state != S_CONNECTED:
                raise QiError(E_NOT_ALLOWED)
            return self._enter_transparent(link)  # UG 1.2 point 5(1): CONNECT
        link.mode = mode
        self.ok()
        if link.conn is not None and link.conn.rx:
            link.armed = True
            self._notify(link)  # push mode: what waited in the buffer comes out now
        elif mode == 0:
            link.armed = True

    # ---------------------------------------------------------------- QIGETERROR (family)
    @command("+QIGETERROR")
    def at_qigeterror(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "exec":
            return self.error()
        self.answer("+QIGETERROR: %d,%s" % (self.last_err, QI_ERR.get(self.last_err,
                                                                     "unknown error")))

    # ---------------------------------------------------------------- DNS (family)
    def _lookup(self, name):
        """DNS through the simulator's hosts table only (never real DNS)."""
        try:
            return str(ipaddress.IPv4Address(name))
        except ValueError:
            return self.hosts.get(name.lower())

    @command("+QIDNSCFG")
    def at_qidnscfg(self, c):
        if c.kind == "test":
            return self.answer("+QIDNSCFG: (1-%d),<pridnsaddr>,<secdnsaddr>" % NCTX)
        if c.kind != "set":
            return self.error()
        ctx = self._ctx(c)
        if len(c) == 1:
            pri, sec = self.dns.get(ctx, ("0.0.0.0", "0.0.0.0"))
            return self.answer('+QIDNSCFG: %d,"%s","%s"' % (ctx, pri, sec))
        pri = c.str(1)
        sec = c.str(2, "0.0.0.0")
        for a in (pri, sec):
            try:
                ipaddress.IPv4Address(a)
            except ValueError:
                raise QiError(E_PARAM)
        self.dns[ctx] = (pri, sec)
        self.ok()

    @command("+QIDNSGIP")
    def at_qidnsgip(self, c):
        # family: AT+QIDNSGIP=<contextID>,<hostname> -> OK, then
        # +QIURC: "dnsgip",<err>,<IP_count>,<DNS_ttl> and one +QIURC: "dnsgip","<ip>"
        # per address; a failure is +QIURC: "dnsgip",<err> alone
        if c.kind == "test":
            return self.answer("+QIDNSGIP: (1-%d),<hostname>" % NCTX)
        if c.kind != "set" or len(c) != 2:
            return self.error()
        ctx = self._ctx(c)
        name = c.str(1)
        if ctx not in self.contexts:
            raise QiError(E_PDP_OPEN)
        self._good()
        self.ok()
        ip = self._lookup(name)

        def report():
            if ip is None:
                self.urc('+QIURC: "dnsgip",%d' % E_DNS)
                return
            self.urc('+QIURC: "dnsgip",0,1,600')
            self.urc('+QIURC: "dnsgip","%s"' % ip)
        self._later(report)

    def _later(self, fn):
        d = int(self.opts["dns_ms"])
        if d:
            self.after(d, fn)
        else:
            fn()

    # ---------------------------------------------------------------- QPING (family)
    @command("+QPING")
    def at_qping(self, c):
        # family: AT+QPING=<contextID>,<host>[,<timeout>[,<pingnum>]] -> OK, then one
        # +QPING: 0,"<ip>",<bytes>,<time>,<ttl> per echo (or +QPING: <err>) and
        # +QPING: 0,<sent>,<rcvd>,<lost>,<min>,<max>,<avg>; an unknown host is
        # +QPING: 565 alone. There is no ICMP here: loopback hosts answer, anything
        # else times out.
        if c.kind == "test":
            return self.answer("+QPING: (1-%d),<host>,(1-255),(1-10)" % NCTX)
        if c.kind != "set" or not 2 <= len(c) <= 4:
            return self.error()
        ctx = self._ctx(c)
        host = c.str(1)
        timeout, num = c.int(2, 4), c.int(3, 4)
        if not 1 <= timeout <= 255 or not 1 <= num <= 10:
            raise QiError(E_PARAM)
        if ctx not in self.contexts:
            raise QiError(E_PDP_OPEN)
        self._good()
        self.ok()
        ip = self._lookup(host)
        if ip is None:
            return self._later(lambda: self.urc("+QPING: %d" % E_DNS))
        alive = ipaddress.IPv4Address(ip).is_loopback
        times = []

        def one(i):
            if ctx not in self.contexts:
                return self.urc("+QPING: %d" % E_PDP_OPEN)
            if alive:
                t = self.rng.randint(1, 5)
                times.append(t)
                self.urc('+QPING: 0,"%s",32,%d,255' % (ip, t))
            else:
                self.urc("+QPING: %d" % E_TIMEOUT)
            if i + 1 < num:
                self.after(step, one, i + 1)
            else:
                rcvd = len(times)
                self.urc("+QPING: 0,%d,%d,%d,%d,%d,%d" % (
                    num, rcvd, num - rcvd, min(times or [0]), max(times or [0]),
                    sum(times) // rcvd if rcvd else 0))
        step = int(self.opts["ping_ms"]) if alive else timeout * 1000
        self.after(step, one, 0)

    # ---------------------------------------------------------------- QNTP (family)
    @command("+QNTP")
    def at_qntp(self, c):
        # family: AT+QNTP=<contextID>,<server>[,<port>[,<autosettime>]] -> OK, then
        # +QNTP: 0,"<yyyy/MM/dd,hh:mm:ss+zz>" or +QNTP: <err>. No real NTP traffic:
        # a server the hosts table knows answers with this machine's UTC time.
        if c.kind == "test":
            return self.answer("+QNTP: (1-%d),<server>,(1-65535),(0,1)" % NCTX)
        if c.kind != "set" or not 2 <= len(c) <= 4:
            return self.error()
        ctx = self._ctx(c)
        server = c.str(1)
        port, autoset = c.int(2, 123), c.int(3, 1)
        if not 1 <= port <= 65535 or autoset not in (0, 1):
            raise QiError(E_PARAM)
        if ctx not in self.contexts:
            raise QiError(E_PDP_OPEN)
        self._good()
        self.ok()
        ip = self._lookup(server)

        def report():
            if ip is None:
                return self.urc("+QNTP: %d" % E_DNS)
            t = time.gmtime()
            self.urc('+QNTP: 0,"%04d/%02d/%02d,%02d:%02d:%02d+00"' % (
                t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec))
        self._later(report)

    # ---------------------------------------------------------------- QICFG (family)
    @command("+QICFG")
    def at_qicfg(self, c):
        if c.kind == "test":
            return self.answer('+QICFG: "transpktsize",(1-1460)',
                               '+QICFG: "transwaittm",(0-20)',
                               '+QICFG: "dataformat",(0,1),(0,1)',
                               '+QICFG: "viewmode",(0,1)',
                               '+QICFG: "tcp/retranscfg",(3-20),(1000-6000)',
                               '+QICFG: "tcp/keepalive",(0,1),(1-120),(25-100),(3-10)')
        if c.kind != "set":
            return self.error()
        key = c.str(0).lower()
        if key not in self.qicfg:
            return self.error()
        if len(c) == 1:
            return self.answer('+QICFG: "%s",%s' % (key, self.qicfg[key]))
        vals = c.args[1:]
        if not all(v.isdigit() for v in vals):
            return self.error()
        if key in ("dataformat", "viewmode") and any(v != "0" for v in vals):
            # hex data and the one-line view mode are not simulated: refuse rather
            # than answer in a form the real module would not use then
            return self.error()
        self.qicfg[key] = ",".join(vals)
        self.ok()


PERSONALITY = Quectel
