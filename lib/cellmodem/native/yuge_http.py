"""HTTP through the Yuge EC716S module's own HTTP client (manual ch.10 AT+SAPBR,
ch.11 AT+HTTP*). Same interface as cellmodem.requests (micropython-lib's requests).

One request is one module session: AT+SAPBR bearer 1 (opened when down), AT+HTTPINIT,
AT+HTTPSSL, AT+HTTPPARA (CID, URL, TIMEOUT, REDIR, UA, CONTENT, USERDATA),
AT+HTTPDATA (POST body), AT+HTTPACTION and its +HTTPACTION URC, AT+HTTPHEAD (the
response headers), then the body read on demand with AT+HTTPREAD=<start>,<size> into
the caller's buffer; the session ends with AT+HTTPTERM when the body has been read,
the response is closed, or the next request starts.

What the module cannot do, and how this client says so:
  * methods: AT+HTTPACTION has GET, POST and HEAD only (11.5): PUT, PATCH, DELETE,
    ... raise NotImplementedError; a body with GET or HEAD too (only POST sends one);
  * bodies over MAX_BODY (3356 bytes, AT+HTTPDATA of the "AT" build, 11.4; the LSAT
    build takes 130048: set MAX_BODY) raise ValueError before anything is sent;
  * headers go inside AT+HTTPPARA quotes: quotes, backslashes, control and non-ASCII
    characters are a ValueError; Host, Content-Length, Connection and
    Transfer-Encoding are written by the module and refused (ValueError);
  * redirects are followed by the module itself (REDIR=1, 11.3); it does not say
    where it ended up, so Response.url is the URL asked for;
  * TLS: AT+HTTPSSL=1 with SSL context 153 (9.7) set for every request: from a
    cellmodem.tls.ModuleTLS (context=; the server verified with a CA file stored by
    tls.cert_upload, its name as SNI and checked) or, with verify=False by name,
    seclevel 0 and the host name as SNI (the 11.15 example); neither is a ValueError;
  * the module keeps the whole response body in its RAM: a body too large for it is
    status 602, raised as OSError(ENOMEM);
  * one session per module: a new request ends the previous one, whose unread body
    then raises OSError(ENOTCONN).
Module results 600-606 (11.5) are OSError with the status and the manual's text:
601 (network error: refused, reset, no bearer) ECONNREFUSED (ECONNABORTED when the
data link went down), 603 (DNS) EHOSTUNREACH, 602 ENOMEM, 604 EAGAIN, 605 (TLS
set-up: a refused server too) ECONNABORTED "TLS handshake failed: ...", 606 (TLS)
and 600 (not HTTP) EIO. Commands the module refuses raise ATError with the 11.14 code
and text (`ERROR: 3` -> code 3, "HTTP is busy").

Usage:
    from cellmodem.native import yuge_http as requests
    r = requests.get("http://example.com/data.json", modem=modem)   # connect() done
    print(r.status_code, r.json())
    r = requests.get("http://example.com/big.bin", modem=modem)
    for piece in r.iter_content(1024): f.write(piece)
"""
import errno

from cellmodem import modem as _modem
from cellmodem.errors import ATError, ATTimeout
from cellmodem.httpbase import (HTTPError, IncompleteRead, Headers, Response, split_url,
                                urlencode, header_text)
from cellmodem.validate import at_string, payload, seconds

MAX_BODY = 3356  # 11.4: AT+HTTPDATA <size> 0-3356 on the AT build (LSAT: 130048)
MAX_READ = 3356  # 11.7: AT+HTTPREAD <byte_size> 1~3356
MAX_HEAD = 4096  # response header bytes kept for parsing; the rest is skipped
MAX_URL = 1024  # our bound on the URL argument; the manual gives none
DEFAULT_TIMEOUT = 120  # s: 11.3 "TIMEOUT" default 120 s (1.4 lists no HTTP command)
_CID = 1  # bearer 1: the module's default PDP context (9.x CPNETAPN note, 11.15)
_SSL_CTX = 153  # 9.7: SSL context id of the HTTP function
_SAPBR_OPEN_MS = 108000  # AT+SAPBR=1 activates a PDP context: CGACT's 108 s (1.4)
_METHODS = ("GET", "POST", "HEAD")  # 11.5 <Method> 0, 1, 2
_MODULE_HEADERS = ("host", "content-length", "connection", "transfer-encoding")

# 11.14 `ERROR: <err code>`: ends a command like ERROR, with the module's code
_FINALS = ((b"ERROR:", False),)
_ERR_TEXT = ("Unknown session id", "File is too short", "DNS is fail", "HTTP is busy",
             "Socket is wrong", "Connect fail", "File is error", "Connection is closed",
             "Connection is destroyed", "HTTP header is not found",
             "HTTP authentication scheme is not supported", "PDP active is wrong",
             "Param is wrong", "No buffer", "PDP deactivate is wrong")
# 11.5 <StatusCode> 600-606: the module's own results, not the server's
_STATUS_6XX = ("Not HTTP PDU", "Network Error", "No memory", "DNS Error", "Stack Busy",
               "SSL channel set-up failed", "SSL alert")
_ERRNO_6XX = (errno.EIO, errno.ECONNREFUSED, errno.ENOMEM, errno.EHOSTUNREACH,
              errno.EAGAIN, errno.ECONNABORTED, errno.EIO)



def _fail(e, cmd=None):
    """The error to raise for e from a command: ATError with the 11.14 code and text,
    OSError(ETIMEDOUT) for a timeout."""
    if isinstance(e, ATTimeout):
        return OSError(errno.ETIMEDOUT, str(e))
    t = e.text
    if e.code is None and t.startswith("ERROR:"):
        try:
            code = int(t[6:])
        except ValueError:
            return e
        text = _ERR_TEXT[code] if 0 <= code < len(_ERR_TEXT) else "ERROR"
        return ATError(code, "%s (%s)" % (t, text), e.command or cmd)
    return e


def _cmd(at, cmd, timeout=None, **kw):
    """at.command with the 11.14 finals; raises what _fail gives."""
    try:
        return at.command(cmd, timeout=timeout, finals=_FINALS, **kw)
    except (ATError, ATTimeout) as e:
        raise _fail(e, cmd)


def _quoted(value, what, maxlen):
    """value for an AT+HTTPPARA quoted argument, or ValueError (validate.at_string)."""
    return at_string(value, what + " (inside AT+HTTPPARA quotes)", maxlen)


def _b64(data):
    import binascii
    return binascii.b2a_base64(data).strip().decode()


class _Body:
    """The response body, read from the module with AT+HTTPREAD=<start>,<size> (11.7).

    readinto(buf) -> count, 0 at the end; each call is one AT+HTTPREAD of at most
    MAX_READ bytes straight into buf (no other buffer), waiting timeout ms.
    close() ends the module's session (AT+HTTPTERM, 11.13)."""

    def __init__(self, modem, length, timeout):
        self.modem = modem
        self.at = modem.at
        self.length = length  # <DataLen> of +HTTPACTION
        self.pos = 0
        self.timeout = timeout
        self.closed = False
        self.why = None  # why reading cannot go on (session ended early)
        self._dst = None
        self._got = 0
        self._n = -1

    def _on_head(self, line):
        # "+HTTPREAD: <date_len>" then the bytes (11.7, 11.15); the 11.7 syntax
        # prints no space after the colon
        n = line.int(0, 0)
        self._n = n
        self.at.engine.expect_raw(n, self._sink)

    def _sink(self, buf, off, n):
        dst = self._dst
        i = self._got
        k = len(dst) - i  # more than asked for: never past the caller's buffer
        if k > n:
            k = n
        if k > 0:
            dst[i:i + k] = buf[off:off + k]
        self._got = i + n

    def readinto(self, buf):
        """Fill buf with the next body bytes; returns the count, 0 at the end.
        Raises IncompleteRead if the module has fewer bytes than +HTTPACTION said,
        OSError(ETIMEDOUT) after timeout ms, OSError(ENOTCONN) once the session was
        ended early (close() or a newer request), OSError(ECONNRESET) once the module
        restarted (the session went with it), ATError with the module's code."""
        left = self.length - self.pos
        if left <= 0:
            self.close()
            return 0
        if self.closed:
            raise OSError(errno.ENOTCONN, self.why or "response closed")
        if self.modem.module_state.get("http") is not self:  # emptied by a restart
            self.closed = True
            raise OSError(errno.ECONNRESET, "the module restarted: its HTTP session is gone")
        mv = memoryview(buf)
        n = len(mv)
        if n > left:
            n = left
        if n > MAX_READ:
            n = MAX_READ
        if n <= 0:
            return 0
        self._dst = mv[:n]
        self._got = 0
        self._n = -1
        cmd = "AT+HTTPREAD=%d,%d" % (self.pos, n)
        try:
            # 11.7 gives <start_address> 0~3356 too, copied from <byte_size>: the
            # module holds bodies far larger (11.15 reads 207751 bytes), read at any
            # start
            _cmd(self.at, cmd, self.timeout, resp=b"+HTTPREAD:", on_line=self._on_head)
        except Exception:
            self.why = "%s failed" % cmd
            self.close()
            raise
        finally:
            self._dst = None
        got = self._got
        if self._n < 0 or got > n:
            self.close()
            raise HTTPError("%s: answer of %d bytes for %d asked" % (cmd, got, n))
        if got == 0:
            self.why = "body ended"
            self.close()
            raise IncompleteRead("%s: the module has %d of the %d bytes +HTTPACTION "
                                 "announced" % (cmd, self.pos, self.length))
        self.pos += got
        return got

    def close(self):
        """End the module's HTTP session (AT+HTTPTERM, 11.13); idempotent."""
        if self.closed:
            return
        self.closed = True
        if self.why is None and self.pos < self.length:
            self.why = "response closed before its body was read"
        st = self.modem.module_state  # "http": the _Body whose session the module holds
        if st.get("http") is self:
            del st["http"]
        try:
            _cmd(self.at, "AT+HTTPTERM")
        except (ATError, OSError):
            pass  # ERROR: 0 (no session): the module ended it already


class _Action:
    """Collects the +HTTPACTION: <method>,<status>,<datalen> URC (11.5)."""

    def __init__(self, method):
        self.method = method
        self.status = None
        self.length = 0

    def on_urc(self, line):
        # the 11.15 GET examples repeat the URC until HTTPREAD: the values are the same
        if line.int(0, -1) == self.method:
            self.status = line.int(1, -1)
            self.length = line.int(2, 0)


class _Head:
    """Collects the header block of AT+HTTPHEAD (11.11) into one bytearray."""

    def __init__(self, at):
        self.at = at
        self.data = bytearray()

    def on_line(self, line):
        # 11.11 prints "+HTTPREAD:<len>", the 11.15 HEAD example "+HTTPHEAD: <len>"
        if line.startswith(b"+HTTPHEAD:") or line.startswith(b"+HTTPREAD:"):
            self.at.engine.expect_raw(line.int(0, 0), self._sink)

    def _sink(self, buf, off, n):
        k = MAX_HEAD - len(self.data)
        if k > 0:
            self.data.extend(buf[off:off + (n if n < k else k)])


def _parse_head(data):
    """(reason, Headers) from a status line and header fields as the server sent them."""
    headers = Headers()
    reason = ""
    lines = bytes(data).split(b"\r\n")
    first = lines[0].split(b" ", 2)
    if len(first) == 3:
        reason = first[2].decode()
    for ln in lines[1:]:
        i = ln.find(b":")
        if i <= 0:
            continue
        try:
            k = ln[:i].strip().decode().lower()
            v = ln[i + 1:].strip().decode()
        except UnicodeError:
            continue  # not UTF-8 (MicroPython decodes nothing else): left out
        old = headers.get(k)
        headers[k] = v if old is None else old + ", " + v  # repeated: joined
    return reason, headers


def _plan(method, url, data, json, headers, params, auth, timeout):
    """Check every argument; returns what the AT commands need. Raises ValueError or
    NotImplementedError; sends nothing."""
    if not isinstance(method, str):
        raise ValueError("method must be a str")
    m = method.upper()
    if m not in _METHODS:
        raise NotImplementedError("%s: the module's AT+HTTPACTION does GET, POST and HEAD "
                                  "only (manual 11.5)" % method)
    scheme, host, port, path = split_url(url)
    if params:
        path += ("&" if "?" in path else "?") + urlencode(params)
    default = 443 if scheme == "https" else 80
    full = "%s://%s%s%s" % (scheme, host, "" if port == default else ":%d" % port, path)
    full = _quoted(full, "url", MAX_URL)
    body = None
    ctype = None
    if json is not None:
        if data is not None:
            raise ValueError("give data or json, not both")
        import json as _json
        body = _json.dumps(json).encode()
        ctype = "application/json"
    elif data is not None:
        body = payload(data)
    if body is not None and len(body) and m != "POST":
        raise NotImplementedError("a %s with a body: the module sends one with POST "
                                  "only (AT+HTTPDATA, 11.4)" % m)
    if body is not None and len(body) > MAX_BODY:
        raise ValueError("body of %d bytes: AT+HTTPDATA takes at most %d (manual 11.4); "
                         "streaming uploads past %d bytes are not possible natively"
                         % (len(body), MAX_BODY, MAX_BODY))
    ua = None
    extra = []
    hdrs = list(headers.items()) if headers else []
    if auth is not None:
        if not isinstance(auth, (tuple, list)) or len(auth) != 2:
            raise ValueError("auth must be (user, password)")
        u, p = auth
        u = u.encode() if isinstance(u, str) else bytes(u)
        p = p.encode() if isinstance(p, str) else bytes(p)
        hdrs.append(("Authorization", "Basic " + _b64(u + b":" + p)))
    for k, v in hdrs:
        k, v = header_text(k, v)
        k = _quoted(k, "header name", 64)
        v = _quoted(v, "header %s" % k, 1024)
        low = k.lower()
        if low in _MODULE_HEADERS:
            raise ValueError("header %s is written by the module itself (manual 11.3)" % k)
        if low == "content-type":
            ctype = v  # 11.3 "CONTENT"
        elif low == "user-agent":
            ua = v  # 11.3 "UA"
        else:
            extra.append(k + ": " + v)
    # 11.3 USERDATA: several header lines joined by the four characters \r\n
    userdata = "\\r\\n".join(extra)
    if len(userdata) > MAX_URL:
        raise ValueError("headers take %d bytes in USERDATA: at most %d"
                         % (len(userdata), MAX_URL))
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if seconds(timeout) <= 0:  # TypeError for a str
        raise ValueError("timeout must be a positive number of seconds, not %r" % (timeout,))
    return (m, scheme, host, full, body, ctype, ua, userdata, timeout)


def _bearer(at, settings):
    """Bearer 1 up (10.1): AT+SAPBR=2,1, and if it is not connected set CONTYPE and
    the APN (user, password) the modem was connected with and AT+SAPBR=1,1."""
    st = []
    on = lambda l: st.append(l.int(1, -1))  # +SAPBR: <cid>,<Status>,<IP_Addr>
    _cmd(at, "AT+SAPBR=2,%d" % _CID, resp=b"+SAPBR:", on_line=on)
    if st and st[0] == 1:
        return
    apn, user, pwd = settings
    _cmd(at, 'AT+SAPBR=3,%d,"CONTYPE","GPRS"' % _CID)
    _cmd(at, 'AT+SAPBR=3,%d,"APN","%s"' % (_CID, apn))
    if user:
        _cmd(at, 'AT+SAPBR=3,%d,"USER","%s"' % (_CID, user))
    if pwd:
        _cmd(at, 'AT+SAPBR=3,%d,"PWD","%s"' % (_CID, pwd))
    _cmd(at, "AT+SAPBR=1,%d" % _CID, _SAPBR_OPEN_MS)
    del st[:]
    _cmd(at, "AT+SAPBR=2,%d" % _CID, resp=b"+SAPBR:", on_line=on)
    if not st or st[0] != 1:
        raise OSError(errno.ENOTCONN, "bearer %d did not come up: +SAPBR status %s"
                      % (_CID, st[0] if st else "missing"))


def _session(at, plan, ms, tls):
    """AT+HTTPINIT .. AT+HTTPACTION; returns the _Action with the URC's values."""
    m, scheme, host, full, body, ctype, ua, userdata, timeout = plan
    try:
        _cmd(at, "AT+HTTPINIT")
    except ATError:
        # 11.14 code 3 "HTTP is busy": a session nobody ended; end it, start afresh
        try:
            _cmd(at, "AT+HTTPTERM")
        except ATError:
            pass
        _cmd(at, "AT+HTTPINIT")
    _cmd(at, "AT+HTTPSSL=%d" % (1 if scheme == "https" else 0))  # 11.2
    if scheme == "https":
        if tls is not None:
            # a ModuleTLS: context 153 from it (9.7: version, seclevel, files, name)
            from cellmodem.native.yuge_tls import sslcfg
            sslcfg(at, _SSL_CTX, tls, host)
        else:
            # verify=False, by name: seclevel 0 (9.7) whatever an earlier use set
            _cmd(at, 'AT+SSLCFG="seclevel",%d,0' % _SSL_CTX)
            # SNI (9.7 "hostname", 11.15 HTTPS POST example); "<n>," erases it for an IP
            ip = host.replace(".", "").isdigit()
            _cmd(at, 'AT+SSLCFG="hostname",%d,%s' % (_SSL_CTX, "" if ip else '"%s"' % host))
    _cmd(at, 'AT+HTTPPARA="CID",%d' % _CID)
    _cmd(at, 'AT+HTTPPARA="URL","%s"' % full)
    # 11.3 TIMEOUT (whole s): over a second more than ours, so our deadline decides
    # and a 408 in the URC is the server's, not the module giving up
    _cmd(at, 'AT+HTTPPARA="TIMEOUT",%d' % (int(timeout) + 2))
    _cmd(at, 'AT+HTTPPARA="REDIR",1')  # 11.3: the module follows 30x itself
    if ua is not None:
        _cmd(at, 'AT+HTTPPARA="UA","%s"' % ua)
    if ctype is not None:
        _cmd(at, 'AT+HTTPPARA="CONTENT","%s"' % ctype)
    if userdata:
        _cmd(at, 'AT+HTTPPARA="USERDATA","%s"' % userdata)
    if body is not None and len(body):
        # 11.4: <time> 1000-120000 ms to take the bytes; we write them at once
        cmd = "AT+HTTPDATA=%d,%d" % (len(body), 10000)
        eng = at.engine

        def prompt(line):
            # 11.4: "DOWNLOAD" on its own line is the prompt for the <size> bytes;
            # send_data waits for engine.prompted, which a "> " would set
            eng.prompted = True
        try:
            at.send_data(cmd, body, finals=_FINALS, resp=b"DOWNLOAD", on_line=prompt,
                         timeout=15000, prompt_timeout=9000)
        except (ATError, ATTimeout) as e:
            raise _fail(e, cmd)
    act = _Action(_METHODS.index(m))
    at.urc(b"+HTTPACTION:", act.on_urc)
    cmd = "AT+HTTPACTION=%d" % act.method
    _cmd(at, cmd)
    try:
        at.wait_until(lambda: act.status is not None, ms, "+HTTPACTION", cmd)
    except ATTimeout:
        raise OSError(errno.ETIMEDOUT, "%s: no +HTTPACTION within %d ms" % (cmd, ms))
    return act


def request(method, url, data=None, json=None, headers=None, params=None, auth=None,
            timeout=None, stream=False, modem=None, verify=True, context=None):
    """One HTTP request by the module; returns an httpbase.Response.

    method: GET, POST or HEAD (others: NotImplementedError). url: http:// or https://.
    data: bytes or str body (POST only, at most MAX_BODY bytes); json: an object sent
    as JSON with Content-Type application/json. headers: dict (Content-Type ->
    CONTENT, User-Agent -> UA, the rest -> USERDATA). params: dict or pairs, added to
    the URL's query. auth: (user, password) for Basic auth. timeout: seconds (default
    120, the module's own, 11.3) to wait for +HTTPACTION, and again per AT+HTTPREAD.
    stream: accepted; the body is always read on demand (the module holds it).
    https: the module's TLS (AT+HTTPSSL, SSL context 153) verifies the server when
    context is a cellmodem.tls.ModuleTLS naming a CA file stored on the module with
    tls.cert_upload (and a client certificate and key); verify=False, by name,
    connects unverified; neither is a ValueError before anything is sent. A refused
    server is OSError 605/606 (the module does not say why).
    modem: a Modem with the yuge dialect whose data link is up (default: the one
    connected last).
    Response.status_code is the server's; headers come from AT+HTTPHEAD (empty if the
    module has none). Raises ValueError / NotImplementedError before anything is sent,
    OSError(ENOTCONN) without a data link, OSError(ETIMEDOUT), OSError for results
    600-606 (see the module docstring), ATError when the module refuses a command."""
    plan = _plan(method, url, data, json, headers, params, auth, timeout)
    if plan[1] != "https":
        context = None
    elif context is not None:
        if not hasattr(context, "sni"):
            raise TypeError("context= takes a cellmodem.tls.ModuleTLS: the module does "
                            "the TLS of its own HTTP client")
        from cellmodem.native.yuge_tls import level
        level(context)  # ValueError for what the module cannot do
    elif verify is not False:
        raise ValueError("https through the module's HTTP verifies the server: give "
                         "context=tls.ModuleTLS(ca=<a CA stored with tls.cert_upload>), "
                         "or verify=False to connect unverified")
    if modem is None:
        modem = _modem.current()
    if modem is None:
        raise OSError(errno.ENOTCONN, "no connected modem: pass modem= or call "
                                      "modem.connect() first")
    if getattr(getattr(modem, "dialect", None), "NAME", None) != "yuge":
        raise ValueError("the native Yuge HTTP client needs a yuge modem, not %s"
                         % getattr(getattr(modem, "dialect", None), "NAME", modem))
    settings = getattr(modem, "_settings", None) or ("", "", "")
    apn = at_string(settings[0], "APN for AT+SAPBR", 50)  # 10.1: at most 50 characters
    user = at_string(settings[1], "user for AT+SAPBR", 50)
    pwd = at_string(settings[2], "password for AT+SAPBR", 50, secret=True)
    if modem.ip is None:
        raise OSError(errno.ENOTCONN, "the modem has no data link: modem.connect() first")
    at = modem.at
    at.secret(pwd)  # the bearer's password goes into AT+SAPBR: never in a trace
    i = plan[7].find("Authorization: Basic ")
    if i >= 0:  # the credentials in USERDATA
        tok = plan[7][i + 21:]
        j = tok.find("\\r\\n")
        at.secret(tok if j < 0 else tok[:j])
    ms = int(plan[-1] * 1000)
    old = modem.module_state.get("http")
    if old is not None:
        old.why = "the module's one HTTP session was taken by a newer request"
        old.close()
    at.poll()  # URCs already waiting (a lost link) are seen before we start
    try:
        _bearer(at, (apn, user, pwd))
        act = _session(at, plan, ms, context)
    except BaseException:
        try:
            _cmd(at, "AT+HTTPTERM")  # a request still under way is abandoned (11.13)
        except (ATError, OSError):
            pass
        raise
    status = act.status
    if 600 <= status <= 606:
        try:
            _cmd(at, "AT+HTTPTERM")
        except (ATError, OSError):
            pass
        k = status - 600
        num = _ERRNO_6XX[k]
        if status == 601 and modem.ip is None:
            num = errno.ECONNABORTED
        raise OSError(num, "%s+HTTPACTION: %d,%d,%d (%s, manual 11.5)"
                      % ("TLS handshake failed: " if status == 605 else "", act.method,
                         status, act.length, _STATUS_6XX[k]))
    head = _Head(at)
    try:
        _cmd(at, "AT+HTTPHEAD", ms, on_line=head.on_line)
        reason, hdrs = _parse_head(head.data)
    except ATError:
        reason, hdrs = "", Headers()  # 11.14 code 9: no header
    body = _Body(modem, act.length, ms)
    if act.length <= 0:
        body.close()
    else:
        modem.module_state["http"] = body
    return Response(status, reason, hdrs, body, url)


def get(url, **kw):
    return request("GET", url, **kw)


def post(url, **kw):
    return request("POST", url, **kw)


def head(url, **kw):
    return request("HEAD", url, **kw)


def put(url, **kw):
    return request("PUT", url, **kw)


def patch(url, **kw):
    return request("PATCH", url, **kw)


def delete(url, **kw):
    return request("DELETE", url, **kw)
