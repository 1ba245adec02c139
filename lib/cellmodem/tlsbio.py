"""CPython only: host TLS over a cellmodem socket through ssl.MemoryBIO, with the
stream behaviour cellmodem.tls.TLSSocket expects of MicroPython's SSLSocket
(readinto -> count, 0 at EOF, None while mbedTLS would want more bytes; write).
MicroPython wraps the socket itself (ssl.SSLContext.wrap_socket); this module is
never imported there.

Usage: s = BIOStream(ctx, connected_cellmodem_socket, "example.com")
"""
import errno
import ssl


class BIOStream:
    def __init__(self, ctx, raw, host):
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._obj = ctx.wrap_bio(self._in, self._out, server_hostname=host)
        self._raw = raw
        self._buf = bytearray(4096)
        while True:  # the handshake; the raw socket blocks with its timeout here
            try:
                self._obj.do_handshake()
                self._flush()
                return
            except ssl.SSLWantReadError:
                self._flush()
                n = raw.recv_into(self._buf)
                if not n:
                    raise OSError(errno.ECONNRESET, "connection closed during the TLS handshake")
                self._in.write(self._buf[:n])

    def _flush(self):
        data = self._out.read()
        if data:
            self._raw.sendall(data)

    def readinto(self, mv):
        while True:
            try:
                n = self._obj.read(len(mv), mv)
                self._flush()
                return n
            except ssl.SSLWantReadError:
                self._flush()
                try:
                    n = self._raw.recv_into(self._buf)
                except OSError as e:
                    if e.args[0] == errno.EAGAIN:
                        return None
                    raise
                if not n:
                    self._in.write_eof()
                else:
                    self._in.write(self._buf[:n])
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return 0

    def write(self, mv):
        n = self._obj.write(mv)
        self._flush()
        return n

    def pending(self):
        return self._obj.pending() or self._in.pending

    def cipher(self):
        c = self._obj.cipher()
        return (c[0], c[1]) if c else None

    def close(self):
        try:
            self._obj.unwrap()
            self._flush()
        except (ssl.SSLError, OSError, ValueError):
            pass
        self._raw.close()
