"""A raw HTTP/1.1 test server on a free loopback port, for the HTTP client tests.

Written on plain sockets (not http.server) so that it can also misbehave on purpose:
drop a connection mid-body, lie about chunk sizes, send malformed status lines and
headers. It keeps connections alive (HTTP/1.1) and counts the connections it
accepted. Paths:
  GET  /hello              "hello world\\n", Content-Length
  GET  /json               {"ok": true, "n": 42}
  GET  /chunked            "chunk one|chunk two|last" in 3 chunks, an extension, a trailer
  GET  /big                BIG (2 MiB, seeded random bytes), Content-Length
  GET  /big-chunked        BIG in 4 KiB chunks
  GET  /redirect/<n>       302 to /redirect/<n-1>; /redirect/0 is "landed"
  GET  /absolute           301 to http://127.0.0.1:<port>/hello
  GET  /loop               302 to itself
  POST /see-other          303 to /hello
  POST /temporary          307 to /echo (method and body kept)
  GET  /slow               the answer after 2 s
  GET  /slow-body          headers, then 3 pieces 1.5 s apart
  GET  /drop               Content-Length 1000, 500 bytes, then the connection closes
  GET  /drop-chunked       a chunk announced as 4096 bytes, 10 sent, then closed
  GET  /bad-status         "HTP/1.1 200 OK"
  GET  /bad-header         a header line without a colon
  GET  /long-header        a 64 KiB header line
  GET  /bad-length         Content-Length: abc
  GET  /bad-chunk          chunk size "zz"
  GET  /until-close        HTTP/1.0, no length: the body ends when the connection does
  GET  /status/<n>         empty body with status n
  GET  /auth               200 with Authorization: Basic user:pass, else 401
  GET  /headers            the request's headers as JSON (names lower case)
  *    /echo               the request body back; X-Method: the method; same Content-Type
"""
import base64
import hashlib
import json
import random
import socket
import threading
import time

BIG = random.Random(2).randbytes(2 * 1024 * 1024)
BIG_SHA256 = hashlib.sha256(BIG).hexdigest()


class HTTPTestServer:
    def __init__(self):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.accepted = 0
        self.requests = []  # (method, path, headers) as received
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self._stop = True
        self.srv.close()

    def _accept(self):
        while not self._stop:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    # ---- request reading
    @staticmethod
    def _readline(f):
        return f.readline(70000).rstrip(b"\r\n")

    def _serve(self, c):
        f = c.makefile("rb")
        try:
            while True:
                line = self._readline(f)
                if not line:
                    return
                method, path, _ = line.decode().split(" ", 2)
                headers = {}
                while True:
                    h = self._readline(f)
                    if not h:
                        break
                    k, v = h.decode().split(":", 1)
                    headers[k.strip().lower()] = v.strip()
                body = b""
                if "content-length" in headers:
                    body = f.read(int(headers["content-length"]))
                elif headers.get("transfer-encoding") == "chunked":
                    while True:
                        size = int(self._readline(f).split(b";")[0], 16)
                        if not size:
                            while self._readline(f):
                                pass
                            break
                        body += f.read(size)
                        f.read(2)
                self.requests.append((method, path, headers))
                if not self._respond(c, method, path, headers, body):
                    return
                if headers.get("connection", "").lower() == "close":
                    return
        except (OSError, ValueError):
            return
        finally:
            try:
                c.close()
            except OSError:
                pass

    # ---- answers
    def _send(self, c, status, body=b"", headers=(), head=False):
        reason = {200: "OK", 301: "Moved Permanently", 302: "Found", 303: "See Other",
                  307: "Temporary Redirect", 401: "Unauthorized", 404: "Not Found"}.get(status, "X")
        h = "HTTP/1.1 %d %s\r\nContent-Length: %d\r\n" % (status, reason, len(body))
        for k, v in headers:
            h += "%s: %s\r\n" % (k, v)
        c.sendall(h.encode() + b"\r\n" + (b"" if head else body))
        return True

    def _respond(self, c, method, path, headers, body):
        head = method == "HEAD"
        path = path.split("?", 1)[0]
        if path == "/hello":
            return self._send(c, 200, b"hello world\n", [("Content-Type", "text/plain")], head)
        if path == "/json":
            return self._send(c, 200, b'{"ok": true, "n": 42}', [("Content-Type", "application/json")])
        if path == "/chunked":
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"a;name=value\r\nchunk one|\r\n"
                      b"A\r\nchunk two|\r\n4\r\nlast\r\n0\r\nX-Trailer: yes\r\n\r\n")
            return True
        if path == "/big":
            return self._send(c, 200, BIG, [("Content-Type", "application/octet-stream")], head)
        if path == "/big-chunked":
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for i in range(0, len(BIG), 4096):
                piece = BIG[i:i + 4096]
                c.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            c.sendall(b"0\r\n\r\n")
            return True
        if path.startswith("/redirect/"):
            n = int(path.rsplit("/", 1)[1])
            if n == 0:
                return self._send(c, 200, b"landed")
            return self._send(c, 302, b"", [("Location", "/redirect/%d" % (n - 1))])
        if path == "/absolute":
            return self._send(c, 301, b"", [("Location", "http://127.0.0.1:%d/hello" % self.port)])
        if path == "/loop":
            return self._send(c, 302, b"", [("Location", "/loop")])
        if path == "/see-other":
            return self._send(c, 303, b"", [("Location", "/hello")])
        if path == "/temporary":
            return self._send(c, 307, b"", [("Location", "/echo")])
        if path == "/slow":
            time.sleep(2)
            return self._send(c, 200, b"slow\n")
        if path == "/slow-body":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")
            for b in (b"a", b"b", b"c"):
                c.sendall(b)
                time.sleep(1.5)
            return True
        if path == "/drop":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 500)
            return False
        if path == "/drop-chunked":
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n0123456789")
            return False
        if path == "/bad-status":
            c.sendall(b"HTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            return False
        if path == "/bad-header":
            c.sendall(b"HTTP/1.1 200 OK\r\nNoColonHere\r\nContent-Length: 0\r\n\r\n")
            return False
        if path == "/long-header":
            c.sendall(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 65536 + b"\r\nContent-Length: 0\r\n\r\n")
            return False
        if path == "/bad-length":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nbody")
            return False
        if path == "/bad-chunk":
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbody\r\n0\r\n\r\n")
            return False
        if path == "/until-close":
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
            return False
        if path.startswith("/status/"):
            return self._send(c, int(path.rsplit("/", 1)[1]), b"", (), head)
        if path == "/auth":
            good = "Basic " + base64.b64encode(b"user:pass").decode()
            return self._send(c, 200 if headers.get("authorization") == good else 401, b"")
        if path == "/headers":
            return self._send(c, 200, json.dumps(headers).encode(), [("Content-Type", "application/json")])
        if path.startswith("/echo"):
            return self._send(c, 200, body, [("X-Method", method), ("Content-Type",
                              headers.get("content-type", "application/octet-stream"))], head)
        return self._send(c, 404, b"not found")
