"""HTTP/1.1 over the modem's sockets, with micropython-lib's `requests` interface.

Code written for micropython-lib's requests runs by changing the import. Adds:
streaming (stream=True, then iter_content / readinto / save, in a fixed buffer however
large the body), chunked transfer decoding, streaming uploads (a file or generator as
data), redirects, basic auth, params, timeouts, and keep-alive: a Session reuses one
modem socket for consecutive requests to the same host.

Usage:
    import cellmodem.requests as requests
    r = requests.get("http://example.com/data.json", timeout=10)
    print(r.status_code, r.headers["Content-Type"], r.json())
    with requests.get("http://example.com/fw.bin", stream=True) as r:
        r.save("/fw.bin")
"""
import errno

from cellmodem.compat import const
from cellmodem.errors import ModemError
from cellmodem import socket as _socket
from cellmodem.httpbase import (HTTPError, IncompleteRead, TooManyRedirects, Response, Headers,
                                REDIRECTS, split_url, urlencode, header_text)
from cellmodem.validate import seconds

_BUF = const(1024)  # per connection: status line, headers, chunk sizes; bodies bypass it
_MAX_LINE = const(8192)  # longest status or header line accepted
_MAX_HEADERS = const(100)
_CHUNKED = const(-1)  # _Body lengths that are no Content-Length
_UNTIL_CLOSE = const(-2)
_IDEMPOTENT = ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
DEFAULT_TIMEOUT = 30  # s; a cellular link can stall, so a request never waits forever


# Errors for a response out of shape or cut short, their texts in cellmodem._httprare
# (FAIL)
_LONG_LINE = const(0)
_CUT_HEAD = const(1)
_CUT_BODY = const(2)
_METHOD = const(3)
_HEADERS = const(4)
_HEADER = const(5)
_LENGTH = const(6)
_STATUS = const(7)


def _fail(n, *args):
    from cellmodem._httprare import fail
    return fail(n, args)


def _verb(method, session=False):
    # get(), post(), ... of the module and of Session: one closure each, not a function
    if session:
        def verb(self, url, **kw):
            return self.request(method, url, **kw)
    else:
        def verb(url, **kw):
            return request(method, url, **kw)
    return verb


class _Conn:
    """One socket to (scheme, host, port) and its read buffer."""

    def __init__(self, sock, key):
        self.sock = sock
        self.key = key
        self.buf = bytearray(_BUF)
        self.mv = memoryview(self.buf)
        self.start = 0
        self.end = 0
        self.used = False  # a response has been read on it (reuse may find it stale)

    def settimeout(self, t):
        self.sock.settimeout(t)

    def _fill(self):
        """Read more into the buffer; False at EOF."""
        if self.start:
            n = self.end - self.start
            self.buf[:n] = self.mv[self.start:self.end]
            self.start, self.end = 0, n
        if self.end == len(self.buf):
            return True
        k = self.sock.recv_into(self.mv[self.end:])
        self.end += k
        return k > 0

    def readline(self):
        """The next line without its CR LF (bytes); HTTPError if longer than _MAX_LINE,
        IncompleteRead at EOF."""
        parts = None
        held = 0  # bytes of the line already set aside in parts
        while True:
            i = self.buf.find(b"\n", self.start, self.end)
            if i >= 0:
                if held + i - self.start > _MAX_LINE:
                    raise _fail(_LONG_LINE, _MAX_LINE)
                line = bytes(self.mv[self.start:i])
                self.start = i + 1
                if parts:
                    parts.append(line)
                    line = b"".join(parts)
                return line[:-1] if line.endswith(b"\r") else line
            if self.end - self.start == len(self.buf):  # a line longer than the buffer
                parts = parts or []
                parts.append(bytes(self.mv[self.start:self.end]))
                held += self.end - self.start
                if held > _MAX_LINE:
                    raise _fail(_LONG_LINE, _MAX_LINE)
                self.start = self.end = 0
            if not self._fill():
                raise _fail(_CUT_HEAD)

    def readinto(self, mv):
        """Buffered bytes first, else straight from the socket into mv; 0 at EOF."""
        n = self.end - self.start
        if n:
            n = min(n, len(mv))
            mv[:n] = self.mv[self.start:self.start + n]
            self.start += n
            return n
        return self.sock.recv_into(mv)

    def close(self):
        s = self.sock
        self.sock = None
        if s is not None:
            try:
                s.close()
            except (OSError, ModemError):
                pass


class _Body:
    """The raw body stream of a response (Response.raw): readinto(buf) -> count,
    0 at the end; read(n); close(). At its end the connection goes back to the
    session for the next request, or is closed. length: the Content-Length (0 for
    no body), _CHUNKED (RFC 9112 7.1, read by cellmodem._httprare.chunk) or
    _UNTIL_CLOSE (the body ends when the server closes)."""

    def __init__(self, session, conn, reusable, length):
        self._session = session
        self._conn = conn
        self._reusable = reusable
        self.done = False
        self.length = length
        # bytes left: of the body (Content-Length), of the chunk being read (chunked)
        self.left = length if length > 0 else 0
        self.first = True  # chunked: no chunk read yet

    def readinto(self, buf):
        if self.done:
            return 0
        mv = buf if isinstance(buf, memoryview) else memoryview(buf)
        n = self._read(mv) if len(mv) else 0
        if not n and len(mv):
            self._finish(self._reusable)
        return n

    def _read(self, mv):
        length = self.length
        if length == _UNTIL_CLOSE:
            return self._conn.readinto(mv)
        if length == _CHUNKED:
            from cellmodem._httprare import chunk
            return chunk(self, mv)
        if not self.left:
            return 0
        n = self._conn.readinto(mv[:min(len(mv), self.left)])
        if not n:
            self._finish(False)
            raise _fail(_CUT_BODY, length - self.left, length)
        self.left -= n
        return n

    def read(self, n=-1):
        """Up to n bytes of the body (everything left if n < 0); b"" at the end."""
        if n is not None and n >= 0:
            buf = bytearray(n)
            got = 0
            while got < n:
                k = self.readinto(memoryview(buf)[got:])
                if not k:
                    break
                got += k
            return bytes(buf) if got == n else bytes(buf[:got])
        parts = []
        buf = bytearray(_BUF)
        while True:
            k = self.readinto(buf)
            if not k:
                return b"".join(parts)
            parts.append(bytes(buf[:k]))

    def ready(self):
        """True when readinto() will not wait: the body ended, or bytes or the end
        are there (for the asyncio face)."""
        return self.done or self._conn is None or _ready(self._conn)

    def _finish(self, reuse):
        self.done = True
        conn, self._conn = self._conn, None
        if conn is not None:
            self._session._release(conn, reuse)

    def close(self):
        """Stop reading: the connection is closed unless the body was read to its end."""
        if not self.done:
            self._finish(False)


class Session:
    """Requests that share settings and keep one connection per host open between
    them (Connection: keep-alive); close() closes it.

    modem: the Modem to use (default: the one most recently connected).
    headers: sent with every request. max_redirects: how many to follow (5).
    https (cellmodem.tls): verify: the CA certificate that signs the servers' (PEM/DER
    bytes or a file name; required for https unless verify=False is given); cert:
    (certificate, key) for mutual TLS; context: an ssl.SSLContext of your own (host
    TLS) or a cellmodem.tls.ModuleTLS (the module's TLS) instead of verify/cert.
    """

    def __init__(self, modem=None, headers=None, keep_alive=True, max_redirects=5,
                 verify=True, cert=None, context=None):
        self.modem = modem
        self._tls_args = (verify, cert, context)
        self._tls = None  # (host context, ModuleTLS), made at the first https request
        self.headers = dict(headers or {})
        self.keep_alive = keep_alive
        self.max_redirects = max_redirects
        self._pool = None  # the one idle connection kept for reuse
        self.opened = 0  # connections opened (to see keep-alive at work)

    # ---- connections ----
    def _connect(self, scheme, host, port, timeout):
        key = (scheme, host, port)
        conn = self._pool
        self._pool = None
        if conn is not None:
            # reusable unless the server closed it or sent something unasked
            if conn.key == key and not _ready(conn):
                return conn
            conn.close()
        m = self.modem or _socket._the_modem()
        if scheme == "https":
            from cellmodem._httprare import tls_socket
            s = tls_socket(self, m, host, port, timeout)
        else:
            s = _socket.socket(modem=m)
            try:
                s.settimeout(timeout)
                s.connect((m.resolve(host), port))
            except BaseException:
                s.close()
                raise
        self.opened += 1
        return _Conn(s, key)

    def _release(self, conn, reuse):
        if reuse and self.keep_alive and conn.sock is not None:
            conn.used = True
            if self._pool is not None:
                self._pool.close()
            self._pool = conn
        else:
            conn.close()

    def close(self):
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- requests ----
    def request(self, method, url, data=None, json=None, headers=None, params=None, auth=None,
                timeout=DEFAULT_TIMEOUT, stream=False, allow_redirects=True):
        """Send one request (following redirects); returns a Response.

        data: bytes/str, a file (read in pieces) or an iterable of bytes (sent chunked);
        json: an object sent as JSON; params: dict or pairs for the query string;
        auth: (user, password) for Basic auth; timeout: seconds, or (connect, read),
        for connecting and for each wait for data. stream=False reads the whole body
        now; stream=True leaves it to the caller (then close() or read it to the end).
        Raises ValueError for a bad URL or header (nothing sent), OSError (DNS,
        refused, ETIMEDOUT, connection lost), HTTPError for a malformed response,
        IncompleteRead for a truncated body, TooManyRedirects; TypeError for a timeout
        that is no number, None or pair of them (nothing sent)."""
        seconds(timeout, "timeout", True)  # before anything is sent
        method, url, hdrs, data = self._prepare(method, url, data, json, headers, params, auth)
        hops = 0
        while True:
            r = self._one(method, url, hdrs, data, timeout)
            nxt = self._follow(r, hops, allow_redirects, method, url, hdrs, data)
            if nxt is None:
                break
            method, url, data = nxt
            hops += 1
        if not stream:
            try:
                r.content
            except BaseException:
                r.close()
                raise
        return r

    def request_async(self, amodem, method, url, *args, **kw):
        """request() for the asyncio face (cellmodem.aio.arequest): the same steps, with
        the wait for each response awaited on amodem; the body is left to the caller."""
        from cellmodem._httprare import request_async
        return request_async(self, amodem, method, url, *args, **kw)

    def _prepare(self, method, url, data, json, headers, params, auth):
        method = method.upper()
        if not method.isalpha():
            raise _fail(_METHOD, method)
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        hdrs = {}
        for src in (self.headers, headers or {}):
            for k, v in src.items():
                k, v = header_text(k, v)
                hdrs[k.lower()] = (k, v)
        if json is not None:
            import json as _json
            data = _json.dumps(json)
            if "content-type" not in hdrs:
                hdrs["content-type"] = ("Content-Type", "application/json")
        if auth is not None:
            from cellmodem._httprare import basic_auth
            basic_auth(self, hdrs, auth)
        if isinstance(data, str):
            data = data.encode()
        split_url(url)  # ValueError before anything is sent
        return method, url, hdrs, data

    def _follow(self, r, hops, allow, method, url, hdrs, data):
        """None: r is the answer. Else (method, url, data) of the next hop
        (cellmodem._httprare.follow)."""
        if not (allow and r.status_code in REDIRECTS and "location" in r.headers):
            return None
        from cellmodem._httprare import follow
        return follow(self, r, hops, method, url, hdrs, data)

    def _one(self, method, url, hdrs, data, timeout):
        for attempt in (0, 1):
            conn = self._begin(method, url, hdrs, data, timeout, attempt == 0)
            if conn is None:
                continue  # a kept-alive connection had gone: once more on a new one
            try:
                line = conn.readline()
                break
            except HTTPError:
                conn.close()
                raise
            except (OSError, IncompleteRead) as e:
                conn.close()
                # The server closed the kept-alive connection meanwhile: once more, on
                # a new one, when the request can be sent twice (RFC 9110 9.2.2).
                if not conn.used or attempt or method not in _IDEMPOTENT \
                        or isinstance(e, OSError) and e.args[0] == errno.ETIMEDOUT:
                    raise
        return self._head(conn, method, url, line)

    def _begin(self, method, url, hdrs, data, timeout, may_retry=False):
        """Connect (or reuse) and send the request; the connection, or None when a
        reused one failed and may_retry allows another try."""
        scheme, host, port, path = split_url(url)
        if isinstance(timeout, tuple):
            t_connect, t_read = timeout
        else:
            t_connect = t_read = timeout
        conn = self._connect(scheme, host, port, t_connect)
        conn.settimeout(t_read)
        try:
            self._send(conn, method, scheme, host, port, path, hdrs, data)
        except (OSError, IncompleteRead):
            conn.close()
            if conn.used and may_retry and method in _IDEMPOTENT:
                return None
            raise
        return conn

    def _head(self, conn, method, url, line):
        """Read the status line (unless given) and headers: a Response whose body is
        read on demand."""
        if line is None:
            try:
                line = conn.readline()
            except BaseException:
                conn.close()
                raise
        try:
            status, reason, version = _status_line(line)
            while 100 <= status < 200:  # 100 Continue and friends: the real one follows
                while conn.readline():
                    pass
                status, reason, version = _status_line(conn.readline())
            headers = Headers()
            n = 0
            while True:
                h = conn.readline()
                if not h:
                    break
                n += 1
                if n > _MAX_HEADERS:
                    raise _fail(_HEADERS, _MAX_HEADERS)
                i = h.find(b":")
                if i <= 0:
                    raise _fail(_HEADER, h[:60])
                headers.add(_text(h[:i].strip()), _text(h[i + 1:].strip()))
        except BaseException:
            conn.close()
            raise
        conn_hdr = headers.get("connection", "").lower()
        reusable = "close" not in conn_hdr and (version == b"HTTP/1.1" or "keep-alive" in conn_hdr)
        te = headers.get("transfer-encoding", "").lower()
        if method == "HEAD" or status in (204, 304):
            length = 0
        elif "chunked" in te:
            length = _CHUNKED
        elif "content-length" in headers:
            length = headers["content-length"]
            try:
                length = int(length)
            except ValueError:
                pass
            if not isinstance(length, int) or length < 0:
                conn.close()
                raise _fail(_LENGTH, length)
        else:
            length = _UNTIL_CLOSE
            reusable = False
        body = _Body(self, conn, reusable, length)
        if not length:
            body._finish(reusable)
        return Response(status, reason, headers, body, url)

    def _send(self, conn, method, scheme, host, port, path, hdrs, data):
        default = 443 if scheme == "https" else 80
        lines = ["%s %s HTTP/1.1\r\nHost: %s%s\r\n" % (method, path, host,
                                                      "" if port == default else ":%d" % port)]
        size = None
        whole = isinstance(data, (bytes, bytearray, memoryview))
        if whole:
            size = len(data)
        elif data is not None:  # a file (its size), or an iterable sent chunked (None)
            from cellmodem._httprare import upload_size
            size = upload_size(data)
        elif method in ("POST", "PUT", "PATCH"):
            size = 0
        chunked = data is not None and size is None
        for k, (name, value) in hdrs.items():
            if k not in ("host", "content-length", "transfer-encoding", "connection"):
                lines.append("%s: %s\r\n" % (name, value))
        if "user-agent" not in hdrs:
            lines.append("User-Agent: cellmodem\r\n")
        if size is not None:
            lines.append("Content-Length: %d\r\n" % size)
        if chunked:
            lines.append("Transfer-Encoding: chunked\r\n")
        lines.append("Connection: %s\r\n\r\n" % ("keep-alive" if self.keep_alive else "close"))
        sock = conn.sock
        sock.write("".join(lines).encode())
        if data is None:
            return
        if whole:
            sock.write(data)
        else:
            from cellmodem._httprare import upload
            upload(sock, data, size)

    get = _verb("GET", True)
    head = _verb("HEAD", True)
    post = _verb("POST", True)
    put = _verb("PUT", True)
    patch = _verb("PATCH", True)
    delete = _verb("DELETE", True)


def _text(b):
    # Header text is ASCII by RFC 9110; anything else becomes "?" rather than an error
    try:
        return b.decode()
    except UnicodeError:
        from cellmodem._httprare import ascii_text
        return ascii_text(b)


def _status_line(line):
    # RFC 9112 4: HTTP-version SP status-code SP [reason-phrase]
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3 \
            or not parts[1].isdigit():
        raise _fail(_STATUS, line[:60])
    return int(parts[1]), (_text(parts[2]) if len(parts) > 2 else ""), parts[0]


def _ready(conn):
    # bytes in the connection's buffer, or the socket readable / closed / failed
    # (MP_STREAM_POLL through the socket's ioctl)
    if conn.sock is None or conn.end > conn.start:
        return True
    try:
        return bool(conn.sock.ioctl(3, 1))
    except (OSError, ModemError):
        return True  # the read will report it


def request(method, url, modem=None, verify=True, cert=None, context=None, **kw):
    """One request on its own connection (Connection: close); see Session.request,
    and Session for verify, cert and context (https)."""
    s = Session(modem=modem, keep_alive=False, verify=verify, cert=cert, context=context)
    return s.request(method, url, **kw)


get = _verb("GET")
head = _verb("HEAD")
post = _verb("POST")
put = _verb("PUT")
patch = _verb("PATCH")
delete = _verb("DELETE")
