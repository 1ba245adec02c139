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
                                REDIRECTS, split_url, join_url, urlencode, header_text)
from cellmodem.validate import seconds

_BUF = const(1024)  # per connection: status line, headers, chunk sizes; bodies bypass it
_MAX_LINE = const(8192)  # longest status or header line accepted
_MAX_HEADERS = const(100)
_UPLOAD_CHUNK = const(1024)
_IDEMPOTENT = ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
DEFAULT_TIMEOUT = 30  # s; a cellular link can stall, so a request never waits forever


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
                    raise HTTPError("response line longer than %d bytes" % _MAX_LINE)
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
                    raise HTTPError("response line longer than %d bytes" % _MAX_LINE)
                self.start = self.end = 0
            if not self._fill():
                raise IncompleteRead("connection closed in the middle of the response head")

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
    session for the next request, or is closed."""

    def __init__(self, session, conn, reusable):
        self._session = session
        self._conn = conn
        self._reusable = reusable
        self.done = False

    def readinto(self, buf):
        if self.done:
            return 0
        mv = buf if isinstance(buf, memoryview) else memoryview(buf)
        n = self._read(mv) if len(mv) else 0
        if not n and len(mv):
            self._finish(self._reusable)
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


class _Empty(_Body):
    def _read(self, mv):
        return 0


class _Length(_Body):
    def __init__(self, session, conn, reusable, length):
        super().__init__(session, conn, reusable)
        self.left = length
        self.length = length

    def _read(self, mv):
        if not self.left:
            return 0
        n = self._conn.readinto(mv[:min(len(mv), self.left)])
        if not n:
            self._finish(False)
            raise IncompleteRead("body ended after %d of %d bytes (Content-Length)"
                                 % (self.length - self.left, self.length))
        self.left -= n
        return n


class _Chunked(_Body):
    # RFC 9112 7.1: <hex size>[;ext] CRLF data CRLF ... 0 CRLF [trailers] CRLF
    def __init__(self, session, conn, reusable):
        super().__init__(session, conn, reusable)
        self.left = 0
        self.first = True

    def _read(self, mv):
        try:
            return self._chunk(mv)
        except BaseException:
            self._finish(False)  # a body out of step: the connection cannot be reused
            raise

    def _chunk(self, mv):
        conn = self._conn
        if not self.left:
            if not self.first and conn.readline() != b"":
                raise HTTPError("chunk data longer than its size")
            self.first = False
            line = conn.readline()
            i = line.find(b";")
            size = line[:i] if i >= 0 else line
            try:
                self.left = int(size.strip(), 16)
            except ValueError:
                raise HTTPError("bad chunk size %r" % line[:40])
            if self.left < 0:
                raise HTTPError("bad chunk size %r" % line[:40])
            if not self.left:
                n = 0
                while True:  # trailer fields (RFC 9112 7.1.2), up to the empty line
                    t = conn.readline()
                    if not t:
                        return 0
                    n += 1
                    if t.find(b":") <= 0 or n > _MAX_HEADERS:
                        raise HTTPError("malformed chunked trailer %r" % t[:40])
        n = conn.readinto(mv[:min(len(mv), self.left)])
        if not n:
            raise IncompleteRead("connection closed inside a chunk (%d bytes missing)"
                                 % self.left)
        self.left -= n
        return n


class _UntilClose(_Body):
    def _read(self, mv):
        return self._conn.readinto(mv)


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
            if conn.key == key and _alive(conn.sock):
                return conn
            conn.close()
        m = self.modem or _socket._the_modem()
        if scheme == "https":
            from cellmodem import tls
            if self._tls is None:
                verify, cert, ctx = self._tls_args
                if ctx is None:  # ValueError here, before anything is sent
                    ctx = tls.context(None if verify in (True, False) else verify,
                                      *(cert or (None, None)), verify=verify is not False)
                self._tls = tls.choose(ctx)
            s = tls.open_socket(m, host, port, timeout, *self._tls)
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

    async def request_async(self, amodem, method, url, data=None, json=None, headers=None,
                            params=None, auth=None, timeout=DEFAULT_TIMEOUT,
                            allow_redirects=True):
        """request() for the asyncio face (cellmodem.aio.arequest): the same steps, with
        the wait for each response awaited on amodem; the body is left to the caller."""
        seconds(timeout, "timeout", True)  # before anything is sent
        method, url, hdrs, data = self._prepare(method, url, data, json, headers, params, auth)
        t_read = timeout[1] if isinstance(timeout, tuple) else timeout
        hops = 0
        while True:
            conn = self._begin(method, url, hdrs, data, timeout)
            try:
                await amodem.wait_until(lambda: _ready(conn), None if t_read is None
                                        else int(t_read * 1000), "response")
            except BaseException:
                conn.close()
                raise
            r = self._head(conn, method, url, None)
            nxt = self._follow(r, hops, allow_redirects, method, url, hdrs, data)
            if nxt is None:
                return r
            method, url, data = nxt
            hops += 1

    def _prepare(self, method, url, data, json, headers, params, auth):
        method = method.upper()
        if not method.isalpha():
            raise ValueError("bad method %r" % method)
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
            import binascii
            cred = binascii.b2a_base64(("%s:%s" % auth).encode()).strip().decode()
            hdrs["authorization"] = ("Authorization", "Basic " + cred)
            try:
                (self.modem or _socket._the_modem()).at.secret(cred)  # never in a trace
            except OSError:
                pass  # no modem yet: the request will say so
        if isinstance(data, str):
            data = data.encode()
        split_url(url)  # ValueError before anything is sent
        return method, url, hdrs, data

    def _follow(self, r, hops, allow, method, url, hdrs, data):
        """None: r is the answer. Else (method, url, data) of the next hop (RFC 9110
        15.4); TooManyRedirects past max_redirects, HTTPError for an unusable one."""
        if not (allow and r.status_code in REDIRECTS and "location" in r.headers):
            return None
        if hops == self.max_redirects:
            r.close()
            raise TooManyRedirects("more than %d redirects (last to %s)"
                                   % (self.max_redirects, r.headers["location"]), r)
        r.raw.read()  # drain it: the connection may serve the next hop
        try:
            new = join_url(url, r.headers["location"])
            split_url(new)
        except ValueError as e:
            raise HTTPError("unusable redirect %r: %s" % (r.headers["location"][:80], e), r)
        if split_url(new)[1] != split_url(url)[1]:
            hdrs.pop("authorization", None)  # credentials stay with their host
        if r.status_code == 303 or r.status_code in (301, 302) and method != "HEAD":
            method, data = ("HEAD" if method == "HEAD" else "GET"), None
            hdrs.pop("content-type", None)
        elif data is not None and not isinstance(data, (bytes, bytearray, memoryview)):
            return None  # 307/308 with a body streamed once: cannot send it again
        return method, new, data

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
                    raise HTTPError("more than %d header lines" % _MAX_HEADERS)
                i = h.find(b":")
                if i <= 0:
                    raise HTTPError("malformed header line %r" % h[:60])
                headers.add(_text(h[:i].strip()), _text(h[i + 1:].strip()))
        except BaseException:
            conn.close()
            raise
        conn_hdr = headers.get("connection", "").lower()
        reusable = "close" not in conn_hdr and (version == b"HTTP/1.1" or "keep-alive" in conn_hdr)
        te = headers.get("transfer-encoding", "").lower()
        if method == "HEAD" or status in (204, 304):
            body = _Empty(self, conn, reusable)
        elif "chunked" in te:
            body = _Chunked(self, conn, reusable)
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                conn.close()
                raise HTTPError("bad Content-Length %r" % headers["content-length"])
            if length < 0:
                conn.close()
                raise HTTPError("bad Content-Length %d" % length)
            body = _Length(self, conn, reusable, length)
        else:
            body = _UntilClose(self, conn, False)
        if isinstance(body, _Empty) or isinstance(body, _Length) and not body.left:
            body._finish(reusable)
        return Response(status, reason, headers, body, url)

    def _send(self, conn, method, scheme, host, port, path, hdrs, data):
        default = 443 if scheme == "https" else 80
        lines = ["%s %s HTTP/1.1\r\nHost: %s%s\r\n" % (method, path, host,
                                                      "" if port == default else ":%d" % port)]
        chunked = False
        size = None
        if data is not None:
            if isinstance(data, (bytes, bytearray, memoryview)):
                size = len(data)
            elif hasattr(data, "seek") and hasattr(data, "tell"):
                here = data.tell()
                data.seek(0, 2)
                size = data.tell() - here
                data.seek(here)
            else:
                chunked = True
        elif method in ("POST", "PUT", "PATCH"):
            size = 0
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
        if size is not None and isinstance(data, (bytes, bytearray, memoryview)):
            sock.write(data)
        elif not chunked:  # a file of known size, in pieces
            buf = bytearray(_UPLOAD_CHUNK)
            left = size
            while left:
                n = data.readinto(buf) if hasattr(data, "readinto") else _read_into(data, buf)
                if not n:
                    raise ValueError("the file ended %d bytes short of its size" % left)
                n = min(n, left)
                sock.write(buf, n)
                left -= n
        else:
            for piece in (iter(data) if not hasattr(data, "read") else _pieces(data)):
                if isinstance(piece, str):
                    piece = piece.encode()
                if piece:
                    sock.write(b"%x\r\n" % len(piece))
                    sock.write(piece)
                    sock.write(b"\r\n")
            sock.write(b"0\r\n\r\n")

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def head(self, url, **kw):
        return self.request("HEAD", url, **kw)

    def post(self, url, **kw):
        return self.request("POST", url, **kw)

    def put(self, url, **kw):
        return self.request("PUT", url, **kw)

    def patch(self, url, **kw):
        return self.request("PATCH", url, **kw)

    def delete(self, url, **kw):
        return self.request("DELETE", url, **kw)


def _text(b):
    # Header text is ASCII by RFC 9110; anything else becomes "?" rather than an error
    try:
        return b.decode()
    except UnicodeError:
        return "".join(chr(c) if 0x20 <= c < 0x7F else "?" for c in b)


def _status_line(line):
    # RFC 9112 4: HTTP-version SP status-code SP [reason-phrase]
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3 \
            or not parts[1].isdigit():
        raise HTTPError("malformed status line %r" % line[:60])
    return int(parts[1]), (_text(parts[2]) if len(parts) > 2 else ""), parts[0]


def _ready(conn):
    # bytes in the connection's buffer, or the socket readable / closed / failed
    if conn.sock is None or conn.end > conn.start:
        return True
    try:
        return bool(conn.sock.ioctl(3, 1))
    except (OSError, ModemError):
        return True  # the read will report it


def _alive(sock):
    # An idle kept-alive socket is reusable unless the server closed it or sent
    # something unasked (MP_STREAM_POLL through the socket's ioctl).
    try:
        flags = sock.ioctl(3, 1)
    except (OSError, ModemError):
        return False
    return not flags


def _read_into(f, buf):
    data = f.read(len(buf))
    n = len(data)
    buf[:n] = data
    return n


def _pieces(f):
    while True:
        data = f.read(_UPLOAD_CHUNK)
        if not data:
            return
        yield data


def request(method, url, modem=None, verify=True, cert=None, context=None, **kw):
    """One request on its own connection (Connection: close); see Session.request,
    and Session for verify, cert and context (https)."""
    s = Session(modem=modem, keep_alive=False, verify=verify, cert=cert, context=context)
    return s.request(method, url, **kw)


def get(url, **kw):
    return request("GET", url, **kw)


def head(url, **kw):
    return request("HEAD", url, **kw)


def post(url, **kw):
    return request("POST", url, **kw)


def put(url, **kw):
    return request("PUT", url, **kw)


def patch(url, **kw):
    return request("PATCH", url, **kw)


def delete(url, **kw):
    return request("DELETE", url, **kw)
