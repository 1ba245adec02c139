"""Real sockets behind the simulated modem, confined to 127.0.0.0/8.

One background thread (selectors) reads every socket and calls the simulator's hooks
under its lock: sim.net_data(conn, data), sim.net_closed(conn),
sim.net_accept(listener, conn). Host names resolve through the simulator's `hosts`
table only (never real DNS); literal IPv4 addresses must be loopback.
"""
import ipaddress
import selectors
import socket
import threading


class NetError(Exception):
    """Why a socket could not be opened. kind: 'resolve', 'refused', 'bind',
    'notloopback', 'timeout', 'error'."""

    def __init__(self, kind, msg=""):
        super().__init__("%s: %s" % (kind, msg) if msg else kind)
        self.kind = kind


class Conn:
    """A socket owned by the simulated modem.

    kind: "tcp", "udp" or "listen". rx: received bytes not yet read by the host
    (the personality decides how it is read). tag: free for the personality (its
    connection id). peer: (ip, port) of the remote end.
    """
    _next = 0

    def __init__(self, net, kind, sock, peer=None):
        Conn._next += 1
        self.id = Conn._next
        self.net = net
        self.kind = kind
        self.sock = sock
        self.peer = peer
        self.rx = bytearray()
        self.rx_limit = None  # bytes; set from the overflow= fault
        self.open = True
        self.peer_closed = False
        self.tag = None
        self.tx_total = 0
        self.rx_total = 0
        self.lost = 0
        self.stalled = False  # stall(): the network carries nothing, says nothing
        try:
            self.local_port = sock.getsockname()[1]
        except OSError:
            self.local_port = 0

    def send(self, data):
        """Send bytes to the peer; returns how many were sent (0 if closed)."""
        if not self.open:
            return 0
        if self.stalled:
            return len(data)  # accepted by the module, lost on the way
        try:
            if self.kind == "udp":
                self.sock.send(data)
            else:
                self.sock.sendall(data)
        except OSError:
            return 0
        self.tx_total += len(data)
        return len(data)

    def read(self, n):
        """Take up to n buffered bytes."""
        data = bytes(self.rx[:n])
        del self.rx[:n]
        return data

    def close(self):
        if self.open:
            self.open = False
            self.net._drop(self)

    def __repr__(self):
        return "Conn(%d %s %s tag=%r)" % (self.id, self.kind, self.peer, self.tag)


class Net:
    def __init__(self, sim):
        self.sim = sim
        self.sel = selectors.DefaultSelector()
        self._conns = {}
        self._ops = []
        self._ops_lock = threading.Lock()
        self._wr, self._ww = socket.socketpair()
        self._wr.setblocking(False)
        self.sel.register(self._wr, selectors.EVENT_READ, None)
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="modemsim-net", daemon=True)
        self._thread.start()

    # ---- address handling
    def resolve(self, host):
        """Name -> loopback IPv4 through sim.hosts; NetError otherwise."""
        host = host.strip()
        try:
            ip = ipaddress.IPv4Address(host)
        except ValueError:
            name = self.sim.hosts.get(host.lower())
            if name is None:
                raise NetError("resolve", host)
            ip = ipaddress.IPv4Address(name)
        if not ip.is_loopback:
            # the simulator must never reach outside this machine
            raise NetError("notloopback", str(ip))
        return str(ip)

    # ---- opening sockets (called with the sim lock held)
    def open_tcp(self, host, port, timeout=5.0):
        ip = self.resolve(host)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect((ip, int(port)))
        except ConnectionRefusedError:
            s.close()
            raise NetError("refused", "%s:%s" % (ip, port))
        except socket.timeout:
            s.close()
            raise NetError("timeout", "%s:%s" % (ip, port))
        except OSError as e:
            s.close()
            raise NetError("error", str(e))
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._add(Conn(self, "tcp", s, (ip, int(port))))

    def open_udp(self, host, port, local_port=0):
        ip = self.resolve(host)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", int(local_port)))
            s.connect((ip, int(port)))
        except OSError as e:
            s.close()
            raise NetError("bind", str(e))
        s.setblocking(False)
        return self._add(Conn(self, "udp", s, (ip, int(port))))

    def listen_tcp(self, port, backlog=5):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", int(port)))
            s.listen(backlog)
        except OSError as e:
            s.close()
            raise NetError("bind", str(e))
        s.setblocking(False)
        return self._add(Conn(self, "listen", s))

    def conns(self):
        return [c for c in self._conns.values() if c.open]

    def close_all(self):
        for c in list(self._conns.values()):
            c.close()

    # ---- selector thread plumbing
    def _add(self, conn):
        if self.sim.faults.overflow is not None and conn.kind != "listen":
            conn.rx_limit = self.sim.faults.overflow
        self._conns[conn.id] = conn
        self._op(("add", conn))
        if conn.kind == "tcp" and self.sim.faults.peer_close is not None:
            self.sim.after(self.sim.faults.peer_close, self.peer_close, conn)
        return conn

    def _drop(self, conn):
        self._conns.pop(conn.id, None)
        self._op(("del", conn))

    def _op(self, op):
        with self._ops_lock:
            self._ops.append(op)
        try:
            self._ww.send(b"x")
        except OSError:
            pass

    def stop(self):
        self._stopped = True
        self._op(("stop", None))
        self._thread.join(2)
        for c in list(self._conns.values()):
            try:
                c.sock.close()
            except OSError:
                pass
        self._wr.close()
        self._ww.close()

    def _apply_ops(self):
        with self._ops_lock:
            ops, self._ops = self._ops, []
        for kind, conn in ops:
            if kind == "add":
                if conn.open:
                    self.sel.register(conn.sock, selectors.EVENT_READ, conn)
            elif kind == "del":
                try:
                    self.sel.unregister(conn.sock)
                except (KeyError, ValueError):
                    pass
                try:
                    conn.sock.close()
                except OSError:
                    pass

    def _run(self):
        while not self._stopped:
            try:
                events = self.sel.select(0.5)
            except OSError:
                events = []
            for key, _ in events:
                conn = key.data
                if conn is None:
                    try:
                        self._wr.recv(4096)
                    except OSError:
                        pass
                    continue
                self._service(conn)
            self._apply_ops()

    def _service(self, conn):
        sim = self.sim
        if conn.kind == "listen":
            try:
                s, addr = conn.sock.accept()
            except OSError:
                return
            s.setblocking(False)
            new = Conn(self, "tcp", s, addr)
            with sim.lock:
                if not conn.open:
                    s.close()
                    return
                self._add(new)
                new.listener = conn
                try:
                    ok = sim.net_accept(conn, new)
                except Exception:
                    sim.log_exc("net_accept")
                    ok = False
                if ok is False:
                    new.close()
            return
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
            if conn.kind == "udp":
                return  # ICMP port unreachable on a connected UDP socket: ignore
        with sim.lock:
            if not conn.open:
                return
            if conn.stalled:  # whatever the peer sends, its FIN too, never arrives
                if not data:
                    try:
                        self.sel.unregister(conn.sock)
                    except (KeyError, ValueError):
                        pass
                return
            if not data:
                if conn.kind == "tcp":
                    already = conn.peer_closed  # the peer-close fault got there first
                    conn.peer_closed = True
                    try:
                        self.sel.unregister(conn.sock)
                    except (KeyError, ValueError):
                        pass
                    if not already:
                        try:
                            sim.net_closed(conn)
                        except Exception:
                            sim.log_exc("net_closed")
                return
            conn.rx_total += len(data)
            if conn.rx_limit is not None and len(conn.rx) + len(data) > conn.rx_limit:
                room = max(0, conn.rx_limit - len(conn.rx))
                lost = len(data) - room
                conn.lost += lost
                data = data[:room]
                if data:
                    sim.net_data(conn, data)
                try:
                    sim.net_overflow(conn, lost)
                except Exception:
                    sim.log_exc("net_overflow")
                return
            try:
                sim.net_data(conn, data)
            except Exception:
                sim.log_exc("net_data")

    def peer_close(self, conn):
        """Fault: behave as if the remote end closed this connection."""
        if not conn.open or conn.kind == "listen":
            return
        try:
            conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.peer_closed = True
        with self.sim.lock:
            self.sim.net_closed(conn)

