"""Fault soak: real MicroPython through the simulated modem, faults from every knob.

    python -m tools.soak --minutes 10 [--seconds N] [--seed S] [--dialect quectel]
                         [--mode push] [--quirks real] [--simlog FILE] [--out DIR]
                         [--md]

The host starts, all on 127.0.0.1: the simulator personality on a pty, a TCP
echo/verify server, Debian's mosquitto, the HTTP test server (host_tests/httpserver.py)
and a paho-mqtt peer (host_tests/simfixtures.py's Peer). The application
(tools/soak/app.py, compiled to .mpy, in the real `micropython`) keeps a TCP echo
stream, an MQTT QoS 1 stream both ways and periodic HTTP GETs going, while a seeded
thread here injects faults at random moments:

  remote close      sim.net.peer_close(conn) on one of the open TCP connections
  network drop      sim.network_drop()
  reboot            sim.reboot()
  reboot mid-reply  the next command's reply is cut by a restart (the reboot=N knob)
  +CME ERROR        the next data command (AT+QISEND / AT+CIPSEND / ...) fails
  UART noise        random bytes between two replies (sim.raw)
  buffer overflow   the module's receive buffer of the MQTT connection overflows: the
                    bytes of one arrival that do not fit are lost (the overflow=N knob
                    applied to that connection for one arrival)

and the constructor knobs run the whole time (counted as they fire): chunk splits,
noise URCs, URCs held into the next reply, delayed final results, garbage lines and
URCs without their line end. Every kind is injected once per round, rounds in a
seeded order, so a short run has them all too.

--quirks SPEC (the simulator's quirks=, see tools/modemsim/core.py parse_quirks; e.g.
"real": each of the personality's real-module quirks on with probability 0.5, chosen
by the soak's seed) builds the personality with those quirks on: boot stagger, plain
ERROR to AT+CPIN? while booting, lost and stale answers after every power-on, short
payloads, late open failures, voltage warnings, +CGEV events, ... The quirks on are
recorded in the result, and the ones that fire are counted (voltage warning, power
down, short payload). With quirks on, each round also has a brownout: the supply
warning, the module's power down line and its restart 1.5 s later.

The quiet phase (FaultThread.quiet) turns every fault knob off, the quirks' too
(short=, fail=, vwarn=, brownout=, reboot-ms=, and the voltage warning timer), so the
end-of-run checks are fair; boot-time quirks (boot stagger, stale answers, ...) stay.

The network also delivers numbered SMS (every 4th in 3 parts) every 2-4 s, and on
the families with a receiver the application takes a GNSS fix every 20 s.

Pass: zero bytes lost or corrupted on the TCP stream, every QoS 1 message delivered
(both ways, at least once), every SMS the network stored received whole and right, a
GNSS fix and none wrong (families with a receiver), no exception escaped to the
application's main loop, no HTTP body wrong, heap after within 1 KiB of heap before
(MicroPython's table of names apart: it never shrinks, and at most 64 names may be
new). Exit status 0 when passed,
1 when not. Writes <out>/bench/soak.json (and with --md <out>/bench/soak.md).
"""
import datetime
import json
import os
import queue
import random
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for _p in (ROOT, os.path.join(ROOT, "host_tests"), os.path.join(ROOT, "lib")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from tools import families  # noqa: E402
from tools.modemsim import get_personality  # noqa: E402
from tools.soak.app import sms_text, stream_byte  # noqa: E402
from tools.modemsim.sms import SM_SIZE  # noqa: E402

LOOPBACK = "127.0.0.1"
HOSTNAME = "soak.example"  # resolved by the module's DNS (the simulator's table)
HEAP_SLACK = 1024
NAMES_SLACK = 64  # names (qstrs) first interned after the warm-up, at most
SMS_SENDER = "+4930555000"  # who the soak's SMS come from
GNSS_FAMILIES = ("sim7080", "sim7600", "quectel")  # with a receiver (cellmodem.gnss)
# knobs on for the whole run; the delay range starts at 2 ms so a delay is never
# mistaken for the 1 ms chunk gap when counting
KNOBS = ["chunk=1-96", "urc=0.03", "hold=0.05", "delay=2-40", "garbage=0.01", "noeol=0.01"]
KINDS = ["remote close", "network drop", "reboot", "reboot mid-reply", "+CME ERROR",
         "UART noise", "buffer overflow"]
KNOB_KINDS = ["chunk split", "noise URC", "held URC", "delayed result", "garbage line",
              "URC without line end"]
# injected in each round only with quirks on (a real module's supply sagging)
QUIRK_FAULTS = ["brownout"]
# quirk behaviours counted as they fire (the boot-time ones happen at every power-on)
QUIRK_KINDS = ["voltage warning", "voltage warning lost held", "power down",
               "short payload"]
BROWNOUT_RESTART_MS = 1500
# data commands per dialect that the +CME ERROR fault hits (push mode: no reads)
DATA_COMMANDS = {f.name: {m: f.data_commands(m) for m in f.dialect().RX_MODES}
                 for f in families.FAMILIES}  # from the registry (tools/families.py)


# ---------------------------------------------------------------- simulator with counters
def soak_personality(dialect, counts, lock):
    """The dialect's personality, counting the constructor knobs' faults as they fire.
    (It watches core.py's output path: _emit, _inject_point, urc, _final_result.)"""
    base = get_personality(dialect)

    def bump(kind, n=1):
        with lock:
            counts[kind] = counts.get(kind, 0) + n

    class Soak(base):
        _emits = 0
        _last = b""

        def _emit(self, data):
            if data and self._capture is None:
                self._emits += 1
                self._last = bytes(data)
            super()._emit(data)

        def _inject_point(self):
            if not self._in_cmd:
                return
            held, e0 = len(self._held), self._emits
            super()._inject_point()
            noise = (self._emits - e0) - (held - len(self._held))
            if noise > 0:
                bump("noise URC", noise)

        def urc(self, line, hold=None):
            held, e0 = len(self._held), self._emits
            super().urc(line, hold)
            if len(self._held) > held:
                bump("held URC")
                if not self._held[-1].endswith(b"\r\n"):
                    bump("URC without line end")
            elif self._emits > e0 and not self._last.endswith(b"\r\n"):
                bump("URC without line end")

        def _final_result(self, line):
            e0 = self._emits
            super()._final_result(line)
            if self._emits > e0 and self._last[2:-2] in self.garbage_lines \
                    and self._last[2:-2] != self._b(line):
                bump("garbage line")

        def short_payload(self, data):
            n = len(self.short_cuts)
            data = super().short_payload(data)
            if len(self.short_cuts) > n:
                bump("short payload")
            return data

        def voltage_warning(self, kind="under"):
            if self.powered and not self.closed:
                bump("voltage warning")
            super().voltage_warning(kind)

        def reset_state(self):
            # A warning the hold= knob was keeping back dies with the module (a power
            # down or reboot before it went out): it never reached the UART, so it is
            # not counted as sent (the sim7080 buffered seed 5 run counted 30 sent and
            # on_power saw 28)
            warn = [b"\r\n" + self._b(self.power_urcs[k]) for k in ("under", "over")]
            lost = sum(1 for d in getattr(self, "_held", ()) if d.rstrip(b"\r\n") in warn)
            if lost:
                bump("voltage warning", -lost)
                bump("voltage warning lost held", lost)
            super().reset_state()

        def voltage_power_down(self, kind="under", restart_ms=None):
            if self.powered and not self.closed:
                bump("power down")
            super().voltage_power_down(kind, restart_ms)

        # The vwarn= / brownout= timers outlive reboots and read their knob when due:
        # once the quiet phase turned the knob off they stop here (core.py's would
        # fail on the missing knob)
        def _vwarn_tick(self, i):
            if self.faults.vwarn is not None:
                super()._vwarn_tick(i)

        def _brownout(self):
            if self.faults.brownout is not None:
                super()._brownout()

    return Soak


def count_output(sim, counts, lock):
    """Wrap the transport's output queue: a pause of the chunk gap is a split write,
    any other pause a delayed final result."""
    put = sim._out
    gap = sim.faults.chunk_gap_ms / 1000.0

    def counting(item):
        if isinstance(item, float):
            with lock:
                k = "chunk split" if item == gap else "delayed result"
                counts[k] = counts.get(k, 0) + 1
        put(item)
    sim._out = counting


# ---------------------------------------------------------------- echo/verify server
class EchoVerify:
    """TCP server: the client's first line is "S <offset>"; every byte after it must
    be byte offset+k of the seeded stream; each is echoed back. Counts what it saw."""

    def __init__(self, seed):
        self.seed = seed
        self.lock = threading.Lock()
        self.stats = {"connections": 0, "received": 0, "corrupt": 0, "high": 0}
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                outer._serve(self.request)

        class Srv(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.srv = Srv((LOOPBACK, 0), Handler)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True).start()

    def _serve(self, s):
        with self.lock:
            self.stats["connections"] += 1
        head = b""
        try:
            while b"\n" not in head:
                d = s.recv(64)
                if not d:
                    return
                head += d
                if len(head) > 64:
                    return
            line, _, rest = head.partition(b"\n")
            off = int(line.split()[1])
            data = rest
            while True:
                if data:
                    for k, b in enumerate(data):
                        if b != stream_byte(off + k, self.seed):
                            with self.lock:
                                self.stats["corrupt"] += 1
                            print("soak: echo server saw a wrong byte at offset %d"
                                  % (off + k), flush=True)
                            return
                    off += len(data)
                    with self.lock:
                        self.stats["received"] += len(data)
                        self.stats["high"] = max(self.stats["high"], off)
                    s.sendall(data)
                data = s.recv(65536)
                if not data:
                    return
        except (OSError, ValueError, IndexError):
            return
        finally:
            try:
                s.close()
            except OSError:
                pass

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


# ---------------------------------------------------------------- mosquitto
def start_mosquitto(workdir):
    from simfixtures import MOSQUITTO, free_port
    exe = MOSQUITTO if os.path.exists(MOSQUITTO) else shutil.which("mosquitto")
    if not exe:
        raise SystemExit("mosquitto is not installed (apt-get install mosquitto; "
                         "`make test` installs it)")
    port = free_port()
    conf = os.path.join(workdir, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("listener %d %s\nallow_anonymous true\npersistence false\n"
                "max_queued_messages 100000\nmax_inflight_messages 0\n"
                "log_dest stderr\n" % (port, LOOPBACK))
    log = open(os.path.join(workdir, "mosquitto.log"), "w+")
    proc = subprocess.Popen([exe, "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection((LOOPBACK, port), timeout=0.2).close()
            return proc, port, log
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.seek(0)
                raise SystemExit("mosquitto did not start:\n" + log.read())
            time.sleep(0.05)


# ---------------------------------------------------------------- the fault thread
class FaultThread(threading.Thread):
    def __init__(self, sim, dialect, mode, seed, broker_port, counts, lock, t0,
                 interval=(1.0, 6.0), kinds=KINDS):
        super().__init__(name="soak-faults", daemon=True)
        self.sim = sim
        self.kinds = list(kinds)
        self.rng = random.Random(seed * 7 + 1)
        self.commands = DATA_COMMANDS[dialect][mode]
        self.broker_port = broker_port
        self.counts = counts
        self.lock = lock
        self.t0 = t0
        self.interval = interval
        self.stop = threading.Event()
        self.log = []  # (seconds since READY, kind, detail)
        self.armed_cme = None
        self.armed_reboot = None
        self.overflow_conn = None
        orig = sim.net_overflow

        def overflowed(conn, lost, orig=orig):
            if conn is self.overflow_conn:
                conn.rx_limit = None  # one arrival only
                self.overflow_conn = None
                self._note("buffer overflow", "%d bytes lost on %s" % (lost, conn.peer))
            orig(conn, lost)
        sim.net_overflow = overflowed

    def _note(self, kind, detail=""):
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.log.append((round(time.monotonic() - self.t0, 3), kind, detail))

    def run(self):
        order = []
        retried = set()
        while not self.stop.wait(self.rng.uniform(*self.interval)):
            if not order:
                order = list(self.kinds)
                self.rng.shuffle(order)
                retried = set()
            kind = order.pop(0)
            try:
                if self.inject(kind) is False and kind not in retried:
                    # skipped (no connection open at that moment, on a loaded machine
                    # more often): once more at the end of the round, so a short run
                    # has every kind too
                    retried.add(kind)
                    order.append(kind)
            except Exception as e:  # a fault that could not be placed: say so
                with self.lock:
                    self.log.append((round(time.monotonic() - self.t0, 3), kind,
                                     "not injected: %r" % e))

    def _services(self, conn):
        return {self.broker_port: "mqtt"}.get(conn.peer[1] if conn.peer else None)

    def inject(self, kind):
        sim = self.sim
        self._settle()
        if kind == "remote close":
            with sim.lock:
                conns = sorted((c for c in sim.net.conns() if c.kind == "tcp"
                                and not c.peer_closed), key=lambda c: c.id)
            if not conns:
                return self._skip(kind, "no open connection")
            conn = self.rng.choice(conns)
            sim.net.peer_close(conn)
            self._note(kind, "peer port %d" % conn.peer[1])
        elif kind == "network drop":
            sim.network_drop()
            self._note(kind)
        elif kind == "reboot":
            sim.reboot()
            self._note(kind)
        elif kind == "reboot mid-reply":
            with sim.lock:
                sim.faults.reboot = sim._ncmds + 1
                self.armed_reboot = sim.faults.reboot
            self._note(kind, "command #%d" % self.armed_reboot)
        elif kind == "brownout":
            # the supply sags: its warning, the power down line a moment later, and the
            # board's supply and PWRKEY bring the module back (core.py's brownout=)
            with sim.lock:
                if not sim.powered:
                    return self._skip(kind, "module off")
                sim.voltage_warning("under")
                sim.after(50, sim.voltage_power_down, "under", BROWNOUT_RESTART_MS,
                          gen=None)
            self._note(kind, "restart after %d ms" % BROWNOUT_RESTART_MS)
        elif kind == "+CME ERROR":
            name = self.rng.choice(self.commands)
            with sim.lock:
                sim.faults.cme[name] = [3, 1]
            self._note(kind, name)
        elif kind == "UART noise":
            noise = bytes(self.rng.choice([b for b in range(256) if b not in (10, 13)])
                          for _ in range(self.rng.randint(1, 24)))
            for _ in range(400):  # between two replies: wait for a quiet moment
                with sim.lock:
                    if sim.powered and not sim._in_cmd and not sim.in_data_mode:
                        sim.raw(noise)
                        return self._note(kind, noise.hex())
                time.sleep(0.005)
            return self._skip(kind, "modem never idle")
        elif kind == "buffer overflow":
            with sim.lock:
                conns = [c for c in sim.net.conns() if c.kind == "tcp"
                         and c.peer and c.peer[1] == self.broker_port]
                if not conns:
                    return self._skip(kind, "no MQTT connection")
                conn = conns[0]
                conn.rx_limit = self.rng.randint(4, 12)
                self.overflow_conn = conn
            # counted when an arrival overflows (see overflowed); the peer's next
            # message to the application makes one

    def _settle(self):
        """A one-shot knob armed earlier and never reached is cleared."""
        sim = self.sim
        with sim.lock:
            for name, rule in list(sim.faults.cme.items()):
                if rule[1] == 0:
                    del sim.faults.cme[name]

    def _skip(self, kind, why):
        with self.lock:
            self.log.append((round(time.monotonic() - self.t0, 3), kind, "skipped: " + why))
        return False

    def quiet(self):
        """Stop injecting and turn every knob off (the drain runs fault-free): the
        quirks' knobs too (short payloads, failed results, the voltage warnings'
        timer, brownouts); boot-time quirks stay (they act only at a power-on, and
        none comes from here on)."""
        self.stop.set()
        if self.ident is not None:
            self.join(5)
        sim = self.sim
        with sim.lock:
            f = sim.faults
            f.chunk = f.delay = f.reboot = f.reboot_ms = None
            f.urc = f.hold = f.garbage = f.noeol = 0.0
            f.cme.clear()
            f.fail.clear()
            f.short = f.vwarn = f.brownout = None
            for c in sim.net.conns():
                c.rx_limit = None
            self.overflow_conn = None


# ---------------------------------------------------------------- the run
def build(workdir):
    from mpy import compile_tree
    d = os.path.join(workdir, "build")
    compile_tree(os.path.join(ROOT, "lib"), d)
    src = os.path.join(workdir, "appsrc")
    os.makedirs(src)
    shutil.copy(os.path.join(ROOT, "tools", "soak", "app.py"), os.path.join(src, "soak_app.py"))
    compile_tree(src, d)
    return d


def run(seconds, seed=1, dialect="quectel", mode="push", heap="320k", verbose=True,
        quirks=None, simlog=None):
    """Run one soak; returns the result dict (see write()). quirks: the simulator's
    quirks= spec (e.g. "real"; its random choice is seeded by `seed`). simlog: a file
    name for the simulator's log (every command, reply, URC and fault: the trace to
    read when a criterion is missed)."""
    from httpserver import HTTPTestServer
    from simfixtures import Peer
    from mpy import tool

    def say(*a):
        if verbose:
            print("soak:", *a, flush=True)

    workdir = tempfile.mkdtemp(prefix="soak-")
    kinds = KINDS + (QUIRK_FAULTS if quirks else [])
    counts = {k: 0 for k in kinds + KNOB_KINDS + (QUIRK_KINDS if quirks else [])}
    clock = threading.Lock()
    procs, closers = [], []
    result = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
              "minutes": round(seconds / 60.0, 2), "seconds": seconds, "seed": seed,
              "dialect": dialect, "mode": mode, "heap": heap, "knobs": KNOBS,
              "quirks_spec": quirks or "", "quirks": []}
    try:
        say("building .mpy")
        bdir = build(workdir)
        echo = EchoVerify(seed)
        closers.append(echo.close)
        web = HTTPTestServer()
        closers.append(web.close)
        broker, bport, blog = start_mosquitto(workdir)
        procs.append(broker)
        cls = soak_personality(dialect, counts, clock)
        logf = None
        if simlog:
            logf = open(simlog, "w")
            closers.insert(0, logf.close)  # closed after the simulator
        sim = cls(seed=seed, hosts={HOSTNAME: LOOPBACK}, faults=[],
                  reg_delay_ms=500, boot_ms=300, quirks=quirks, verbose=bool(simlog),
                  log=logf)
        closers.append(sim.close)
        result["quirks"] = list(sim.quirks)
        if quirks:
            say("quirks on: %s" % (", ".join(sim.quirks) or "none"))
        pty = sim.open_pty()
        count_output(sim, counts, clock)
        up_topic, down_topic = "soak/%d/up" % seed, "soak/%d/down" % seed
        peer = Peer((LOOPBACK, bport), client_id="soak-peer-%d" % seed,
                    subscribe=[(up_topic, 1)])
        closers.append(peer.close)

        env = dict(os.environ, MICROPYPATH=bdir + ":.frozen")
        where = getattr(sim, "gnss_position", (0.0, 0.0))
        cmd = [tool("micropython"), "-X", "heapsize=%s" % heap, "-m", "soak_app", pty,
               dialect, mode, str(seed), str(seconds), HOSTNAME, str(echo.port),
               str(bport), str(web.port), repr(where[0]), repr(where[1])]
        say("%s %s mode, seed %d, %d s; micropython -X heapsize=%s" % (dialect, mode, seed,
                                                                        seconds, heap))
        app = subprocess.Popen(cmd, env=env, cwd=workdir, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, bufsize=1)
        procs.append(app)
        lines = queue.Queue()
        out_lines, err_lines = [], []

        def pump(stream, store, q):
            for line in stream:
                store.append(line.rstrip("\n"))
                if q is not None:
                    q.put(line.rstrip("\n"))
            if q is not None:
                q.put(None)
        threading.Thread(target=pump, args=(app.stdout, out_lines, lines), daemon=True).start()
        threading.Thread(target=pump, args=(app.stderr, err_lines, None), daemon=True).start()

        # wait for READY (bring-up happens fault-free)
        deadline = time.monotonic() + 120
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                raise RuntimeError("the application ended before READY:\n%s\n%s"
                                   % ("\n".join(out_lines), "\n".join(err_lines)))
            say("app:", line)
            if line == "READY":
                break
        t0 = time.monotonic()
        with sim.lock:  # the constructor knobs, from now on
            for k in KNOBS:
                sim.faults.parse(k)
        faults = FaultThread(sim, dialect, mode, seed, bport, counts, clock, t0,
                             kinds=kinds)
        faults.start()

        # the peer: record the application's messages, publish numbered ones to it
        up_seen, up_dup = set(), [0]
        upend = [None]
        down_sent = [0]
        stop_down = threading.Event()

        def peer_rx():
            while True:
                m = peer.msgs.get()
                if m is None:
                    return
                p = m.payload
                if p.startswith(b"UPEND "):
                    upend[0] = int(p[6:])
                    continue
                n = int(p)
                if n in up_seen:
                    up_dup[0] += 1
                up_seen.add(n)
        threading.Thread(target=peer_rx, daemon=True).start()

        def peer_tx():
            while not stop_down.wait(1.0):
                n = down_sent[0] + 1
                peer.publish(down_topic, b"%d" % n, qos=1)
                down_sent[0] = n
        txt = threading.Thread(target=peer_tx, daemon=True)
        txt.start()

        # the network delivers numbered SMS (sms_text) into the SIM's store, each
        # announced by +CMTI when the module was asked to; a message is skipped (not
        # numbered) while the store lacks room for it and the last one
        sms_sent, sms_long, sms_skipped = [0], [0], [0]
        stop_sms = threading.Event()

        def sms_tx():
            rng = random.Random(seed * 31 + 5)
            while not stop_sms.wait(rng.uniform(2.0, 4.0)):
                n = sms_sent[0] + 1
                text = sms_text(n)
                parts = [text] if len(text) <= 160 else [text[i:i + 153]
                                                         for i in range(0, len(text), 153)]
                with sim.lock:
                    free = SM_SIZE - len(sim.sms_store)
                if free < len(parts) + 1:
                    sms_skipped[0] += 1
                    continue
                for k, piece in enumerate(parts):
                    sim.deliver_sms(SMS_SENDER, piece, part=(n & 255, len(parts), k + 1)
                                    if len(parts) > 1 else None)
                sms_long[0] += len(parts) > 1
                sms_sent[0] = n
        smst = threading.Thread(target=sms_tx, daemon=True)
        smst.start()

        escaped_tb = []
        names_at = [None]  # "before"/"after": the app's NAMES line, its qstr line next
        result["names"] = {}
        hard_deadline = t0 + seconds + 240
        report = None
        quiet_at = None
        acked = False
        while True:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                line = ""
            if line is None:
                break
            if line.startswith("REPORT "):
                report = json.loads(line[7:])
            elif line.startswith("NAMES "):
                names_at[0] = line[6:]
            elif line.startswith("qstr pool:") and names_at[0]:
                # "qstr pool: n_pool=5, n_qstr=613, n_str_data_bytes=6100, n_total_bytes=13236"
                result["names"][names_at[0]] = {
                    k: int(v) for k, v in (kv.strip().split("=") for kv in line[10:].split(","))}
                names_at[0] = None
            elif line:
                if line.startswith(("ESCAPED", "Traceback", "  ")):
                    escaped_tb.append("%.1f s: %s" % (time.monotonic() - t0, line))
                say("app:", line)
            now = time.monotonic()
            if quiet_at is None and (upend[0] is not None or now - t0 >= seconds):
                quiet_at = now - t0
                faults.quiet()
                stop_down.set()
                txt.join(10)
                peer.publish(down_topic, b"END %d" % down_sent[0], qos=1)
                stop_sms.set()
                smst.join(10)
                for _ in range(60):  # the store has room for it unless the app stalls
                    if sim.deliver_sms(SMS_SENDER, "SOAKEND %d" % sms_sent[0]) is not None:
                        break
                    time.sleep(0.5)
                say("sent %d SMS (%d in 3 parts, %d skipped: store full), then SOAKEND"
                    % (sms_sent[0], sms_long[0], sms_skipped[0]))
                say("faults off at %.1f s; peer published %d, sent END" % (quiet_at,
                                                                           down_sent[0]))
            if not acked and upend[0] is not None and \
                    all(n in up_seen for n in range(1, upend[0] + 1)):
                peer.publish(down_topic, b"ACKALL", qos=1)
                acked = True
                say("peer has all %d messages, sent ACKALL" % upend[0])
            if now > hard_deadline:
                say("the application hangs: killed")
                app.kill()
                result["hang"] = True
                break
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()
        peer.msgs.put(None)
        if quiet_at is None:
            faults.quiet()

        # ---- figures
        result["returncode"] = app.returncode
        result["app"] = report
        result["faults"] = dict(counts)
        result["fault_log"] = faults.log
        result["echo_server"] = dict(echo.stats)
        published = (report or {}).get("mqtt_sent", 0)
        lost_up = sorted(n for n in range(1, published + 1) if n not in up_seen)
        result["mqtt_peer"] = {"received": len(up_seen), "duplicates": up_dup[0],
                               "published_to_app": down_sent[0],
                               "lost_up": len(lost_up), "lost_up_first": lost_up[:50]}
        result["sms_network"] = {"sent": sms_sent[0], "long": sms_long[0],
                                 "skipped": sms_skipped[0]}
        result["stderr_tail"] = err_lines[-40:]
        result["escaped_output"] = escaped_tb[:200]
        result["criteria"] = criteria(result)
        result["passed"] = all(c["ok"] for c in result["criteria"])
        return result
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    pass
        for c in reversed(closers):
            try:
                c()
            except Exception:
                pass
        shutil.rmtree(workdir, ignore_errors=True)


def criteria(res):
    a = res.get("app") or {}
    m = res["mqtt_peer"]
    rows = []

    def row(name, ok, figure):
        rows.append({"criterion": name, "ok": bool(ok), "figure": figure})

    row("the application ran to its report", a and not res.get("hang"),
        "returncode %s%s" % (res.get("returncode"), ", hung" if res.get("hang") else ""))
    if not a:
        return rows
    lost = a["tcp_high"] - a["tcp_verified"]
    row("TCP: zero bytes lost or corrupted",
        a["tcp_corrupted"] == 0 and lost == 0 and res["echo_server"]["corrupt"] == 0,
        "%d sent, %d verified, %d unverified, %d corrupted (echo server: %d wrong)"
        % (a["tcp_high"], a["tcp_verified"], lost, a["tcp_corrupted"],
           res["echo_server"]["corrupt"]))
    row("MQTT QoS 1 up: every message delivered",
        m["lost_up"] == 0 and a["mqtt_refused"] == 0,
        "%d published, %d received by the peer, %d lost, %d refused by publish()"
        % (a["mqtt_sent"], m["received"], m["lost_up"], a["mqtt_refused"]))
    row("MQTT QoS 1 down: every message delivered",
        a["mqtt_down_missing_count"] == 0 and a["mqtt_end"] == m["published_to_app"],
        "%d published by the peer, %d received, %d missing"
        % (m["published_to_app"], a["mqtt_received"], a["mqtt_down_missing_count"]))
    row("no exception escaped to the main loop", not a["escaped"],
        ", ".join("%s x%d" % kv for kv in sorted(a["escaped"].items())) or "none")
    row("HTTP: no wrong body", a["http_bad_body"] == 0,
        "%d ok, %d failed (link), %d wrong" % (a["http_ok"], a["http_fail"],
                                               a["http_bad_body"]))
    n = res.get("sms_network", {})
    row("SMS: every message the network stored received whole, none wrong",
        a["sms_end"] == n.get("sent") and not a["sms_missing"] and a["sms_bad"] == 0,
        "%d sent (%d in 3 parts), %d received, %d missing, %d wrong, %d read errors (link)"
        % (n.get("sent", 0), n.get("long", 0), a["sms_received"], len(a["sms_missing"]),
           a["sms_bad"], a["sms_errors"]))
    if res["dialect"] in GNSS_FAMILIES:
        row("GNSS: fixes between the faults, none wrong",
            a["gnss_fixes"] > 0 and a["gnss_wrong"] == 0,
            "%d fixes, %d wrong, %d failed (link)" % (a["gnss_fixes"], a["gnss_wrong"],
                                                     a["gnss_errors"]))
    grow = a["heap_after"] - a["heap_before"]
    # MicroPython's names (qstrs) are never freed and their table grows by doubling: a
    # block taken after the warm-up for a few names more is no leak, so it is set
    # apart, as long as few names came (a program that interned names without end
    # would show here as many).
    names = res.get("names") or {}
    nb, na = names.get("before"), names.get("after")
    tables = more = 0
    if nb and na:
        tables = na["n_total_bytes"] - nb["n_total_bytes"]
        more = na["n_qstr"] - nb["n_qstr"]
    row("heap after within 1 KiB of heap before (the table of names apart)",
        abs(grow - tables) <= HEAP_SLACK and more <= NAMES_SLACK,
        "%d -> %d bytes (%+d; %s); names %+d, their table %+d bytes"
        % (a["heap_before"], a["heap_after"], grow, a["heap_after_state"], more, tables))
    return rows


# ---------------------------------------------------------------- reports
def fault_kinds(res):
    """The fault kinds a result counts, in report order."""
    q = res.get("quirks_spec")
    return KINDS + (QUIRK_FAULTS if q else []) + KNOB_KINDS + (QUIRK_KINDS if q else [])


def power_figure(a):
    """The application's power events ("no callback": the library had no on_power)."""
    if a.get("power_callback", 1) == 0:
        return "no callback (the library has no on_power)"
    return "%d under, %d over, %d down" % (a.get("power_under", 0), a.get("power_over", 0),
                                           a.get("power_down", 0))


def human(res):
    a = res.get("app") or {}
    L = ["", "Fault soak: %s (%s mode), seed %d, %s min, MicroPython heap %s"
         % (res["dialect"], res["mode"], res["seed"], res["minutes"], res["heap"])]
    if res.get("quirks_spec"):
        L.append("  quirks       %s: %s" % (res["quirks_spec"],
                                            ", ".join(res["quirks"]) or "none on"))
    if a:
        L.append("  TCP stream   %d bytes sent (+%d resent), %d verified, %d corrupted, "
                 "%d connections" % (a["tcp_high"], a["tcp_resent"], a["tcp_verified"],
                                     a["tcp_corrupted"], a["tcp_connects"]))
        L.append("  MQTT QoS 1   up: %d published, %d received by the peer (%d dup), %d lost;"
                 " down: %d published, %d received (%d dup)"
                 % (a["mqtt_sent"], res["mqtt_peer"]["received"],
                    res["mqtt_peer"]["duplicates"], res["mqtt_peer"]["lost_up"],
                    res["mqtt_peer"]["published_to_app"], a["mqtt_received"],
                    a["mqtt_dup_received"]))
        L.append("  MQTT garbled %d (messages with a wrong topic or payload: the buffer "
                 "overflow fault loses bytes silently)" % a.get("mqtt_garbled", 0))
        L.append("  HTTP GET     %d ok, %d failed, %d wrong body" % (
            a["http_ok"], a["http_fail"], a["http_bad_body"]))
        L.append("  recoveries   %d (tcp %d, mqtt %d, http %d), time to recover "
                 "min/median/max %d/%d/%d ms" % (a["recoveries"], a["rec_tcp"], a["rec_mqtt"],
                                                 a["rec_http"], a["recover_min"],
                                                 a["recover_median"], a["recover_max"]))
        L.append("  escaped      %s" % (", ".join("%s x%d" % kv for kv in
                                                  sorted(a["escaped"].items())) or "none"))
        L.append("  heap         %d -> %d bytes (%+d)" % (a["heap_before"], a["heap_after"],
                                                       a["heap_after"] - a["heap_before"]))
        if res.get("quirks_spec"):
            L.append("  power events %s" % power_figure(a))
    L.append("  faults       " + ", ".join("%s %d" % (k, res["faults"].get(k, 0))
                                            for k in fault_kinds(res)))
    for c in res["criteria"]:
        L.append("  [%s] %s: %s" % ("pass" if c["ok"] else "FAIL", c["criterion"], c["figure"]))
    L.append("  %s" % ("PASSED" if res["passed"] else "FAILED"))
    return "\n".join(L)


def markdown(res):
    a = res.get("app") or {}
    q = res.get("quirks_spec")
    L = ["## Fault soak" + (" with real-module quirks" if q else ""), "",
         "`python -m tools.soak --minutes %s --seed %d --dialect %s%s` on %s: real MicroPython "
         "(heap %s, `.mpy`) against the simulator's %s personality in %s mode, with a TCP "
         "echo stream, an MQTT QoS 1 stream both ways (mosquitto, a paho-mqtt peer) and an "
         "HTTP GET every 3 s, while a seeded thread injected faults at random moments and "
         "the simulator's knobs (%s) ran throughout.%s Raw figures in `bench/soak.json`."
         % (res["minutes"], res["seed"], res["dialect"], " --quirks %s" % q if q else "",
            res["date"][:10], res["heap"], res["dialect"], res["mode"],
            ", ".join("`%s`" % k for k in res["knobs"]),
            " Quirks on: %s." % (", ".join("`%s`" % n for n in res["quirks"]) or "none")
            if q else ""), "",
         "| figure | value |", "|---|---|"]
    if a:
        m = res["mqtt_peer"]
        rows = [
            ("TCP bytes sent / verified / corrupted", "%d / %d / %d (%d resent after a loss)"
             % (a["tcp_high"], a["tcp_verified"], a["tcp_corrupted"], a["tcp_resent"])),
            ("MQTT up: published / received by the peer / lost",
             "%d / %d / %d" % (a["mqtt_sent"], m["received"], m["lost_up"])),
            ("MQTT down: published by the peer / received / missing",
             "%d / %d / %d" % (m["published_to_app"], a["mqtt_received"],
                               a["mqtt_down_missing_count"])),
            ("MQTT messages garbled by the overflow's silent loss (wrong topic/payload)",
             "%d" % a.get("mqtt_garbled", 0)),
            ("HTTP GETs ok / failed / wrong body", "%d / %d / %d"
             % (a["http_ok"], a["http_fail"], a["http_bad_body"])),
            ("recoveries (tcp, mqtt, http)", "%d (%d, %d, %d)" % (
                a["recoveries"], a["rec_tcp"], a["rec_mqtt"], a["rec_http"])),
            ("time to recover min / median / max", "%d / %d / %d ms" % (
                a["recover_min"], a["recover_median"], a["recover_max"])),
            ("exceptions escaped to the main loop", ", ".join(
                "%s x%d" % kv for kv in sorted(a["escaped"].items())) or "none"),
            ("heap before / after", "%d / %d bytes (%+d)" % (
                a["heap_before"], a["heap_after"], a["heap_after"] - a["heap_before"])),
        ]
        if q:
            rows.append(("power events reported to the application (on_power)",
                         power_figure(a)))
        for k, v in rows:
            L.append("| %s | %s |" % (k, v))
    L.append("| faults injected | %s |" % ", ".join(
        "%s %d" % (k, res["faults"].get(k, 0)) for k in fault_kinds(res)))
    L += ["", "| pass criterion | figure | met |", "|---|---|---|"]
    for c in res["criteria"]:
        L.append("| %s | %s | %s |" % (c["criterion"], c["figure"],
                                       "yes" if c["ok"] else "**no**"))
    L += ["", "Result: **%s**." % ("passed" if res["passed"] else "failed")]
    return "\n".join(L) + "\n"


def write(res, out, md=False):
    d = os.path.join(out, "bench")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "soak.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    paths = [os.path.join(d, "soak.json")]
    if md:
        with open(os.path.join(d, "soak.md"), "w") as f:
            f.write(markdown(res))
        paths.append(os.path.join(d, "soak.md"))
    return paths
