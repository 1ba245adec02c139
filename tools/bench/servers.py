"""Loopback servers for the benchmarks.

Source/sink on one port: a client line "D<n>\\n" gets n bytes back (a fixed pattern);
"U<n>\\n" makes the server read n bytes and answer "OK <n>\\n".
With tls (a server-side ssl.SSLContext) each connection is TLS: the same exchange
inside it, the handshake in the connection's own thread.
Usage: srv = SourceSink(); srv = SourceSink(tls=ctx); srv.port; srv.close()
"""
import socket
import threading

PATTERN = bytes(i * 7 & 255 for i in range(65536))


class SourceSink:
    def __init__(self, tls=None):
        self.tls = tls
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.srv.close()

    def _accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            if self.tls is not None:
                c = self.tls.wrap_socket(c, server_side=True)
            f = c.makefile("rb")
            line = f.readline()
            n = int(line[1:])
            if line[:1] == b"D":
                left = n
                while left:
                    k = min(left, len(PATTERN))
                    c.sendall(PATTERN[:k])
                    left -= k
            elif line[:1] == b"U":
                left = n
                while left:
                    k = len(f.read(min(left, 65536)))
                    if not k:
                        return
                    left -= k
                c.sendall(b"OK %d\n" % n)
            c.recv(1)  # until the client closes
        except (OSError, ValueError):
            pass
        finally:
            c.close()
