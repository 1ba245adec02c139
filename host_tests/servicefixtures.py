"""Servers for the Yuge module's own services (tests import these fixtures by name).

  ftp_server -> FTPServerInfo: pyftpdlib on 127.0.0.1, a free port, a temporary root
                (.root), users "user556"/"222333" (the manual's 12.29 example, full
                rights) and "reader"/"secret" (read only); anonymous refused.
  ntp_server -> NTPInfo: an SNTP responder on a free UDP port (RFC 4330 server
                answers, mode 4, stratum 1) whose clock is FIXED_UTC plus the time
                since the fixture started; .queries counts the requests; .mode
                "ok" | "silent" (no answer) | "bad" (a reply of the wrong mode).
"""
import logging
import os
import socket
import struct
import threading
import time

import pytest

LOOPBACK = "127.0.0.1"
# 7.1 example: +CCLK: "18/05/16,15:49:28+32" in zone +32 (UTC+8): 07:49:28 UTC
FIXED_UTC = 1526456968  # 2018-05-16 07:49:28 UTC
NTP_EPOCH = 2208988800


class FTPServerInfo:
    def __init__(self, port, root):
        self.host = LOOPBACK
        self.port = port
        self.root = root

    def path(self, *parts):
        return os.path.join(self.root, *parts)


@pytest.fixture
def ftp_server(tmp_path):
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer
    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
    root = tmp_path / "ftproot"
    root.mkdir()
    auth = DummyAuthorizer()
    auth.add_user("user556", "222333", str(root), perm="elradfmwMT")
    auth.add_user("reader", "secret", str(root), perm="elr")

    class Handler(FTPHandler):
        authorizer = auth
        passive_ports = None
        banner = "pyftpdlib ready"

    srv = FTPServer((LOOPBACK, 0), Handler)
    stop = threading.Event()

    def run():
        while not stop.is_set():
            srv.serve_forever(timeout=0.02, blocking=False, handle_exit=False)
        srv.close_all()

    t = threading.Thread(target=run, daemon=True, name="pyftpdlib")
    t.start()
    yield FTPServerInfo(srv.address[1], str(root))
    stop.set()
    t.join(5)


class NTPInfo:
    def __init__(self, port):
        self.host = LOOPBACK
        self.port = port
        self.queries = 0
        self.mode = "ok"
        self.start = time.time()

    def now(self):
        return FIXED_UTC + (time.time() - self.start)


@pytest.fixture
def ntp_server():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LOOPBACK, 0))
    s.settimeout(0.05)
    info = NTPInfo(s.getsockname()[1])
    stop = threading.Event()

    def run():
        while not stop.is_set():
            try:
                req, addr = s.recvfrom(512)
            except socket.timeout:
                continue
            except OSError:
                return
            info.queries += 1
            if info.mode == "silent" or len(req) < 48:
                continue
            t = info.now() + NTP_EPOCH
            secs, frac = int(t), int((t % 1) * 2 ** 32)
            mode = 4 if info.mode == "ok" else 3
            # LI 0, VN 4, mode; stratum 1; poll, precision; delay, dispersion; "LOCL";
            # reference, originate (the client's transmit time), receive, transmit
            pkt = struct.pack("!BBbbII4s", (4 << 3) | mode, 1, 4, -20, 0, 0, b"LOCL")
            pkt += struct.pack("!II", secs, frac) + req[40:48]
            pkt += struct.pack("!IIII", secs, frac, secs, frac)
            try:
                s.sendto(pkt, addr)
            except OSError:
                pass

    t = threading.Thread(target=run, daemon=True, name="ntp")
    t.start()
    yield info
    stop.set()
    t.join(2)
    s.close()
