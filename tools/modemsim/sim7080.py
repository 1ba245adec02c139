"""SIMCom SIM7080G / SIM7070G / SIM7000 personality: the AT+CA* TCP/UDP family.

Source: /work/shared/manuals/simcom-sim7080-ca-tcpip.txt ("AT Commands for TCP/UDP
Application", sections C1801-C1811; cited below as "manual C18xx"). That document is a
web copy: it has no worked examples, a few typos (AT+CASERVER without '=', typographic
quotes) and it is silent on the PDP commands. Where it is silent or differs from what the
modules are publicly known to send, we follow the module and say so next to the code;
the manual's form stays available as an option.

Options (sim(opts={...}) or --opt key=value):
  carecv_form   "real" (default): `+CARECV: <recvlen>,<data>` with the payload right
                after the comma on the same line, `+CARECV: 0` when empty. This is what
                SIM7070/SIM7080 firmware sends (public drivers parse exactly this).
                "manual": `+CARECV: <cid>,<recvlen>` then the data on the next line
                (manual C1806).
  casend_form   "real" (default): prompt `>` (see `prompt`), data, `OK` - what drivers
                for the module wait for. "manual": `+CASEND: <cid>,<datalen>` instead of
                the prompt, then `OK` and `+CASEND: <cid>,<result>,<sendlen>` after the
                data (manual C1805).
  app_pdp_cid   True (default, SIM7070/7080): `+APP PDP: 0,ACTIVE`.
                False (SIM7000 firmware): `+APP PDP: ACTIVE`, no context id.
  close_discards  False (default). True: when the peer closes with data still
                unread, report `+CADATAIND` and `+CASTATE: <cid>,0` back to back and drop
                the unread data (seen on real modules when a server sends and closes).
  async_result_in_reply  False. True: the ASYNCOPEN result URC is held back and
                appears inside the next, unrelated reply (between its echo and result).
  connect_ms    0. Delay before the CAOPEN result is reported (sync: the whole reply
                waits; async: the URC comes this much after OK). Real networks: 1-60 s.
  prompt        "\\r\\n> " data-mode prompt bytes for the real CASEND form.
  max_recv      1460. Largest payload one AT+CARECV returns.
  guard_ms      1000. Transparent mode: the host's silence needed before and after
                "+++", whose three '+' must come within 0.9 of it of each other. The
                CA manual gives no figures; this is the family's (SIM7600/A7600 manual
                1.2: "more than 1000 milliseconds", 900 ms between the characters).
                Tests make it short.
  variant       "sim7080" (default) or "sim7000": SIM7000 firmware's forms of the same
                CA family (public knowledge: drivers written for the SIM7000 and users'
                logs, not our manual). AT+CGMM "SIMCOM_SIM7000G", AT+CGMR
                "Revision:1529B11SIM7000G", ATI "SIM7000G R1529"; one data context with
                no index: AT+CNACT=<mode>[,"<apn>"] (mode 0 off, 1 on, 2 auto; an APN
                must be quoted), AT+CNACT? -> +CNACT: <status>,"<ip>", AT+CNCFG=
                <ip_type>,"<apn>"...; the defaults of app_pdp_cid (False: +APP PDP:
                ACTIVE) and casend_form ("sim7000") change with it. AT+CAOPEN and
                AT+CASERVER take no <pdp_index> (a line with one is refused with ERROR).
                Also the personality "sim7000".
  casend_form   (see above) "sim7000": the prompt, the data, OK, then
                `+CASEND: <cid>,<result>,<sendlen>` (result 0, else the failure: the
                fail=+CASEND:CODE fault, or 1 when the connection could not send).
  caopen_fail_no_ok  False. True: a failed synchronous AT+CAOPEN ends with
                `+CAOPEN: <cid>,<result>` alone, no OK (seen on real modules, e.g. with
                result 11, which the manual's table does not even list).

Injected failures (fault knobs, see core.Faults): fail=+CAOPEN:CODE opens fail with
result CODE; fail=+CASEND:CODE sends fail (casend_form real: ERROR; manual and sim7000:
the +CASEND URC carries CODE); short= cuts +CARECV payloads; fail_late_ms (core option)
delays a failed open's +CAOPEN result (the late_fail quirk: open_max_ms + 0.5 s).

Transparent (data) mode, manual C1810/C1811 (the manual shows only the command forms;
the rest is the SIMCom family's behaviour, as the SIM7600 personality has it):
  AT+CASWITCH=<cid>,1 on an open TCP connection answers OK, then CONNECT; from then on
  the UART carries that connection's bytes both ways and URCs wait (core streaming).
  Host bytes go to the peer in packets of AT+CACFG "TRANSPKTSIZE" bytes (default 1024);
  a partial packet goes after "TRANSWAITTM" x 100 ms without more host bytes (default
  2 = 200 ms; 0 sends at once). "+++" framed by guard_ms of silence answers OK and the
  module is back in command mode with the connection open; what the peer sends
  meanwhile waits for ATO (no +CADATAIND; AT+CARECV may still read it). ATO -> CONNECT
  and the held data (NO CARRIER if there is no such connection); AT+CASWITCH=<cid>,1
  goes back as well, AT+CASWITCH=<cid>,0 makes it an ordinary buffered connection.
  The peer closing (or the network dropping) in data mode prints CLOSED, then the
  URCs that waited, then "+CASTATE: <cid>,0"; AT+CACLOSE is still needed. A cid that
  is not an open TCP connection, or a second one while another is transparent,
  answers ERROR. AT+CASWITCH? -> +CASWITCH: <cid>,1 while a connection is transparent.

Module TLS (manual C1802 AT+CASSLCFG, the C1803 results 24-27; the rest is not in
our manual and follows the SIM7080 family as it is publicly known to work):
  File system (certificates live in /customer/, directory index 3): AT+CFSINIT takes
  the file buffer (ERROR if it is already taken), AT+CFSTERM frees it; the file
  commands answer ERROR without it. AT+CFSWFILE=<index>,"<name>",<mode>,<size>,
  <time ms> prints DOWNLOAD and takes exactly <size> bytes (1-10240) within <time>
  (100-10000): OK, or ERROR and nothing stored when the time runs out; mode 0
  overwrites, 1 appends. AT+CFSGFIS=<index>,"<name>" -> +CFSGFIS: <size>, ERROR if
  there is none; AT+CFSDFILE=<index>,"<name>" deletes it, ERROR if there is none.
  Files survive a restart of the module (flash).
  AT+CSSLCFG="SSLVERSION",<ctx>,<0-3> (SSL 3.0 / TLS 1.0 / 1.1 / 1.2: the handshake
  uses exactly that version; unset: TLS 1.2, the family's newest),
  "SNI",<ctx>,"<name>", "CONVERT",2,"<file>" (a CA for "cacert"), "CONVERT",1,
  "<cert>","<key>" (a client certificate and its key for "clientcert", named by the
  certificate). CONVERT answers ERROR when a file is missing or is not a
  certificate / a key that matches it. Other CSSLCFG settings are accepted and not
  modelled. Converted certificates are kept like files; deleting a file also drops
  what was converted from it (the family's documents do not say; a deleted
  certificate that still worked would hide mistakes).
  AT+CAOPEN on a cid with "ssl" 1 does a real TLS handshake (tlsclient.py) on its real
  TCP connection, with SNI from its context, the client certificate when
  "clientcert" names one, and the server verified against the "cacert" CA; an empty
  "cacert" verifies nothing (manual C1802: "module will trust all certificates").
  Refused servers: expired (or not yet valid) -> 24, not for the CAOPEN <server>
  name -> 25, both -> 26 (C1803), the handshake done and the connection closed
  before any data; a chain the CA does not sign, a version or a client certificate
  the server refuses, any other handshake failure -> 27 "Connect failed" (the
  closest in the table: no certificate result fits). A "cacert"/"clientcert" name
  that CONVERT never made -> 4 "Parameter invalid" (a simulator choice). After the
  handshake CASEND, CARECV, +CADATAIND, CACLOSE and CASWITCH work as on a plain
  connection, through TLS.
"""
import ssl

from .gnss import CGNSReceiver
from .core import GuardedEscape, ModemSim, command, NetError
from .psm import PSMCommands
from .tlsclient import TLSFailure, check_name, client_context, expired, load_chain, open_tls

NCID = 13  # manual C1801 leaves the range open; SIM7080 firmware accepts cid 0-12
NPDP = 4  # AT+CNACT contexts 0-3 (SIM7080 series AT manual, AT+CNACT)
MAX_SEND = 1460  # largest AT+CASEND length accepted (module buffer, one TCP segment)

# manual C1803 <result> codes used here
R_OK, R_SOCKET, R_PARAM, R_BADIP, R_NOTSUP = 0, 1, 4, 6, 7
R_BIND, R_LISTEN, R_RESOLVE, R_NONET, R_REFUSED, R_FAILED = 12, 13, 20, 21, 23, 27
R_EXPIRED, R_NAME, R_BOTH = 24, 25, 26  # module TLS: the server's certificate refused
# AT+CSSLCFG "SSLVERSION" (family): 0 SSL 3.0 (Python's ssl has none: TLS 1.0), 1 TLS
# 1.0, 2 TLS 1.1, 3 TLS 1.2
TLS_VERSIONS = (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1,
                ssl.TLSVersion.TLSv1_2)
CFS_DIRS = 5  # AT+CFS* directory index 0-4 (family); certificates go to 3, /customer/


class Link:
    """One AT+CA* connection id."""

    def __init__(self, cid, ctype, server, port, pdp=0):
        self.cid = cid
        self.ctype = ctype  # "TCP" / "UDP"
        self.server = server
        self.port = port
        self.pdp = pdp
        self.conn = None
        self.listener = False
        self.state = 1  # manual C1808: 0 closed, 1 connected, 2 listening
        self.armed = True  # next arrival raises +CADATAIND
        self.open_timer = None

    @property
    def rx(self):
        return self.conn.rx if self.conn is not None else bytearray()


# variant="sim7000" (public knowledge, see the module docstring)
SIM7000_MODEL = "SIMCOM_SIM7000G"
SIM7000_REVISION = "Revision:1529B11SIM7000G"
SIM7000_DEFAULTS = {"app_pdp_cid": False, "casend_form": "sim7000"}


class Sim7080(PSMCommands, CGNSReceiver, ModemSim):
    name = "sim7080"
    manufacturer = "SIMCOM INCORPORATED"
    model = "SIMCOM_SIM7080G"
    revision = "Revision:1951B04SIM7080"
    imei = "869951030012345"
    act = 7  # CAT-M1 reports E-UTRAN; NB-IoT would be 9
    ip = "10.94.36.44"
    default_cmee = 0
    noise_urcs = ('+CPSMSTATUS: "EXIT PSM"', "DST: 0", '*PSUTTZ: 24/01/01,12:00:00",+00,0',
                  "+CGEV: NW MODIFY 0,0")
    defaults = {
        "carecv_form": "real",
        "casend_form": "real",
        "app_pdp_cid": True,
        "close_discards": False,
        "async_result_in_reply": False,
        "connect_ms": 0,
        "prompt": "\r\n> ",
        "max_recv": 1460,
        "guard_ms": 1000,  # family (SIM7600/A7600 manual 1.2): the CA manual is silent
        "variant": "sim7080",
        "caopen_fail_no_ok": False,
    }
    quirk_table = {"caopen_fail_no_ok": {"caopen_fail_no_ok": True}}
    # The CA manual gives no limit for AT+CAOPEN; the family's AT manuals and public
    # drivers wait 150 s (late_fail quirk: a failure 0.5 s after that)
    open_max_ms = 150000

    def __init__(self, **kw):
        variant = (kw.get("opts") or {}).get("variant", self.defaults["variant"])
        if variant not in ("sim7080", "sim7000"):  # before any thread starts
            raise ValueError("variant is sim7080 or sim7000, not %r" % (variant,))
        super().__init__(**kw)
        if self.sim7000:
            for k, v in SIM7000_DEFAULTS.items():
                if k not in self.explicit_opts:
                    self.opts[k] = v
            self.model = SIM7000_MODEL
            self.revision = SIM7000_REVISION
        self.prompt = self.opts["prompt"].encode("latin-1")

    @property
    def sim7000(self):
        return self.opts["variant"] == "sim7000"

    # Power and sleep (not in the CA TCP/IP manual; the SIM7080 AT manual and hardware
    # design): AT+CPOWD=1 prints "NORMAL POWER DOWN" (the core's form) and the module
    # is off; AT+CSCLK=1 lets it sleep while DTR is high, DTR low wakes it, and a
    # sleeping module does not listen to the UART.
    dtr_sleep = (1,)

    def reset_state(self):
        super().reset_state()
        self.links = {}  # cid -> Link
        self.cur_cid = None  # AT+CACID
        self.sslcfg = {}  # cid -> {key: value} (AT+CASSLCFG)
        self.sslctx = {}  # AT+CSSLCFG context -> {"sslversion": n, "sni": name}
        self.cfs_open = False  # AT+CFSINIT .. AT+CFSTERM
        if not hasattr(self, "files"):  # flash: kept across restarts
            self.files = {}  # (dir index, name) -> bytes
            self.ssl_ca = {}  # CONVERT 2: name -> PEM
            self.ssl_client = {}  # CONVERT 1: cert name -> (cert PEM, key PEM, key name)
        self.cacfg = {"TRANSWAITTM": "2", "TRANSPKTSIZE": "1024", "ASYNCOPEN": "0",
                      "KEEPALIVE": "0", "ATOCLOSE": "0", "ACCEPTNUM": "1"}
        self.pdp_active = {}  # pdp index -> ip
        self.cncfg = {}
        self.tp_link = None  # the transparent connection (in data mode or after +++)
        self.tp_online = False  # the UART carries tp_link's bytes
        self._tp_tx = bytearray()  # host bytes not yet a full TRANSPKTSIZE packet
        self._tp_timer = None  # TRANSWAITTM: sends a partial packet

    def banner_lines(self):
        # SIM7080G power-on output; the PIN line depends on the SIM.
        if self.sim_state == "absent":
            return ["RDY", "+CFUN: 1", "+CPIN: NOT INSERTED"]
        lines = ["RDY", "+CFUN: 1", self.cpin_line()]
        if self.pin_ok:
            lines.append("SMS Ready")
        return lines

    def after_unlock(self):
        self.urc("SMS Ready", hold=False)

    def ati_lines(self):
        return ["Manufacturer: " + self.manufacturer, "Model: " + self.model,
                "Revision: " + self.revision.split(":", 1)[1], "IMEI: " + self.imei]

    @command("I")
    def at_i(self, c):
        if self.sim7000:
            # SIM7000: "<model> R<revision>" on one line (public knowledge, users' logs;
            # the SIM800 family prints the same shape, e.g. "SIM800 R14.18")
            return self.answer("SIM7000G R" + self.revision.split(":", 1)[1][:4])
        self.answer(*self.ati_lines())

    # ---------------------------------------------------------------- helpers
    def _app_pdp(self, pdp, state):
        if self.opts["app_pdp_cid"]:
            self.urc("+APP PDP: %d,%s" % (pdp, state))
        else:
            self.urc("+APP PDP: %s" % state)  # SIM7000 firmware prints no context id

    def _cid(self, c, i=0):
        cid = c.int(i)
        if not 0 <= cid < NCID:
            raise ValueError("cid")
        return cid

    def _free_cid(self):
        for cid in range(NCID):
            if cid not in self.links:
                return cid
        return None

    def _close_link(self, link):
        if link is self.tp_link:
            self._tp_forget()
        if link.open_timer:
            link.open_timer.cancel()
        if link.conn is not None:
            link.conn.close()
        self.links.pop(link.cid, None)

    # ---------------------------------------------------------------- PDP (AT+CNACT)
    # The CA manual assumes a context activated with AT+CNACT (SIM7080 series AT
    # manual): AT+CNACT=<pdpidx>,<action> -> OK, then "+APP PDP: <pdpidx>,ACTIVE".
    @command("+CNACT")
    def at_cnact(self, c):
        if self.sim7000:
            return self._cnact_sim7000(c)
        if c.kind == "test":
            return self.answer("+CNACT: (0-3),(0-2)")
        if c.kind == "read":
            lines = ['+CNACT: %d,%d,"%s"' % (i, 1 if i in self.pdp_active else 0,
                                             self.pdp_active.get(i, "0.0.0.0"))
                     for i in range(NPDP)]
            return self.answer(*lines)
        if c.kind != "set":
            return self.error()
        pdp, action = c.int(0), c.int(1)
        if not 0 <= pdp < NPDP or action not in (0, 1, 2):
            return self.error()
        if action in (1, 2):
            # real modules: activating an active context, or without service -> ERROR
            if pdp in self.pdp_active or not self.registered:
                return self.error()
            apn = self.cncfg.get(pdp, "").split(",")
            if len(apn) > 1 and self.apn_rejected(apn[1].strip('"')):
                # the network refuses the APN: the module answers OK, then reports
                # the context as not active
                self.ok()
                return self._app_pdp(pdp, "DEACTIVE")
            ip = self.ip if pdp == 0 else "10.94.36.%d" % (44 + pdp)
            self.pdp_active[pdp] = ip
            self.context_up(pdp, ip)
            self.ok()
            self._app_pdp(pdp, "ACTIVE")
        else:
            if pdp not in self.pdp_active:
                return self.error()
            del self.pdp_active[pdp]
            self.context_down(pdp)
            for link in list(self.links.values()):
                if link.pdp == pdp:
                    self._close_link(link)
            self.ok()
            self._app_pdp(pdp, "DEACTIVE")

    def _cnact_sim7000(self, c):
        """SIM7000 firmware: one application context, no index (public knowledge:
        AT+CNACT=<mode>[,"<apn>"], +CNACT: <status>,"<ip>", +APP PDP: ACTIVE)."""
        if c.kind == "test":
            return self.answer('+CNACT: (0-2),"APN"')
        if c.kind == "read":
            ip = self.pdp_active.get(0)
            return self.answer('+CNACT: %d,"%s"' % (1 if ip else 0, ip or "0.0.0.0"))
        if c.kind != "set" or len(c) > 2 or (len(c) == 2 and not c.quoted[1]):
            # the SIM7080 form AT+CNACT=0,1 has an unquoted second field: refused
            return self.error()
        mode = c.int(0)
        if mode not in (0, 1, 2):
            return self.error()
        if mode == 0:
            if 0 not in self.pdp_active:
                return self.error()
            del self.pdp_active[0]
            self.context_down(0)
            for link in list(self.links.values()):
                self._close_link(link)
            self.ok()
            return self._app_pdp(0, "DEACTIVE")
        if 0 in self.pdp_active or not self.registered:
            return self.error()
        cfg = self.cncfg.get(0, "").split(",")
        apn = c.str(1, "") if len(c) == 2 else (cfg[1].strip('"') if len(cfg) > 1 else "")
        self.ok()
        if self.apn_rejected(apn):
            return self._app_pdp(0, "DEACTIVE")
        self.pdp_active[0] = self.ip
        self.context_up(0, self.ip)
        self._app_pdp(0, "ACTIVE")

    @command("+CNCFG")
    def at_cncfg(self, c):
        if c.kind == "test":
            return self.answer('+CNCFG: (0-3),(0-3),"APN","USERNAME","PASSWORD",(0-3)')
        if c.kind == "read":
            return self.answer(*['+CNCFG: %d,%s' % (k, v) for k, v in sorted(self.cncfg.items())]
                               or ['+CNCFG: 0,1,"","","",0'])
        if c.kind == "set":
            if self.sim7000:
                # SIM7000: AT+CNCFG=<ip_type>,"<apn>"[,...] for its one context
                c.int(0)
                self.cncfg[0] = ",".join('"%s"' % a if q else a
                                         for a, q in zip(c.args, c.quoted))
                return self.ok()
            self.cncfg[c.int(0)] = ",".join(
                '"%s"' % a if q else a for a, q in zip(c.args[1:], c.quoted[1:]))
            return self.ok()
        self.error()

    def on_network_drop(self, lost, conns):
        # The module reports the lost bearer with its own URC, and each open
        # connection as closed by "internal error" (manual C1808 state 0).
        # A connection in data mode ends first: CLOSED (family), then the URCs.
        self._tp_lost()
        for pdp in sorted(self.pdp_active):
            self._app_pdp(pdp, "DEACTIVE")
        self.pdp_active.clear()
        for link in sorted(self.links.values(), key=lambda l: l.cid):
            if link.state:
                self.urc("+CASTATE: %d,0" % link.cid)
            link.state = 0
            if link.open_timer:
                link.open_timer.cancel()
            link.conn = None
        self.links.clear()

    # ---------------------------------------------------------------- C1801 CACID
    @command("+CACID")
    def at_cacid(self, c):
        if c.kind == "test":
            return self.answer("+CACID: (0-%d)" % (NCID - 1))
        if c.kind == "read":
            if self.cur_cid is None:
                return self.ok()
            return self.answer("+CACID: %d" % self.cur_cid)
        if c.kind == "set":
            self.cur_cid = self._cid(c)
            return self.ok()
        self.error()

    # ---------------------------------------------------------------- C1802 CASSLCFG
    SSL_KEYS = ("cacert", "clientcert", "psktable", "timeout", "ssl", "crindex",
                "localport", "protocol")

    @command("+CASSLCFG")
    def at_casslcfg(self, c):
        rng = "(0-%d)" % (NCID - 1)
        if c.kind == "test":
            return self.answer(
                '+CASSLCFG: %s,"cacert",<caname>' % rng,
                '+CASSLCFG: %s,"clientcert",<certname>' % rng,
                '+CASSLCFG: %s,"psktable",<pskname>' % rng,
                '+CASSLCFG: %s,"timeout",(0-65535)' % rng,
                '+CASSLCFG: %s,"ssl",(0,1)' % rng,
                '+CASSLCFG: %s,"crindex",(0,5)' % rng,
                '+CASSLCFG: %s,"localport",(0-65536)' % rng,
                '+CASSLCFG: %s,"protocol",(0,1)' % rng)
        if c.kind == "read":
            # manual C1802: only for the cid chosen with AT+CACID
            if self.cur_cid is None:
                return self.ok()
            cfg = self._ssl(self.cur_cid)
            return self.answer("+CASSLCFG: %d" % self.cur_cid,
                               *["%s:%s" % (k, cfg[k]) for k in self.SSL_KEYS])
        if c.kind != "set" or len(c) < 3:
            return self.error()
        cid = self._cid(c)
        key = c.str(1).lower()
        if key not in self.SSL_KEYS:
            return self.error()
        val = c.str(2)
        if key in ("timeout", "ssl", "crindex", "localport", "protocol"):
            n = int(val)
            lim = {"timeout": 65535, "ssl": 1, "crindex": 5, "localport": 65536,
                   "protocol": 1}[key]
            if not 0 <= n <= lim:
                return self.error()
            val = str(n)
        elif len(val) > 64:
            return self.error()
        self._ssl(cid)[key] = val
        self.ok()

    def _ssl(self, cid):
        return self.sslcfg.setdefault(cid, {"cacert": "", "clientcert": "", "psktable": "",
                                            "timeout": "60", "ssl": "0", "crindex": "0",
                                            "localport": "0", "protocol": "0"})

    # ---------------------------------------------------------------- C1803 CAOPEN
    @command("+CAOPEN")
    def at_caopen(self, c):
        if c.kind == "test":
            return self.answer("+CAOPEN: (0-%d),<server>,(1-65535)" % (NCID - 1))
        if c.kind == "read":
            if self.cur_cid is None:
                return self.ok()
            link = self.links.get(self.cur_cid)
            if link is None or link.listener:
                return self.ok()
            # strings quoted as the module quotes string parameters (manual: "String type")
            return self.answer('+CAOPEN: %d,"%s","%s",%d' % (link.cid, link.ctype,
                                                            link.server, link.port))
        if c.kind != "set":
            return self.error()
        # Argument forms:
        #   manual C1803:  <cid>[,<conn_type>],<server>,<port>
        #   SIM7070/7080 firmware: <cid>,<pdp_index>,<conn_type>,<server>,<port>[,<recv_mode>]
        n = len(c)
        cid = self._cid(c)
        pdp = 0
        if n >= 5 and self.sim7000:
            return self.error()  # SIM7000: no <pdp_index> field
        if n >= 5:
            pdp = c.int(1)
            ctype, server, port = c.str(2), c.str(3), c.int(4)
            if n > 5 and c.int(5) != 0:
                # recv_mode 1 (direct push) is not simulated: say so instead of lying
                return self._open_result(cid, R_NOTSUP)
        elif n == 4:
            ctype, server, port = c.str(1), c.str(2), c.int(3)
        elif n == 3:
            ctype, server, port = "TCP", c.str(1), c.int(2)
        else:
            return self.error()
        ctype = ctype.upper()
        if ctype not in ("TCP", "UDP") or not 1 <= port <= 65535 or not 0 <= pdp < NPDP:
            return self._open_result(cid, R_PARAM)
        if cid in self.links:
            # the id is taken: the firmware answers with a result code, not ERROR
            return self._open_result(cid, R_PARAM)
        if pdp not in self.pdp_active:
            return self._open_result(cid, R_NONET)
        code = self.fail_code("+CAOPEN")
        if code is not None:
            return self._open_result(cid, code)  # fail= fault
        early = b""
        if self._ssl(cid)["ssl"] == "1":
            if ctype != "TCP":
                return self._open_result(cid, R_NOTSUP)  # DTLS is not simulated
            result, conn, early = self._connect_tls(cid, server, port)
        else:
            result, conn = self._connect(ctype, server, port)
        link = None
        if result == R_OK:
            link = Link(cid, ctype, server, port, pdp)
            link.conn = conn
            conn.tag = cid
            self.links[cid] = link
        self._open_result(cid, result, link)
        if early:  # the server spoke first: its bytes came with the handshake
            self.net_data(conn, early)

    def _connect_tls(self, cid, server, port):
        """(result, conn, early plaintext) of a real TLS connection for cid."""
        cfg = self._ssl(cid)
        sc = self.sslctx.get(int(cfg["crindex"]), {})
        ca = chain = None
        if cfg["cacert"]:
            ca = self.ssl_ca.get(cfg["cacert"])
            if ca is None:
                self.log("-- cacert %r was never converted" % cfg["cacert"])
                return R_PARAM, None, b""
        if cfg["clientcert"]:
            chain = self.ssl_client.get(cfg["clientcert"])
            if chain is None:
                self.log("-- clientcert %r was never converted" % cfg["clientcert"])
                return R_PARAM, None, b""
        v = TLS_VERSIONS[sc.get("sslversion", 3)]
        try:
            # dates and name are checked below on the verified certificate, so an
            # expired certificate for another name is told apart (26)
            ctx = client_context(ca, chain and chain[:2], v, v, check_time=False)
        except (ssl.SSLError, ValueError) as e:
            self.log("-- TLS context: %s" % e)
            return R_FAILED, None, b""
        try:
            conn, ts = open_tls(self.net, server, port, ctx, sc.get("sni") or None,
                                max(1, int(cfg["timeout"])))
        except NetError as e:
            return {"resolve": R_RESOLVE, "refused": R_REFUSED, "notloopback": R_FAILED,
                    "timeout": R_FAILED}.get(e.kind, R_SOCKET), None, b""
        except TLSFailure as e:
            # a chain the CA does not sign (verify), a refused version or client
            # certificate, a broken handshake: 27 "Connect failed", the closest
            self.log("-- TLS handshake failed: %s" % e)
            return R_FAILED, None, b""
        if ca is not None:
            cert = ts.getpeercert()
            old, wrong = expired(cert), not check_name(cert, server)
            if old or wrong:
                self.log("-- TLS server refused: %s%s" % ("expired " if old else "",
                                                        "wrong name" if wrong else ""))
                conn.close()
                return (R_BOTH if old and wrong else R_NAME if wrong else R_EXPIRED), None, b""
        self.log("-- TLS %s %s" % (ts.cipher()[1], ts.cipher()[0]))
        return R_OK, conn, ts.early

    def _connect(self, ctype, server, port):
        try:
            if ctype == "TCP":
                conn = self.net.open_tcp(server, port)
            else:
                conn = self.net.open_udp(server, port)
        except NetError as e:
            return {"resolve": R_RESOLVE, "refused": R_REFUSED, "notloopback": R_FAILED,
                    "timeout": R_FAILED, "bind": R_BIND}.get(e.kind, R_SOCKET), None
        return R_OK, conn

    def _open_result(self, cid, result, link=None):
        """Report a CAOPEN result in the sync or ASYNCOPEN form (manual C1803)."""
        line = "+CAOPEN: %d,%d" % (cid, result)
        delay = int(self.opts["connect_ms"])
        if result != R_OK:
            delay = self.fail_delay(delay)  # fail_late_ms
        if self.cacfg.get("ASYNCOPEN") == "1":
            # "Otherwise: OK, then +CAOPEN: <cid>,<result>"
            self.ok()
            if link is not None:
                link.state = 0  # not usable before the result is out

            def report():
                if link is not None:
                    link.open_timer = None
                    if self.links.get(cid) is not link:
                        return
                    link.state = 1
                if self.opts["async_result_in_reply"]:
                    self.urc_in_next_reply(line)
                else:
                    self.urc(line)
                if link is not None and link.rx:
                    self._data_ind(link)
            t = self.after(delay, report)
            if link is not None:
                link.open_timer = t
            return
        def finish():
            self.reply(line)
            if result != R_OK and self.opts["caopen_fail_no_ok"]:
                # seen on real modules: the result line alone ends the command
                return self.done()
            self.ok()
        if delay:
            self.after(delay, finish)
            return
        finish()

    # ---------------------------------------------------------------- C1804 CASERVER
    @command("+CASERVER")
    def at_caserver(self, c):
        if c.kind == "test":
            return self.answer('+CASERVER: (0-%d),("TCP","TCP6","UDP","UDP6"),(1-65535)'
                               % (NCID - 1))
        if c.kind == "read":
            lines = ['+CASERVER: %d,"%s",%d' % (l.cid, l.ctype, l.port)
                     for l in sorted(self.links.values(), key=lambda l: l.cid) if l.listener]
            return self.answer(*lines)
        if c.kind != "set":
            return self.error()
        # manual C1804: <cid>,<conn_type>,<port>; SIM7080 firmware adds <pdp_index>
        # after <cid>. (The manual's "AT+CASERVER<cid>,..." lacks the '=': a typo of
        # the web copy; the module needs the '=' like every write command.)
        cid = self._cid(c)
        if len(c) >= 4 and self.sim7000:
            return self.error()  # SIM7000: no <pdp_index> field
        if len(c) >= 4:
            pdp, ctype, port = c.int(1), c.str(2).upper(), c.int(3)
        elif len(c) == 3:
            pdp, ctype, port = 0, c.str(1).upper(), c.int(2)
        else:
            return self.error()
        if ctype not in ("TCP", "TCP6", "UDP", "UDP6") or not 0 <= port <= 65535:
            return self.answer("+CASERVER: %d,%d" % (cid, R_PARAM))
        if ctype != "TCP":
            return self.answer("+CASERVER: %d,%d" % (cid, R_NOTSUP))  # TCP only simulated
        if cid in self.links:
            return self.answer("+CASERVER: %d,%d" % (cid, R_PARAM))
        if pdp not in self.pdp_active:
            return self.answer("+CASERVER: %d,%d" % (cid, R_NONET))
        try:
            conn = self.net.listen_tcp(port)
        except NetError:
            return self.answer("+CASERVER: %d,%d" % (cid, R_BIND))
        link = Link(cid, ctype, "0.0.0.0", conn.local_port, pdp)
        link.conn = conn
        link.listener = True
        link.state = 2
        conn.tag = cid
        self.links[cid] = link
        self.answer("+CASERVER: %d,%d" % (cid, R_OK))

    def net_accept(self, listener, conn):
        server = self.links.get(listener.tag)
        cid = self._free_cid()
        if server is None or cid is None:
            return False
        link = Link(cid, "TCP", conn.peer[0], conn.peer[1], server.pdp)
        link.conn = conn
        conn.tag = cid
        self.links[cid] = link
        # manual C1804 NOTE: +CANEW: <server_cid>,<client_cid>,<client_ip>,<client_port>
        self.urc("+CANEW: %d,%d,%s,%d" % (server.cid, cid, conn.peer[0], conn.peer[1]))
        return True

    # ---------------------------------------------------------------- C1805 CASEND
    @command("+CASEND")
    def at_casend(self, c):
        if c.kind == "test":
            return self.answer("+CASEND: (0-%d),(1-%d),(1-10000)" % (NCID - 1, MAX_SEND))
        if c.kind != "set":
            return self.error()
        cid = self._cid(c)
        link = self.links.get(cid)
        if len(c) == 1:
            # W) AT+CASEND=<cid> -> +CASEND: <leftsize>
            if link is None or link.listener:
                return self.error()
            return self.answer("+CASEND: %d" % MAX_SEND)
        n = c.int(1)
        inputtime = c.int(2, 5000)  # manual C1805: "The default inputtime is 5000ms"
        # plain ERROR even with AT+CMEE=2: that is what the module prints here
        if link is None or link.listener or link.state != 1 or link.conn is None \
                or link.conn.peer_closed or not 1 <= n <= MAX_SEND:
            return self.error()

        def done(data, reason):
            if reason != "len":
                # input time ran out: the module drops the partial data
                return self.error()
            code = self.fail_code("+CASEND")  # fail= fault: nothing goes out
            if code is not None:
                sent = 0
            else:
                sent = link.conn.send(data) if link.conn is not None and link.conn.open else 0
                code = R_OK if sent == n else R_SOCKET
            if self.opts["casend_form"] in ("manual", "sim7000"):
                # manual C1805 and SIM7000 firmware: OK, then the send's result
                self.ok()
                self.urc("+CASEND: %d,%d,%d" % (cid, code, sent))
            elif code == R_OK:
                self.ok()
            else:
                self.error()

        if self.opts["casend_form"] == "manual":
            prompt = b"\r\n+CASEND: %d,%d\r\n" % (cid, n)
        else:
            prompt = self.prompt
        self.collect(done, n=n, prompt=prompt, timeout_ms=inputtime)

    # ---------------------------------------------------------------- C1806 CARECV
    @command("+CARECV")
    def at_carecv(self, c):
        if c.kind == "test":
            return self.answer("+CARECV: (0-%d),(1-%d)" % (NCID - 1, self.opts["max_recv"]))
        if c.kind != "set" or len(c) < 2:
            return self.error()
        cid = self._cid(c)
        want = c.int(1)
        link = self.links.get(cid)
        if link is None or link.listener or want < 1:
            return self.error()
        # (UDP: datagrams wait joined and a read may take several or part of one: the
        # reply carries no sender and no datagram length, so a host cannot tell them
        # apart; whether the firmware stops a read at a datagram's end is not known)
        data = link.conn.read(min(want, self.opts["max_recv"])) if link.conn else b""
        link.armed = True  # a read re-arms +CADATAIND for later arrivals
        wire = self.short_payload(data)  # short= fault: the header keeps len(data)
        if self.opts["carecv_form"] == "manual":
            self.reply("+CARECV: %d,%d" % (cid, len(data)))
            if data:
                self.raw(wire + b"\r\n")
        elif data:
            # real form: payload straight after the comma, any bytes, then CR LF
            self.raw(b"\r\n+CARECV: %d," % len(data) + wire + b"\r\n")
        else:
            self.reply("+CARECV: 0")
        self.ok()

    def _data_ind(self, link):
        if link.armed and link.state == 1:
            link.armed = False
            self.urc("+CADATAIND: %d" % link.cid)

    def net_data(self, conn, data):
        link = self.links.get(conn.tag)
        if link is not None and link is self.tp_link and link.conn is conn:
            if self.tp_online:
                return self.raw(data)  # transparent: straight to the host
            # after "+++": held for ATO, no +CADATAIND (the SIMCom family keeps a
            # transparent connection's data for its return to data mode, as the
            # SIM7600's "+++"/ATO does, A7600 manual 1.2)
            conn.rx += data
            return
        conn.rx += data
        if link is not None and link.conn is conn:
            # manual C1803 note: "if module receives data, it will report +CADATAIND"
            self._data_ind(link)

    def net_overflow(self, conn, lost):
        # The CA manual does not describe a full receive buffer. The module's stack
        # keeps what fits and the excess is lost; nothing is reported.
        self.log("-- cid %s receive buffer full, %d bytes lost" % (conn.tag, lost))

    def net_closed(self, conn):
        link = self.links.get(conn.tag)
        if link is None or link.conn is not conn:
            return
        if link is self.tp_link:
            # in data mode: CLOSED leaves it (family), then the URCs that waited, then
            # the usual +CASTATE; after "+++" only +CASTATE, and ATO has nothing left
            self._tp_lost()
            self._tp_forget()  # (after "+++": ATO finds nothing to return to)
            self.urc("+CASTATE: %d,0" % link.cid)
            link.state = 0
            return
        if self.opts["close_discards"] and len(conn.rx):
            # seen on real modules: both URCs back to back, unread data gone
            if link.armed:
                self.urc("+CADATAIND: %d" % link.cid)
            self.urc("+CASTATE: %d,0" % link.cid)
            conn.rx.clear()
        else:
            # manual C1808 URC: "If the remote connection is disconnected"
            self.urc("+CASTATE: %d,0" % link.cid)
        link.state = 0

    # ---------------------------------------------------------------- C1807 CAACK
    @command("+CAACK")
    def at_caack(self, c):
        if c.kind == "test":
            return self.answer("+CAACK: (0-%d)" % (NCID - 1))
        if c.kind != "set":
            return self.error()
        link = self.links.get(self._cid(c))
        if link is None or link.conn is None:
            return self.error()
        # loopback acknowledges at once: nothing is ever left unacknowledged
        self.answer("+CAACK: %d,0" % link.conn.tx_total)

    # ---------------------------------------------------------------- C1808 CASTATE
    @command("+CASTATE")
    def at_castate(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "read":
            return self.error()
        lines = ["+CASTATE: %d,%d" % (l.cid, l.state)
                 for l in sorted(self.links.values(), key=lambda l: l.cid)]
        self.answer(*lines)

    # ---------------------------------------------------------------- C1809 CACLOSE
    @command("+CACLOSE")
    def at_caclose(self, c):
        if c.kind == "test":
            return self.answer("+CACLOSE: (0-%d)" % (NCID - 1))
        if c.kind != "set":
            return self.error()
        link = self.links.get(self._cid(c))
        if link is None:
            return self.error()
        self._close_link(link)
        self.ok()

    # ---------------------------------------------------------------- C1810 CACFG
    CACFG_KEYS = ("TRANSWAITTM", "TRANSPKTSIZE", "SACK", "MSS", "ACKDELAY", "TCPIRT",
                  "MAXRXT", "TCPOT", "KEEPALIVE", "TCP_NODELAY", "LINGER", "SNDBUF",
                  "RCVBUF", "ATOCLOSE", "ACCEPTNUM", "ASYNCOPEN", "TIMEOUT", "LOCALPORT",
                  "REMOTEADDR")

    @command("+CACFG")
    def at_cacfg(self, c):
        if c.kind == "test":
            return self.answer('+CACFG: "TRANSWAITTM",(0-10)',
                               '+CACFG: "TRANSPKTSIZE",(1-1460)',
                               '+CACFG: "KEEPALIVE",(0,1),(1-7200),(1-600),(1-9)',
                               '+CACFG: "ATOCLOSE",(0,1),(1-65535)',
                               '+CACFG: "ACCEPTNUM",(1-12)',
                               '+CACFG: "ASYNCOPEN",(0,1)')
        if c.kind == "read":
            # manual C1810 R): the two transparent-mode values first, then the rest
            lines = ["+CACFG:",
                     "+TRANSWAITTM: %s" % self.cacfg["TRANSWAITTM"],
                     "+TRANSPKTSIZE: %s" % self.cacfg["TRANSPKTSIZE"]]
            for k in ("KEEPALIVE", "ATOCLOSE", "ACCEPTNUM", "ASYNCOPEN"):
                lines.append('+CACFG: "%s",%s' % (k, self.cacfg[k]))
            return self.answer(*lines)
        if c.kind != "set" or len(c) < 2:
            return self.error()
        # (the manual's typographic quotes are an artefact of its web copy: the
        # module takes plain double quotes, which split_args already removed)
        key = c.str(0).upper()
        if key not in self.CACFG_KEYS:
            return self.error()
        vals = c.args[1:]
        if key == "ASYNCOPEN" and vals[0] not in ("0", "1"):
            return self.error()
        for v in vals:
            if key not in ("REMOTEADDR",) and v and not v.isdigit():
                return self.error()
        self.cacfg[key] = ",".join(vals)
        self.ok()

    # ---------------------------------------------------------------- C1811 CASWITCH
    @command("+CASWITCH")
    def at_caswitch(self, c):
        if c.kind == "test":
            return self.answer("+CASWITCH: (0-1),(0,1)")
        if c.kind == "read":
            if self.tp_link is not None:
                return self.answer("+CASWITCH: %d,1" % self.tp_link.cid)
            return self.answer("+CASWITCH: 0,0")  # manual C1811 R)
        if c.kind != "set" or len(c) != 2:
            return self.error()
        link = self.links.get(self._cid(c))
        mode = c.int(1)
        if mode not in (0, 1):
            return self.error()
        if mode == 0:
            # non-transparent is every connection's default: OK for any cid
            if link is not None and link is self.tp_link:
                # an ordinary buffered connection again: held data is announced
                self._tp_forget()
                link.armed = True
                self.ok()
                if link.rx:
                    self._data_ind(link)
                return
            return self.ok()
        # transparent: an open TCP connection, one at a time
        if link is None or link.listener or link.ctype != "TCP" or link.state != 1 or not self._usable(link) \
                or (self.tp_link is not None and self.tp_link is not link):
            return self.error()
        self.ok()  # manual C1811 W): "OK", then "CONNECT"
        self._tp_enter(link)

    @command("O")
    def at_o(self, c):
        # ATO (family): back to data mode on the connection that left it with "+++"
        link = self.tp_link
        if link is None or self.tp_online or link.state != 1 or not self._usable(link):
            return self.final("NO CARRIER")
        self._tp_enter(link)

    @staticmethod
    def _usable(link):
        return link.conn is not None and link.conn.open and not link.conn.peer_closed

    def _tp_enter(self, link):
        guard = int(self.opts["guard_ms"])
        # family (SIM7600/A7600 manual 1.2): guard_ms of silence before and after
        # "+++", the '+' no more than 0.9 of it apart
        esc = GuardedEscape(self, self._tp_forward, self._tp_escape, guard, guard,
                            guard * 0.9)
        self.tp_link = link
        self.tp_online = True
        self._tp_tx = bytearray()
        self.stream_begin("CONNECT", esc)
        if link.rx:
            self.raw(link.conn.read(len(link.rx)))  # what waited since "+++"

    def _tp_forward(self, data):
        """Host bytes in data mode: TRANSPKTSIZE-byte packets to the peer (C1810)."""
        try:
            size = max(1, int(self.cacfg["TRANSPKTSIZE"]))
        except ValueError:
            size = 1024
        tx = self._tp_tx
        tx += data
        if len(tx) >= size:
            full = len(tx) - len(tx) % size
            for i in range(0, full, size):
                self._tp_send(bytes(tx[i:i + size]))
            del tx[:full]
        if self._tp_timer:
            self._tp_timer.cancel()
            self._tp_timer = None
        if tx:
            # TRANSWAITTM: how long a partial packet waits for more host bytes. The CA
            # manual gives no unit; the family's wait times count 100 ms steps (SIM7000
            # AT+CIPCCFG <WaitTm>, the QI family's "transwaittm" alike): 2 -> 200 ms
            try:
                wait = int(self.cacfg["TRANSWAITTM"]) * 100
            except ValueError:
                wait = 200
            if wait <= 0:
                self._tp_flush()
            else:
                self._tp_timer = self.after(wait, self._tp_flush)

    def _tp_flush(self):
        self._tp_timer = None
        if self._tp_tx:
            data, self._tp_tx = bytes(self._tp_tx), bytearray()
            self._tp_send(data)

    def _tp_send(self, data):
        link = self.tp_link
        if link is not None and link.conn is not None and link.conn.open:
            link.conn.send(data)

    def _tp_escape(self):
        if not self.tp_online:
            return
        self._tp_flush()  # a partial packet goes out before command mode
        self.tp_online = False
        self.stream_end(final="OK")  # manual C1811 W): "... OK" ends data mode

    def _tp_lost(self):
        """The transparent connection is gone while in data mode: CLOSED (family:
        the SIM7600/A7600 and Yuge modules print it), then the URCs that waited."""
        if self.tp_online:
            self.tp_online = False
            self.stream_end("CLOSED")
            self._tp_forget()

    def _tp_forget(self):
        if self._tp_timer:
            self._tp_timer.cancel()
            self._tp_timer = None
        self._tp_tx = bytearray()
        self.tp_link = None

    # ---------------------------------------------------------------- file system (family)
    # Not in the CA manual: the SIM7080 family's AT+CFS* commands (see the module
    # docstring). Plain ERROR on every failure, as the module prints.
    @command("+CFSINIT")
    def at_cfsinit(self, c):
        if c.kind != "exec" or self.cfs_open:
            return self.error()
        self.cfs_open = True
        self.ok()

    @command("+CFSTERM")
    def at_cfsterm(self, c):
        if c.kind != "exec":
            return self.error()
        self.cfs_open = False
        self.ok()

    def _cfs_file(self, c):
        """(dir index, name) of a file command, ValueError if malformed."""
        i = c.int(0)
        name = c.str(1)
        if not 0 <= i < CFS_DIRS or not name or len(name) > 230 or "/" in name:
            raise ValueError("file")
        return i, name

    @command("+CFSWFILE")
    def at_cfswfile(self, c):
        if c.kind == "test":
            return self.answer("+CFSWFILE: (0-%d),<filename>,(0,1),(1-10240),(100-10000)"
                               % (CFS_DIRS - 1))
        if c.kind != "set" or not self.cfs_open or len(c) != 5:
            return self.error()
        key = self._cfs_file(c)
        mode, size, ms = c.int(2), c.int(3), c.int(4)
        if mode not in (0, 1) or not 1 <= size <= 10240 or not 100 <= ms <= 10000:
            return self.error()

        def done(data, reason):
            if reason != "len":
                return self.error()  # the input time ran out: nothing stored
            self.files[key] = (self.files.get(key, b"") if mode == 1 else b"") + data
            self._unconvert(key[1])  # a new file: converted again before use
            self.ok()

        self.collect(done, n=size, prompt=b"\r\nDOWNLOAD\r\n", timeout_ms=ms)

    @command("+CFSGFIS")
    def at_cfsgfis(self, c):
        if c.kind != "set" or not self.cfs_open:
            return self.error()
        key = self._cfs_file(c)
        if key not in self.files:
            return self.error()
        self.answer("+CFSGFIS: %d" % len(self.files[key]))

    @command("+CFSDFILE")
    def at_cfsdfile(self, c):
        if c.kind != "set" or not self.cfs_open:
            return self.error()
        key = self._cfs_file(c)
        if self.files.pop(key, None) is None:
            return self.error()
        self._unconvert(key[1])
        self.ok()

    def _unconvert(self, name):
        self.ssl_ca.pop(name, None)
        for cert in [k for k, v in self.ssl_client.items() if name in (k, v[2])]:
            del self.ssl_client[cert]

    # ---------------------------------------------------------------- AT+CSSLCFG (family)
    @command("+CSSLCFG")
    def at_csslcfg(self, c):
        if c.kind != "set" or len(c) < 2:
            return self.error() if c.kind != "test" else self.ok()
        what = c.str(0).upper()
        if what == "SSLVERSION":
            ctx, v = c.int(1), c.int(2)
            if not 0 <= ctx <= 5 or not 0 <= v < len(TLS_VERSIONS):
                return self.error()
            self.sslctx.setdefault(ctx, {})["sslversion"] = v
        elif what == "SNI":
            ctx, name = c.int(1), c.str(2)
            if not 0 <= ctx <= 5 or len(name) > 255:
                return self.error()
            self.sslctx.setdefault(ctx, {})["sni"] = name
        elif what == "CONVERT":
            kind = c.int(1)
            if kind == 2 and len(c) == 3:
                if not self._convert_ca(c.str(2)):
                    return self.error()
            elif kind == 1 and len(c) >= 4:
                if not self._convert_client(c.str(2), c.str(3)):
                    return self.error()
            else:
                return self.error()  # 3 (PSK tables) is not simulated
        # other settings (ciphers, RTC time checks, ...): accepted, not modelled
        self.ok()

    def _convert_ca(self, name):
        pem = self.files.get((3, name))
        if pem is None:
            return False
        try:
            client_context(pem)
        except (ssl.SSLError, ValueError, UnicodeError) as e:
            self.log("-- CONVERT 2 %r: not a certificate (%s)" % (name, e))
            return False
        self.ssl_ca[name] = pem
        return True

    def _convert_client(self, cert, key):
        cp, kp = self.files.get((3, cert)), self.files.get((3, key))
        if cp is None or kp is None:
            return False
        try:
            load_chain(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), cp, kp)
        except (ssl.SSLError, ValueError, OSError) as e:
            self.log("-- CONVERT 1 %r %r: not a certificate and its key (%s)" % (cert, key, e))
            return False
        self.ssl_client[cert] = (cp, kp, key)
        return True

    # ---------------------------------------------------------------- extras drivers use
    @command("+CDNSGIP")
    def at_cdnsgip(self, c):
        # SIM7080 AT manual: AT+CDNSGIP=<domain>[,<retry>,<timeout>] -> OK, then
        # +CDNSGIP: 1,"<domain>","<ip>" or +CDNSGIP: 0,<err> (8: DNS common error).
        # Resolution uses the simulator's host table only.
        if c.kind == "test":
            return self.ok()
        if c.kind != "set":
            return self.error()
        name = c.str(0)
        if not self.pdp_active:
            return self.error()
        self.ok()
        try:
            ip = self.net.resolve(name)
        except NetError:
            return self.urc("+CDNSGIP: 0,8")
        self.urc('+CDNSGIP: 1,"%s","%s"' % (name, ip))

    @command("+CPSI")
    def at_cpsi(self, c):
        if c.kind == "test":
            return self.ok()
        if not self.registered:
            return self.answer("+CPSI: NO SERVICE,Online")
        self.answer("+CPSI: LTE CAT-M1,Online,001-01,0x1A2B,27447553,101,EUTRAN-BAND20,"
                    "6300,5,5,-9,-88,-61,14")

    @command("+CNMP", "+CMNB", "+CBANDCFG",
             "+CGNAPN", "+CNETLIGHT", "+CLTS", "+IPR", "+IFC")
    def at_accept(self, c):
        # configuration commands drivers send during set-up: accepted, not modelled
        # (+CPSMS and +CEDRXS are: psm.PSMCommands)
        if c.kind == "read" and c.name == "+CGNAPN":
            return self.answer('+CGNAPN: 1,"%s"' % self.cgdcont.get(1, ("IP", ""))[1])
        self.ok()


class Sim7000(Sim7080):
    """The SIM7000 variant (variant="sim7000"), also a personality of its own."""
    name = "sim7000"
    defaults = dict(Sim7080.defaults, variant="sim7000")


PERSONALITY = Sim7080
