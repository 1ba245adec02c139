"""SIMCom SIM7600 / A7600 personality: AT+NETOPEN and the AT+CIP* TCP/UDP family.

Sources (cited below):
  "7600 manual"  /work/shared/manuals/simcom-sim7600-cip-tcpip.txt, sections L11xx
                 (a web copy of the SIM7500/SIM7600 TCPIP AT manual; examples inline)
  "A7600 manual" /work/shared/manuals/simcom-a7600-cip-tcpip-manual.txt (OCR of the
                 A7600 series TCPIP manual: ch.1.2 data access modes, ch.2 commands,
                 ch.3 <err_info>, ch.4 <err>, ch.5 URCs, ch.6 worked examples)

Receive modes (A7600 manual 1.2): direct push (default: "RECV FROM:<ip>:<port>" and
"+IPD<len>" lines, then the data), buffer access (AT+CIPRXGET=1: "+CIPRXGET: 1,<link>"
then AT+CIPRXGET=2/3/4) and transparent (AT+CIPMODE=1 before AT+NETOPEN; link 0 or
server 0 only; "+++" with guard times back to command mode, ATO to return).

Module TLS (the AT+CCH* SSL service, AT+CSSLCFG, AT+CCERT*): sim7600_ssl.py.

Where the two manuals disagree, or are silent, the choice is said next to the code.
Options (sim(opts={...}) or --opt key=value):
  prompt          "\\r\\n>" data prompt of AT+CIPSEND. Both manuals: Response ">"
                  (no space), shown on its own line like every SIMCom response.
  recv_from_plus  False: "RECV FROM:<ip>:<port>" (7600 manual L1106/L1109, A7600
                  examples 6.2.1.3 and 6.3.1.3). True: "+RECV FROM:" as A7600 1.2/2.5
                  print it (some A76xx firmware).
  connect_ms      0. Time between OK and "+CIPOPEN: <link>,0" for TCP (a real network
                  takes 0.1-60 s; the result URC then lands anywhere).
  open_result_in_reply  False. True: the TCP +CIPOPEN result URC is held back and comes
                  out inside the next, unrelated command's reply.
  open_fail_alone  False. True: a failed AT+CIPOPEN (also a refused connection or a
                  fail= fault, which otherwise answer OK and the result later) answers
                  "+CIPOPEN: <link>,<err>" alone, without the ERROR L1103 puts after it.
                  A test aid, not a form seen in captures: the library must take a
                  failure line as final (issue 19 item 4) in every family, as real
                  SIM7080 firmware needs (+CAOPEN: <cid>,<err> alone).
  netopen_ms      0. Time between OK and "+NETOPEN: 0".
  close_discards  False. True: when the peer closes with data still unread (buffer
                  mode), "+CIPRXGET: 1,<link>" and "+IPCLOSE: <link>,1" come back to
                  back and the unread data is dropped (seen on real firmware).
  udp_close_form  "manual": UDP AT+CIPCLOSE answers "+CIPCLOSE: <link>,0" then OK (7600
                  manual L1104, A7600 2.6 and example 6.3.1.4). "ok_first": OK then the
                  URC, as A7600 example 6.3.2.4 prints it for UDP too.
  serverstop_check  True: AT+SERVERSTOP refuses while clients of that server are open
                  (7600 manual L1115 note, A7600 2.15). False: it stops anyway, as
                  A7600 example 6.4.2 shows (client on link 0 still open).
  drop_keeps_netopen  False: after "+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY" the
                  network library counts as closed (AT+NETOPEN? -> 0, AT+NETOPEN works
                  again). True: it stays "opened" (AT+NETOPEN? -> 1) and the host must
                  AT+NETCLOSE first (A7600 ch.5 describes both situations).
  drop_ipclose    False. True: a network drop also reports "+IPCLOSE: <link>,1" for
                  every open link after the +CIPEVENT line.
  guard_ms        1000. Silence needed before and after "+++" (A7600 1.2: "more than
                  1000 milliseconds"); the three '+' at most 0.9 of it apart (900 ms,
                  A7600 1.2). Tests make it short. URCs wait while the UART carries
                  data and come after the escape's OK or after CLOSED.
  ping_scale      1.0. Multiplies every AT+CPING interval and wait time (tests: 0.01).
  srip_default    1. AT+CIPSRIP after power-on: both manuals say 1 (show "RECV FROM");
                  0 models firmware that leaves the line out until AT+CIPSRIP=1.
  netopen_bare_error  False. True: AT+NETOPEN while the network is open answers a
                  bare ERROR, not "+IP ERROR: Network is already opened" (SIM7600G-H
                  firmware in users' logs; AT+NETOPEN? still answers +NETOPEN: 1).
  netopen_auto    False. True: the network is already open when the host first asks
                  (it opens once the module registers, silently), as after a host
                  restart that left the module running, or firmware set to open it.
                  The netopen_bare_error quirk turns both on.
  cgev_urcs       False. True: 3GPP packet domain URCs (27.007 10.1.19) as A7670 /
                  A76xx and SIM7600 firmware print them in users' logs: "+CGEV: EPS PDN
                  ACT <cid>" when the context comes up (AT+NETOPEN, netopen_auto),
                  "+CGEV: ME PDN DEACT <cid>" when the host closes it (AT+NETCLOSE,
                  AT+CFUN=0), "+CGEV: NW PDN DEACT <cid>" when the network takes it
                  (drop= fault), before "+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY".
                  "only": the +CGEV line without the +CIPEVENT line (a test aid: the
                  host must act on +CGEV alone).

Injected failures (fault knobs, see core.Faults): fail=+CIPOPEN:CODE opens fail with
<err> CODE ("+CIPOPEN: <link>,<CODE>" after OK; CONNECT FAIL in transparent mode);
short= cuts +CIPRXGET 2/3 and +IPD payloads; fail_late_ms (core option) delays a failed
TCP open's result (late_fail quirk: open_max_ms + 0.5 s).

UDP: direct push reports every datagram on its own ("RECV FROM:<ip>:<port>" and
"+IPD<len>", A7600 1.2), also the datagrams that waited in the buffer when the host
switches from buffer mode back to push mode. In buffer access mode the datagrams wait
joined: AT+CIPRXGET=2/3 reads bytes ("+CIPRXGET: 2,<link>,<read_len>,<rest_len>", no
sender, rest_len counts the whole buffer: A7600 example 6.3.2.3), so that read cannot
tell datagrams apart.
"""
import ipaddress
import socket
import time

from .gnss import CGPSReceiver
from .sim7600_ssl import CCHCommands
from .core import GuardedEscape, ModemSim, command, NetError
from .net import Conn

NLINK = 10  # <link_num> 0-9
NSERVER = 4  # <server_index> 0-3
MAX_SEND = 1500  # AT+CIPSEND <length> 1-1500
MAX_READ = 1500  # AT+CIPRXGET=2 default/maximum
MAX_HEX = 750  # AT+CIPRXGET=3 default/maximum
PUSH_MAX = 1500  # direct push: "maximum length of output data at one time is 1500"

# A7600 manual ch.4 <err> (+NETOPEN, +CIPOPEN, +CIPCLOSE, +CIPERROR, +SERVERSTOP)
E_OK, E_NET, E_NOTOPEN, E_PARAM, E_NOTSUP, E_SOCKET, E_BIND, E_LISTENING = range(8)
E_BUSY, E_SOCKETS_OPEN, E_TIMEOUT, E_DNS, E_UNKNOWN = range(8, 13)

# A7600 manual ch.3 <err_info> (+IP ERROR: ...), numeric with AT+CIPCCFG <errMode>=0
ERR_INFO = {
    0: "Connection time out", 1: "Bind port failed", 2: "Port overflow",
    3: "Create socket failed", 4: "Network is already opened",
    5: "Network is already closed", 6: "No clients connected", 7: "No active client",
    8: "Network not opened", 9: "Client index overflow",
    10: "Connection is already created", 11: "Connection is not created",
    12: "Invalid parameter", 13: "Operation not supported", 14: "DNS query failed",
    15: "TCP busy", 16: "Net close failed for socket opened", 17: "Sending time out",
    18: "Sending failure for network error", 19: "Open failure for network error",
    20: "Server is already listening", 21: "Operation failed", 22: "No data",
}
I_ALREADY_OPEN, I_NOT_OPEN, I_NOT_CREATED, I_PARAM, I_NOTSUP, I_NODATA = 4, 8, 11, 12, 13, 22

CIPCCFG_DEFAULT = [10, 0, 0, 1, 0, 0, 500]  # 7600 manual L1113 defaults
CIPCCFG_RANGE = [(0, 10), (0, 1000), (0, 0), (0, 1), (0, 1), (0, 1), (500, 120000)]


class _UdpSocket:
    """An unconnected UDP socket that looks connected to net.Conn.

    A SIM7600 UDP link is opened with only a local port (AT+CIPOPEN=1,"UDP",,,5000) and
    every AT+CIPSEND names its destination, while received datagrams report their
    sender ("RECV FROM:<ip>:<port>"). net.open_udp() connects the socket to one peer,
    so this personality builds its own: send() goes to `dest`, recv() notes `last_from`.
    """

    def __init__(self, local_port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind(("127.0.0.1", int(local_port)))
        except OSError:
            self.sock.close()
            raise
        self.sock.setblocking(False)
        self.dest = None
        self.last_from = None

    def fileno(self):
        return self.sock.fileno()

    def getsockname(self):
        return self.sock.getsockname()

    def setblocking(self, flag):
        self.sock.setblocking(flag)

    def send(self, data):
        if self.dest is None:
            raise OSError("no destination")
        return self.sock.sendto(data, self.dest)

    def recv(self, n):
        data, self.last_from = self.sock.recvfrom(n)
        return data

    def shutdown(self, how):
        pass

    def close(self):
        self.sock.close()


class Link:
    """One <link_num> (client socket, UDP socket, or a client accepted by a server)."""

    def __init__(self, num, ctype, host="", port=0, server=-1):
        self.num = num
        self.ctype = ctype  # "TCP" / "UDP"
        self.host = host  # as the host gave it (AT+CIPOPEN? prints it back)
        self.port = port
        self.server = server  # <index>: -1 client, 0-3 accepted by that server
        self.conn = None
        self.state = "opening"  # "opening" -> "open" -> "closed" (peer gone, data kept)
        self.armed = True  # next arrival raises "+CIPRXGET: 1,<link>"
        self.transparent = False
        self.dgrams = []  # UDP: [length, sender] of each datagram waiting in conn.rx

    def took(self, n):
        """n bytes were read from the buffer: the datagrams they came from shrink."""
        while n > 0 and self.dgrams:
            d = self.dgrams[0]
            if d[0] > n:
                d[0] -= n
                return
            n -= d[0]
            self.dgrams.pop(0)

    @property
    def rx(self):
        return self.conn.rx if self.conn is not None else bytearray()


class Sim7600(CCHCommands, CGPSReceiver, ModemSim):
    name = "sim7600"
    manufacturer = "SIMCOM INCORPORATED"
    model = "SIMCOM_SIM7600E-H"
    revision = "LE20B04SIM7600M22"
    imei = "862636051234567"
    ip = "10.148.0.17"  # A7600 example 6.1.3
    act = 7
    prompt = b"\r\n>"
    default_cmee = 0
    noise_urcs = ("+CGEV: NW MODIFY 1,0", "+CREG: 1", "+CTZV: +32,0", "+CSQ: 25,99")
    defaults = {
        "prompt": "\r\n>",
        "recv_from_plus": False,
        "connect_ms": 0,
        "open_result_in_reply": False,
        "open_fail_alone": False,
        "netopen_ms": 0,
        "close_discards": False,
        "udp_close_form": "manual",
        "serverstop_check": True,
        "drop_keeps_netopen": False,
        "drop_ipclose": False,
        "guard_ms": 1000,
        "ping_scale": 1.0,
        "srip_default": 1,
        "netopen_bare_error": False,
        "netopen_auto": False,
        "cgev_urcs": False,
    }
    quirk_table = {
        "netopen_bare_error": {"netopen_bare_error": True, "netopen_auto": True},
        "cgev": {"cgev_urcs": True},
    }
    open_max_ms = 120000  # 7600 manual L1103: AT+CIPOPEN 120000 ms (AT+CIPTIMEOUT)

    # Power and sleep (not in the TCP/IP manuals; the SIM7600/A7600 AT manuals and
    # hardware designs): AT+CPOF answers OK and the module powers off, printing
    # nothing more; the family has no AT+CPOWD. AT+CSCLK=1 lets the module sleep while
    # DTR is high; DTR low wakes it, and a sleeping module does not listen to the UART.
    unsupported = ("+CPOWD",)
    dtr_sleep = (1,)

    @command("+CPOF")
    def at_cpof(self, c):
        if c.kind != "exec":
            return self.ok() if c.kind == "test" else self.error()
        self.power_off(ok=True)

    def __init__(self, **kw):
        super().__init__(**kw)
        # (from the command line the prompt arrives with backslash escapes: "\\r\\n>")
        self.prompt = self.opts["prompt"].encode("latin-1").decode(
            "unicode_escape").encode("latin-1")

    def reset_state(self):
        super().reset_state()
        self.links = {}  # link_num -> Link
        self.servers = {}  # server_index -> listening Conn
        self.net_open = False  # the network library (AT+NETOPEN)
        self.cipmode = 0  # AT+CIPMODE
        self.rxget = 0  # AT+CIPRXGET <mode>: 0 direct push, 1 buffer access
        self.head = 1  # AT+CIPHEAD default 1 (7600 manual L1108)
        self.srip = int(self.opts["srip_default"])  # default 1 (7600 manual L1109)
        self.sendmode = 0  # AT+CIPSENDMODE
        self.timeouts = [120000, 120000, 120000]  # AT+CIPTIMEOUT
        self.ccfg = list(CIPCCFG_DEFAULT)  # AT+CIPCCFG
        self.dnsset = [3, 30000, 7]  # AT+CIPDNSSET (L1133 defined values)
        self.ping = None
        self.data_link = None  # the transparent link while in data mode
        self.pdp_cid = 1  # AT+CSOCKSETPN
        self.cch_reset()  # module TLS (sim7600_ssl.py)

    # ---------------------------------------------------------------- power-on
    def banner_lines(self):
        # SIM7600 family power-on output: RDY, the SIM state, then SMS DONE and
        # PB DONE once the SIM is read (SIM7500/SIM7600 Series AT manual, 2.x URCs).
        if self.sim_state == "absent":
            return ["RDY", "+CPIN: SIM REMOVED"]
        lines = ["RDY", self.cpin_line()]
        if self.pin_ok:
            lines += ["SMS DONE", "PB DONE"]
        return lines

    def after_unlock(self):
        self.urc("SMS DONE", hold=False)
        self.urc("PB DONE", hold=False)

    @command("I")
    def at_i(self, c):
        self.answer("Manufacturer: " + self.manufacturer, "Model: " + self.model,
                    "Revision: " + self.revision, "IMEI: " + self.imei, "+GCAP: +CGSM")

    @command("+CGMR")
    def at_cgmr(self, c):
        if c.kind == "test":
            return self.ok()
        self.answer("+CGMR: " + self.revision)  # SIM7600 prefixes its revision

    @command("+CICCID")
    def at_ciccid(self, c):
        # SIM7600 reads the ICCID with AT+CICCID, answer "+ICCID: <iccid>"
        if c.kind == "test":
            return self.ok()
        if self.sim_check() == 10:
            return self.cme_error(10)
        self.answer("+ICCID: " + self.iccid)

    @command("+CSQ")
    def at_csq(self, c):
        # A7600 example 6.1.1 shows "+CSQ: 25,99"
        if c.kind == "test":
            return self.answer("+CSQ: (0-31,99),(0-7,99)")
        self.answer("+CSQ: 25,99" if self.cfun == 1 and self.sim_check() is None
                    else "+CSQ: 99,99")

    @command("+CPSI")
    def at_cpsi(self, c):
        if c.kind == "test":
            return self.ok()
        if not self.registered:
            return self.answer("+CPSI: NO SERVICE,Online")
        # A7600 example 6.1.1, with this simulator's PLMN
        self.answer("+CPSI: LTE,Online,%s-%s,0x1816,27593483,139,EUTRAN-BAND39,38400,"
                    "5,5,-88,-868,-578,18" % (self.plmn[:3], self.plmn[3:]))

    @command("+CSOCKSETPN")
    def at_csocksetpn(self, c):
        # SIM7600 AT manual: the PDP context AT+NETOPEN uses (default 1)
        if c.kind == "test":
            return self.answer("+CSOCKSETPN: (1-16)")
        if c.kind == "read":
            return self.answer("+CSOCKSETPN: %d" % self.pdp_cid)
        cid = c.int(0)
        if not 1 <= cid <= 16:
            return self.error()
        self.pdp_cid = cid
        self.ok()

    @command("+CGAUTH", "+CNMP", "+CMNB", "+IPR", "+IFC", "+CNETLIGHT", "+CTZU",
             "+CGEREP", "+CATR", "+CVAUXS")
    def at_accept(self, c):
        # set-up commands drivers send: accepted, not modelled
        self.ok()

    # ---------------------------------------------------------------- helpers
    def ip_error(self, info):
        """"+IP ERROR: <err_info>" then ERROR; numeric with AT+CIPCCFG <errMode>=0."""
        text = ERR_INFO[info] if self.ccfg[3] else str(info)
        self.reply("+IP ERROR: " + text)
        self.error()

    def cip_error(self, err):
        """"+CIPERROR: <err>" then ERROR (7600 manual L1105, L1114)."""
        self.reply("+CIPERROR: %d" % err)
        self.error()

    def _link_num(self, c, i=0):
        n = c.int(i)
        if not 0 <= n < NLINK:
            raise ValueError("link")
        return n

    def _free_link(self):
        for n in range(NLINK):
            if n not in self.links:
                return n
        return None

    def _drop_link(self, link):
        if link.conn is not None:
            link.conn.close()
        if self.links.get(link.num) is link:
            del self.links[link.num]
        if self.data_link is link:
            self.leave_data_mode()

    @property
    def net_up(self):
        return self.net_open and self.pdp_cid in self.contexts

    def _resolve_any(self, host):
        """Name -> IPv4 text through the hosts table (may be non-loopback), or None."""
        try:
            return str(ipaddress.IPv4Address(host.strip()))
        except ValueError:
            return self.hosts.get(host.strip().lower())

    # ---------------------------------------------------------------- L1101 NETOPEN
    @command("+NETOPEN")
    def at_netopen(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind == "read":
            return self.answer("+NETOPEN: %d" % (1 if self.net_open else 0))
        if c.kind != "exec":
            return self.error()
        if self.net_open:
            if self.opts["netopen_bare_error"]:
                return self.error()  # SIM7600G-H firmware (users' logs): bare ERROR
            return self.ip_error(I_ALREADY_OPEN)  # "+IP ERROR: Network is already opened"
        self.ok()
        if not self.registered or self.cfun != 1:
            return self._later(self.opts["netopen_ms"], self.urc, "+NETOPEN: %d" % E_NET)
        apn = self.cgdcont.get(self.pdp_cid, ("", ""))[1]
        if self.apn_rejected(apn):
            # the network refuses the context's APN: OK, then "+NETOPEN: <err>" with
            # <err> 1 "Network failure" (A7600 ch.4; the manuals show no other code for it)
            return self._later(self.opts["netopen_ms"], self.urc, "+NETOPEN: %d" % E_NET)
        self.net_open = True
        self.context_up(self.pdp_cid, self.ip)

        def report():
            self.urc("+NETOPEN: 0")
            self.cgev("EPS PDN ACT", self.pdp_cid)
        self._later(self.opts["netopen_ms"], report)

    def cgev(self, event, cid):
        """cgev_urcs: a 3GPP +CGEV line (see the module docstring)."""
        if self.opts["cgev_urcs"]:
            self.urc("+CGEV: %s %d" % (event, cid))

    def on_registration(self, stat):
        super().on_registration(stat)
        if self.opts["netopen_auto"] and self.registered and self.cfun == 1 \
                and not self.net_open:
            # netopen_auto: open already, without a word (see the module docstring)
            self.net_open = True
            self.context_up(self.pdp_cid, self.ip)
            self.cgev("EPS PDN ACT", self.pdp_cid)

    def _later(self, ms, fn, *args):
        if ms:
            self.after(ms, fn, *args)
        else:
            fn(*args)

    # ---------------------------------------------------------------- L1102 NETCLOSE
    @command("+NETCLOSE")
    def at_netclose(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "exec":
            return self.error()
        if not self.net_open:
            # "If the PDP context has not been activated: +NETCLOSE: <err> ERROR"
            self.reply("+NETCLOSE: %d" % E_NOTOPEN)
            return self.error()
        self.ok()
        # A7600 2.2: a transparent connection is reported closed first
        for link in sorted(self.links.values(), key=lambda l: l.num):
            if link.transparent and link.state == "open":
                self.urc("CLOSED")
                self.urc("+CIPCLOSE: %d,0" % link.num)
            self._drop_link(link)
        self._stop_servers()
        self.net_open = False
        up = self.pdp_cid in self.contexts
        self.context_down(self.pdp_cid)
        self.urc("+NETCLOSE: 0")
        if up:
            self.cgev("ME PDN DEACT", self.pdp_cid)

    def _stop_servers(self):
        for idx in list(self.servers):
            self.servers.pop(idx).close()

    def on_network_drop(self, lost, conns):
        # A7600 ch.5: "+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY ... user's application
        # needs to check and close all opened sockets, and then uses AT+NETCLOSE"
        if not self.net_open:
            return
        # a transparent link ends first: CLOSED leaves data mode, then the URCs
        self.leave_data_mode("CLOSED")
        if self.pdp_cid in lost:
            self.cgev("%s PDN DEACT" % self.drop_cause.upper(), self.pdp_cid)
        only = self.opts["cgev_urcs"] == "only"
        if not only:
            self.urc("+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY")
        for link in sorted(self.links.values(), key=lambda l: l.num):
            if self.opts["drop_ipclose"] and link.state == "open" and not only:
                self.urc("+IPCLOSE: %d,1" % link.num)
            link.conn = None
        self.links.clear()
        self._cch_network_drop()
        self.servers.clear()  # the core closes every socket right after this hook
        self.net_open = bool(self.opts["drop_keeps_netopen"])

    # ---------------------------------------------------------------- L1107 IPADDR
    @command("+IPADDR")
    def at_ipaddr(self, c):
        if c.kind == "test":
            return self.ok()
        if not self.net_up:
            return self.ip_error(I_NOT_OPEN)
        self.answer("+IPADDR: %s" % self.contexts[self.pdp_cid])

    # ---------------------------------------------------------------- L1103 CIPOPEN
    @command("+CIPOPEN")
    def at_cipopen(self, c):
        if c.kind == "test":
            return self.answer('+CIPOPEN: (0-9),("TCP","UDP")')
        if c.kind == "read":
            return self.answer(*[self._cipopen_line(n) for n in range(NLINK)])
        if c.kind != "set":
            return self.error()
        n = c.int(0)
        if not 0 <= n < NLINK:
            return self.ip_error(I_PARAM)  # "+IP ERROR: Invalid parameter"
        ctype = c.str(1, "").upper()
        if ctype not in ("TCP", "UDP") or (self.cipmode and n != 0):
            return self._open_fail(n, E_PARAM)
        if not self.net_open:
            return self._open_fail(n, E_NOTOPEN)
        if n in self.links:
            # the link is taken (also by a peer-closed link whose data is unread):
            # public SIM7600 drivers see "+CIPOPEN: <link>,4" here
            return self._open_fail(n, E_NOTSUP)
        if not self.net_up:
            return self._open_fail(n, E_NET)  # library opened, bearer gone
        if ctype == "UDP":
            return self._open_udp(c, n)
        host = c.str(2)
        port = c.int(3)
        if not host or not 0 < port <= 65535:
            # "for Qualcomm, connecting the port 0 is regarded as an invalid operation"
            return self._open_fail(n, E_PARAM)
        # <localPort> (c.args[4]) is accepted but not bound: net.open_tcp picks one
        link = Link(n, "TCP", host, port)
        err = self.fail_code("+CIPOPEN")  # fail= fault
        if err is None:
            err = E_OK
            try:
                link.conn = self.net.open_tcp(host, port)
            except NetError as e:
                # <err> table: 11 DNS parse failed for AT+CIPOPEN, 10 Timeout, 1 Network
                # failure (a refused connection; public drivers see 1 or 4 here)
                err = {"resolve": E_DNS, "timeout": E_TIMEOUT,
                       "notloopback": E_TIMEOUT}.get(e.kind, E_NET)
        if err == E_OK:
            link.conn.tag = link
            self.links[n] = link
        elif self.opts["open_fail_alone"] and not self.cipmode:
            return self._open_fail(n, err)
        if self.cipmode:
            # transparent: "CONNECT [<text>]" or "CONNECT FAIL" (7600 manual L1103)
            if err != E_OK:
                return self.final("CONNECT FAIL")
            link.transparent = True
            link.state = "open"
            return self.enter_data_mode(link)
        # "if PDP context has been activated successfully: OK, +CIPOPEN: <link>,<err>"
        self.ok()
        line = "+CIPOPEN: %d,%d" % (n, err)

        def report():
            if err == E_OK:
                if self.links.get(n) is not link:
                    return
                link.state = "open"
            if self.opts["open_result_in_reply"]:
                self.urc_in_next_reply(line)
            else:
                self.urc(line)
            if err == E_OK:
                self._deliver(link)
                if link.conn.peer_closed:
                    self.net_closed(link.conn)  # the peer left before the result
        delay = int(self.opts["connect_ms"])
        self._later(delay if err == E_OK else self.fail_delay(delay), report)

    def _open_fail(self, n, err):
        # "+CIPOPEN: <link_num>,<err>" then ERROR (no OK first); open_fail_alone: no ERROR
        self.reply("+CIPOPEN: %d,%d" % (n, err))
        if not self.opts["open_fail_alone"]:
            self.error()

    def _open_udp(self, c, n):
        # AT+CIPOPEN=<link>,"UDP",,,<localPort>  (7600 manual L1103; remote optional:
        # A7600 6.3.3.1 gives it, AT+CIPOPEN=0,"UDP","<ip>",<port>,<localPort>)
        host = c.str(2, "")
        port = c.int(3, 0)
        local = c.int(4, 0)
        if not 0 <= port <= 65535 or not 0 <= local <= 65535:
            return self._open_fail(n, E_PARAM)
        if self.cipmode and (not host or not port):
            return self.final("CONNECT FAIL")  # transparent UDP needs the remote
        code = self.fail_code("+CIPOPEN")  # fail= fault
        if code is not None:
            return self.final("CONNECT FAIL") if self.cipmode else self._open_fail(n, code)
        dest = None
        if host:
            try:
                dest = (self.net.resolve(host), port)
            except NetError as e:
                return self._open_fail(n, E_DNS if e.kind == "resolve" else E_PARAM)
        try:
            us = _UdpSocket(local)
        except OSError:
            return self._open_fail(n, E_BIND)
        us.dest = dest
        link = Link(n, "UDP", host, port)
        link.conn = self.net._add(Conn(self.net, "udp", us, dest))  # see _UdpSocket
        link.conn.tag = link
        link.state = "open"
        self.links[n] = link
        if self.cipmode:
            link.transparent = True
            return self.enter_data_mode(link)
        # UDP: "+CIPOPEN: <link_num>,0" then OK (7600 manual L1103, A7600 6.3.1.1)
        self.reply("+CIPOPEN: %d,0" % n)
        self.ok()

    def _cipopen_line(self, n):
        link = self.links.get(n)
        # A UDP link opened with only a local port has no remote to list: the 7600
        # example (L1103) opens 1,"UDP",,,8080 and then lists "+CIPOPEN: 1"
        if link is None or link.state != "open" or (link.ctype == "UDP" and not link.port):
            return "+CIPOPEN: %d" % n
        # A7600 6.4.2/6.6: +CIPOPEN: 0,"TCP","<ip>",<port>,<index> (-1: client)
        return '+CIPOPEN: %d,"%s","%s",%d,%d' % (n, link.ctype, link.host, link.port,
                                                 link.server)

    # ---------------------------------------------------------------- L1104 CIPCLOSE
    @command("+CIPCLOSE")
    def at_cipclose(self, c):
        if c.kind == "test":
            return self.answer("+CIPCLOSE: (0-9)")
        if c.kind == "read":
            return self.answer("+CIPCLOSE: " + ",".join(
                "1" if n in self.links and self.links[n].state == "open" else "0"
                for n in range(NLINK)))
        if c.kind != "set":
            return self.error()
        n = c.int(0)
        if not 0 <= n < NLINK:
            self.reply("+CIPCLOSE: %d,%d" % (n, E_PARAM))
            return self.error()
        link = self.links.get(n)
        if link is None or link.state != "open":
            # not established or abnormally closed: "+CIPCLOSE: <link>,<err>" ERROR;
            # whatever a peer-closed link still held goes with it
            if link is not None:
                self._drop_link(link)
            self.reply("+CIPCLOSE: %d,%d" % (n, E_NOTSUP))
            return self.error()
        self._drop_link(link)
        line = "+CIPCLOSE: %d,0" % n
        if link.transparent:
            if link.ctype == "TCP":
                self.ok()  # A7600 6.2.3.4: OK, CLOSED, +CIPCLOSE: 0,0
                self.urc("CLOSED")
                return self.urc(line)
            return self.answer("CLOSED", line)  # A7600 6.3.3.4: CLOSED, +CIPCLOSE, OK
        if link.ctype == "UDP" and self.opts["udp_close_form"] == "manual":
            return self.answer(line)
        self.ok()
        self.urc(line)

    # ---------------------------------------------------------------- L1105 CIPSEND
    @command("+CIPSEND")
    def at_cipsend(self, c):
        if c.kind in ("test", "read"):
            # the 7600 manual's example answers AT+CIPSEND? like the test command
            return self.answer("+CIPSEND: (0-9),(1-%d)" % MAX_SEND)
        if c.kind != "set":
            return self.error()
        n = c.int(0)
        if not 0 <= n < NLINK:
            return self.cip_error(E_PARAM)
        if not self.net_open:
            return self.cip_error(E_NOTOPEN)
        link = self.links.get(n)
        if link is None or link.state != "open" or link.conn is None or not link.conn.open:
            return self.cip_error(E_NOTSUP)  # public drivers: "+CIPERROR: 4"
        length = c.int(1, 0) if len(c) > 1 and c.args[1] != "" else None
        if length is not None and not 1 <= length <= MAX_SEND:
            return self.cip_error(E_PARAM)
        dest = None
        if link.ctype == "UDP":
            # UDP names the remote in every send: <link>,[<length>],<ip>,<port>
            if len(c) >= 4:
                try:
                    dest = (self.net.resolve(c.str(2)), c.int(3))
                except NetError:
                    return self.cip_error(E_PARAM)
            elif link.conn.sock.dest is None:
                return self.cip_error(E_PARAM)

        def done(data, reason):
            if reason in ("esc", "timeout") or not data or len(data) > MAX_SEND:
                # "<ESC> is used to cancel the sending" -> ERROR (7600 manual example)
                return self.error()
            conn = link.conn
            if conn is None or not conn.open or link.state != "open":
                sent = -1  # <cnfSendLength> -1: the connection is disconnected
            else:
                if dest is not None:
                    conn.sock.dest = dest
                sent = conn.send(data) or -1
            self.ok()
            # "OK" then "+CIPSEND: <link>,<reqSendLength>,<cnfSendLength>"; with
            # AT+CIPSENDMODE=1 the URC waits for the peer's ACK, which loopback gives
            # at once
            self.urc("+CIPSEND: %d,%d,%d" % (n, len(data), sent))

        tmo = self.timeouts[2]
        if length is None:
            # variable length: Ctrl-Z ends, ESC cancels, ETX escapes the next byte
            # (7600 manual L1105 NOTE)
            self.collect(done, etx=True, timeout_ms=tmo)
        else:
            self.collect(done, n=length, timeout_ms=tmo)

    # ---------------------------------------------------------------- L1106 CIPRXGET
    @command("+CIPRXGET")
    def at_ciprxget(self, c):
        if c.kind == "test":
            return self.answer("+CIPRXGET: (0-4),(0-9),(1-%d)" % MAX_READ)
        if c.kind == "read":
            return self.answer("+CIPRXGET: %d" % self.rxget)
        if c.kind != "set":
            return self.error()
        mode = c.int(0)
        if mode in (0, 1):
            if len(c) > 1:
                return self.error()
            old, self.rxget = self.rxget, mode
            self.ok()
            if old == 1 and mode == 0:
                # "the buffered data of the previously established connection will be
                # output to the serial port directly ... at most 1500 at a time"
                for link in sorted(self.links.values(), key=lambda l: l.num):
                    self._deliver(link)
            return
        if mode not in (2, 3, 4) or len(c) < 2:
            return self.error()
        if self.rxget != 1:
            return self.error()  # "When <mode> is set to 1 the 2-4 mode will take effect"
        try:
            n = self._link_num(c, 1)
        except ValueError:
            return self.ip_error(I_PARAM)
        link = self.links.get(n)
        rx = link.rx if link is not None else bytearray()
        if mode == 4:
            return self.answer("+CIPRXGET: 4,%d,%d" % (n, len(rx)))
        limit = MAX_READ if mode == 2 else MAX_HEX
        want = c.int(2, limit)
        if not 1 <= want <= MAX_READ:
            return self.ip_error(I_PARAM)
        if not rx:
            # A7600 6.2.2.3: also for a link that was never established
            return self.ip_error(I_NODATA)
        data = link.conn.read(min(want, limit))
        link.took(len(data))  # UDP: bytes, joined (see the module docstring)
        if not link.rx:
            link.armed = True  # drained: the next arrival notifies again
        head = b"\r\n+CIPRXGET: %d,%d,%d,%d\r\n" % (mode, n, len(data), len(link.rx))
        wire = self.short_payload(data)  # short= fault: the header keeps len(data)
        # header and data in one write: the data follows its header line directly,
        # nothing (not even a URC) comes between them
        if mode == 2:
            self.raw(head + wire + b"\r\n")
        else:
            self.raw(head + wire.hex().upper().encode() + b"\r\n")
        self.ok()
        if link.state == "closed" and not link.rx:
            self._drop_link(link)  # a peer-closed link is gone once drained

    # ---------------------------------------------------------------- receiving
    def net_data(self, conn, data):
        link = conn.tag
        if getattr(link, "cch", False):
            return self._cch_data(conn, data)  # an SSL session (sim7600_ssl.py)
        if not isinstance(link, Link) or link.conn is not conn:
            return
        if link is self.data_link:
            return self.raw(data)  # transparent: straight to the host
        if link.state == "open" and self.rxget == 0 and not link.transparent:
            src = conn.sock.last_from if link.ctype == "UDP" else conn.peer
            return self._push(link, data, src)  # direct push, datagram by datagram
        conn.rx += data
        if link.ctype == "UDP":
            link.dgrams.append([len(data), conn.sock.last_from])
        self._deliver(link)

    def _deliver(self, link):
        """Report or output what the link holds, per the receive mode."""
        if link.state != "open" or link.conn is None or link.transparent:
            return
        if self.rxget == 1:
            if link.rx and link.armed:
                # "it will not report a new URC until all the received data has been
                # retrieved" (7600 manual L1106 note 1)
                link.armed = False
                self.urc("+CIPRXGET: 1,%d" % link.num)
            return
        if link.ctype == "UDP":
            # one push per datagram, each with its own sender (A7600 1.2)
            while link.rx:
                size, src = link.dgrams.pop(0) if link.dgrams else (len(link.rx), None)
                self._push(link, link.conn.read(size), src or link.conn.sock.dest)
            return
        src = link.conn.peer
        while link.rx:
            self._push(link, link.conn.read(PUSH_MAX), src)

    def _push(self, link, data, src):
        """Direct push (A7600 1.2): RECV FROM:<ip>:<port> CR LF +IPD<len> CR LF <data>."""
        for i in range(0, len(data), PUSH_MAX):
            piece = data[i:i + PUSH_MAX]
            out = b""
            if self.srip:
                out += b"\r\n%sRECV FROM:%s:%d\r\n" % (
                    b"+" if self.opts["recv_from_plus"] else b"",
                    (src[0] if src else "0.0.0.0").encode(), src[1] if src else 0)
            if self.head:
                if not self.srip:
                    out += b"\r\n"
                if self.ccfg[4]:
                    # AT+CIPCCFG <HeaderType>=1: "+RECEIVE,<link num>,<data length>"
                    out += b"+RECEIVE,%d,%d\r\n" % (link.num, len(piece))
                else:
                    out += b"+IPD%d\r\n" % len(piece)
            # the manual's form ends with <data>: no line end follows the payload
            self.log("<- push link %d %d bytes" % (link.num, len(piece)))
            if self.head:
                piece = self.short_payload(piece)  # short= fault: +IPD keeps its length
            self.raw(out + piece)

    def net_closed(self, conn):
        link = conn.tag
        if getattr(link, "cch", False):
            return self._cch_closed(conn)
        if not isinstance(link, Link) or link.conn is not conn or link.state == "closed":
            return
        if link.state == "opening":
            return  # reported after the +CIPOPEN result (see at_cipopen)
        conn.close()  # our side goes too; conn.rx keeps what was not read
        if link is self.data_link:
            # transparent link lost: back to command mode with CLOSED, then the URCs
            # that waited while the UART carried data
            self.leave_data_mode("CLOSED")
            return self._drop_link(link)
        if link.transparent:
            self._drop_link(link)
            return self.urc("CLOSED")
        was_open = link.state == "open"
        link.state = "closed"
        if self.opts["close_discards"] and len(conn.rx):
            if link.armed and self.rxget == 1:
                self.urc("+CIPRXGET: 1,%d" % link.num)
            conn.rx.clear()
        if was_open:
            # A7600 ch.5: +IPCLOSE: <client_index>,<close_reason> (1: closed by remote)
            self.urc("+IPCLOSE: %d,1" % link.num)
        if not conn.rx:
            self._drop_link(link)
        # else: the link keeps its unread data for AT+CIPRXGET until drained

    def net_overflow(self, conn, lost):
        # Neither manual describes a full receive buffer: what fits is kept, the rest
        # is lost silently and "+CIPRXGET: 1" is not repeated until the host drains it
        self.log("-- link %s receive buffer full, %d bytes lost"
                 % (getattr(conn.tag, "num", "?"), lost))

    # ---------------------------------------------------------------- L1108-L1113
    def _flag_cmd(self, c, attr, default):
        name = c.name
        if c.kind == "test":
            return self.answer("%s: (0-1)" % name)
        if c.kind == "read":
            return self.answer("%s: %d" % (name, getattr(self, attr)))
        if c.kind == "exec":
            setattr(self, attr, default)  # "Set default value"
            return self.ok()
        v = c.int(0)
        if v not in (0, 1) or len(c) != 1:
            return self.error()
        setattr(self, attr, v)
        self.ok()

    @command("+CIPHEAD")
    def at_ciphead(self, c):
        self._flag_cmd(c, "head", 1)

    @command("+CIPSRIP")
    def at_cipsrip(self, c):
        self._flag_cmd(c, "srip", 1)

    @command("+CIPSENDMODE")
    def at_cipsendmode(self, c):
        if c.kind == "exec":
            return self.error()
        self._flag_cmd(c, "sendmode", 0)

    @command("+CIPMODE")
    def at_cipmode(self, c):
        # the 7600 manual prints "CIPMODE: <mode>" for the read command; A7600 2.10
        # has "+CIPMODE: <mode>" like every other read command: the latter is used.
        if c.kind == "set" and self.net_open:
            # "you should set AT+CIPMODE=1 before AT+NETOPEN"
            return self.error()
        self._flag_cmd(c, "cipmode", 0)

    @command("+CIPTIMEOUT")
    def at_ciptimeout(self, c):
        if c.kind == "read":
            return self.answer("+CIPTIMEOUT: %d,%d,%d" % tuple(self.timeouts))
        if c.kind == "test":
            return self.answer("+CIPTIMEOUT: (3000-120000),(3000-120000),(3000-120000)")
        if c.kind != "set" or len(c) > 3:
            return self.error()
        new = list(self.timeouts)
        for i, a in enumerate(c.args):
            if a == "":
                continue
            v = int(a)
            if not 3000 <= v <= 120000:
                return self.error()
            new[i] = v
        self.timeouts = new
        self.ok()

    @command("+CIPCCFG")
    def at_cipccfg(self, c):
        if c.kind == "test":
            # the syntax table (both manuals); the 7600 example prints (0) for
            # <AsyncMode>, contradicting its own range 0-1
            return self.answer("+CIPCCFG: (0-10),(0-1000),(0),(0-1),(0-1),(0-1),"
                               "(500-120000)")
        if c.kind == "read":
            return self.answer("+CIPCCFG: %s" % ",".join(str(v) for v in self.ccfg))
        if c.kind == "exec":
            self.ccfg = list(CIPCCFG_DEFAULT)
            return self.ok()
        if len(c) > 7:
            return self.error()
        new = list(self.ccfg)
        for i, a in enumerate(c.args):
            if a == "":
                continue
            v = int(a)
            lo, hi = CIPCCFG_RANGE[i]
            if not lo <= v <= hi:
                return self.error()
            new[i] = v
        self.ccfg = new
        self.ok()

    # ---------------------------------------------------------------- L1114 SERVERSTART
    @command("+SERVERSTART")
    def at_serverstart(self, c):
        if c.kind == "test":
            # syntax table of both manuals (the 7600 example's "0,1000" is a misprint)
            return self.answer("+SERVERSTART: (0-65535),(0-3)")
        if c.kind == "read":
            if not self.net_up:
                return self.cip_error(E_NOTOPEN)
            return self.answer(*["+SERVERSTART: %d,%d" % (i, s.local_port)
                                 for i, s in sorted(self.servers.items())])
        if c.kind != "set":
            return self.error()
        port, idx = c.int(0), c.int(1)
        backlog = c.int(2, 3)  # A7600 2.14: 1-3, default 3
        if not 0 <= port <= 65535 or not 0 <= idx < NSERVER or not 1 <= backlog <= 3:
            return self.cip_error(E_PARAM)
        if self.cipmode and idx != 0:
            return self.cip_error(E_PARAM)  # transparent: server 0 only (A7600 1.2)
        if not self.net_up:
            return self.cip_error(E_NOTOPEN)
        if idx in self.servers:
            return self.cip_error(E_LISTENING)
        try:
            lst = self.net.listen_tcp(port, backlog)
        except NetError:
            return self.cip_error(E_BIND)
        lst.tag = ("server", idx)
        self.servers[idx] = lst
        self.ok()

    def net_accept(self, listener, conn):
        tag = listener.tag
        if not (isinstance(tag, tuple) and self.servers.get(tag[1]) is listener):
            return False
        idx = tag[1]
        n = self._free_link()
        if n is None or (self.cipmode and (n != 0 or self.data_link is not None)):
            return False  # no free <link_num>: the client is refused
        link = Link(n, "TCP", conn.peer[0], conn.peer[1], server=idx)
        link.conn = conn
        link.state = "open"
        conn.tag = link
        self.links[n] = link
        # +CLIENT: <link_num>,<server_index>,<client_IP>:<port> (7600 manual L1114)
        self.urc("+CLIENT: %d,%d,%s:%d" % (n, idx, conn.peer[0], conn.peer[1]))
        if self.cipmode:
            # A7600 6.4.1: the accepted client goes straight to data mode
            link.transparent = True
            self.urc("CONNECT 115200")
            self.enter_data_mode(link, final=False)
        return True

    # ---------------------------------------------------------------- L1115 SERVERSTOP
    @command("+SERVERSTOP")
    def at_serverstop(self, c):
        if c.kind == "test":
            return self.answer("+SERVERSTOP: (0-3)")
        if c.kind not in ("set", "exec"):
            return self.error()
        # A7600 6.4.2: "if unspecified, it will close 0 channel"
        idx = c.int(0) if c.kind == "set" else 0
        if not 0 <= idx < NSERVER:
            self.reply("+SERVERSTOP: %d,%d" % (idx, E_PARAM))
            return self.error()
        lst = self.servers.get(idx)
        busy = any(l.server == idx and l.state == "open" for l in self.links.values())
        if lst is None or (busy and self.opts["serverstop_check"]):
            self.reply("+SERVERSTOP: %d,%d" % (idx, E_SOCKETS_OPEN if lst else E_NOTSUP))
            return self.error()
        del self.servers[idx]
        lst.close()
        # "If the server socket is closed immediately: +SERVERSTOP: <idx>,0 OK"
        self.answer("+SERVERSTOP: %d,0" % idx)

    # ---------------------------------------------------------------- L1116 CIPACK
    @command("+CIPACK")
    def at_cipack(self, c):
        if c.kind == "test":
            return self.answer("+CIPACK: (0-9)")
        if c.kind != "set":
            return self.error()
        try:
            n = self._link_num(c)
        except ValueError:
            return self.ip_error(I_PARAM)
        if not self.net_up:
            return self.ip_error(I_NOT_OPEN)
        link = self.links.get(n)
        if link is None or link.state != "open" or link.conn is None:
            return self.ip_error(I_NOT_CREATED)
        if link.ctype != "TCP":
            return self.ip_error(I_NOTSUP)
        # loopback acknowledges at once: acked == sent
        self.answer("+CIPACK: %d,%d,%d" % (link.conn.tx_total, link.conn.tx_total,
                                           link.conn.rx_total))

    # ---------------------------------------------------------------- L1131-L1133 DNS
    @command("+CDNSGIP")
    def at_cdnsgip(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "set":
            return self.error()
        name = c.str(0)
        if not self.net_up:
            return self.error()
        ip = self._resolve_any(name)
        if ip is None:
            self.reply("+CDNSGIP: 0,10")  # 10: DNS GENERAL ERROR
            return self.error()
        self.answer('+CDNSGIP: 1,"%s","%s"' % (name, ip))

    @command("+CDNSGHNAME")
    def at_cdnsghname(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "set":
            return self.error()
        ip = c.str(0)
        if not self.net_up:
            return self.error()
        for name, addr in sorted(self.hosts.items()):
            if addr == ip:
                return self.answer('+CDNSGHNAME: 1,"%s","%s"' % (name, ip))
        self.reply("+CDNSGHNAME: 0,10")
        self.error()

    @command("+CIPDNSSET")
    def at_cipdnsset(self, c):
        if c.kind == "read":
            return self.answer("+CIPDNSSET: %d,%d,%d" % tuple(self.dnsset))
        if c.kind != "set" or len(c) > 3:
            return self.error()
        new = list(self.dnsset)
        for i, (a, (lo, hi)) in enumerate(zip(c.args, ((0, 3), (3000, 120000), (0, 7)))):
            if a == "":
                continue
            v = int(a)
            if not lo <= v <= hi:
                return self.error()
            new[i] = v
        self.dnsset = new
        self.ok()

    # ---------------------------------------------------------------- L1134 CPING
    @command("+CPING")
    def at_cping(self, c):
        if c.kind == "test":
            return self.answer("+CPING: IP address,(1-2),(1-100),(4-188),(1000-10000),"
                               "(10000-100000),(16-255)")
        if c.kind != "set":
            return self.error()
        host = c.str(0)
        typ = c.int(1)
        num, size = c.int(2, 4), c.int(3, 64)
        interval, wait, ttl = c.int(4, 2000), c.int(5, 10000), c.int(6, 255)
        if (typ != 1 or not 1 <= num <= 100 or not 4 <= size <= 188
                or not 1000 <= interval <= 10000 or not 10000 <= wait <= 100000
                or not 16 <= ttl <= 255):
            return self.error()  # type 2 (IPv6) is "reserved"
        if not self.net_up or self.ping is not None:
            return self.error()
        ip = self._resolve_any(host)
        if ip is None:
            return self.error()
        self.ok()
        # Simulated: only loopback addresses answer (this simulator never leaves the
        # machine); anything else times out. RTTs are drawn from the seeded rng.
        reach = ipaddress.IPv4Address(ip).is_loopback
        p = {"ip": ip, "size": size, "ttl": ttl, "sent": 0, "rtts": [], "timers": []}
        self.ping = p
        scale = float(self.opts["ping_scale"])
        for i in range(num):
            delay = i * interval * scale + (0 if reach else wait * scale)
            p["timers"].append(self.after(delay, self._ping_one, p, reach, i == num - 1))

    def _ping_one(self, p, reach, last):
        if self.ping is not p:
            return
        p["sent"] += 1
        if reach:
            rtt = self.rng.randint(30, 90)
            p["rtts"].append(rtt)
            self.urc("+CPING: 1,%s,%d,%d,%d" % (p["ip"], p["size"], rtt, p["ttl"]))
        else:
            self.urc("+CPING: 2")
        if last:
            self.urc(self._ping_summary(p))
            self.ping = None

    @staticmethod
    def _ping_summary(p):
        # The 7600 example's last line reads "+PING: 3,..." - a misprint for +CPING
        # (<result_type> 3 "Ping result" is a +CPING line by the syntax table).
        r = p["rtts"]
        return "+CPING: 3,%d,%d,%d,%d,%d,%d" % (
            p["sent"], len(r), p["sent"] - len(r), min(r) if r else 0,
            max(r) if r else 0, sum(r) // len(r) if r else 0)

    @command("+CPINGSTOP")
    def at_cpingstop(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "exec":
            return self.error()
        p, self.ping = self.ping, None
        if p is None:
            return self.ok()  # 7600 example: AT+CPINGSTOP -> OK
        for t in p["timers"]:
            t.cancel()
        self.answer(self._ping_summary(p))

    # ---------------------------------------------------------------- transparent mode
    def enter_data_mode(self, link, final=True):
        """Transparent data mode on `link` (A7600 1.2 and 6.2.3). final=False: the
        caller printed its own CONNECT line (an accepted client, A7600 6.4.1)."""
        guard = int(self.opts["guard_ms"])
        # A7600 1.2: "+++" needs more than `guard` ms of silence before and after it,
        # and "the interval of each character should not be more than 900
        # milliseconds" (900 of the 1000 ms guard: the gap scales with guard_ms)
        esc = GuardedEscape(self, lambda data: self._tp_forward(link, data),
                            self._tp_escape, guard, guard, guard * 0.9)
        self.data_link = link
        self.stream_begin("CONNECT 115200" if final else None, esc)
        if link.rx:
            self.raw(bytes(link.conn.read(len(link.rx))))

    def _tp_forward(self, link, data):
        if data and link.conn is not None and link.conn.open:
            link.conn.send(bytes(data))

    def _tp_escape(self):
        if self.data_link is None:
            return
        self.data_link = None
        # A7600 6.2.3.3: "OK" answers the +++ sequence; URCs that waited follow it
        self.stream_end(final="OK")

    def leave_data_mode(self, *lines):
        """Back to command mode: `lines` first (CLOSED), then the URCs that waited."""
        if self.data_link is not None:
            self.data_link = None
            self.stream_end(*lines)

    @command("O")
    def at_o(self, c):
        # ATO: back to the transparent link (A7600 1.2, 6.2.3.3)
        link = self.links.get(0)
        if self.cipmode and link is not None and link.transparent and link.state == "open":
            return self.enter_data_mode(link)
        self.final("NO CARRIER")


PERSONALITY = Sim7600
