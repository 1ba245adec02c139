"""The rarer parts of cellmodem.requests and httpbase, imported on their first use so
a program that never meets them spends no heap on them: chunked bodies (RFC 9112
7.1), redirects (RFC 9110 15.4), https connections, streamed uploads (a file or an
iterable as data), Basic auth, URL quoting, Response.save(), the asyncio face's
request and the texts of the ValueErrors for bad input.
Usage: from cellmodem._httprare import follow  # by cellmodem.requests
"""
from cellmodem.compat import const
from cellmodem.httpbase import HTTPError, IncompleteRead, TooManyRedirects, split_url
from cellmodem.validate import seconds

_MAX_HEADERS = const(100)
_UPLOAD_CHUNK = const(1024)

# httpbase's ValueError texts, by the index httpbase names (_URL_TYPE ...)
BAD = ("url must be a str, not %s",
       "url needs a scheme: %r",
       "unsupported url scheme %r (http and https only)",
       "credentials in the url are not supported; use auth=(user, password)",
       "bad port in url %r",
       "url has no host: %r",
       "%s must not contain spaces, control or non-ASCII characters (quote() it): %r",
       "bad header name %r",
       "header %r must not contain CR, LF or NUL")

# requests' errors for a response out of shape or cut short (and a bad method), by
# the index requests names (_LONG_LINE ...): (exception class, text)
FAIL = ((HTTPError, "response line longer than %d bytes"),
        (IncompleteRead, "connection closed in the middle of the response head"),
        (IncompleteRead, "body ended after %d of %d bytes (Content-Length)"),
        (ValueError, "bad method %r"),
        (HTTPError, "more than %d header lines"),
        (HTTPError, "malformed header line %r"),
        (HTTPError, "bad Content-Length %r"),
        (HTTPError, "malformed status line %r"))


def ascii_text(b):
    """requests._text for bytes that are no UTF-8: anything but printable ASCII as "?"."""
    return "".join(chr(c) if 0x20 <= c < 0x7F else "?" for c in b)


def fail(n, args):
    cls, text = FAIL[n]
    return cls(text % args)


def chunk(body, mv):
    """requests._Body's read of a chunked body: RFC 9112 7.1, <hex size>[;ext] CRLF
    data CRLF ... 0 CRLF [trailers] CRLF; body.left is what is left of the chunk, body.first False
    once a chunk has been read."""
    try:
        return _chunk(body, mv)
    except BaseException:
        body._finish(False)  # a body out of step: the connection cannot be reused
        raise


def _chunk(body, mv):
    conn = body._conn
    if not body.left:
        if not body.first and conn.readline() != b"":
            raise HTTPError("chunk data longer than its size")
        body.first = False
        line = conn.readline()
        i = line.find(b";")
        size = line[:i] if i >= 0 else line
        try:
            body.left = int(size.strip(), 16)
        except ValueError:
            raise HTTPError("bad chunk size %r" % line[:40])
        if body.left < 0:
            raise HTTPError("bad chunk size %r" % line[:40])
        if not body.left:
            n = 0
            while True:  # trailer fields (RFC 9112 7.1.2), up to the empty line
                t = conn.readline()
                if not t:
                    return 0
                n += 1
                if t.find(b":") <= 0 or n > _MAX_HEADERS:
                    raise HTTPError("malformed chunked trailer %r" % t[:40])
    n = conn.readinto(mv[:min(len(mv), body.left)])
    if not n:
        raise IncompleteRead("connection closed inside a chunk (%d bytes missing)"
                             % body.left)
    body.left -= n
    return n


def join_url(base, location):
    """The absolute URL a Location header points to, relative to base."""
    if "://" in location:
        return location
    scheme, host, port, path = split_url(base)
    default = 443 if scheme == "https" else 80
    origin = "%s://%s%s" % (scheme, host, "" if port == default else ":%d" % port)
    if location.startswith("//"):
        return scheme + ":" + location
    if location.startswith("/"):
        return origin + location
    q = path.find("?")
    if q >= 0:
        path = path[:q]
    return origin + path[:path.rfind("/") + 1] + location


_SAFE = const(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def quote(s, safe=""):
    """Percent-encode s (str or bytes) for a URL: letters, digits, -._~ and the
    characters in safe stay; everything else is %XX of its UTF-8 bytes."""
    if isinstance(s, str):
        s = s.encode()
    out = []
    for b in s:
        if b in _SAFE or chr(b) in safe:
            out.append(chr(b))
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def urlencode(params):
    """httpbase.urlencode: "a=1&b=x%20y" from a dict or a list of pairs (values str,
    bytes or numbers)."""
    items = params.items() if isinstance(params, dict) else params
    return "&".join(quote(str(k) if not isinstance(k, bytes) else k) + "=" +
                    quote(v if isinstance(v, (str, bytes)) else str(v)) for k, v in items)


def follow(session, r, hops, method, url, hdrs, data):
    """Session._follow for a redirect status with a Location: None (r is the answer)
    or (method, url, data) of the next hop (RFC 9110 15.4); TooManyRedirects past
    max_redirects, HTTPError for an unusable one."""
    if hops == session.max_redirects:
        r.close()
        raise TooManyRedirects("more than %d redirects (last to %s)"
                               % (session.max_redirects, r.headers["location"]), r)
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


def tls_socket(session, m, host, port, timeout):
    """An https connection for session on modem m (cellmodem.tls): the context made
    at the first https request from the session's verify, cert and context."""
    from cellmodem import tls
    if session._tls is None:
        verify, cert, ctx = session._tls_args
        if ctx is None:  # ValueError here, before anything is sent
            ctx = tls.context(None if verify in (True, False) else verify,
                              *(cert or (None, None)), verify=verify is not False)
        session._tls = tls.choose(ctx)
    return tls.open_socket(m, host, port, timeout, *session._tls)


def basic_auth(session, hdrs, auth):
    """The Authorization header of Basic auth (RFC 7617) for auth = (user, password);
    the credentials never reach a trace."""
    import binascii
    from cellmodem import socket
    cred = binascii.b2a_base64(("%s:%s" % auth).encode()).strip().decode()
    hdrs["authorization"] = ("Authorization", "Basic " + cred)
    try:
        (session.modem or socket._the_modem()).at.secret(cred)  # never in a trace
    except OSError:
        pass  # no modem yet: the request will say so


def upload_size(data):
    """The byte count left in a file from where it stands (seek and tell), or None
    for an iterable or a file without them: sent chunked (RFC 9112 7.1)."""
    if hasattr(data, "seek") and hasattr(data, "tell"):
        here = data.tell()
        data.seek(0, 2)
        size = data.tell() - here
        data.seek(here)
        return size
    return None


def upload(sock, data, size):
    """Send a body that is no bytes: a file of known size (size) in pieces, else a
    file without seek or an iterable of bytes/str, chunked (RFC 9112 7.1)."""
    if size is not None:
        buf = bytearray(_UPLOAD_CHUNK)
        left = size
        while left:
            n = data.readinto(buf) if hasattr(data, "readinto") else _read_into(data, buf)
            if not n:
                raise ValueError("the file ended %d bytes short of its size" % left)
            n = min(n, left)
            sock.write(buf, n)
            left -= n
        return
    for piece in (iter(data) if not hasattr(data, "read") else _pieces(data)):
        if isinstance(piece, str):
            piece = piece.encode()
        if piece:
            sock.write(b"%x\r\n" % len(piece))
            sock.write(piece)
            sock.write(b"\r\n")
    sock.write(b"0\r\n\r\n")


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


def save(r, dest, chunk_size):
    """Response.save: the body to dest (a path, or a callable taking a memoryview of
    each piece) through one buffer; the byte count."""
    mv = memoryview(bytearray(chunk_size))
    total = 0
    f = open(dest, "wb") if isinstance(dest, str) else None
    try:
        while True:
            n = r.raw.readinto(mv)
            if not n:
                break
            if f is not None:
                f.write(mv[:n])
            else:
                dest(mv[:n])
            total += n
    finally:
        if f is not None:
            f.close()
        r.close()
    return total


async def request_async(session, amodem, method, url, data=None, json=None, headers=None,
                        params=None, auth=None, timeout=30, allow_redirects=True):
    """Session.request_async: request()'s steps with the wait for each response
    awaited on amodem; the body is left to the caller. timeout: requests.DEFAULT_TIMEOUT."""
    from cellmodem.requests import _ready
    seconds(timeout, "timeout", True)  # before anything is sent
    method, url, hdrs, data = session._prepare(method, url, data, json, headers, params, auth)
    t_read = timeout[1] if isinstance(timeout, tuple) else timeout
    hops = 0
    while True:
        conn = session._begin(method, url, hdrs, data, timeout)
        try:
            await amodem.wait_until(lambda: _ready(conn), None if t_read is None
                                    else int(t_read * 1000), "response")
        except BaseException:
            conn.close()
            raise
        r = session._head(conn, method, url, None)
        nxt = session._follow(r, hops, allow_redirects, method, url, hdrs, data)
        if nxt is None:
            return r
        method, url, data = nxt
        hops += 1
