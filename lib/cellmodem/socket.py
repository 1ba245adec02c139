"""A drop-in for the socket module whose sockets are the modem's connections.

Names and behaviour follow MicroPython's socket module: blocking sockets by default,
settimeout()/setblocking(), OSError with an errno (ETIMEDOUT, EAGAIN, ECONNREFUSED,
ECONNABORTED when the network drops, ECONNRESET when the modem restarts), stream
methods read/readinto/readline/write for code written for MicroPython, and select.poll
support through ioctl. Sockets use the modem most recently connected, or the one
given to use().

Usage:
    import cellmodem.socket as socket          # or sys.modules["socket"] = cellmodem.socket
    s = socket.socket()
    s.connect(socket.getaddrinfo("example.com", 80)[0][-1])
    s.write(b"GET / HTTP/1.0\\r\\nHost: example.com\\r\\n\\r\\n"); print(s.read())
"""
import errno

from cellmodem.compat import const, ticks_ms, ticks_diff, ticks_add
from cellmodem.errors import ATTimeout, ModemError
from cellmodem import modem as _modem
from cellmodem.sockets import Link, TCP, UDP, LISTEN
from cellmodem.validate import at_string, port_number, payload, seconds

try:
    from io import IOBase as _Base  # MicroPython: select.poll calls ioctl() on these
    import sys as _sys
    if _sys.implementation.name != "micropython":
        _Base = object
except ImportError:
    _Base = object

AF_INET = 2
SOCK_STREAM = 1
SOCK_DGRAM = 2
IPPROTO_TCP = 6
IPPROTO_UDP = 17
SOL_SOCKET = 1
SO_REUSEADDR = 4

_POLL = const(3)  # MP_STREAM_POLL
_GET_FILENO = const(10)  # MP_STREAM_GET_FILENO: we have no file descriptor
_POLLIN = const(1)
_POLLOUT = const(4)
_POLLERR = const(8)
_POLLHUP = const(16)
_STEP = const(20)  # ms the port is waited on per round while blocking

_use = [None]
error = OSError


def use(modem):
    """Make cellmodem.socket use modem (a connected Modem) from now on."""
    _use[0] = modem


def _the_modem():
    m = _use[0] or _modem.current()
    if m is None:
        raise OSError(errno.ENOTCONN, "no modem: call modem.connect() or cellmodem.socket.use(modem)")
    return m


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0):
    """[(AF_INET, type, proto, "", (ip, port))], the address from the modem's DNS.
    Raises ValueError for a bad host or port, OSError if the name does not resolve."""
    port = port_number(int(port) if isinstance(port, str) and port.isdigit() else port)
    if isinstance(host, bytes):
        host = host.decode()
    ip = _the_modem().resolve(host)
    kind = type or SOCK_STREAM
    return [(AF_INET, kind, proto or (IPPROTO_UDP if kind == SOCK_DGRAM else IPPROTO_TCP), "",
             (ip, port))]


def _address(addr):
    if not isinstance(addr, tuple) or len(addr) != 2:
        raise ValueError("address must be a (host, port) tuple, not %r" % (addr,))
    host = at_string(addr[0], "host", 253, empty=False)
    return host, port_number(addr[1])


def _has_client(link):
    return link.incoming or link.error


def _oserror(e):
    """A library error as the OSError a socket user expects."""
    if isinstance(e, OSError):
        return e
    if isinstance(e, ATTimeout):
        return OSError(errno.ETIMEDOUT, str(e))
    return OSError(errno.EIO, str(e))


class socket(_Base):
    """A TCP or UDP socket over the modem. The modem is taken when the socket is made."""

    def __init__(self, af=AF_INET, type=SOCK_STREAM, proto=0, modem=None):
        if af != AF_INET:
            raise OSError(errno.EOPNOTSUPP, "only AF_INET")
        if type not in (SOCK_STREAM, SOCK_DGRAM):
            raise OSError(errno.EOPNOTSUPP, "only SOCK_STREAM and SOCK_DGRAM")
        self._modem = modem or _the_modem()
        self._type = type
        self._link = None
        self._timeout = None  # None: block; 0: non-blocking; else ms
        self._bound = 0
        self._closed = False
        self._ready = self._readable  # bound once: waits make no closure per call

    # ---- set-up ----
    def settimeout(self, t):
        """None: block; 0: non-blocking; else seconds (int or float), as MicroPython's
        socket. TypeError for another type (a str), ValueError below 0."""
        t = seconds(t)
        self._timeout = None if t is None else int(t * 1000)

    def setblocking(self, flag):
        self._timeout = None if flag else 0

    def setsockopt(self, level, opt, value):
        pass  # SO_REUSEADDR and friends: the module decides

    def fileno(self):
        return -1

    def _dialect(self):
        if self._closed:
            raise OSError(errno.EBADF, "socket is closed")
        return self._modem.dialect

    def connect(self, addr, tls=None):
        """Open the connection to addr (host, port); host may be a name. tls: a
        cellmodem.tls.ModuleTLS for module TLS (host TLS wraps the connected socket:
        cellmodem.tls.wrap). Raises OSError with the module's result (ECONNREFUSED,
        EHOSTUNREACH, a TLS failure ...), TypeError for another tls."""
        host, port = _address(addr)
        if tls is not None and tls is not False and not hasattr(tls, "sni"):
            raise TypeError("tls= takes a cellmodem.tls.ModuleTLS; for host TLS use "
                            "cellmodem.tls.wrap(sock, host, context)")
        d = self._dialect()
        if self._link is not None and self._link.open:
            if self._type == SOCK_DGRAM:
                self._close_link()
            else:
                raise OSError(errno.EINVAL, "already connected")
        if not self._modem.isconnected():
            raise OSError(errno.ENOTCONN, "the modem has no data link: call modem.connect()")
        link = Link(UDP if self._type == SOCK_DGRAM else TCP, self._modem.sock_rxbuf,
                    self._modem.take_ring())
        try:
            d.sock_open(link, host, port, tls or None)
        except BaseException as e:
            d.release(link)
            self._modem.give_ring(link.ring)  # the ring serves the next attempt
            link.ring = None
            raise _oserror(e) if isinstance(e, ModemError) else e
        self._link = link

    def bind(self, addr):
        self._bound = port_number(addr[1]) if addr[1] else 0

    def listen(self, backlog=1):
        """Start a TCP server on the port given to bind()."""
        if self._type != SOCK_STREAM or not self._bound:
            raise OSError(errno.EINVAL, "listen() needs a SOCK_STREAM socket bound to a port")
        d = self._dialect()
        link = Link(LISTEN, 0)
        try:
            d.sock_listen(link, self._bound)
        except ModemError as e:
            raise _oserror(e)
        self._link = link

    def accept(self):
        """(socket, (ip, port)) for the next client; blocks per the timeout."""
        link = self._need(LISTEN)
        self._wait(_has_client, link)
        if link.error is not None:
            raise link.error
        child = link.incoming.pop(0)
        s = socket(AF_INET, SOCK_STREAM, 0, self._modem)
        s._link = child
        return s, child.peer

    # ---- sending ----
    def send(self, data):
        """Send what one module command takes (up to its limit); returns the count."""
        mv = payload(data)
        link = self._need(None)
        if not len(mv):
            return 0
        if link.error is not None:
            raise link.error
        if not link.open or link.eof and link.kind == TCP:
            raise OSError(errno.ENOTCONN, "connection closed" if not link.open
                          else "connection closed by the peer")
        try:
            return self._modem.dialect.sock_send(link, mv)
        except ModemError as e:
            if link.error is not None:
                raise link.error
            raise _oserror(e)

    def sendall(self, data):
        """Send all of data, in as many module commands as it takes."""
        mv = payload(data)
        i = 0
        n = len(mv)
        while i < n:
            i += self.send(mv[i:])

    def write(self, data, n=None):
        """Stream write: all of data (or its first n bytes); returns the count."""
        mv = payload(data)
        if n is not None:
            mv = mv[:n]
        self.sendall(mv)
        return len(mv)

    def sendto(self, data, addr):
        """UDP: send one datagram to addr (the module's UDP links are connected: a new
        address reopens the link)."""
        if self._type != SOCK_DGRAM:
            raise OSError(errno.EOPNOTSUPP, "sendto() is for SOCK_DGRAM sockets")
        mv = payload(data)
        host, port = _address(addr)
        link = self._link
        if link is None or not link.open or link.peer != (host, port):
            self.connect((host, port))
        if len(mv) > self._modem.dialect.MAX_SEND:
            raise OSError(errno.EINVAL, "datagram longer than the module's %d bytes"
                          % self._modem.dialect.MAX_SEND)
        return self.send(mv)

    # ---- receiving ----
    def _need(self, kind):
        self._dialect()
        link = self._link
        if link is None:
            raise OSError(errno.ENOTCONN, "socket is not connected")
        if kind is not None and link.kind != kind:
            raise OSError(errno.EINVAL, "not a listening socket")
        return link

    def _wait(self, cond, link):
        """Pump the modem until cond(link) is true; per the socket's timeout."""
        if cond(link):
            return
        t = self._timeout
        if t == 0:
            self._modem.at.poll(0)
            if cond(link):
                return
            raise OSError(errno.EAGAIN, "no data yet")
        at = self._modem.at
        deadline = None if t is None else ticks_add(ticks_ms(), t)
        while not cond(link):
            if deadline is not None:
                left = ticks_diff(deadline, ticks_ms())
                if left <= 0:
                    raise OSError(errno.ETIMEDOUT, "timed out after %d ms" % t)
            if at.idle:
                at.idle()
            at.poll(_STEP)

    def _fill(self, link):
        """Make link's ring readable (or EOF/error known); raises per timeout."""
        self._wait(self._ready, link)

    def _readable(self, link):
        if link.ring.count or link.error is not None:
            return True
        # Only a link in buffered mode is ever pending (even in a push session the
        # module may keep some, e.g. accepted clients, buffered): pull it.
        if link.pending and link.room():
            self._pull(link)
            return True if link.ring.count else False
        return link.eof or not link.open

    def _pull(self, link):
        """Buffered mode: pull what the module holds into the ring (one command)."""
        try:
            self._modem.dialect.sock_fetch(link, link.room())
        except ModemError as e:
            if link.eof:  # the module freed the link after the close: EOF
                link.pending = False
            elif link.error is None:
                link.error = _oserror(e)

    def line_ready(self):
        """True once readline() has a whole line, a full receive ring (no line end can
        fit), the end or an error to give without waiting (buffered mode: pulls what
        the module holds first). For a face that waits in its own way (cellmodem.aio)."""
        link = self._need(None)
        if link.pending and link.room():
            self._pull(link)
        return link.ring.find(10) >= 0 or not link.ring.free() or link.eof or not link.open \
            or link.error is not None

    def recv_into(self, buf, nbytes=0):
        """Receive into buf (up to nbytes); returns the count, 0 at EOF."""
        link = self._need(None)
        if link.kind == LISTEN:
            raise OSError(errno.ENOTCONN, "a listening socket has no data")
        self._fill(link)
        out = buf if isinstance(buf, memoryview) else memoryview(buf)
        if nbytes and nbytes < len(out):
            out = out[:nbytes]
        n = link.read_into(out)
        if n == 0 and link.error is not None:
            raise link.error
        return n

    def recv(self, n):
        """Up to n bytes as soon as some are there; b"" once the peer has closed."""
        buf = bytearray(n)
        got = self.recv_into(buf)
        return bytes(buf) if got == n else bytes(buf[:got])

    def recvfrom(self, n):
        """(datagram, (ip, port)) for UDP; (data, peer) for TCP."""
        data = self.recv(n)
        link = self._link
        # UDP: the datagram's own sender where the family's read names it (Quectel's
        # +QIRD / +QIURC "recv" on a UDP SERVICE), else the socket's peer
        return data, link.last_from or link.peer

    def readinto(self, buf, nbytes=0):
        """Stream read: fill buf (or nbytes of it) unless EOF comes first; returns
        the count, or None on a non-blocking socket with nothing to read. As
        MicroPython's streams do, a timeout after some bytes returns those bytes
        (MicroPython's ssl reads a TLS record through this: none may be lost)."""
        mv = memoryview(buf)
        if nbytes and nbytes < len(mv):
            mv = mv[:nbytes]
        got = 0
        while got < len(mv):
            try:
                n = self.recv_into(mv[got:])
            except OSError as e:
                if e.args[0] == errno.EAGAIN:
                    return got if got else None
                if got and e.args[0] == errno.ETIMEDOUT:
                    return got
                raise
            if not n:
                break
            got += n
        return got

    def read(self, n=-1):
        """Stream read: n bytes (fewer only at EOF), or everything up to EOF."""
        if n is not None and n >= 0:
            buf = bytearray(n)
            got = self.readinto(buf)
            if got is None:
                return None
            return bytes(buf) if got == n else bytes(buf[:got])
        parts = []
        while True:
            try:
                chunk = self.recv(1024)
            except OSError as e:
                if e.args[0] == errno.EAGAIN:
                    break
                raise
            if not chunk:
                break
            parts.append(chunk)
        return b"".join(parts)

    def readline(self):
        """Stream read up to and including b"\\n" (or to EOF)."""
        link = self._need(None)
        parts = []
        while True:
            try:
                self._fill(link)
            except OSError as e:
                if e.args[0] != errno.EAGAIN:
                    raise
                if not parts:
                    return None
                break  # non-blocking: what has come of the line so far
            ring = link.ring
            if not ring.count:
                if link.error is not None and not parts:
                    raise link.error
                break
            i = ring.find(10)
            n = ring.count if i < 0 else i + 1
            buf = bytearray(n)
            link.read_into(memoryview(buf))
            parts.append(bytes(buf))
            if i >= 0:
                break
        return b"".join(parts)

    # ---- state ----
    def getpeername(self):
        return self._need(None).peer

    def getsockname(self):
        """(the modem's IP, 0): the module does not say which local port it chose."""
        return (self._modem.ip or "0.0.0.0", 0)

    def makefile(self, mode="rb", buffering=0):
        """The socket itself, as MicroPython's makefile() returns: it has read,
        readinto, readline and write."""
        return self

    def ioctl(self, req, arg):
        """MicroPython stream ioctl: select.poll support (MP_STREAM_POLL)."""
        if req == _GET_FILENO:
            return -1
        if req != _POLL:
            return 0
        link = self._link
        if self._closed or link is None:
            return arg & _POLLOUT if not self._closed else _POLLHUP
        self._modem.at.poll(0)
        flags = 0
        if arg & _POLLIN:
            if link.kind == LISTEN:
                if link.incoming:
                    flags |= _POLLIN
            elif link.ring.count or link.pending or link.eof:
                flags |= _POLLIN
        if arg & _POLLOUT and link.open and not link.eof:
            flags |= _POLLOUT
        if link.error is not None:
            flags |= _POLLERR | _POLLHUP
        elif link.eof and link.kind != LISTEN and not link.ring.count and not link.pending:
            flags |= _POLLHUP
        return flags

    def _close_link(self):
        link = self._link
        self._link = None
        if link is not None and link.open:
            try:
                self._modem.dialect.sock_close(link)
            except (ModemError, OSError):
                pass  # closing a link the module already dropped
        if link is not None:
            link.open = False
            if link.ring is not None:
                # Nothing can reach this link any more (its id is forgotten): its ring
                # serves the next socket, so a long run of reconnects does not need a
                # fresh contiguous block each time (found by the fault soak: a
                # fragmented heap refused a 4 KiB ring).
                self._modem.dialect.release(link)
                self._modem.give_ring(link.ring)
                link.ring = None

    def close(self):
        """Close the connection (the module's link is freed). Safe to call twice."""
        if not self._closed:
            self._close_link()
            self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
