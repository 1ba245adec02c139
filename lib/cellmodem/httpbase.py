"""What the two HTTP clients share: errors, URLs, headers and the Response.

cellmodem.requests (HTTP/1.1 over the modem's sockets) and cellmodem.native.yuge_http
(the Yuge module's own HTTP commands) both return a Response built on a raw body
stream (an object with readinto(buf) -> count, 0 at the end, and close()), so an
application reads a body the same way from either: whole (.content, .text, .json()),
or in fixed-size pieces (.iter_content(n), .readinto(buf), .save(path)) with the
heap staying flat however large the body is.

Usage: scheme, host, port, path = split_url("https://example.com/a?b=1")
"""
from cellmodem.compat import const
from cellmodem.errors import ModemError

REDIRECTS = (301, 302, 303, 307, 308)


# The ValueError texts for bad input live in cellmodem._httprare (BAD), loaded with
# the first one raised: index in BAD
_URL_TYPE = const(0)
_NO_SCHEME = const(1)
_SCHEME = const(2)
_CREDENTIALS = const(3)
_PORT = const(4)
_NO_HOST = const(5)
_TEXT = const(6)
_HEADER_NAME = const(7)
_HEADER_CRLF = const(8)


def _bad(n, *args):
    from cellmodem._httprare import BAD
    return ValueError(BAD[n] % args)


class HTTPError(ModemError):
    """The server's answer is not a usable HTTP response (malformed status line or
    headers, too many redirects), or raise_for_status() found a 4xx/5xx status.
    .response is the Response when there is one."""

    def __init__(self, msg, response=None):
        super().__init__(msg)
        self.response = response


class IncompleteRead(HTTPError):
    """The body ended (connection closed, or a chunk cut short) before the length
    the server announced: a truncated body is never returned as a success."""


class TooManyRedirects(HTTPError):
    """More redirects than max_redirects."""


def split_url(url):
    """(scheme, host, port, path) of an http:// or https:// URL; path includes the
    query. ValueError for another scheme, a missing host or a bad port."""
    if not isinstance(url, str):
        raise _bad(_URL_TYPE, type(url).__name__)
    i = url.find("://")
    if i < 0:
        raise _bad(_NO_SCHEME, url)
    scheme = url[:i].lower()
    if scheme not in ("http", "https"):
        raise _bad(_SCHEME, scheme)
    rest = url[i + 3:]
    j = len(rest)
    for sep in "/?#":
        k = rest.find(sep)
        if 0 <= k < j:
            j = k
    host, path = rest[:j], rest[j:]
    h = path.find("#")
    if h >= 0:
        path = path[:h]  # the fragment stays with the client
    if not path or path[0] != "/":
        path = "/" + path
    if "@" in host:
        raise _bad(_CREDENTIALS)
    port = 443 if scheme == "https" else 80
    if ":" in host:
        host, p = host.rsplit(":", 1)
        if not p.isdigit() or not 1 <= int(p) <= 65535:
            raise _bad(_PORT, url)
        port = int(p)
    if not host:
        raise _bad(_NO_HOST, url)
    _check_text(host, "host")
    _check_text(path, "path")
    return scheme, host, port, path


def urlencode(params):
    """"a=1&b=x%20y" from a dict or a list of pairs (values str, bytes or numbers)."""
    from cellmodem._httprare import urlencode
    return urlencode(params)


def _check_text(s, what):
    for ch in s:
        if ord(ch) < 0x21 or ord(ch) > 0x7E:
            raise _bad(_TEXT, what, s)


def header_text(name, value):
    """A header name and value as str, or ValueError: CR or LF in either would end
    the header and start another (header injection)."""
    name = name.decode() if isinstance(name, bytes) else name
    value = value.decode() if isinstance(value, bytes) else str(value)
    if not name or ":" in name:
        raise _bad(_HEADER_NAME, name)
    for s in (name, value):
        for ch in s:
            if ch in "\r\n\x00":
                raise _bad(_HEADER_CRLF, name)
    return name, value


class Headers:
    """Response headers: names kept lower case, looked up in any case
    (headers["Content-Type"] == headers["content-type"]); a repeated header's values
    are joined with ", " (RFC 9110 5.3)."""

    def __init__(self):
        self._d = {}

    def add(self, name, value):
        k = name.lower()
        old = self._d.get(k)
        self._d[k] = value if old is None else old + ", " + value

    def __getitem__(self, k):
        return self._d[k.lower()]

    def __setitem__(self, k, v):
        self._d[k.lower()] = v

    def __contains__(self, k):
        return k.lower() in self._d

    def get(self, k, default=None):
        return self._d.get(k.lower(), default)

    def items(self):
        return self._d.items()

    def keys(self):
        return self._d.keys()

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)

    def __repr__(self):
        return repr(self._d)


class Response:
    """An HTTP response. The body is read on demand from .raw: use .content / .text /
    .json() for the whole of it, or .iter_content(n), .readinto(buf), .save(path) to
    stream it in fixed-size pieces; close() (or `with`) frees the connection."""

    encoding = "utf-8"

    def __init__(self, status_code, reason, headers, raw, url=None):
        self.status_code = status_code
        self.reason = reason
        self.headers = headers
        self.raw = raw
        self.url = url
        self._content = None

    @property
    def content(self):
        """The whole body (bytes); read once, then kept."""
        if self._content is None:
            parts = []
            buf = bytearray(1024)
            mv = memoryview(buf)
            while True:
                n = self.raw.readinto(mv)
                if not n:
                    break
                parts.append(bytes(mv[:n]))
            self._content = b"".join(parts)
            self.close()
        return self._content

    @property
    def text(self):
        return str(self.content, self.encoding)

    @property
    def ok(self):
        """True for a status below 400, as in requests."""
        return self.status_code < 400

    def json(self):
        import json
        return json.loads(self.content)

    def readinto(self, buf):
        """Stream: fill buf with the next body bytes; returns the count, 0 at the end.
        Raises IncompleteRead if the body ends short."""
        return self.raw.readinto(buf)

    def iter_content(self, chunk_size=1024):
        """Yield the body in pieces of up to chunk_size bytes, through one buffer
        (each piece is a new bytes object)."""
        buf = bytearray(chunk_size)
        mv = memoryview(buf)
        while True:
            n = self.raw.readinto(mv)
            if not n:
                self.close()
                return
            yield bytes(mv[:n])

    def save(self, dest, chunk_size=1024):
        """Write the body to dest (a file path, or a callable taking a memoryview of
        each piece) through one buffer; returns the byte count."""
        from cellmodem._httprare import save
        return save(self, dest, chunk_size)

    def raise_for_status(self):
        if self.status_code >= 400:
            raise HTTPError("%d %s" % (self.status_code, self.reason), self)

    def close(self):
        raw = self.raw
        if raw is not None:
            raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
