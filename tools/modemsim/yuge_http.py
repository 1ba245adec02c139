"""Yuge EC716S native HTTP: bearer (manual ch.10 AT+SAPBR) and the AT+HTTP* commands
(manual ch.11). A mixin the yuge personality inherits (tools/modemsim/yuge.py:
`class Yuge(YugeHTTP, YugeMQTT)`).

Source: /work/shared/manuals/yuge-ec716s-cat1-at-manual-zh.txt, cited "manual 11.x".
Every HTTPACTION is a REAL HTTP/1.1 exchange over a real TCP socket (TLS with the
stdlib ssl module for https / AT+HTTPSSL=1, configured from SSL context 153 as
YugeMQTT.module_tls reads any context: seclevel unset, the manual's "不需要验证证书"
path, verifies nothing; 1-2 verify the server with the uploaded CA file, a refusal
is 605) to 127.0.0.0/8 only: host names go through the simulator's
`hosts` table (self.net.resolve), never real DNS. The exchange runs in a worker
thread so the modem keeps answering commands while it is under way; the result comes
back under the simulator lock as the +HTTPACTION URC, as on the module.

Manual quirks kept as they are printed (see the comments at each place):
  * AT+SAPBR=2 prints the bearer IP unquoted with every octet zero-padded to three
    digits: `+SAPBR: 1,1,010.169.179.213` (all five ch.9-12 examples).
  * The 11.15 examples spell AT+HTTPIPINIT and AT+HTTTPARA (typos of AT+HTTPINIT and
    AT+HTTPPARA); accepted only with the `http_typo_aliases` option.
  * The 11.15 GET examples show the +HTTPACTION URC repeated until AT+HTTPREAD:
    option `httpaction_repeat_ms`.
  * 11.14: HTTP errors are reported as `ERROR: <err code>` (option
    `http_error_codes`; False gives the plain ERROR other firmware sends).

Options (merged into the personality's `defaults`, see __init_subclass__):
  httpaction_space   True: `+HTTPACTION: 0,200,12` (11.5 syntax table). False: the
                     older `+HTTPACTION:0,200,12` the 11.15 examples show.
  httpread_space     True: `+HTTPREAD: 12` (11.15 first example). False: `+HTTPREAD:12`
                     (11.7 syntax, 11.15 HTTPS example).
  httpaction_repeat_ms  0 (off). N > 0: the +HTTPACTION URC comes again every N ms
                     until the response is read (HTTPREAD/HTTPHEAD) or the session
                     changes, as the 11.15 GET examples print it.
  http_error_codes   True: `ERROR: <n>` with the 11.14 codes. False: plain `ERROR`.
  http_typo_aliases  False. True: also accept AT+HTTTPARA and AT+HTTPIPINIT.
  http_data_max      3356: largest AT+HTTPDATA <size> ("AT 版本", 11.4; the LSAT build
                     takes 130048).
  httpread_max       3356: largest <byte_size> of AT+HTTPREAD=<start>,<size> (11.7).
  http_body_max      1048576: a response body larger than this ends in status 602
                     (No memory, 11.5) - the module keeps the body in RAM.
  http_delay_ms      0: extra time before the result URC (slow networks).
  sapbr_ip           "padded" (manual) or "quoted" (`"10.169.179.213"`, SIM800 style).
  sapbr_default_open True: bearer 1 is already up once the module is registered
                     (manual 9.x CPNETAPN note: "重启后缺省的 PDP 承载(<cid>=1) ... 已经处于
                     激活可用状态"); False: it must be opened with AT+SAPBR=1,1.
"""
import re
import socket
import ssl
import threading
import time

from .core import ModemSim, NetError, command
from .tlsclient import TLSFailure

HTTP_DEFAULTS = {
    "httpaction_space": True,
    "httpread_space": True,
    "httpaction_repeat_ms": 0,
    "http_error_codes": True,
    "http_typo_aliases": False,
    "http_data_max": 3356,
    "httpread_max": 3356,
    "http_body_max": 1 << 20,
    "http_delay_ms": 0,
    "sapbr_ip": "padded",
    "sapbr_default_open": True,
}

# manual 11.14 <err code>
E_SESSION, E_SHORT, E_DNS, E_BUSY, E_SOCKET, E_CONNECT = 0, 1, 2, 3, 4, 5
E_NOHEADER, E_PARAM, E_NOBUF = 9, 12, 13

# manual 11.5 <StatusCode> values the module makes up itself (600-606)
S_NOT_HTTP, S_NETWORK, S_NOMEM, S_DNS, S_BUSY, S_SSL = 600, 601, 602, 603, 604, 605
# Not in the table: a request that runs past "TIMEOUT" (11.3). We report 408, the
# HTTP "Request Time-out" of the same table, as SIM800-family firmware does for its
# own timeout; the manual does not say which code the module uses.
S_TIMEOUT = 408

# manual 10.1 <ConParamTag>
SAPBR_TAGS = ("CONTYPE", "APN", "USER", "PWD", "PHONENUM", "RATE")
# manual 11.3 <HTTPParamTag>, in the order AT+HTTPPARA? prints them (11.3 example)
HTTP_TAGS = ("CID", "URL", "UA", "PROIP", "PROPORT", "REDIR", "BREAK", "BREAKEND",
             "TIMEOUT", "CONTENT", "USERDATA")
INT_TAGS = ("CID", "PROPORT", "REDIR", "BREAK", "BREAKEND", "TIMEOUT")


class HTTPFail(Exception):
    """An exchange that ended without an HTTP answer; status: the 6xx/408 code."""

    def __init__(self, status, why=""):
        super().__init__("%d %s" % (status, why))
        self.status = status


class HTTPSession:
    """State between AT+HTTPINIT and AT+HTTPTERM."""

    def __init__(self):
        self.params = {"CID": 1, "URL": "", "UA": "YCOM_MODULE", "PROIP": "0.0.0.0",
                       "PROPORT": 0, "REDIR": 0, "BREAK": 0, "BREAKEND": 0,
                       "TIMEOUT": 120, "CONTENT": "", "USERDATA": ""}
        self.user_lines = []  # extra request header lines (USERDATA / USER_DEFINED)
        self.data = b""  # AT+HTTPDATA body for POST
        self.busy = False  # an HTTPACTION is under way
        self.token = 0  # bumps on every action: late worker results are dropped
        self.method = None
        self.status = None
        self.head = b""  # response status line + headers as received
        self.body = b""
        self.unread = False  # +HTTPACTION reported, response not read yet
        self.ex = None  # AT+HTTPEXACTION flow state (dict)


def pad_ip(ip):
    """'10.169.179.213' -> '010.169.179.213' (manual 10.1/11.15 examples)."""
    return ".".join("%03d" % int(o) for o in ip.split("."))


def parse_url(url, tls):
    """URL as AT+HTTPPARA="URL" takes it -> (tls, host, port, target).

    Accepts "http://host:port/path", "https://...", a bare "host/path" (the 11.15
    example sets "www.baidu.com"), and the manual's own "http://server/path:tcpPort"
    spelling (11.3), where the port follows the path.
    """
    u = url.strip()
    m = re.match(r"(?i)^(https?)://", u)
    if m:
        tls = tls or m.group(1).lower() == "https"
        u = u[m.end():]
    hostport, slash, rest = u.partition("/")
    target = "/" + rest
    host, _, port = hostport.partition(":")
    if not host:
        raise ValueError("no host")
    if port:
        port = int(port)
    else:
        mp = re.search(r":(\d{1,5})$", target.split("?", 1)[0])
        if mp:  # manual 11.3 form: "http://server/path:tcpPort"
            port = int(mp.group(1))
            target = target[:mp.start()] + target[mp.end():]
        else:
            port = 443 if tls else 80
    if not 0 < port < 65536:
        raise ValueError("port")
    return tls, host, port, target


def http_exchange(ip, port, tls, sni, request, head_only, timeout, body_max, tlscfg=None):
    """One real HTTP/1.1 request/response on a fresh connection (Connection: close).

    tlscfg: (SSLContext, SNI, name to check or None, check dates, refused) from SSL
    context 153 (YugeMQTT.module_tls and tls_refused); None: nothing verified.
    Returns (status, head_bytes, body_bytes); raises HTTPFail. Blocking: call it
    outside the simulator lock.
    """
    deadline = time.monotonic() + timeout

    def left():
        t = deadline - time.monotonic()
        if t <= 0:
            raise HTTPFail(S_TIMEOUT, "timeout")
        return t

    try:
        s = socket.create_connection((ip, port), timeout=left())
    except socket.timeout:
        raise HTTPFail(S_TIMEOUT, "connect timeout")
    except OSError as e:
        raise HTTPFail(S_NETWORK, "connect: %s" % e)
    try:
        if tls:
            if tlscfg is None:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            else:
                ctx, sni = tlscfg[0], tlscfg[1] or sni
            try:
                s.settimeout(left())
                s = ctx.wrap_socket(s, server_hostname=None if _is_ip(sni) else sni)
            except (ssl.SSLError, OSError) as e:
                if isinstance(e, socket.timeout):
                    raise HTTPFail(S_TIMEOUT, "tls timeout")
                raise HTTPFail(S_SSL, "tls: %s" % e)
            why = tlscfg and tlscfg[4](s, tlscfg[2], tlscfg[3])
            if why:  # a verified certificate with other dates or another name
                raise HTTPFail(S_SSL, "tls: %s" % why)
        buf = bytearray()
        eof = [False]

        def fill():
            s.settimeout(left())
            try:
                d = s.recv(65536)
            except socket.timeout:
                raise HTTPFail(S_TIMEOUT, "read timeout")
            except ssl.SSLError as e:
                raise HTTPFail(S_SSL, "tls read: %s" % e)
            except OSError as e:
                raise HTTPFail(S_NETWORK, "read: %s" % e)
            if not d:
                eof[0] = True
            buf.extend(d)
            return bool(d)

        try:
            s.settimeout(left())
            s.sendall(request)
        except socket.timeout:
            raise HTTPFail(S_TIMEOUT, "write timeout")
        except OSError as e:
            raise HTTPFail(S_NETWORK, "write: %s" % e)
        while True:
            i = buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            if not fill():
                if not buf:
                    raise HTTPFail(S_NETWORK, "closed without answer")
                raise HTTPFail(S_NOT_HTTP, "no header end")
            if len(buf) > 65536 and buf.find(b"\r\n\r\n") < 0:
                raise HTTPFail(S_NOT_HTTP, "header too long")
        head = bytes(buf[:i + 4])
        del buf[:i + 4]
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"^HTTP/1\.[01] (\d{3})", lines[0])
        if not m:
            raise HTTPFail(S_NOT_HTTP, "status line %r" % lines[0][:40])
        status = int(m.group(1))
        hdr = {}
        for ln in lines[1:]:
            k, sep, v = ln.partition(":")
            if sep:
                hdr[k.strip().lower()] = v.strip()
        if head_only or status in (204, 304) or 100 <= status < 200:
            return status, head, b""
        if "chunked" in hdr.get("transfer-encoding", "").lower():
            body = bytearray()
            while True:
                while b"\r\n" not in buf:
                    if not fill():
                        raise HTTPFail(S_NETWORK, "closed in chunk header")
                j = buf.find(b"\r\n")
                size = int(bytes(buf[:j]).split(b";")[0].strip() or b"0", 16)
                del buf[:j + 2]
                if size == 0:
                    break
                while len(buf) < size + 2:
                    if not fill():
                        raise HTTPFail(S_NETWORK, "closed in chunk")
                body += buf[:size]
                del buf[:size + 2]
                if len(body) > body_max:
                    raise HTTPFail(S_NOMEM, "body too large")
            return status, head, bytes(body)
        if "content-length" in hdr:
            n = int(hdr["content-length"])
            if n > body_max:
                raise HTTPFail(S_NOMEM, "body too large")
            while len(buf) < n:
                if not fill():
                    raise HTTPFail(S_NETWORK, "closed after %d of %d" % (len(buf), n))
            return status, head, bytes(buf[:n])
        while fill():  # no length: the body ends when the server closes
            if len(buf) > body_max:
                raise HTTPFail(S_NOMEM, "body too large")
        return status, head, bytes(buf)
    finally:
        try:
            s.close()
        except OSError:
            pass


def _is_ip(host):
    return re.match(r"^\d+\.\d+\.\d+\.\d+$", host or "") is not None


class YugeHTTP(ModemSim):
    """AT+SAPBR and AT+HTTP* (manual ch.10, ch.11)."""

    defaults = dict(HTTP_DEFAULTS)

    def __init_subclass__(cls, **kw):
        # The personality class sets its own `defaults`; ours are merged beneath them
        # so opts= accepts the HTTP options whatever the subclass declares.
        super().__init_subclass__(**kw)
        merged = dict(HTTP_DEFAULTS)
        merged.update(cls.defaults)
        cls.defaults = merged

    # ---------------------------------------------------------------- state
    def reset_state(self):
        super().reset_state()
        self.sapbr_params = {cid: {"CONTYPE": "GPRS", "APN": "", "USER": "", "PWD": "",
                                   "PHONENUM": "", "RATE": "2"} for cid in (1, 2, 3)}
        self.sapbr_open = {}  # cid -> ip, opened with AT+SAPBR=1
        self.sapbr_owned = set()  # cids whose PDP context AT+SAPBR=1 brought up
        self.sapbr_closed = set()  # cids closed by AT+SAPBR=0
        self.sapbr_net_down = False  # the network took the contexts (until SAPBR=1)
        self.http = None  # HTTPSession between HTTPINIT and HTTPTERM
        self.httpssl = 0
        if not hasattr(self, "http_saved"):
            self.http_saved = None  # AT+HTTPSCONT: survives reboots (NVRAM)
        if self.opts.get("http_typo_aliases"):
            self.add_command("+HTTTPARA", self.at_httppara)
            self.add_command("+HTTPIPINIT", self.at_httpinit)

    def bearer_ip(self, cid):
        """IP of an open bearer, or None (manual 10.1 <Status> 1 = connected).

        Bearer 1 is the module's default PDP context: up once registered (manual 9.x
        CPNETAPN note, 13.14 note 1) unless AT+SAPBR=0,1 closed it or the network took
        it away. A personality that keeps that context in self.contexts (yuge.py does)
        is followed; on a bare base class it is up while registered.
        """
        if not self.registered or self.cfun != 1:
            return None
        if cid in self.sapbr_open:
            return self.sapbr_open[cid]
        if cid == 1 and self.opts["sapbr_default_open"] and cid not in self.sapbr_closed:
            if 1 in self.contexts:
                return self.contexts[1]
            if not self.sapbr_net_down:
                return self.ip
        return None

    def network_drop(self, cause="nw"):
        with self.lock:
            was = [cid for cid in (1, 2, 3) if self.bearer_ip(cid)]
            super().network_drop(cause)
            self.sapbr_open.clear()
            self.sapbr_owned.clear()
            self.sapbr_net_down = True
            for cid in was:
                # manual 10.1 URC: "+SAPBR <cid>: DEACT" when the bearer goes down
                self.urc("+SAPBR %d: DEACT" % cid)
            h = self.http
            if h is not None and h.busy:
                # the request under way dies with the bearer: 601 Network Error
                h.token += 1
                h.busy = False
                if h.ex is None:
                    self._http_result(h, h.method, S_NETWORK, b"", b"")
                else:
                    h.ex["status"] = S_NETWORK
                    self._httpex_end(h)

    def _http_err(self, code):
        """Manual 11.14: `ERROR: <err code>`; plain ERROR with http_error_codes off."""
        if self.opts["http_error_codes"]:
            self.final("ERROR: %d" % code)
        else:
            self.error()

    # ---------------------------------------------------------------- ch.10 SAPBR
    @command("+SAPBR")
    def at_sapbr(self, c):
        if c.kind == "test":
            return self.answer('+SAPBR: (0-4),(1-3),"ConParamTag","ConParamValue"')
        if c.kind != "set":
            return self.error()
        op, cid = c.int(0), c.int(1)
        if op not in (0, 1, 2, 3, 4) or cid not in (1, 2, 3):
            return self.error()
        if op == 3:
            tag = c.str(2).upper()
            val = c.str(3, "")
            if tag not in SAPBR_TAGS or len(val) > 50:
                return self.error()
            self.sapbr_params[cid][tag] = val
            return self.ok()
        if op == 4:
            # The 10.1 table sums this up as "+SAPBR:<ConParamTag>,<ConParamValue>";
            # the module family (SIM800 style, like the HTTPPARA? listing of 11.3)
            # prints a "+SAPBR:" line and then one "TAG: value" line per parameter.
            p = self.sapbr_params[cid]
            return self.answer("+SAPBR:", *["%s: %s" % (t, p[t]) for t in
                                            ("CONTYPE", "APN", "PHONENUM", "USER", "PWD",
                                             "RATE")])
        if op == 2:
            ip = self.bearer_ip(cid)
            status = 1 if ip else 3
            return self.answer("+SAPBR: %d,%d,%s" % (cid, status,
                                                     self._sapbr_ip(ip or "0.0.0.0")))
        if op == 1:
            if not self.registered or self.cfun != 1:
                return self.error()
            # Opening an open bearer answers OK: every 11.15 example runs AT+SAPBR=1,1
            # on a module whose default bearer 1 is already up, and gets OK.
            if not self.bearer_ip(cid):
                ip = self.contexts.get(cid) or (self.ip if cid == 1 else
                                                 "10.169.%d.213" % (179 + cid))
                self.sapbr_closed.discard(cid)
                self.sapbr_open[cid] = ip
                if cid == 1:
                    self.sapbr_net_down = False
                if cid not in self.contexts:
                    self.context_up(cid, ip)  # a real PDP activation; arms drop=
                    self.sapbr_owned.add(cid)
            return self.ok()
        # op == 0: close
        if not self.bearer_ip(cid):
            return self.error()
        self.sapbr_open.pop(cid, None)
        self.sapbr_closed.add(cid)
        if cid in self.sapbr_owned:
            self.sapbr_owned.discard(cid)
            self.context_down(cid)
        self.ok()

    def _sapbr_ip(self, ip):
        if self.opts["sapbr_ip"] == "quoted":
            return '"%s"' % ip
        return pad_ip(ip)

    # ---------------------------------------------------------------- ch.11 HTTP
    @command("+HTTPINIT")
    def at_httpinit(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "exec":
            return self.error()
        if self.http is not None:
            # a second HTTPINIT without HTTPTERM is refused (SIMCom family behaviour;
            # 11.14 code 3 "HTTP is busy")
            return self._http_err(E_BUSY)
        self.http = HTTPSession()
        if self.http_saved:
            # 11.12: a saved context is loaded again
            self.http.params.update(self.http_saved)
            self.http.user_lines = _header_lines(self.http_saved["USERDATA"])
        self.ok()

    @command("+HTTPTERM")
    def at_httpterm(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "exec":
            return self.error()
        if self.http is None:
            return self._http_err(E_SESSION)
        self.http.token += 1  # a request still under way is abandoned
        self.http = None
        self.ok()

    @command("+HTTPSSL")
    def at_httpssl(self, c):
        # 11.2. The HTTPS example of 11.15 sets it before AT+HTTPINIT, so it lives
        # outside the HTTP session and survives HTTPTERM.
        if c.kind == "test":
            return self.answer("+HTTPSSL: (0-1)")
        if c.kind == "read":
            return self.answer("+HTTPSSL: %d" % self.httpssl)
        if c.kind != "set":
            return self.error()
        n = c.int(0)
        if n not in (0, 1):
            return self.error()
        if n == 1 and not self.opts.get("tls_firmware", True):
            # firmware built without TLS refuses it (SIM800 family, public knowledge;
            # the yuge personality's tls_firmware option)
            return self.error()
        self.httpssl = n
        self.ok()

    @command("+HTTPPARA")
    def at_httppara(self, c):
        if c.kind == "test":
            # 11.3 prints '," HTTPParamValue"' with a stray space: a typo we do not copy
            return self.answer('+HTTPPARA: "HTTPParamTag","HTTPParamValue"')
        h = self.http
        if h is None:
            return self._http_err(E_SESSION)
        if c.kind == "read":
            # 11.3 example: a bare "+HTTPPARA:" line, then "TAG: value" per parameter;
            # an empty value prints as "TAG:" (as the example shows it)
            lines = ["+HTTPPARA:"]
            for t in HTTP_TAGS:
                lines.append(("%s: %s" % (t, h.params[t])).rstrip())
            return self.answer(*lines)
        if c.kind != "set" or len(c) < 2:
            return self.error()
        tag = c.str(0).upper()
        val = c.str(1, "")
        if tag == "USER_DEFINED":
            # 11.3: "后面输入的不会覆盖以前的" - each one adds a header line
            h.user_lines.extend(_header_lines(val))
            h.params["USERDATA"] = "\\r\\n".join(h.user_lines)
            return self.ok()
        if tag not in HTTP_TAGS:
            return self._http_err(E_PARAM)
        if tag in INT_TAGS:
            try:
                v = int(val)
            except ValueError:
                return self._http_err(E_PARAM)
            if (tag == "CID" and v not in (1, 2, 3)) or v < 0 or \
                    (tag == "REDIR" and v not in (0, 1)) or (tag == "TIMEOUT" and v < 1):
                return self._http_err(E_PARAM)
            h.params[tag] = v
            return self.ok()
        if tag == "URL":
            try:
                parse_url(val, False)
            except ValueError:
                return self._http_err(E_PARAM)
        if tag == "USERDATA":
            # 11.3: several lines joined by the four characters \r\n (an MCU writes
            # "\\r\\n"); a new USERDATA replaces the previous one
            h.user_lines = _header_lines(val)
        h.params[tag] = val
        self.ok()

    @command("+HTTPDATA")
    def at_httpdata(self, c):
        mx = self.opts["http_data_max"]
        if c.kind == "test":
            return self.answer("+HTTPDATA: (0-%d),(1000-120000)" % mx)
        if c.kind != "set":
            return self.error()
        h = self.http
        if h is None:
            return self._http_err(E_SESSION)
        size = c.int(0)
        if size == 0:
            # 11.4: size 0 clears the data; <time> is not looked at
            h.data = b""
            return self.ok()
        ms = c.int(1)
        if not 0 < size <= mx:
            return self._http_err(E_NOBUF if size > mx else E_PARAM)
        if not 1000 <= ms <= 120000:
            return self._http_err(E_PARAM)
        if h.busy:
            return self._http_err(E_BUSY)

        def done(data, reason):
            # On timeout the module keeps what arrived and still answers OK (11.4
            # warns to give enough time; SIMCom-family behaviour).
            if self.http is h:
                h.data = data
            self.ok()

        # 11.4: "DOWNLOAD" on its own line, then exactly <size> raw bytes
        self.collect(done, n=size, prompt=b"\r\nDOWNLOAD\r\n", timeout_ms=ms)

    @command("+HTTPACTION")
    def at_httpaction(self, c):
        if c.kind == "test":
            return self.answer("+HTTPACTION: (0-2)")
        if c.kind != "set":
            return self.error()
        method = c.int(0)
        if method not in (0, 1, 2):
            return self.error()
        h = self.http
        if h is None:
            return self._http_err(E_SESSION)
        if h.busy or h.ex is not None:
            return self._http_err(E_BUSY)
        if not h.params["URL"]:
            return self._http_err(E_PARAM)
        self.ok()
        self._http_start(h, method, h.data if method == 1 else b"")

    def _http_start(self, h, method, body, ex=False):
        """Start a real request in a worker thread; the URC follows when it ends."""
        h.busy = True
        h.token += 1
        h.method = method
        h.status = None
        h.head = h.body = b""
        h.unread = False
        token = h.token
        p = h.params
        fail_ms = max(1, self.opts["http_delay_ms"])

        def fail(st):
            # reported a moment later, as a URC, like a failure on the network side
            self.after(fail_ms, self._http_done, h, token, method, st, b"", b"", ex)

        try:
            tls, host, port, target = parse_url(p["URL"], bool(self.httpssl))
        except ValueError:
            return fail(S_NETWORK)
        if not self.bearer_ip(p["CID"]):
            # no bearer for the session's CID: 601 Network Error (11.5)
            return fail(S_NETWORK)
        proxy = p["PROIP"] not in ("", "0.0.0.0") and p["PROPORT"]
        try:
            ip = self.net.resolve(p["PROIP"] if proxy else host)
        except NetError as e:
            # 603 DNS Error for a name the hosts table does not know (never real DNS)
            return fail(S_DNS if e.kind == "resolve" else S_NETWORK)
        cport = p["PROPORT"] if proxy else port
        verb = ("GET", "POST", "HEAD")[method]
        req = self._http_request_bytes(h, verb, tls, host, port, target, proxy, body)
        redirects = p["REDIR"]
        delay = self.opts["http_delay_ms"] / 1000.0
        args = (h, token, method, verb, ip, cport, tls, host, req, p["TIMEOUT"],
                redirects, delay, ex, proxy, body)
        threading.Thread(target=self._http_worker, args=args, daemon=True,
                         name="modemsim-http").start()

    def _http_request_bytes(self, h, verb, tls, host, port, target, proxy, body):
        p = h.params
        default = 443 if tls else 80
        hosthdr = host if port == default else "%s:%d" % (host, port)
        if proxy:
            target = "%s://%s%s" % ("https" if tls else "http", hosthdr, target)
        lines = ["%s %s HTTP/1.1" % (verb, target), "Host: " + hosthdr,
                 "User-Agent: " + p["UA"], "Connection: close"]
        if p["BREAK"] or p["BREAKEND"]:
            # 11.3: resume from BREAK; up to BREAKEND when it is larger, else to the end
            if p["BREAKEND"] > p["BREAK"]:
                lines.append("Range: bytes=%d-%d" % (p["BREAK"], p["BREAKEND"]))
            else:
                lines.append("Range: bytes=%d-" % p["BREAK"])
        if verb == "POST":
            if p["CONTENT"]:
                lines.append("Content-Type: " + p["CONTENT"])
            lines.append("Content-Length: %d" % len(body))
        lines.extend(h.user_lines)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    def _http_worker(self, h, token, method, verb, ip, port, tls, host, req, timeout,
                     redirects, delay, ex, proxy, body):
        status, head, data = S_NETWORK, b"", b""
        try:
            for _ in range(6):
                tlscfg = None
                if tls:
                    with self.lock:
                        tlscfg = self._http_tls(host)
                status, head, data = http_exchange(ip, port, tls, host, req, method == 2,
                                                   timeout, self.opts["http_body_max"],
                                                   tlscfg)
                if not (redirects and status in (301, 302, 303, 307, 308)):
                    break
                # REDIR=1 (11.3): follow the Location with a new request
                loc = _header(head, "location")
                if not loc:
                    break
                if loc.startswith("/"):
                    loc = "%s://%s:%d%s" % ("https" if tls else "http", host, port, loc)
                tls, host, rport, target = parse_url(loc, tls)
                with self.lock:
                    ip = self.net.resolve(host)
                if status == 303:
                    verb, body = ("HEAD" if method == 2 else "GET"), b""
                req = self._http_request_bytes(h, verb, tls, host, rport, target, False, body)
                port = rport
        except HTTPFail as e:
            status, head, data = e.status, b"", b""
        except NetError as e:
            status, head, data = (S_DNS if e.kind == "resolve" else S_NETWORK), b"", b""
        except (ValueError, OSError):
            status, head, data = S_NETWORK, b"", b""
        if delay:
            time.sleep(delay)
        with self.lock:
            if self.closed:
                return
            self._http_done(h, token, method, status, head, data, ex)

    def _http_tls(self, host):
        """TLS for AT+HTTPSSL=1 from SSL context 153 (manual 9.7; the 11.15 HTTPS
        example sets its "hostname"): configured as module_tls() reads any context -
        seclevel unset or 0 verifies nothing, 1-2 the server against the "cacert"
        file, its dates and name; 2 presents the client certificate. Unusable settings
        (a missing file) fail the request with 605, as a failed handshake does."""
        try:
            sc, sni, name, dates = self.module_tls(153, host)
        except TLSFailure as e:
            raise HTTPFail(S_SSL, "tls: %s" % e)
        return sc, sni, name, dates, self.tls_refused

    def _http_done(self, h, token, method, status, head, body, ex=False):
        """Worker finished (lock held): store the response, report it."""
        if self.http is not h or h.token != token or not self.powered:
            return  # HTTPTERM, a new action, a reboot or AT+CPOWD came first
        h.busy = False
        if ex:
            return self._httpex_done(h, method, status, head, body)
        self._http_result(h, method, status, head, body)

    def _http_result(self, h, method, status, head, body):
        h.status = status
        h.head = head
        h.body = body
        h.unread = True
        n = len(body)
        sp = " " if self.opts["httpaction_space"] else ""
        line = "+HTTPACTION:%s%d,%d,%d" % (sp, method, status, n)
        self.urc(line)
        rep = self.opts["httpaction_repeat_ms"]
        if rep:
            self.after(rep, self._http_repeat, h, h.token, line)

    def _http_repeat(self, h, token, line):
        # 11.15 GET examples: the URC comes again and again until the host reads
        if self.http is h and h.token == token and h.unread:
            self.urc(line)
            self.after(self.opts["httpaction_repeat_ms"], self._http_repeat, h, token, line)

    @command("+HTTPREAD")
    def at_httpread(self, c):
        mx = self.opts["httpread_max"]
        if c.kind == "test":
            return self.answer("+HTTPREAD: (0-%d),(1-%d)" % (mx, mx))
        h = self.http
        if h is None:
            return self._http_err(E_SESSION)
        if h.busy:
            return self._http_err(E_BUSY)
        if h.status is None:
            if c.kind == "exec" and h.data:
                # 11.7: before any action the exec form shows the data prepared
                # with AT+HTTPDATA for the POST
                return self._http_out("+HTTPREAD", h.data)
            return self._http_err(E_SHORT)
        if c.kind == "exec":
            h.unread = False
            return self._http_out("+HTTPREAD", h.body)
        if c.kind != "set":
            return self.error()
        start, size = c.int(0), c.int(1)
        if start < 0 or not 1 <= size <= mx:
            return self._http_err(E_PARAM)
        h.unread = False
        self._http_out("+HTTPREAD", h.body[start:start + size])

    def _http_out(self, head, data):
        # "+HTTPREAD: <len>" line, the raw bytes, then OK on its own line (11.7/11.15)
        sp = " " if self.opts["httpread_space"] else ""
        # header and payload in one piece: a URC injected between them would land
        # inside the body (the module never does that)
        # (short= fault: the payload may arrive shorter than the header says)
        self.raw(b"\r\n" + self._b("%s:%s%d" % (head, sp, len(data))) + b"\r\n"
                 + self.short_payload(bytes(data)))
        self.ok()

    @command("+HTTPHEAD")
    def at_httphead(self, c):
        # 11.11 gives the reply as "+HTTPREAD:<date_len> <data>" but the 11.15 HEAD
        # example shows "+HTTPHEAD: <date_len>"; we follow the example. <data> is the
        # status line and header fields exactly as the server sent them.
        if c.kind == "test":
            return self.ok()
        if c.kind != "exec":
            return self.error()
        h = self.http
        if h is None:
            return self._http_err(E_SESSION)
        if h.busy:
            return self._http_err(E_BUSY)
        if not h.head:
            return self._http_err(E_NOHEADER)
        h.unread = False
        self.raw(b"\r\n" + self._b("+HTTPHEAD: %d" % len(h.head)) + b"\r\n" + bytes(h.head))
        self.ok()

    @command("+HTTPSCONT")
    def at_httpscont(self, c):
        # 11.12: save the session parameters (kept across reboots) / show them.
        h = self.http
        if c.kind == "test":
            return self.ok()
        if c.kind == "exec":
            if h is None:
                return self._http_err(E_SESSION)
            self.http_saved = dict(h.params)
            return self.ok()
        if c.kind != "read":
            return self.error()
        saved = self.http_saved
        if h is None and saved is None:
            return self._http_err(E_SESSION)
        params = dict(h.params) if h is not None else saved
        # <mode> 0: the values are the saved ones (NVRAM), 1: unsaved (RAM)
        mode = 0 if saved == params else 1
        lines = ["+HTTPSCONT: %d" % mode]
        for t in ("CID", "URL", "UA", "PROIP", "PROPORT", "REDIR", "BREAK", "BREAKEND",
                  "USERDATA"):
            lines.append(("%s: %s" % (t, params[t])).rstrip())
        self.answer(*lines)

    # -------------------------------------------------- 11.6/11.9/11.10 extended flow
    # The 11.15 "HTTPACTION&HTTPGET&HTTPPOST" example: AT+HTTPEXACTION=1,<len> -> OK,
    # +HTTPEXPOST (ready for data); AT+HTTPEXPOST=<n>,<ms> -> ">" data OK, then
    # "+HTTPEXPOST: <len>" once <len> bytes are in; "+HTTPEXGET" when the answer is
    # there; AT+HTTPEXGET[=<n>] -> "+HTTPEXGET: <n>" data OK; "+HTTPEXACTION: 1,200"
    # when it has all been read. GET (method 0) skips the EXPOST part.
    @command("+HTTPEXACTION")
    def at_httpexaction(self, c):
        if c.kind == "test":
            return self.answer("+HTTPEXACTION: (0-1)")
        if c.kind != "set":
            return self.error()
        h = self.http
        if h is None:
            return self._http_err(E_SESSION)
        method = c.int(0)
        if method not in (0, 1):
            return self.error()
        if h.busy or h.ex is not None:
            return self._http_err(E_BUSY)
        if not h.params["URL"]:
            return self._http_err(E_PARAM)
        if method == 1:
            n = c.int(1)
            if n < 0:
                return self._http_err(E_PARAM)
            h.ex = {"method": 1, "want": n, "data": bytearray(), "body": b"", "pos": 0,
                    "status": None}
            self.ok()
            self.urc("+HTTPEXPOST")
            return
        h.ex = {"method": 0, "want": 0, "data": bytearray(), "body": b"", "pos": 0,
                "status": None}
        self.ok()
        self._http_start(h, 0, b"", ex=True)

    @command("+HTTPEXPOST")
    def at_httpexpost(self, c):
        if c.kind != "set":
            return self.error()
        h = self.http
        if h is None:
            return self._http_err(E_SESSION)
        ex = h.ex
        if ex is None or ex["method"] != 1 or h.busy:
            return self.error()
        n = c.int(0)
        ms = c.int(1, 5000)
        if n < 1 or len(ex["data"]) + n > ex["want"] or not 1 <= ms <= 120000:
            return self._http_err(E_PARAM)

        def done(data, reason):
            if self.http is not h or h.ex is not ex:
                return self.error()
            ex["data"] += data
            self.ok()
            if len(ex["data"]) >= ex["want"]:
                self.urc("+HTTPEXPOST: %d" % len(ex["data"]))
                self._http_start(h, 1, bytes(ex["data"]), ex=True)

        self.collect(done, n=n, prompt=b"\r\n>", timeout_ms=ms)

    def _httpex_done(self, h, method, status, head, body):
        ex = h.ex
        if ex is None:
            return
        h.status, h.head, h.body = status, head, body
        ex["status"] = status
        ex["body"] = body
        ex["pos"] = 0
        if body:
            self.urc("+HTTPEXGET")
        else:
            self._httpex_end(h)

    def _httpex_end(self, h):
        ex = h.ex
        h.ex = None
        self.urc("+HTTPEXACTION: %d,%d" % (ex["method"], ex["status"]))

    @command("+HTTPEXGET")
    def at_httpexget(self, c):
        h = self.http
        if h is None:
            return self._http_err(E_SESSION)
        ex = h.ex
        if ex is None or ex["status"] is None:
            return self.error()
        rest = len(ex["body"]) - ex["pos"]
        n = rest if c.kind == "exec" else min(c.int(0), rest)
        if n < 0:
            return self.error()
        data = ex["body"][ex["pos"]:ex["pos"] + n]
        ex["pos"] += n
        self.reply("+HTTPEXGET: %d" % len(data))
        self.raw(data)
        self.ok()
        if ex["pos"] >= len(ex["body"]):
            self._httpex_end(h)


def _header_lines(val):
    """USERDATA value -> header lines: split on the four characters \\r\\n (what
    arrives when the host writes "\\\\r\\\\n") and on real CR LF."""
    val = val.replace("\\r\\n", "\r\n").replace("\\n", "\n")
    return [ln.strip() for ln in re.split(r"\r?\n", val) if ln.strip()]


def _header(head, name):
    for ln in head.decode("latin-1").split("\r\n")[1:]:
        k, sep, v = ln.partition(":")
        if sep and k.strip().lower() == name:
            return v.strip()
    return None
