"""Yuge (域格) Cat.1 personality, Eigencomm EC716S platform: SIM800-style TCP/IP.

Source: /work/shared/manuals/yuge-ec716s-cat1-at-manual-zh.txt (Chinese; cited below as
"manual 9.27" and so on). This file is the module itself (identity, banner, the 3GPP
basics of ch.2-6 where the manual shows its own forms) and the embedded TCP/IP stack of
ch.9 (AT+CIPMUX ... AT+CIPSHUT, the CIPSTATUS state machine of 9.40, the power-on flow
of 9.41, the examples of 9.42). The native HTTP (ch.10 SAPBR, ch.11) and MQTT (ch.13)
commands live in the mixins YugeHTTP and YugeMQTT; their commands merge into the same
command table through the core.

The manual is a PDF-to-text copy of a vendor document that is not always consistent
with itself (e.g. `1,CONNECT OK` beside `3, CONNECT OK`, `+PDP DEACT` beside
`+PDP:DEACT`, `+CIPRXGET:1` in the syntax tables and `+CIPRXGET: 1` in the examples).
Where it disagrees with itself, the default follows the worked examples (what the module
printed when the vendor captured them) and the other form is an option. Where the manual
is silent (AT+CIPSERVER, the power-on banner, what ESC prints after a `> ` prompt), we
follow the SIM800 family this command set copies, and say so next to the code.

Options (sim(opts={...}) or --opt key=value):
  link_space      True: link-numbered results with a space after the comma, `1, CONNECT OK`,
                  `0, CLOSE OK`, `2, SEND FAIL`, `0, CLOSED` (manual 9.27 and 9.42 examples
                  `3, CONNECT OK`, 9.11 `<n>, SEND OK`; what SIM800-family firmware prints).
                  False: `1,CONNECT OK` (manual 9.9 syntax and the "多连接应用 1" example).
  colon_space     True: `+CIPRXGET: 1`, `+CDNSGIP: 1,...` (manual 9.27 examples).
                  False: `+CIPRXGET:1`, `+CDNSGIP:1,...` (9.27 syntax table, 9.42 DNS example).
  data_accept_space  False: `DATA ACCEPT:1,65` (manual 9.11, 9.14, 9.42). True: `DATA
                  ACCEPT: 1,65` (SIM7000/SIM900 documents print it so).
  pdp_deact       "+PDP DEACT" (default; manual 9.40, 9.42 and 13.14 examples), "+PDP: DEACT"
                  (SIM800 firmware), "+PDP:DEACT" (manual 9.29 note).
  recv_from       "syntax": `RECV FROM:<ip>:<port>` (manual 9.22, SIM800). "example":
                  `+RECV FROM: <ip>:<port>` (manual 9.42 "单链接非透传时接收数据").
  ip_zero_pad     False: AT+CIFSR prints `10.83.172.111` (manual 9.20, 9.31). True:
                  `010.083.172.111` (manual 9.42 examples).
  cipstatus_initial  "manual": unused links `C: 0,,,"",,"",,"INITIAL"` exactly as the
                  manual's 9.42 example prints them. "sim800": `C: 0,,"","","","INITIAL"`.
  close_discards  False. True: when the peer closes with data still unread in the
                  CIPRXGET buffer, `+CIPRXGET: 1` and `CLOSED` come back to back and the
                  unread data is gone (seen on real modules when a server sends and closes).
  renotify        "read" (default, manual 9.27: after AT+CIPRXGET=2/3 the next arrival is
                  reported again). "drained": `+CIPRXGET: 1` comes again only once the buffer
                  was read empty (SIM800-family behaviour; a host that reads less than what
                  is buffered waits forever for a URC that never comes).
  connect_ms      0. Delay before CONNECT OK / CONNECT FAIL (state TCP CONNECTING meanwhile).
  connect_result_in_reply  False. True: the connection result URC is held back and comes
                  out inside the next, unrelated command's reply.
  ciicr_ms, shut_ms  0. Delays of AT+CIICR's OK and AT+CIPSHUT's SHUT OK (manual 1.4 gives
                  up to 60-90 s for these on a real network).
  plain_errors    False: failures the manual documents as `+CME ERROR <err>` follow
                  AT+CMEE. True: plain `ERROR` whatever AT+CMEE says (SIM800 heritage).
  autobaud        False. True: AT+IPR=0 as shipped (manual 4.6): the module prints nothing
                  until the host sends "AT"/"at" to train the baud rate; that line gets no
                  answer, the banner follows.
  banner          "RDY|{cpin}": power-on lines, '|' separated, {cpin} is the +CPIN line.
  prompt          "\\r\\n> ": the CIPSEND prompt ("> ", with a space, manual 9.14).
  ciprxf          1: power-on value of AT+CIPRXF (manual 9.12; 0 adds CR LF after each
                  pushed piece of data, 1 adds nothing). The manual gives no default; SIM800
                  adds nothing.
  push_max        1460: largest piece of data one +IPD / +RECEIVE carries.
  ats_unit_ms     1000: one "second" of AT+CIPATS (tests shorten it).
  heartbeat_unit_ms  1000: one "second" of AT^HEARTCONFIG.
  escape_guard_ms 1000: silence before "+++" (manual 9.37); the silence after it is half.
  network_apn     "cmnet": APN the network gives the default bearer (manual 9.2 note).
  ping_ms, ping_ttl  "1", 64: AT+CIPPING reply times (comma separated, used in turn) and
                  TTL. Pings are simulated: no packet leaves the machine.
  eat_lf          True (core option): a LF right after the CR ending AT+CIPSEND is taken as
                  part of the line end, exactly as manual 9.14's note warns.
  tls_firmware    True. False: firmware built without TLS, as SIM800-family builds
                  without SSL refuse it (public knowledge): AT+CIPSSL=1, AT+HTTPSSL=1
                  and AT+SSLMIPSTART answer ERROR (=0 and the read forms still work).
  cgev_urcs       False. True: 3GPP packet domain URCs (manual 6.8) whatever AT+CGEREP
                  says (with AT+CGEREP=1 they come anyway, manual 6.7): "+CGEV: EPS
                  PDN ACT 1" when the default bearer comes up, "+CGEV: ME PDN ACT <cid>"
                  for AT+CGACT=1, "+CGEV: EPS PDN DEACT <cid>" when the network takes it
                  (manual 6.8: "The network has deactivated a PDN connection"; drop=
                  fault), "+CGEV: ME PDN DEACT <cid>" for AT+CGACT=0 / AT+CGATT=0 /
                  AT+CFUN=0; before "+PDP DEACT". "only": without the "+PDP DEACT" line
                  (a test aid: the host must act on +CGEV alone).
  already_connect_alone  False. True: AT+CIPSTART on a link that is connecting or
                  connected answers "<n>, ALREADY CONNECT" (single link: "ALREADY
                  CONNECT") alone, no +CME ERROR or OK before it and nothing after: the
                  result line ends the command, as SIM800-family firmware answers
                  (public knowledge: users' logs; manual 9.9 puts an error first).

Quirks (quirks=, see core.parse_quirks) of this personality beside the common ones:
sapbr_quoted (sapbr_ip "quoted": +SAPBR: 1,1,"10.x.x.x" as SIM800 firmware prints it),
call_ready (banner RDY, +CFUN: 1, +CPIN: READY, Call Ready, SMS Ready as SIM800-family
modules print it), no_tls (tls_firmware False), cgev (cgev_urcs True),
already_connect_alone (already_connect_alone True).

Composite lines: AT+CIFSR inside a line (AT+CIFSR;E0) prints the address as an
information line and the rest of the line runs, ending in OK: SIM800-family firmware
does this and drivers rely on it to get a final result after the address (public
knowledge); alone (or last) it ends with the address and no OK (manual 9.5).

Injected failures (fault knobs, see core.Faults): fail=+CIPSTART:N makes the open end in
CONNECT FAIL, fail=+CIPSEND:N makes sends end in SEND FAIL (N unused); short= cuts
+CIPRXGET 2/3, +RECEIVE / +IPD and +HTTPREAD payloads; fail_late_ms (core option)
delays CONNECT FAIL (late_fail quirk: open_max_ms 75 s + 0.5 s).

UDP: pushed data (+RECEIVE, +IPD, bare) comes one datagram per piece, also what waited
in the buffer. AT+CIPRXGET=2/3 reads bytes: its reply carries neither a sender nor a
datagram length (manual 9.27), so the datagrams that wait are joined and a read cannot
tell them apart.

Notes for the mixins (YugeHTTP, YugeMQTT):
  * Yuge's hooks call super() and pass on connections that are not theirs, so a mixin
    overrides net_data / net_closed / net_accept / net_overflow / on_network_drop /
    reset_state / on_registration the same way (call super(), handle only its own conns).
  * `+PDP DEACT` is printed here (on_network_drop); mixins must not print it again.
  * self.link_result(n, text) gives "n, text" or "n,text" per the link_space option;
    self.cipmux is AT+CIPMUX; self.sslcfg[(key, ctx)] holds AT+SSLCFG values (ctx 88 is
    MQTT, 153 HTTP, manual 9.7); on AT+CIPSHUT a mixin method on_cipshut() is called
    if one exists.
  * The default bearer (cid 1) comes up with network registration, as the manual says
    (9.2, 13.14): self.contexts has 1 -> ip while the module is registered and attached.
"""
import time

from .core import CME_TEXT, GuardedEscape, NetError, command
from .yuge_http import YugeHTTP
from .yuge_mqtt import YugeMQTT
from .yuge_ftp import YugeFTP  # ch.12 FTP on ch.8's file system and ch.7 NTP
from .tlsclient import TLSFailure, open_tls

MAX_SEND = 1460  # manual 9.14 <size>: "目前是 1460 字节"
MAX_HEX = 730  # manual 9.27 <len> in HEX mode
NLINKS = 6  # manual 9.9 <n> 0~5

# Manual 3.13: the +CME ERROR table of the Cat.1 modules (codes not listed here fall
# back on 27.007 texts of the core table).
YUGE_CME = dict(CME_TEXT)
YUGE_CME.update({
    49: "EXE_NOT_SURPORT", 50: "EXE_FAIL", 51: "NO MEMORY", 52: "OPTION NOT SURPORT",
    53: "parameters are invalid", 58: "INVALID_COMMAND_LINE", 148: "unspecified GPRS error",
    149: "PDP authentication failure", 151: "AT command timeout", 797: "CFUN state is 0 or 4",
    900: "DIAED_REJECT", 901: "PDP_NO_ACTIVE", 902: "PDP_ACTIVE",
    910: "TCP_CONNECTION_REJECT", 911: "TCP_CONNECT_OVERTIME",
    912: "SOCKET_CONNECTION_EXIST", 913: "SOCKET_CONNECTION_NOT_EXIST",
    914: "BUFFER_OVER_SIZE", 915: "SENDING_OVERTIME", 916: "DNS_EXIST",
    917: "DNS_PARSE_OVERTIME", 918: "DNS_PARSE_ERROR", 980: "INPUT_VALUE_ERROR",
    981: "OTHER_ERROR", 982: "ERROR", 983: "NOT_ALLOWED",
})
E_NOT_ALLOWED, E_NO_SERVICE = 3, 30
E_EXIST, E_NOT_EXIST, E_OVERSIZE = 912, 913, 914

# manual 9.39: TCP ERROR / UDP ERROR codes used here ("Network error")
TCP_ERR_NETWORK, UDP_ERR_NETWORK = 5, 6

# manual 9.5: states in which the context is up (AT+CIFSR answers, AT+CDNSGIP works)
ACTIVE_STATES = ("IP GPRSACT", "IP STATUS", "IP PROCESSING", "TCP CONNECTING",
                 "UDP CONNECTING", "SERVER LISTENING", "CONNECT OK", "TCP CLOSING",
                 "UDP CLOSING", "TCP CLOSED", "UDP CLOSED")
SSL_KEYS = ("sslversion", "ciphersuite", "cacert", "clientcert", "clientkey", "seclevel",
            "hostname", "ignorelocaltime", "negotiatetimeout", "clientrandom", "premaster",
            "verifymode")
SSL_CTX = tuple(range(6)) + (34, 88, 153)  # manual 9.7 <n>


class Link:
    """One AT+CIPSTART connection (link 0 in single-link mode)."""

    def __init__(self, n, mode, host, port):
        self.n = n
        self.mode = mode  # "TCP" / "UDP"
        self.host = host
        self.ip = host
        self.port = port
        self.conn = None
        # manual 9.17 <client state>: INITIAL CONNECTING CONNECTED REMOTE CLOSING CLOSING
        # CLOSED
        self.state = "INITIAL"
        self.armed = True  # next arrival raises +CIPRXGET: 1
        self.tx = 0  # AT+CIPACK <txlen>
        self.timer = None
        self.accepted = False  # came in through AT+CIPSERVER
        self.dgrams = []  # UDP: [length] of each datagram waiting in conn.rx

    def took(self, n):
        """n bytes were read from the buffer: the datagrams they came from shrink."""
        while n > 0 and self.dgrams:
            if self.dgrams[0] > n:
                self.dgrams[0] -= n
                return
            n -= self.dgrams.pop(0)

    @property
    def rx(self):
        return self.conn.rx if self.conn is not None else bytearray()

    @property
    def usable(self):
        c = self.conn
        return self.state == "CONNECTED" and c is not None and c.open and not c.peer_closed


class _Transparent:
    """AT+CIPMODE=1 data mode on link 0 (manual 9.10, 9.37, 9.38)."""

    def __init__(self, link):
        self.link = link
        self.online = False
        self.esc = None  # GuardedEscape while online


class Yuge(YugeHTTP, YugeMQTT, YugeFTP):
    name = "yuge"
    manufacturer = "Yuga Co.,Ltd."  # manual 2.1 example
    model = "YM310 X09"  # manual 2.2 example
    revision = "YM310.X09_AT.U60_R2.0.0.240820"  # manual 2.3 / 2.7 examples
    imei = "868777059994693"  # manual 2.4 example
    imsi = "460115883032649"  # manual 2.6 example
    iccid = "89861122050211045494"  # manual 2.5 example
    operator = "CHN-UNICOM"
    plmn = "46001"
    act = 7
    ip = "10.83.172.111"  # manual 9.42 (010.083.172.111 zero padded)
    hwver = "V1"
    buildtime = "Aug 20 2024 17:04:06"
    lac, ci = "1863", "0183db22"  # manual 5.3 example
    prompt = b"\r\n> "
    default_cmee = 0
    # harmless URCs of the family (manual 5.9 NITZ, 6.8 +CGEV) for the urc= fault
    noise_urcs = ("+NITZ:24/05/16,07:49:28+32,0", "+CGEV: EPS MODIFY 1,2",
                  "*BANDIND: 3, 7")
    defaults = {
        "link_space": True,
        "colon_space": True,
        "data_accept_space": False,
        "pdp_deact": "+PDP DEACT",
        "recv_from": "syntax",
        "ip_zero_pad": False,
        "cipstatus_initial": "manual",
        "close_discards": False,
        "renotify": "read",
        "connect_ms": 0,
        "connect_result_in_reply": False,
        "ciicr_ms": 0,
        "shut_ms": 0,
        "plain_errors": False,
        "autobaud": False,
        "banner": "RDY|{cpin}",
        "prompt": "\r\n> ",
        "ciprxf": 1,
        "push_max": MAX_SEND,
        "ats_unit_ms": 1000,
        "heartbeat_unit_ms": 1000,
        "escape_guard_ms": 1000,
        "network_apn": "cmnet",
        "ping_ms": "1",
        "ping_ttl": 64,
        "eat_lf": True,
        "tls_firmware": True,
        "cgev_urcs": False,
        "already_connect_alone": False,
    }
    quirk_table = {
        "sapbr_quoted": {"sapbr_ip": "quoted"},
        "already_connect_alone": {"already_connect_alone": True},
        "call_ready": {"banner": "RDY|+CFUN: 1|{cpin}|Call Ready|SMS Ready"},
        "no_tls": {"tls_firmware": False},
        "cgev": {"cgev_urcs": True},
    }
    # The manual's 1.4 table does not list AT+CIPSTART; the SIM800 family it copies
    # gives up a TCP connect after 75 s (its AT manual; the QI manual says the same)
    open_max_ms = 75000

    def __init__(self, **kw):
        super().__init__(**kw)
        self.prompt = str(self.opts["prompt"]).encode("latin-1")

    # ================================================================ power-on state
    def reset_state(self):
        super().reset_state()
        self.cipmux = 0
        # manual 9.40: single-link <sl_state> or multi-link <ml_state>
        self.ip_state = "IP INITIAL"
        self.cstt = ("", "", "")
        self.links = {}  # n -> Link
        self._by_conn = {}  # conn.id -> Link (connections that are ours)
        self.server = None  # listening Conn of AT+CIPSERVER
        self.server_port = 0
        self.tp = None  # _Transparent
        self.cipqsend = 0
        self.cipmode = 0
        self.ciphead = 0
        self.cipsrip = 0
        self.cipshowtp = 0
        self.ciprxget = 0
        self.ciprxf = int(self.opts["ciprxf"])
        self.cipsprt = 1
        self.cipats = (0, 1)
        self.ciptka = (0, 7200, 75, 9)
        self.cipssl = 0
        self.cipccfg = (5, 2, 1024, 0, 0, 1460, 50, 0)
        self.sslcfg = {}
        self.dns = ("211.136.112.50", "211.136.150.66")  # manual 9.20 example
        self.clport = {}
        self.cipcsgp = (1, "CMNET", "", "")
        self.ping_cfg = (4, 32, 100, 64)
        self.ping_timer = None
        self.heart = {"on": 0, "id": 0, "period": 120, "data": None, "hex": None,
                      "count": 0, "last": None, "next": None, "timer": None}
        self.cgdcont = {1: ("IP", "")}
        self.cgerep = (0, 0)
        self.cscs = "GSM"
        self.ipr = 0
        self.ifc = (0, 0)
        self._untrained = False
        self.waketim = 5  # 4.12: seconds of UART silence before sleep

    # ================================================================ identity (ch.2)
    @command("+CGMI")
    def at_cgmi(self, c):
        if c.kind == "test":
            return self.ok()
        self.answer('+CGMI: "%s"' % self.manufacturer)  # manual 2.1 example form

    @command("+CGMM")
    def at_cgmm(self, c):
        if c.kind == "test":
            return self.ok()
        self.answer('+CGMM: "%s"' % self.model)  # manual 2.2 example form

    @command("+CGMR")
    def at_cgmr(self, c):
        if c.kind == "test":
            return self.ok()
        self.answer('Revision: "%s"' % self.revision)  # manual 2.3 example form

    @command("+ICCID")
    def at_iccid(self, c):
        if c.kind == "test":
            return self.ok()
        if self.sim_check() == 10:
            return self.cme_error(10)
        self.answer("+ICCID: " + self.iccid)  # manual 2.5 example form

    @command("I")
    def at_i(self, c):
        self.answer(self.revision)  # manual 2.7: the firmware version only

    @command("*I")
    def at_star_i(self, c):
        # manual 2.8 example (its syntax line omits the spaces the example shows)
        self.answer("Manufacturer: " + self.manufacturer, "Model: " + self.model,
                    "Revision: " + self.revision, "HWver: " + self.hwver,
                    "Buildtime: " + self.buildtime, "IMEI: " + self.imei,
                    "ICCID: " + self.iccid, "IMSI: " + self.imsi)

    @command("+RESET")
    def at_reset(self, c):
        # manual 2.9: OK, then the module restarts (banner again)
        self.ok()
        self.after(1, self.reboot)

    # AT+CPOWD (manual 4.2: 1 -> NORMAL POWER DOWN, 0 -> nothing; then silence) is
    # the core's SIMCom form, which this module shares.

    # ---------------------------------------------------------------- 4.12 UART sleep
    # <n> 1: sleeps when AP_WAKEUP_MODULE is high (set_dtr(1) here) and the UART has been
    # quiet for AT+WAKETIM seconds (5 by default); pulling the pin low (about 50 ms) or
    # "一两个AT" on the UART wakes it. 2-4: sleeps after WAKETIM quiet seconds whatever
    # the pin; AT commands wake it ("一个往往唤不醒, 需要多输几个": the first is lost).
    # 4 wakes "从开机流程开始运行": through the boot (banner again).
    dtr_sleep = (1,)
    idle_sleep = (2, 3, 4)
    uart_wakes = True
    wake_ms = 50

    def sleep_idle_ms(self):
        return self.waketim * 1000

    def _wake(self):
        if self.asleep and self.csclk == 4:
            self.asleep = False
            self.reboot()
            return
        super()._wake()

    @command("+WAKETIM")
    def at_waketim(self, c):
        # 4.12 examples: AT+WAKETIM? -> "+WAKETIM:5" (no space), AT+WAKETIM=8; 0 must
        # not be used ("会使睡眠失效"): refused here
        if c.kind == "read":
            return self.answer("+WAKETIM:%d" % self.waketim)
        if c.kind == "test":
            return self.ok()
        if c.kind != "set" or c.int(0) < 1:
            return self.error()
        self.waketim = c.int(0)
        self.ok()
        self._sleep_check()

    # ================================================================ banner / power-on
    def banner_lines(self):
        # The manual shows no power-on capture (the 9.41 flow chart is an image that did
        # not survive the text copy); 4.3 says the module reports its +CPIN state by itself
        # after power-on. RDY first, as on the SIMCom parts this firmware imitates.
        lines = []
        for ln in str(self.opts["banner"]).split("|"):
            if ln:
                lines.append(ln.replace("{cpin}", self.cpin_line()))
        return lines

    def cpin_line(self):
        if self.sim_state == "absent":
            return "+CPIN: SIM REMOVED"  # manual 4.3 <code>
        return "+CPIN: READY" if self.pin_ok else "+CPIN: SIM PIN"

    def _boot_done(self):
        if self.opts["autobaud"]:
            # manual 4.6: with AT+IPR=0 the module waits for "AT" to learn the baud rate
            # and only then prints its initialisation lines
            self.powered = True
            self._untrained = True
            return
        super()._boot_done()

    def _line(self, raw):
        if self._untrained:
            text = raw.decode("latin-1").strip()
            # manual 4.6: "aT" and "At" do not train the baud rate
            if text[:2] in ("AT", "at"):
                self._untrained = False
                super()._boot_done()
            return
        super()._line(raw)

    # ================================================================ errors
    def cme_error(self, code):
        """+CME ERROR with the Cat.1 texts of manual 3.13."""
        if self.cmee == 0:
            self.final("ERROR")
        elif self.cmee == 1:
            self.final("+CME ERROR: %d" % code)
        else:
            self.final("+CME ERROR: %s" % YUGE_CME.get(code, "unknown"))

    def _err(self, code):
        """A failure the manual documents as +CME ERROR <err> (see plain_errors)."""
        if self.opts["plain_errors"]:
            return self.error()
        self.cme_error(code)

    # ================================================================ output helpers
    def link_result(self, n, text):
        """'n, text' (SIMCom/Yuge firmware) or 'n,text' (link_space=False)."""
        return ("%d, %s" if self.opts["link_space"] else "%d,%s") % (n, text)

    def _colon(self, head, rest):
        return head + (": " if self.opts["colon_space"] else ":") + rest

    def _data_accept(self, n, length):
        head = "DATA ACCEPT: " if self.opts["data_accept_space"] else "DATA ACCEPT:"
        if self.cipmux:
            return head + "%d,%d" % (n, length)
        return head + "%d" % length

    def _ip_text(self):
        ip = self.contexts.get(1, self.ip)
        if self.opts["ip_zero_pad"]:
            return ".".join("%03d" % int(p) for p in ip.split("."))
        return ip

    def _result_urc(self, line):
        if self.opts["connect_result_in_reply"]:
            self.urc_in_next_reply(line)
        else:
            self.urc(line)

    def _pdp_deact_urc(self):
        if self.opts["cgev_urcs"] != "only":
            self.urc(str(self.opts["pdp_deact"]))

    def cgev(self, event, cid):
        """A 3GPP +CGEV line (manual 6.8) when AT+CGEREP=1 or cgev_urcs asks for it."""
        if self.opts["cgev_urcs"] or self.cgerep[0] == 1:
            self.urc("+CGEV: %s %d" % (event, cid))

    def context_up(self, cid, ip=None):
        up = cid in self.contexts
        super().context_up(cid, ip)
        if not up:
            # the default bearer comes with registration (the network's), others by
            # AT+CGACT=1 (the module's); manual 6.8
            self.cgev("EPS PDN ACT" if cid == 1 else "ME PDN ACT", cid)

    def context_down(self, cid):
        up = cid in self.contexts
        super().context_down(cid)
        if up:
            self.cgev("ME PDN DEACT", cid)

    # ================================================================ registration / PDP
    def on_registration(self, stat):
        super().on_registration(stat)
        # manual 9.2 / 13.14: once registered the module holds an active default bearer
        if self.registered and self.cgatt:
            self._bearer_up()

    def _bearer_up(self):
        if not (self.registered and self.cgatt and self.cfun == 1):
            return False
        if 1 not in self.contexts:
            t, apn = self.cgdcont.get(1, ("IP", ""))
            if not apn:
                self.cgdcont[1] = (t, str(self.opts["network_apn"]))
            self.context_up(1, self.ip)
        return True

    def _reg_fields(self, n, stat, urc=False):
        head = "%d" % stat if urc else "%d,%d" % (n, stat)
        if n >= 2 and stat in (1, 5):
            head += ',"%s","%s",%d' % (self.lac, self.ci, self.act)
        return head

    def on_network_drop(self, lost, conns):
        """The bearer is gone (network, AT+CGATT=0, AT+CFUN=0): manual 9.40."""
        tp = self.tp
        if tp is not None and tp.online:
            # manual 9.42 透明传输: a stack error ends data mode with TCP/UDP ERROR:<code>
            if tp.link.mode == "UDP":
                self._tp_end("UDP ERROR:%d" % UDP_ERR_NETWORK)
            else:
                self._tp_end("TCP ERROR:%d" % TCP_ERR_NETWORK)
        self._tp_end()
        for link in self.links.values():
            if link.state in ("CONNECTING", "CONNECTED", "CLOSING", "REMOTE CLOSING"):
                link.state = "CLOSED"
            if link.timer:
                link.timer.cancel()
            self._forget(link)
        self._stop_heart()
        self._stop_ping()
        if self.server is not None:
            self.server = None
        if self.ip_state != "IP INITIAL":
            self.ip_state = "PDP DEACT"
        for cid in sorted(lost):
            self.cgev("%s PDN DEACT" % ("EPS" if self.drop_cause == "nw" else "ME"), cid)
        if 1 in lost:
            self._pdp_deact_urc()
        super().on_network_drop(lost, conns)

    # ---------------------------------------------------------------- 6.2 CGATT
    @command("+CGATT")
    def at_cgatt(self, c):
        if c.kind == "test":
            return self.answer("+CGATT: (0-1)")  # manual 6.2 example
        if c.kind == "read":
            return self.answer("+CGATT: %d" % (1 if self.registered and self.cgatt else 0))
        if c.kind != "set":
            return self.error()
        v = c.int(0)
        if v not in (0, 1):
            return self.cme_error(53)
        if v == 0:
            self.cgatt = 0
            self.ok()
            # manual 9.40: AT+CGATT=0 releases the context, state PDP DEACT
            self.network_drop(cause="me")
            return
        if not self.registered:
            return self.cme_error(E_NO_SERVICE)
        self.cgatt = 1
        self.ok()
        self._bearer_up()

    # ---------------------------------------------------------------- 6.3 CGDCONT
    @command("+CGDCONT")
    def at_cgdcont(self, c):
        if c.kind == "read":
            # manual 6.3 example: the active default context shows its address
            lines = ['+CGDCONT: %d,"%s","%s","%s",0,0' % (cid, t, apn,
                                                         self.contexts.get(cid, "0.0.0.0"))
                     for cid, (t, apn) in sorted(self.cgdcont.items())]
            return self.answer(*lines)
        super().at_cgdcont(c)

    # ---------------------------------------------------------------- 6.5 / 6.6
    @command("+CGPADDR")
    def at_cgpaddr(self, c):
        if c.kind == "test":
            return self.answer("+CGPADDR: (%s)" % ",".join(str(k) for k in sorted(self.contexts)))
        if c.kind == "set":
            cid = c.int(0)
            if cid not in self.contexts:
                # manual 6.5: no address can be shown for a context that is not up
                return self.error()
            return self.answer('+CGPADDR: %d,"%s"' % (cid, self.contexts[cid]))
        self.answer(*['+CGPADDR: %d,"%s"' % (cid, ip) for cid, ip in sorted(self.contexts.items())])

    @command("+CGACT")
    def at_cgact(self, c):
        if c.kind == "test":
            return self.answer("+CGACT: (0,1)")
        if c.kind == "read":
            return self.answer(*["+CGACT: %d,%d" % (cid, 1 if cid in self.contexts else 0)
                                 for cid in sorted(self.cgdcont)])
        if c.kind != "set":
            return self.error()
        state, cid = c.int(0), c.int(1, 1)
        if state not in (0, 1) or cid not in self.cgdcont:
            return self.cme_error(53)
        if state == 1:
            if not self.registered:
                return self.cme_error(E_NO_SERVICE)
            self.ok()
            if cid == 1:
                self._bearer_up()
            elif cid not in self.contexts:
                self.context_up(cid, "10.83.172.%d" % (111 + cid))
            return
        self.ok()
        if cid == 1 and 1 in self.contexts:
            self.network_drop(cause="me")
        else:
            self.context_down(cid)

    @command("+CGEREP")
    def at_cgerep(self, c):
        if c.kind == "test":
            return self.answer("+CGEREP: (0,1),(0)")
        if c.kind == "read":
            return self.answer("+CGEREP: %d,%d" % self.cgerep)
        self.cgerep = (c.int(0), c.int(1, 0))
        self.ok()

    # ---------------------------------------------------------------- 4.3 CPIN
    @command("+CPIN")
    def at_cpin(self, c):
        if c.kind == "set" and self.sim_state != "absent" and not self.pin_ok:
            if c.str(0) != self.pin:
                return self.cme_error(16)
            # manual 4.3 example: "+CPIN: READY" then OK
            self.pin_ok = True
            self.reply("+CPIN: READY")
            self.ok()
            self.start_registration()
            return
        super().at_cpin(c)

    # ---------------------------------------------------------------- ch.3/4 settings
    @command("+CSCS")
    def at_cscs(self, c):
        if c.kind == "test":
            return self.answer('+CSCS:"GSM","IRA","UCS2"')  # manual 3.1 example
        if c.kind == "read":
            return self.answer('+CSCS: "%s"' % self.cscs)
        if c.kind == "set":
            v = c.str(0).upper()
            if v not in ("GSM", "IRA", "UCS2"):
                return self.cme_error(53)
            self.cscs = v
        self.ok()

    @command("+IPR")
    def at_ipr(self, c):
        if c.kind == "test":
            return self.answer("+IPR:(600,1200,2400,4800,9600,19200,38400,57600,115200,"
                               "230400),(0,600,1200,2400,4800,9600,19200,38400,57600,115200,"
                               "230400,460800,921600)")  # manual 4.6 example
        if c.kind == "read":
            return self.answer("+IPR: %d" % self.ipr)
        if c.kind == "set":
            self.ipr = c.int(0)
        self.ok()

    @command("+IFC")
    def at_ifc(self, c):
        if c.kind == "test":
            return self.answer("+IFC: (0-2),(0-2)")  # manual 4.9 example
        if c.kind == "read":
            return self.answer("+IFC: %d,%d" % self.ifc)
        if c.kind == "set":
            self.ifc = (c.int(0), c.int(1, 0))
        self.ok()

    @command("+CNETLIGHT", "+CFGRI", "+CTZU", "+CTZR", "*RTIME",
             "+CSDT", "+ICF", "+CGAUTH")
    def at_accept(self, c):
        # configuration commands drivers send during set-up: accepted, not modelled
        self.ok()

    # ================================================================ 9.1 CIPMUX
    @command("+CIPMUX")
    def at_cipmux(self, c):
        if c.kind == "test":
            return self.answer("+CIPMUX: (0,1)")
        if c.kind == "read":
            return self.answer("+CIPMUX: %d" % self.cipmux)
        if c.kind != "set":
            return self.error()
        n = c.int(0)
        if n not in (0, 1):
            return self.error()
        # manual 9.1: "只在 IP initial 状态, 本命令的设置命令才能设置成功"
        if self.ip_state != "IP INITIAL" or (n == 1 and self.cipmode == 1):
            return self._err(E_NOT_ALLOWED)
        self.cipmux = n
        self.ok()

    # ================================================================ 9.2 CSTT
    @command("+CSTT")
    def at_cstt(self, c):
        # (the manual's 9.2 heading writes AT+CSSTT / AT+CSST: typos; every example
        # and the module use AT+CSTT)
        if c.kind == "test":
            return self.answer('+CSTT: "APN","USER","PWD"')
        if c.kind == "read":
            return self.answer('+CSTT: "%s","%s","%s"' % self.cstt)
        # manual 9.2: only in IP INITIAL; then IP START
        if self.ip_state != "IP INITIAL":
            return self._err(E_NOT_ALLOWED)
        apn = c.str(0, "") if c.kind == "set" else ""
        if len(apn) > 128:
            return self.error()
        if not apn:
            # "直接输入 AT+CSTT 即可": the APN the network gave the default bearer
            apn = self.cgdcont.get(1, ("IP", ""))[1] or str(self.opts["network_apn"])
        user = c.str(1, "") if c.kind == "set" else ""
        pwd = c.str(2, "") if c.kind == "set" else ""
        self.cstt = (apn, user, pwd)
        self.ip_state = "IP START"
        self.ok()

    @command("+CPNETAPN")
    def at_cpnetapn(self, c):
        # manual 9.3: private-network APN, saved and applied to the default bearer
        if c.kind == "test":
            return self.answer('+CPNETAPN: setmode=[2,3],"apn","Username","Password", '
                               'authtype=[0,1,2]')
        if c.kind == "read":
            apn = self.cgdcont.get(1, ("IP", ""))[1]
            return self.answer("MODE:2", "APN:%s" % apn, "USR:", "PWD:", "AUTHMODE:0")
        if c.kind != "set" or len(c) < 2:
            return self.error()
        if c.int(0) == 2:
            if not c.str(1):
                return self.error()
            self.cgdcont[1] = ("IP", c.str(1))
        self.ok()

    # ================================================================ 9.4 CIICR
    @command("+CIICR")
    def at_ciicr(self, c):
        # (the manual prints "AT+CHCR" in 1.4 and 9.31: a copy slip for AT+CIICR; the
        # module knows no AT+CHCR, so neither do we)
        if c.kind == "test":
            return self.ok()
        if c.kind != "exec":
            return self.error()
        # manual 9.4: only in IP START; failure is a plain ERROR
        if self.ip_state != "IP START":
            return self.error()
        if not (self.registered and self.cgatt and self.cfun == 1):
            return self.error()
        self.ip_state = "IP CONFIG"

        def done():
            if self.ip_state != "IP CONFIG":
                return self.error()
            if self.apn_rejected(self.cstt[0]):
                # the network refuses the APN: 9.4 "如果激活失败, 返回: ERROR" (plain,
                # whatever AT+CMEE says), and the module stays in IP START
                self.ip_state = "IP START"
                return self.error()
            if not self._bearer_up():
                self.ip_state = "IP START"
                return self.error()
            self.ip_state = "IP GPRSACT"
            self.ok()
        delay = int(self.opts["ciicr_ms"])
        if delay:
            self.after(delay, done)
        else:
            done()

    # ================================================================ 9.5 CIFSR
    @command("+CIFSR")
    def at_cifsr(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "exec":
            return self.error()
        if self.ip_state not in ACTIVE_STATES or 1 not in self.contexts:
            return self.error()  # manual 9.5 / 9.42: ERROR
        if self.ip_state == "IP GPRSACT":
            self.ip_state = "IP STATUS"
        if self._suppress_ok:
            # AT+CIFSR;E0: the address, then the rest of the line (SIM800 family,
            # public knowledge: see the module docstring)
            self.reply(self._ip_text())
            self._final = "OK"
            return
        # the address alone ends the command: no OK (manual 9.5, 9.42)
        self.final(self._ip_text())

    # ================================================================ 9.6 / 9.7 SSL
    @command("+CIPSSL")
    def at_cipssl(self, c):
        # 9.6: one switch for the module, read by each AT+CIPSTART ("在 CIPSTART 之前
        # 输入"): a TCP connection started while it is 1 does a REAL TLS handshake
        # (tlsclient.py, on the real TCP connection) configured from AT+SSLCFG context
        # <n> (multi-link: the link number; single link: 0; 9.7), as
        # YugeMQTT.module_tls says (yuge_mqtt.py). Connections already open keep what
        # they started with. A failed handshake is "<n>, CONNECT FAIL" (9.9 gives no
        # other result). UDP with CIPSSL 1: CONNECT FAIL (no DTLS; not simulated).
        if c.kind == "test":
            return self.answer("+CIPSSL: (0-1)")
        if c.kind == "read":
            return self.answer("+CIPSSL: %d" % self.cipssl)
        if c.kind != "set" or c.int(0) not in (0, 1):
            return self.error()
        if c.int(0) == 1 and not self.opts["tls_firmware"]:
            return self.error()  # tls_firmware False: no TLS in this build
        self.cipssl = c.int(0)
        self.ok()

    @command("+SSLCFG")
    def at_sslcfg(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "set" or len(c) < 2:
            return self.error()
        key = c.str(0).lower()
        ctx = c.int(1)
        if key not in SSL_KEYS or ctx not in SSL_CTX:
            return self.error()
        if len(c) == 2:
            # manual 9.7: without a value it is a query
            val = self.sslcfg.get((key, ctx), "")
            return self.answer('+SSLCFG: "%s",%d,%s' % (key, ctx, val))
        val = c.str(2, "")
        if val == "":
            self.sslcfg.pop((key, ctx), None)  # "<n>,<empty>" erases (manual 9.7)
        else:
            self.sslcfg[(key, ctx)] = val
        self.ok()

    # ================================================================ 9.8 CLPORT
    @command("+CLPORT")
    def at_clport(self, c):
        if c.kind == "test":
            if self.cipmux:
                return self.answer('+CLPORT: (0-5),("TCP","UDP"),(0-65535)')
            return self.answer('+CLPORT: ("TCP","UDP"),(0-65535)')
        if c.kind == "read":
            if self.cipmux:
                return self.answer(*["+CLPORT: %d,%d,%d" % (n, self.clport.get((n, "TCP"), 0),
                                                            self.clport.get((n, "UDP"), 0))
                                     for n in range(NLINKS)])
            return self.answer("+CLPORT: %d,%d" % (self.clport.get((0, "TCP"), 0),
                                                   self.clport.get((0, "UDP"), 0)))
        if c.kind != "set":
            return self.error()
        i = 1 if self.cipmux else 0
        n = c.int(0) if self.cipmux else 0
        mode, port = c.str(i).upper(), c.int(i + 1)
        if mode not in ("TCP", "UDP") or not 0 <= port <= 65535 or not 0 <= n < NLINKS:
            return self.error()
        self.clport[(n, mode)] = port
        self.ok()

    # ================================================================ 9.9 CIPSTART
    @command("+CIPSTART")
    def at_cipstart(self, c):
        if c.kind == "test":
            pre = "(0-5)," if self.cipmux else ""
            return self.answer(
                '+CIPSTART: %s("TCP","UDP"),("(0-255).(0-255).(0-255).(0-255)"),(1-65535)' % pre,
                '+CIPSTART: %s("TCP","UDP"),("DOMAIN NAME"),(1-65535)' % pre)
        if c.kind != "set":
            return self.error()
        if self.cipmux:
            if len(c) != 4:
                return self.error()
            n, mode, host, port = c.int(0), c.str(1).upper(), c.str(2), c.int(3)
            if not 0 <= n < NLINKS:
                return self.error()
        else:
            if len(c) != 3:
                return self.error()
            n, mode, host, port = 0, c.str(0).upper(), c.str(1), c.int(2)
        if mode not in ("TCP", "UDP") or not 1 <= port <= 65535 or not host or len(host) > 128:
            return self.error()
        old = self.links.get(n)
        if old is not None and old.state in ("CONNECTING", "CONNECTED"):
            # manual 9.9: an existing connection -> ALREADY CONNECT, after the error the
            # state rule gives ("+CME ERROR", the link is not in an allowed state);
            # already_connect_alone: the result line alone (SIM800 firmware)
            if not self.opts["already_connect_alone"]:
                self._err(E_EXIST)
            self.urc(self.link_result(n, "ALREADY CONNECT") if self.cipmux
                     else "ALREADY CONNECT")
            return
        if self.cipmux:
            # manual 9.9: multi-link only in IP STATUS / IP PROCESSING (CSTT, CIICR,
            # CIFSR done)
            if self.ip_state not in ("IP STATUS", "IP PROCESSING"):
                return self._err(E_NOT_ALLOWED)
        else:
            # manual 9.9: single link in IP INITIAL, IP STATUS or TCP/UDP CLOSED; from IP
            # INITIAL the module brings the context up by itself (9.42 "TCP 非透传应用 2")
            if self.ip_state not in ("IP INITIAL", "IP STATUS", "TCP CLOSED", "UDP CLOSED"):
                return self._err(E_NOT_ALLOWED)
            if self.ip_state == "IP INITIAL":
                if not self._bearer_up():
                    return self._err(E_NO_SERVICE)
                if not self.cstt[0]:
                    self.cstt = (self.cgdcont.get(1, ("IP", ""))[1], "", "")
        if old is not None:
            self._forget(old)
        link = Link(n, mode, host, port)
        link.tls = self.cipssl
        self.links[n] = link
        link.state = "CONNECTING"
        if self.cipmux:
            self.ip_state = "IP PROCESSING"
        else:
            self.ip_state = "%s CONNECTING" % mode
        self.ok()
        delay = int(self.opts["connect_ms"])
        if delay:
            link.timer = self.after(delay, self._connect, link, delay)
        else:
            self._connect(link)

    def _connect(self, link, waited=0):
        link.timer = None
        if self.links.get(link.n) is not link or link.state != "CONNECTING":
            return  # closed or shut meanwhile
        early = b""
        try:
            if self.fail_code("+CIPSTART") is not None:
                raise NetError("refused", "fail= fault")
            if link.tls:
                conn, early = self._tls_open(link)
            elif link.mode == "TCP":
                conn = self.net.open_tcp(link.host, link.port)
            else:
                conn = self.net.open_udp(link.host, link.port,
                                         self.clport.get((link.n, "UDP"), 0))
        except NetError as e:
            self.log("-- link %d: %s" % (link.n, e))
            late = int(self.opts["fail_late_ms"]) - waited
            if late > 0:
                # fail_late_ms: CONNECT FAIL comes that long after AT+CIPSTART
                link.timer = self.after(late, self._connect_failed, link)
                return
            self._connect_failed(link)
            return
        link.conn = conn
        link.ip = conn.peer[0]
        self._by_conn[conn.id] = link
        link.state = "CONNECTED"
        if early:  # the server spoke first: its bytes came with the handshake
            conn.rx += early
        if self.cipmux:
            self._result_urc(self.link_result(link.n, "CONNECT OK"))
        elif self.cipmode:
            self.ip_state = "CONNECT OK"
            self.tp = _Transparent(link)
            # manual 9.9: transparent mode. Never held back (hold fault,
            # connect_result_in_reply): the data that follows must come after it
            self.urc("CONNECT", hold=False)
            self._tp_online()
        else:
            self.ip_state = "CONNECT OK"
            self._result_urc("CONNECT OK")
        if link.rx:
            self._arrived(link)

    def _connect_failed(self, link):
        link.timer = None
        if self.links.get(link.n) is not link or link.state != "CONNECTING":
            return  # closed or shut meanwhile
        link.state = "CLOSED"
        if self.cipmux:
            self._result_urc(self.link_result(link.n, "CONNECT FAIL"))
        else:
            # manual 9.9: "STATE: <sl_state>" then CONNECT FAIL
            self.ip_state = "%s CLOSED" % link.mode
            self._result_urc("STATE: %s" % self.ip_state)
            self._result_urc("CONNECT FAIL")

    def _tls_open(self, link):
        """(conn, early plaintext) of a real TLS connection for link (AT+CIPSSL=1);
        NetError for anything that fails (the caller answers CONNECT FAIL)."""
        ctx = link.n if self.cipmux else 0  # 9.7 <n>
        if link.mode != "TCP":
            raise NetError("tls", "AT+CIPSSL=1 with UDP: no DTLS")
        try:
            sc, sni, name, dates = self.module_tls(ctx, link.host)
            conn, ts = open_tls(self.net, link.host, link.port, sc, sni,
                                self.tls_timeout(ctx))
        except TLSFailure as e:
            raise NetError("tls", "TLS handshake failed: %s" % e)
        why = self.tls_refused(ts, name, dates)
        if why:
            conn.close()
            raise NetError("tls", "TLS server refused: %s" % why)
        self.log("-- link %d: TLS %s %s" % (link.n, ts.cipher()[1], ts.cipher()[0]))
        return conn, ts.early

    # ================================================================ 9.10 CIPMODE
    @command("+CIPMODE")
    def at_cipmode(self, c):
        if c.kind == "test":
            return self.answer("+CIPMODE: (0-NORMAL MODE,1-TRANSPARENT MODE)")
        if c.kind == "read":
            return self.answer("+CIPMODE: %d" % self.cipmode)
        if c.kind != "set":
            return self.error()
        v = c.int(0)
        if v not in (0, 1):
            return self.error()
        # manual 9.10: only in IP INITIAL, and only single-link
        if self.ip_state != "IP INITIAL" or (v == 1 and self.cipmux):
            return self._err(E_NOT_ALLOWED)
        self.cipmode = v
        self.ok()

    # ================================================================ simple settings
    def _setting(self, c, attr, name, choices, test=None):
        if c.kind == "test":
            return self.answer(test or "%s: (%s)" % (name, ",".join(str(x) for x in choices)))
        if c.kind == "read":
            return self.answer("%s: %d" % (name, getattr(self, attr)))
        if c.kind != "set":
            return self.error()
        v = c.int(0)
        if v not in choices:
            return self.error()
        setattr(self, attr, v)
        self.ok()

    @command("+CIPQSEND")
    def at_cipqsend(self, c):
        self._setting(c, "cipqsend", "+CIPQSEND", (0, 1, 2))  # manual 9.11

    @command("+CIPRXF")
    def at_ciprxf(self, c):
        self._setting(c, "ciprxf", "+CIPRXF", (0, 1))  # manual 9.12

    @command("+CIPSPRT")
    def at_cipsprt(self, c):
        self._setting(c, "cipsprt", "+CIPSPRT", (0, 1, 2))  # manual 9.16

    @command("+CIPHEAD")
    def at_ciphead(self, c):
        self._setting(c, "ciphead", "+CIPHEAD", (0, 1))  # manual 9.23

    @command("+CIPSRIP")
    def at_cipsrip(self, c):
        self._setting(c, "cipsrip", "+CIPSRIP", (0, 1))  # manual 9.22

    @command("+CIPSHOWTP")
    def at_cipshowtp(self, c):
        self._setting(c, "cipshowtp", "+CIPSHOWTP", (0, 1))  # manual 9.24

    @command("+CIPCCFG")
    def at_cipccfg(self, c):
        # manual 9.13; stored only: data in transparent mode is forwarded at once
        if c.kind == "test":
            return self.answer("+CIPCCFG: (NmRetry:3-8),(WaitTm:2-10),(SendSz:1-1460),"
                               "(esc:0,1),<Rxmode>,<RxSize>,<Rxtimer>,<BufClean>")
        if c.kind == "read":
            return self.answer("+CIPCCFG: %d,%d,%d,%d,%d,%d,%d,%d" % self.cipccfg)
        if c.kind != "set" or len(c) < 4:
            return self.error()
        vals = [int(a) for a in c.args] + list(self.cipccfg[len(c):])
        lim = ((3, 8), (2, 10), (1, 1460), (0, 1), (0, 1), (50, 1460), (20, 1000), (0, 1))
        if any(not lo <= v <= hi for v, (lo, hi) in zip(vals, lim)):
            return self.error()
        self.cipccfg = tuple(vals[:8])
        self.ok()

    @command("+CIPATS")
    def at_cipats(self, c):
        # manual 9.15: send what was typed after <time> seconds without Ctrl-Z
        if c.kind == "test":
            return self.answer("+CIPATS: (0,1),(1-100)")
        if c.kind == "read":
            return self.answer("+CIPATS: %d,%d" % self.cipats)
        if c.kind != "set":
            return self.error()
        mode, t = c.int(0), c.int(1, self.cipats[1])
        if mode not in (0, 1) or not 1 <= t <= 100:
            return self.error()
        self.cipats = (mode, t)
        self.ok()

    @command("+CIPCSGP")
    def at_cipcsgp(self, c):
        if c.kind == "test":
            return self.answer("+CIPCSGP: 0-CSD,DIAL NUMBER,USER NAME,PASSWORD,RATE(0-3)",
                               "+CIPCSGP: 1-GPRS,APN,USER NAME,PASSWORD")
        if c.kind == "read":
            return self.answer('+CIPCSGP: %d,"%s","%s","%s"' % self.cipcsgp)
        if c.kind != "set":
            return self.error()
        self.cipcsgp = (c.int(0), c.str(1, ""), c.str(2, ""), c.str(3, ""))
        self.ok()

    @command("+CIPSCONT")
    def at_cipscont(self, c):
        # manual 9.26
        if c.kind == "read":
            return self.answer(
                "+CIPSCONT:1", "+CIPCSGP:%d" % self.cipcsgp[0],
                "Gprs Config APN:%s" % self.cipcsgp[1],
                "Gprs Config UserId:%s" % self.cipcsgp[2],
                "Gprs Config Password:%s" % self.cipcsgp[3],
                "+CIPHEAD:%d" % self.ciphead, "+CIPSHOWTP:%d" % self.cipshowtp,
                "+CIPSRIP:%d" % self.cipsrip, "+CIPATS:%d,%d" % self.cipats,
                "+CIPSPRT:%d" % self.cipsprt, "+CIPQSEND:%d" % self.cipqsend,
                "+CIPMODE:%d" % self.cipmode,
                "+CIPCCFG:%d,%d,%d,%d,%d,%d,%d" % self.cipccfg[:7],
                "+CIPMUX:%d" % self.cipmux, "+CIPDPDP:0, 10, 3",
                "+CIPRXGET:%d" % self.ciprxget, "+CIPRDTIMER: 2000,3500")
        self.ok()

    @command("+CIFCONFIG")
    def at_cifconfig(self, c):
        # manual 9.30: RNDIS gateway, only 192.168.X.2
        if c.kind == "read":
            return self.answer(getattr(self, "_rndis_gw", "192.168.0.2"))
        if c.kind == "set":
            ip = c.str(0).split(".")
            if len(ip) != 4 or ip[:2] != ["192", "168"] or ip[3] != "2":
                return self.error()
            self._rndis_gw = c.str(0)
        self.ok()

    # ================================================================ 9.14 CIPSEND
    @command("+CIPSEND")
    def at_cipsend(self, c):
        if c.kind == "test":
            if self.cipmux:
                return self.answer("+CIPSEND: (0-5),(1-%d)" % MAX_SEND)
            return self.answer("+CIPSEND: (1-%d)" % MAX_SEND)
        if c.kind == "read":
            if self.cipmux:
                return self.answer(*["+CIPSEND: %d,%d" % (n, MAX_SEND if self._usable(n) else 0)
                                     for n in range(NLINKS)])
            return self.answer("+CIPSEND: %d" % MAX_SEND)
        length = None
        if c.kind == "exec":
            if self.cipmux:
                return self.error()  # manual 9.14: the execute form is single-link
            n = 0
        elif c.kind == "set":
            if self.cipmux:
                n = c.int(0)
                if len(c) > 1:
                    length = c.int(1)
            else:
                n, length = 0, c.int(0)
        else:
            return self.error()
        if self.tp is not None:
            return self._err(E_NOT_ALLOWED)  # transparent mode has no CIPSEND
        link = self.links.get(n)
        if link is None or not link.usable:
            # manual 9.14: "如果连接未建立或者连接被断开, 返回: +CME ERROR <err>"
            return self._err(E_NOT_EXIST)
        if length is not None and not 1 <= length <= MAX_SEND:
            return self._err(E_OVERSIZE)
        timeout = None
        if self.cipats[0] == 1:
            timeout = self.cipats[1] * int(self.opts["ats_unit_ms"])

        def done(data, reason):
            if reason == "esc":
                # ESC cancels (manual 9.14) and nothing is sent. Neither this manual nor
                # the SIM800 documents say what comes back; we end the command with OK
                # (an assumption: a host should accept OK or nothing here).
                return self.ok()
            if reason == "timeout" and not data:
                return self.error()
            self._send_result(link, data)

        prompt = self.prompt if self.cipsprt == 1 else b""
        if length is None:
            # variable length: Ctrl-Z sends, ESC cancels; at most <size> bytes
            self.collect(done, n=MAX_SEND, ctrlz=True, prompt=prompt, timeout_ms=timeout)
        else:
            self.collect(done, n=length, prompt=prompt, timeout_ms=timeout)

    def _usable(self, n):
        link = self.links.get(n)
        return link is not None and link.usable

    def _send_result(self, link, data):
        n = link.n
        sent = 0
        if self.fail_code("+CIPSEND") is not None:
            data = data or b"-"  # fail= fault: nothing goes out, SEND FAIL below
        elif link.usable:
            sent = link.conn.send(data)
        link.tx += sent
        if self.cipsprt == 2:
            return self.done()  # manual 9.16: no prompt, no result
        if sent != len(data) or not data:
            return self.final(self.link_result(n, "SEND FAIL") if self.cipmux else "SEND FAIL")
        if self.cipqsend == 1:
            return self.final(self._data_accept(n, len(data)))
        self.final(self.link_result(n, "SEND OK") if self.cipmux else "SEND OK")

    # ================================================================ 9.18 CIPACK
    @command("+CIPACK")
    def at_cipack(self, c):
        if c.kind == "test":
            return self.ok()
        if self.cipmux:
            if c.kind != "set":
                return self.error()
            n = c.int(0)
        else:
            if c.kind != "exec":
                return self.error()
            n = 0
        link = self.links.get(n)
        if link is None:
            return self.error()
        # loopback peers acknowledge at once: nothing stays unacknowledged
        self.answer("+CIPACK: %d,%d,0" % (link.tx, link.tx))  # manual 9.42 example form

    # ================================================================ 9.17 CIPSTATUS
    @command("+CIPSTATUS")
    def at_cipstatus(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "exec":
            return self.error()
        # manual 9.17 / 9.42: OK first, then the state line(s)
        self.ok()
        lines = ["STATE: %s" % self.ip_state]
        if self.cipmux:
            if self.server is not None:
                # not in the manual: the SIM800 family lists a listening server so
                lines.append('S: 0,0,"%d","LISTENING"' % self.server_port)
            for n in range(NLINKS):
                link = self.links.get(n)
                if link is None or link.state == "INITIAL":
                    if self.opts["cipstatus_initial"] == "sim800":
                        lines.append('C: %d,,"","","","INITIAL"' % n)
                    else:
                        lines.append('C: %d,,,"",,"",,"INITIAL"' % n)
                else:
                    lines.append('C: %d,0,"%s","%s","%d","%s"' % (n, link.mode, link.ip,
                                                                  link.port, link.state))
        self.reply(*lines)

    # ================================================================ 9.20 / 9.21 DNS
    @command("+CDNSCFG")
    def at_cdnscfg(self, c):
        if c.kind == "test":
            return self.answer('+CDNSCFG: ("Primary DNS"),("Secondary DNS")')
        if c.kind == "read":
            return self.answer("PrimaryDns: %s" % self.dns[0], "SecondaryDns: %s" % self.dns[1])
        if c.kind != "set":
            return self.error()
        pri, sec = c.str(0), c.str(1, self.dns[1])
        for ip in (pri, sec):
            parts = ip.split(".")
            if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
                return self.error()
        self.dns = (pri, sec)
        self.ok()

    def _lookup(self, name):
        """Host table only (never real DNS); a literal IPv4 address is itself."""
        parts = name.split(".")
        if len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts):
            return name
        return self.hosts.get(name.lower())

    @command("+CDNSGIP")
    def at_cdnsgip(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "set":
            return self.error()
        name = c.str(0)
        if not name or len(name) > 128:
            return self.error()
        # manual 9.42: only after CSTT, CIICR, CIFSR
        if self.ip_state not in ACTIVE_STATES or 1 not in self.contexts:
            return self.error()
        self.ok()
        ip = self._lookup(name)
        if ip is None:
            return self.urc(self._colon("+CDNSGIP", "0,10"))  # 10: GENERAL ERROR
        self.urc(self._colon("+CDNSGIP", '1,"%s","%s"' % (name, ip)))

    # ================================================================ 9.25 / 9.27 receive
    def _arrived(self, link):
        """Data is waiting on link: push it or announce it per AT+CIPRXGET."""
        if self.tp is not None and self.tp.link is link:
            if self.tp.online:
                self.raw(link.conn.read(len(link.conn.rx)))
            return  # after +++ it waits for ATO
        if link.state != "CONNECTED":
            return
        if self.ciprxget in (1, 5):
            if self.ciprxget == 5 or link.armed:
                link.armed = False
                self.urc(self._colon("+CIPRXGET", "1,%d" % link.n if self.cipmux else "1"))
            return
        self._push(link)

    def _push(self, link):
        conn = link.conn
        while conn is not None and conn.rx:
            size = int(self.opts["push_max"])
            if link.dgrams:
                size = min(size, link.dgrams[0])  # UDP: one datagram per piece
            data = conn.read(size)
            link.took(len(data))
            if self.cipmux:
                # manual 9.25: header, then the data on a line of its own
                out = b"\r\n+RECEIVE,%d,%d:\r\n" % (link.n, len(data)) \
                    + self.short_payload(data)  # short= fault: the header keeps len
            else:
                out = b""
                if self.cipsrip:
                    if self.opts["recv_from"] == "example":
                        src = "+RECV FROM: %s:%d" % (conn.peer[0], conn.peer[1])
                    else:
                        src = "RECV FROM:%s:%d" % (conn.peer[0], conn.peer[1])
                    out += b"\r\n" + src.encode() + b"\r\n"
                if self.ciphead:
                    head = "+IPD,%d" % len(data)
                    if self.cipshowtp:
                        head += "," + link.mode  # manual 9.24
                    # manual 9.23 (short= fault: the header keeps the length)
                    out += b"\r\n" + head.encode() + b":" + self.short_payload(data)
                else:
                    out += data  # manual 9.42: the bare data
            if self.ciprxf == 0:
                out += b"\r\n"  # manual 9.12
            self.raw(out)

    def net_data(self, conn, data):
        link = self._by_conn.get(conn.id)
        if link is None:
            return super().net_data(conn, data)
        conn.rx += data
        if link.mode == "UDP":
            link.dgrams.append(len(data))
        self._arrived(link)

    def net_overflow(self, conn, lost):
        if self._by_conn.get(conn.id) is None:
            return super().net_overflow(conn, lost)
        # The manual says nothing about a full receive buffer: the module keeps what
        # fits and the rest is lost, without a word to the host.
        self.log("-- link %s: receive buffer full, %d bytes lost" % (conn.tag, lost))

    @command("+CIPRXGET")
    def at_ciprxget(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind == "read":
            return self.answer(self._colon("+CIPRXGET", "%d" % self.ciprxget))
        if c.kind != "set":
            return self.error()
        mode = c.int(0)
        if mode in (0, 1, 5):
            self.ciprxget = mode
            for link in self.links.values():
                link.armed = True
            self.ok()
            if mode == 0:
                for link in list(self.links.values()):
                    if link.rx:
                        self._push(link)
            return
        if mode not in (2, 3, 4) or self.ciprxget not in (1, 5):
            return self.error()
        i = 1
        n = 0
        if self.cipmux:
            n = c.int(1)
            i = 2
        link = self.links.get(n)
        if link is None or link.conn is None:
            return self._err(E_NOT_EXIST)
        conn = link.conn
        if mode == 4:
            rest = len(conn.rx)
            body = "4,%d,%d" % (n, rest) if self.cipmux else "4,%d" % rest
            return self.answer(self._colon("+CIPRXGET", body))
        lim = MAX_SEND if mode == 2 else MAX_HEX
        want = c.int(i, lim)
        if not 1 <= want <= lim:
            return self.error()
        data = conn.read(want)
        link.took(len(data))  # UDP: bytes, joined (see the module docstring)
        rest = len(conn.rx)
        if self.cipmux:
            body = "%d,%d,%d,%d" % (mode, n, len(data), rest)
        else:
            body = "%d,%d,%d" % (mode, len(data), rest)
        # header and data in one piece: a URC never comes between them
        head = self._colon("+CIPRXGET", body)
        self.log("<- %r" % (head,))
        out = b"\r\n" + head.encode() + b"\r\n"
        if data:
            wire = self.short_payload(data)  # short= fault: the header keeps len(data)
            out += (wire if mode == 2 else wire.hex().upper().encode()) + b"\r\n"
        self.raw(out)
        if self.opts["renotify"] == "drained":
            link.armed = rest == 0
        else:
            link.armed = True  # manual 9.27: a read re-arms the notification
        self.ok()

    # ================================================================ closing
    def net_closed(self, conn):
        link = self._by_conn.get(conn.id)
        if link is None:
            return super().net_closed(conn)
        if self.links.get(link.n) is not link or link.state != "CONNECTED":
            return
        tp = self.tp
        if tp is not None and tp.link is link:
            # manual 9.42 透明传输: CLOSED ends data mode
            if tp.online and conn.rx:
                self.raw(conn.read(len(conn.rx)))
            if tp.online:
                self._tp_end("CLOSED")  # then the URCs that waited in data mode
            else:
                self._tp_end()
                self.urc("CLOSED")
        else:
            closed = self.link_result(link.n, "CLOSED") if self.cipmux else "CLOSED"
            if self.ciprxget in (1, 5) and conn.rx and self.opts["close_discards"]:
                # seen on real modules: both URCs back to back, unread data gone
                if link.armed or self.ciprxget == 5:
                    link.armed = False
                    self.urc(self._colon("+CIPRXGET",
                                         "1,%d" % link.n if self.cipmux else "1"))
                self.urc(closed)
                conn.rx.clear()
            else:
                self.urc(closed)
        link.state = "CLOSED"
        self._link_down(link)

    def _link_down(self, link):
        """Single-link state after link ended (peer close, CIPCLOSE)."""
        if not self.cipmux:
            if self.server is not None:
                self.ip_state = "SERVER LISTENING"
            else:
                self.ip_state = "%s CLOSED" % link.mode

    def _forget(self, link):
        """Drop the socket of a link (the link object may stay for CIPSTATUS)."""
        if link.timer:
            link.timer.cancel()
            link.timer = None
        if link.conn is not None:
            self._by_conn.pop(link.conn.id, None)
            link.conn.close()
            link.conn = None

    @command("+CIPCLOSE")
    def at_cipclose(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind == "exec":
            if self.cipmux:
                return self.error()  # manual 9.28: execute form is single-link only
            n = 0
        elif c.kind == "set":
            if self.cipmux:
                n = c.int(0)
                if len(c) > 1 and c.int(1) not in (0, 1):
                    return self.error()
            else:
                if c.int(0) not in (0, 1):  # <id>: 0 slow close, 1 quick close
                    return self.error()
                n = 0
        else:
            return self.error()
        link = self.links.get(n)
        # manual 9.28: only in TCP/UDP CONNECTING or CONNECT OK, otherwise ERROR
        if link is None or link.state not in ("CONNECTING", "CONNECTED"):
            return self.error()
        link.state = "CLOSING"
        if not self.cipmux:
            self.ip_state = "%s CLOSING" % link.mode
        if self.tp is not None and self.tp.link is link:
            self._tp_end()
        self._forget(link)
        link.state = "CLOSED"
        self._link_down(link)
        self.final(self.link_result(n, "CLOSE OK") if self.cipmux else "CLOSE OK")

    @command("+CIPSHUT")
    def at_cipshut(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "exec":
            return self.error()
        # manual 9.29: every connection closes, state IP INITIAL
        self._tp_end()
        for link in list(self.links.values()):
            self._forget(link)
        self.links.clear()
        if self.server is not None:
            self.server.close()
            self.server = None
        self._stop_heart(reset=False)
        self._stop_ping()
        self.ip_state = "IP INITIAL"
        self.cstt = ("", "", "")
        hook = getattr(super(), "on_cipshut", None)
        if hook is not None:
            hook()
        delay = int(self.opts["shut_ms"])
        if delay:
            self.after(delay, self.final, "SHUT OK")
        else:
            self.final("SHUT OK")

    # ================================================================ CIPSERVER
    # Not in this manual. The SIM800 family this command set copies answers
    # AT+CIPSERVER=1,<port> with OK then SERVER OK, AT+CIPSERVER=0 with OK then
    # SERVER CLOSE, and announces a client with "REMOTE IP: <ip>" (single link) or
    # "<n>, REMOTE IP: <ip>" (multi-link); we do the same.
    @command("+CIPSERVER")
    def at_cipserver(self, c):
        if c.kind == "test":
            return self.answer("+CIPSERVER: (0,1),(1-65535)")
        if c.kind == "read":
            if self.server is None:
                return self.answer("+CIPSERVER: 0")
            return self.answer("+CIPSERVER: 1,%d,0" % self.server_port)
        if c.kind != "set":
            return self.error()
        mode = c.int(0)
        if mode == 0:
            if self.server is None:
                return self.error()
            self.server.close()
            self.server = None
            self.ok()
            if not self.cipmux and self.ip_state == "SERVER LISTENING":
                self.ip_state = "IP STATUS"
            return self.urc("SERVER CLOSE")
        if mode != 1:
            return self.error()
        port = c.int(1)
        if not 1 <= port <= 65535 or self.server is not None:
            return self.error()
        ok_states = ("IP STATUS", "IP PROCESSING") if self.cipmux else \
            ("IP STATUS", "TCP CLOSED", "UDP CLOSED")
        if self.ip_state not in ok_states:
            return self._err(E_NOT_ALLOWED)
        try:
            lst = self.net.listen_tcp(port)
        except NetError:
            return self.error()
        self.server = lst
        self.server_port = lst.local_port
        self.ip_state = "IP PROCESSING" if self.cipmux else "SERVER LISTENING"
        self.ok()
        self.urc("SERVER OK")

    def net_accept(self, listener, conn):
        if listener is not self.server:
            return super().net_accept(listener, conn)
        if self.cipmux:
            free = [n for n in range(NLINKS) if n not in self.links
                    or self.links[n].state not in ("CONNECTING", "CONNECTED")]
            if not free:
                return False
            n = free[0]
        else:
            old = self.links.get(0)
            if old is not None and old.state in ("CONNECTING", "CONNECTED"):
                return False
            n = 0
        old = self.links.get(n)
        if old is not None:
            self._forget(old)
        link = Link(n, "TCP", conn.peer[0], conn.peer[1])
        link.accepted = True
        link.conn = conn
        link.state = "CONNECTED"
        self.links[n] = link
        self._by_conn[conn.id] = link
        if self.cipmux:
            self.urc(self.link_result(n, "REMOTE IP: %s" % conn.peer[0]))
        else:
            self.ip_state = "CONNECT OK"
            self.urc("REMOTE IP: %s" % conn.peer[0])
        return True

    # ================================================================ 9.31 CIPPING
    @command("+CIPPING")
    def at_cipping(self, c):
        if c.kind == "test":
            return self.answer("+CIPPING: (1-100),(0-1024),(1-600),(1-255)")
        if c.kind == "read":
            return self.answer("+CIPPING: %d,%d,%d,%d" % self.ping_cfg)
        if c.kind != "set":
            return self.error()
        host = c.str(0)
        retry = c.int(1, self.ping_cfg[0])
        dlen = c.int(2, self.ping_cfg[1])
        tmo = c.int(3, self.ping_cfg[2])
        ttl = c.int(4, self.ping_cfg[3])
        if not 0 <= retry <= 100 or not 0 <= dlen <= 1024 or not 1 <= tmo <= 600 \
                or not 1 <= ttl <= 255:
            return self.error()
        # manual 9.31: needs the PDP context; a name that does not resolve fails
        if 1 not in self.contexts or self.ip_state not in ACTIVE_STATES:
            return self.error()
        ip = self._lookup(host)
        if ip is None:
            return self.error()
        # simulated echo replies: no packet leaves this machine
        times = [int(t) for t in str(self.opts["ping_ms"]).split(",") if t.strip()] or [1]
        rttl = int(self.opts["ping_ttl"])

        def line(i):
            return '+CIPPING: %d,"%s",%d,%d' % (i, ip, times[(i - 1) % len(times)], rttl)
        if retry:
            self.answer(*[line(i) for i in range(1, retry + 1)])
            return
        # 0: "不停的进行 ping": replies keep coming (one a second) until AT+CIPSHUT,
        # a network drop or a reboot; the command line is free meanwhile
        self.done()
        count = [0]

        def tick():
            count[0] += 1
            self.urc(line(count[0]))
            self.ping_timer = self.after(1000, tick)
        self.ping_timer = self.after(0, tick)

    def _stop_ping(self):
        if self.ping_timer is not None:
            self.ping_timer.cancel()
            self.ping_timer = None

    # ================================================================ 9.32 CIPTKA
    @command("+CIPTKA")
    def at_ciptka(self, c):
        if c.kind == "test":
            return self.answer("+CIPTKA:(0,1),(30-7200),(30-600),(1-9)")
        if c.kind == "read":
            return self.answer("+CIPTKA:%d,%d,%d,%d" % self.ciptka)
        if c.kind != "set":
            return self.error()
        mode = c.int(0)
        idle = c.int(1, self.ciptka[1])
        intvl = c.int(2, self.ciptka[2])
        cnt = c.int(3, self.ciptka[3])
        if mode not in (0, 1) or not 30 <= idle <= 7200 or not 30 <= intvl <= 600 \
                or not 1 <= cnt <= 9:
            return self.error()
        self.ciptka = (mode, idle, intvl, cnt)
        self.ok()

    # ================================================================ 9.33-9.36 heartbeat
    @command("^HEARTCONFIG")
    def at_heartconfig(self, c):
        h = self.heart
        if c.kind == "test":
            return self.ok()
        if c.kind == "read":
            return self.answer("^HEARTCONFIG: %d,%d,%d" % (h["on"], h["id"], h["period"]))
        if c.kind != "set":
            return self.error()
        on = c.int(0)
        sid = c.int(1, h["id"])
        period = c.int(2, h["period"])
        if on not in (0, 1) or not 0 <= sid < NLINKS or not 5 <= period <= 600:
            return self.error()
        self._stop_heart()
        h.update(on=on, id=sid, period=period)
        if on:
            self._arm_heart()
        self.ok()

    def _arm_heart(self):
        h = self.heart
        ms = h["period"] * int(self.opts["heartbeat_unit_ms"])
        h["next"] = time.monotonic() + ms / 1000.0
        h["timer"] = self.after(ms, self._heart_tick)

    def _heart_tick(self):
        h = self.heart
        h["timer"] = None
        if not h["on"]:
            return
        link = self.links.get(h["id"])
        if link is not None and link.usable and (self.tp is None or self.tp.link is not link):
            data = h["hex"] if h["hex"] is not None else \
                (h["data"] if h["data"] is not None else self.imei).encode("latin-1")
            if link.conn.send(data) == len(data):
                link.tx += len(data)
                h["count"] += 1
                h["last"] = time.monotonic()
        self._arm_heart()

    def _stop_heart(self, reset=True):
        h = self.heart
        if h["timer"] is not None:
            h["timer"].cancel()
            h["timer"] = None
        if reset:
            # manual 9.36: switching the heartbeat off clears the statistics
            h.update(count=0, last=None, next=None)

    @command("^HEARTBEAT")
    def at_heartbeat(self, c):
        h = self.heart
        if c.kind == "test":
            return self.ok()
        if c.kind == "read":
            data = h["data"] if h["data"] is not None else self.imei
            return self.answer("^HEARTBEAT: %d,%s" % (h["id"], data))
        if c.kind != "set" or len(c) < 2:
            return self.error()
        sid, data = c.int(0), c.str(1)
        if not 0 <= sid < NLINKS or len(data) > 256:
            return self.error()
        h.update(id=sid, data=data, hex=None)
        self.ok()

    @command("^HEARTBEATHEX")
    def at_heartbeathex(self, c):
        h = self.heart
        if c.kind == "test":
            return self.ok()
        if c.kind == "read":
            hexdata = h["hex"].hex().upper() if h["hex"] is not None else ""
            return self.answer("^HEARTBEATHEX: %d,%s" % (h["id"], hexdata))
        if c.kind != "set":
            return self.error()
        if self.cipmux:
            sid, length, hexdata = c.int(0), c.int(1), c.str(2)
        else:
            sid, length, hexdata = 0, c.int(0), c.str(1)
        try:
            data = bytes.fromhex(hexdata)
        except ValueError:
            return self.error()
        if len(data) != length or length > 256 or not 0 <= sid < NLINKS:
            return self.error()
        h.update(id=sid, hex=data)
        self.ok()
        # manual 9.35 example: the new heartbeat goes out at once
        link = self.links.get(sid)
        if link is not None and link.usable and link.conn.send(data) == len(data):
            link.tx += len(data)
            h["count"] += 1
            h["last"] = time.monotonic()

    @command("^HEARTINQUIRE")
    def at_heartinquire(self, c):
        h = self.heart
        if c.kind == "test":
            return self.ok()
        if c.kind != "read":
            return self.error()
        if not h["on"]:
            return self.answer("^HEARTINQUIRE: 0,0,0")
        unit = int(self.opts["heartbeat_unit_ms"]) / 1000.0
        now = time.monotonic()
        suc = int((now - h["last"]) / unit) if h["last"] is not None else 0
        nxt = max(0, int(round((h["next"] - now) / unit))) if h["next"] else 0
        self.answer("^HEARTINQUIRE: %d,%d,%d" % (suc, nxt, h["count"]))

    # ================================================================ transparent mode
    def _tp_online(self, result=None):
        """Data mode on self.tp's link; `result` is the final result that announces
        it (ATO's CONNECT), None when the caller printed it (CIPSTART's CONNECT URC)."""
        tp = self.tp
        tp.online = True
        guard = int(self.opts["escape_guard_ms"])
        # manual 9.37: 1 s of silence before "+++", the three '+' within 0.5 s of
        # each other, and 0.5 s of silence after them (half the guard time each)
        tp.esc = GuardedEscape(self, self._tp_send, lambda: self._tp_escape(tp),
                               guard, guard / 2.0, guard / 2.0)
        self.stream_begin(result, tp.esc)
        link = tp.link
        if link.conn is not None and link.conn.rx:
            self.raw(link.conn.read(len(link.conn.rx)))

    def _tp_end(self, *lines):
        """Transparent mode ends for good (close, shut, network): `lines` first if the
        UART was in data mode, then the URCs that waited."""
        tp = self.tp
        if tp is None:
            return
        self.tp = None
        if tp.online:
            tp.online = False
            self.stream_end(*lines)

    def _tp_escape(self, tp):
        if self.tp is not tp or not tp.online:
            return
        tp.online = False
        self.stream_end(final="OK")  # manual 9.37: OK, command mode, the connection stays

    def _tp_send(self, data):
        link = self.tp.link if self.tp is not None else None
        if link is not None and link.usable:
            link.tx += link.conn.send(data)

    @command("O")
    def at_o(self, c):
        # manual 9.38: back to data mode, CONNECT; NO CARRIER if there is none
        tp = self.tp
        if tp is None or tp.online or not tp.link.usable:
            return self.final("NO CARRIER")
        self._tp_online("CONNECT")

    # ================================================================ reboot
    def on_reboot(self):
        super().on_reboot()
        self._by_conn = {}


PERSONALITY = Yuge
