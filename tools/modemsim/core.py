"""Core of the modem simulator: AT line parser, dispatcher, output framing, faults.

A personality (tools/modemsim/sim7080.py, ...) subclasses ModemSim and is mostly a
table of handlers:

    class MyModem(ModemSim):
        model = "MYMODEM"

        @command("+FOO")
        def at_foo(self, c):          # c is a Cmd: c.kind, c.args, c.int(0) ...
            if c.kind == "read":
                return self.answer("+FOO: 1")
            self.ok()

Everything the simulator does happens under one re-entrant lock (self.lock): host
input, timers and socket events are serialised, so handlers never race each other.
Output goes into a queue that a writer thread delivers to the transport, paced at the
configured baud rate; all random decisions are taken under the lock from one seeded
random.Random, so a run with the same seed and the same host traffic is reproducible.

CPython only, standard library only.
"""
import heapq
import ipaddress
import random
import sys
import threading
import time

from .net import Net, NetError  # noqa: F401  (re-exported for personalities)
from .sms import SMSCommands

CTRL_Z = 0x1A
ESC = 0x1B
ETX = 0x03

# 3GPP TS 27.007 section 9.2: +CME ERROR codes and the text AT+CMEE=2 prints.
CME_TEXT = {
    0: "phone failure",
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    13: "SIM failure",
    14: "SIM busy",
    15: "SIM wrong",
    16: "incorrect password",
    20: "memory full",
    21: "invalid index",
    22: "not found",
    23: "memory failure",
    30: "no network service",
    31: "network timeout",
    32: "network not allowed - emergency calls only",
    50: "incorrect parameters",
    100: "unknown",
}


def command(*names):
    """Decorator: register a method as the handler of the AT commands `names`.

    Names are written as on the wire without the AT prefix: "+CSQ", "+CAOPEN",
    "E" (ATE0/ATE1), "I" (ATI), "&W", "O" (ATO).
    """
    def deco(fn):
        fn._at_names = tuple(n.upper() for n in names)
        return fn
    return deco


def split_args(s):
    """Split an AT argument string on commas outside double quotes.

    Returns (values, quoted): values with the quotes removed, and for each value
    whether it was quoted. 'a,"b,c",,3' -> (['a', 'b,c', '', '3'], [F, T, F, F]).
    """
    vals, quoted = [], []
    cur, q, inq = [], False, False
    for ch in s:
        if ch == '"':
            inq = not inq
            q = True
        elif ch == "," and not inq:
            vals.append("".join(cur).strip() if not q else "".join(cur))
            quoted.append(q)
            cur, q = [], False
        else:
            cur.append(ch)
    if s or vals:
        vals.append("".join(cur).strip() if not q else "".join(cur))
        quoted.append(q)
    return vals, quoted


class Cmd:
    """One parsed command.

    kind: "exec" (AT+X), "read" (AT+X?), "test" (AT+X=?), "set" (AT+X=args),
          "basic" (ATE1: name "E", raw "1").
    raw: the text after '=' (set) or after the basic command letter.
    args: raw split with split_args (quotes removed); quoted[i] tells if arg i was quoted.
    """
    __slots__ = ("name", "kind", "raw", "args", "quoted", "line")

    def __init__(self, name, kind, raw="", line=""):
        self.name = name
        self.kind = kind
        self.raw = raw
        self.line = line
        if kind == "set":
            self.args, self.quoted = split_args(raw)
        else:
            self.args, self.quoted = ([raw], [False]) if raw else ([], [])

    def __len__(self):
        return len(self.args)

    def int(self, i, default=None):
        """Argument i as int; default if absent or empty; ValueError if not a number."""
        if i >= len(self.args) or self.args[i] == "":
            if default is None:
                raise ValueError("missing argument %d" % i)
            return default
        return int(self.args[i])

    def str(self, i, default=None):
        if i >= len(self.args) or (self.args[i] == "" and not self.quoted[i]):
            if default is None:
                raise ValueError("missing argument %d" % i)
            return default
        return self.args[i]

    def __repr__(self):
        return "Cmd(%s %s %r)" % (self.name, self.kind, self.raw)


class Faults:
    """Fault knobs. Each is off by default; parse() reads the CLI forms below.

    chunk=LO-HI      split every output write into random pieces of LO..HI bytes, with
                     a short gap between pieces
    chunk-gap-ms=MS  that gap (default 1 ms; 0: none)
    urc=P            with probability P inject a noise URC between any two lines of
                     a response (between echo and result, between result lines)
    hold=P           with probability P hold back an asynchronous URC (timer or socket
                     event) and release it at a random point inside the next reply
    delay=LO-HI      delay each final result code by LO..HI ms
    peer-close=MS    the remote peer closes every client connection MS ms after it opened
    drop=MS          the network drops MS ms after a PDP context came up (dialect URC,
                     sockets gone, data commands fail until the context is re-activated)
    reboot=N         the modem reboots in the middle of the reply to the N-th command
                     (banner again, all state lost)
    reboot-ms=MS     the modem reboots MS ms after the simulator started
    cme=NAME:CODE[:COUNT]  command NAME (e.g. +CAOPEN) answers +CME ERROR CODE, COUNT
                     times (default: always)
    overflow=N       each connection buffers at most N received bytes; what does not
                     fit is handled as the dialect does on overflow (see net_overflow)
    garbage=P        with probability P a garbage line follows a final result
    noeol=P          with probability P a URC is sent without its line end, so it runs
                     into the next line's leading CR LF
    hangup=NAME[:N]  the port goes away (a USB modem unplugged) when command NAME (e.g.
                     +CASEND) arrives for the N-th time (default the first): no answer;
                     on a pty the host reads end of file and its writes fail with EIO
    short=P[:COUNT]  with probability P a counted payload (+CARECV, +CIPRXGET 2/3, +IPD,
                     +RECEIVE, +QIRD, +QIURC "recv", +HTTPREAD) is shorter than its
                     header says: 1-16 bytes from a random place are lost (a UART
                     overrun); at most COUNT payloads (default: no limit). The header,
                     the line end and the OK that follow are unchanged
    fail=NAME:CODE[:COUNT]  the family's own result of command NAME reports failure
                     CODE, COUNT times (default: always): +CAOPEN/+CASEND results
                     (sim7080), +CIPOPEN <err> (sim7600), +QIOPEN <err> (quectel),
                     CONNECT FAIL / SEND FAIL (yuge +CIPSTART / +CIPSEND; CODE unused)
    vwarn=MS[:KIND]  a supply voltage warning URC MS ms after power-on and every MS ms
                     after that; KIND under (default), over, or both (in turn)
    brownout=MS[:RESTART_MS]  MS ms after power-on the supply sags: the under-voltage
                     warning, then the under-voltage power down line, and the module is
                     off (sockets gone); with RESTART_MS it boots again that much later
                     (banner), else it stays off until power_on()
    """

    def __init__(self, specs=()):
        self.chunk = None
        self.chunk_gap_ms = 1.0
        self.urc = 0.0
        self.hold = 0.0
        self.delay = None
        self.peer_close = None
        self.drop = None
        self.reboot = None
        self.reboot_ms = None
        self.cme = {}
        self.overflow = None
        self.garbage = 0.0
        self.noeol = 0.0
        self.hangup = None  # [command name, arrivals left before the port goes]
        self.short = None  # [probability, payloads left (None: no limit)]
        self.fail = {}  # command name -> [code, count left (None: always)]
        self.vwarn = None  # (period ms, kind)
        self.brownout = None  # (ms, restart ms or None)
        for s in specs:
            self.parse(s)

    @staticmethod
    def _name(name):
        name = name.strip().upper()
        if not name.startswith(("+", "&")) and len(name) > 1:
            name = "+" + name
        return name

    @staticmethod
    def _range(v):
        if "-" in v:
            lo, hi = v.split("-", 1)
            return (int(lo), int(hi))
        return (int(v), int(v))

    def parse(self, spec):
        key, _, val = spec.partition("=")
        key = key.strip().lower().replace("_", "-")
        if key == "chunk":
            self.chunk = self._range(val)
        elif key == "chunk-gap-ms":
            self.chunk_gap_ms = float(val)
        elif key in ("urc", "hold", "garbage", "noeol"):
            setattr(self, key, float(val))
        elif key == "delay":
            self.delay = self._range(val)
        elif key == "peer-close":
            self.peer_close = int(val)
        elif key == "drop":
            self.drop = int(val)
        elif key == "reboot":
            self.reboot = int(val)
        elif key == "reboot-ms":
            self.reboot_ms = int(val)
        elif key == "cme":
            parts = val.split(":")
            name = parts[0].upper()
            if not name.startswith(("+", "&")) and len(name) > 1:
                name = "+" + name
            code = int(parts[1]) if len(parts) > 1 else 100
            count = int(parts[2]) if len(parts) > 2 else None
            self.cme[name] = [code, count]
        elif key == "overflow":
            self.overflow = int(val)
        elif key == "hangup":
            name, _, n = val.partition(":")
            name = name.strip().upper()
            if not name.startswith(("+", "&")) and len(name) > 1:
                name = "+" + name
            self.hangup = [name, int(n) if n else 1]
        elif key == "short":
            p, _, n = val.partition(":")
            self.short = [float(p), int(n) if n else None]
        elif key == "fail":
            parts = val.split(":")
            if len(parts) < 2:
                raise ValueError("fault %r: fail=NAME:CODE[:COUNT]" % spec)
            self.fail[self._name(parts[0])] = [int(parts[1]),
                                               int(parts[2]) if len(parts) > 2 else None]
        elif key == "vwarn":
            ms, _, kind = val.partition(":")
            kind = kind or "under"
            if kind not in ("under", "over", "both"):
                raise ValueError("fault %r: KIND is under, over or both" % spec)
            self.vwarn = (int(ms), kind)
        elif key == "brownout":
            ms, _, restart = val.partition(":")
            self.brownout = (int(ms), int(restart) if restart else None)
        else:
            raise ValueError("unknown fault %r (see --help)" % spec)
        return self


class _Timers(threading.Thread):
    """One thread running callbacks at their due time, under the simulator lock."""

    def __init__(self, sim):
        super().__init__(name="modemsim-timers", daemon=True)
        self.sim = sim
        self.heap = []
        self.seq = 0
        self.cv = threading.Condition()
        self.stopped = False

    def add(self, delay_s, fn, args, gen):
        h = [False]  # cancelled flag, mutable so Timer.cancel() can set it
        with self.cv:
            self.seq += 1
            heapq.heappush(self.heap, (time.monotonic() + delay_s, self.seq, fn, args, gen, h))
            self.cv.notify()
        return h

    def stop(self):
        with self.cv:
            self.stopped = True
            self.cv.notify()

    def run(self):
        while True:
            with self.cv:
                while not self.stopped:
                    now = time.monotonic()
                    if self.heap and self.heap[0][0] <= now:
                        break
                    self.cv.wait(self.heap[0][0] - now if self.heap else None)
                if self.stopped:
                    return
                _, _, fn, args, gen, h = heapq.heappop(self.heap)
            with self.sim.lock:
                if h[0] or (gen is not None and gen != self.sim.generation) or self.sim.closed:
                    continue
                try:
                    fn(*args)
                except Exception:  # a broken handler must not kill the timer thread
                    self.sim.log_exc("timer %r" % (fn,))


class Timer:
    def __init__(self, h):
        self._h = h

    def cancel(self):
        self._h[0] = True


class _Collector:
    """Data mode: gathers host bytes after a prompt (see ModemSim.collect)."""

    def __init__(self, on_done, n, ctrlz, etx):
        self.on_done = on_done
        self.n = n
        self.ctrlz = ctrlz
        self.etx = etx
        self.buf = bytearray()
        self.etx_pending = False
        self.timer = None

    def feed(self, data):
        """Consume bytes; returns (leftover, reason) when finished, else None."""
        if self.n is not None and not self.ctrlz and not self.etx:
            need = self.n - len(self.buf)
            self.buf += data[:need]
            if len(self.buf) >= self.n:
                return data[need:], "len"
            return None
        for i, b in enumerate(data):
            if self.etx_pending:
                self.etx_pending = False
                self.buf.append(b)
            elif self.etx and b == ETX:
                self.etx_pending = True
                continue
            elif self.ctrlz and b == CTRL_Z:
                return data[i + 1:], "ctrlz"
            elif self.ctrlz and b == ESC:
                return data[i + 1:], "esc"
            else:
                self.buf.append(b)
            if self.n is not None and len(self.buf) >= self.n:
                return data[i + 1:], "len"
        return None


class GuardedEscape:
    """Host side of transparent (data) mode, shared by the personalities: host bytes
    go to the connection, except a "+++" escape framed by guard times.

    forward(data)  called with host bytes that are payload (whole writes: no per-byte
                   loop; only writes of at most three '+' are looked at closely)
    escape()       called (from a timer, under the lock) once "+++" was recognised

    The escape is three '+' that
      - follow at least `before_ms` of silence from the host (entering data mode
        starts that silence),
      - come no more than `gap_ms` apart (in one write or in several), and
      - are followed by `after_ms` of silence.
    Anything else is payload: pluses held back while the sequence was possible go to
    the peer, in order, as soon as it is broken (other bytes, a fourth '+', or
    `gap_ms` without the next '+').

    It speaks the core's data-mode collector protocol (feed() never finishes by
    itself; see ModemSim.collect), so a personality can plug it in as
    ModemSim._collector: the core then routes every host byte here, also the bytes
    right behind the command line that entered data mode.
    """

    def __init__(self, sim, forward, escape, before_ms, after_ms, gap_ms):
        self.sim = sim
        self.forward = forward
        self.escape = escape
        self.before = before_ms / 1000.0
        self.after_ms = after_ms
        self.gap = gap_ms / 1000.0
        self.gap_ms = gap_ms
        self.last = time.monotonic()  # entering data mode starts the silence
        self.plus = 0  # '+' held back: maybe the escape
        self.plus_timer = None
        self.active = True
        # (collector protocol)
        self.buf = b""
        self.timer = None
        self.on_done = None

    def feed(self, data):
        now = time.monotonic()
        quiet = now - self.last
        self.last = now
        self._cancel()
        n = len(data)
        if 0 < n <= 3 and data.count(b"+") == n:
            if self.plus and self.plus + n <= 3 and quiet <= self.gap:
                self.plus += n  # the next '+' of the sequence
                return self._arm()
            if not self.plus and quiet >= self.before:
                self.plus = n  # a '+' after the guard time: maybe the escape
                return self._arm()
        if self.plus:
            data = b"+" * self.plus + bytes(data)  # the held pluses were data
            self.plus = 0
        self.forward(data)
        return None

    def _arm(self):
        if self.plus == 3:
            self.plus_timer = self.sim.after(self.after_ms, self._fire)
        else:
            self.plus_timer = self.sim.after(self.gap_ms, self._fire)
        return None

    def _cancel(self):
        if self.plus_timer:
            self.plus_timer.cancel()
            self.plus_timer = None

    def _fire(self):
        self.plus_timer = None
        if not self.active or not self.plus:
            return
        n, self.plus = self.plus, 0
        if n == 3:
            self.active = False
            self.escape()
        else:
            self.forward(b"+" * n)  # the sequence stopped short: it was data

    def cancel(self):
        """Data mode ends: no escape will fire any more."""
        self.active = False
        self._cancel()


class Ms:
    """A time in a quirk's settings: ms, plus the personality attribute named `plus`
    (e.g. its manual's open_max_ms), times the quirks' scale (at least 1 ms)."""

    def __init__(self, ms, plus=None):
        self.ms = ms
        self.plus = plus

    def value(self, sim, scale):
        ms = self.ms + (getattr(sim, self.plus) if self.plus else 0)
        return max(1, int(round(ms * scale)))


# Options every personality has (opts= / --opt), off by default. They model what real
# modules are publicly known to do beyond their manuals (issue 19); see ModemSim.
CORE_DEFAULTS = {
    "boot_stagger_ms": 0,
    "boot_cpin_error": False,
    "boot_lost_cmds": 0,
    "stale_answers": 0,
    "fail_late_ms": 0,
}

# Quirks every personality has: name -> settings ("fault:<knob>" keys are fault knobs,
# set only where the knob is not set already). Personalities add theirs in a
# `quirk_table` class attribute; quirks= turns them on (see parse_quirks).
CORE_QUIRKS = {
    "boot_stagger": {"boot_stagger_ms": Ms(3000)},
    "boot_cpin_error": {"boot_stagger_ms": Ms(3000), "boot_cpin_error": True},
    "boot_lost_cmds": {"boot_stagger_ms": Ms(3000), "boot_lost_cmds": 2},
    "stale_answers": {"stale_answers": 1},
    "short_payload": {"fault:short": 0.005},
    "late_fail": {"fail_late_ms": Ms(500, plus="open_max_ms")},
    "power_warnings": {"fault:vwarn": Ms(60000), "fault:vwarn:kind": "both"},
}


def parse_quirks(spec):
    """quirks= (constructor) / --quirks (CLI): a string of comma separated items, or a
    list of them. Items:
      real       every quirk of the personality on with probability 0.5, chosen by a
                 random generator seeded from the simulator's seed (or seed=)
      real=P     the same with probability P
      all        every quirk on
      NAME       that quirk on (see ModemSim.quirk_names())
      -NAME      that quirk off (after real / all)
      seed=N     seed of the random choice (default: the simulator's seed)
      scale=F    multiplies the real-world times the quirks use (boot stagger 3 s, the
                 manual's open limit + 0.5 s for late failures, the voltage warnings'
                 60 s period); default 1, tests use e.g. 0.01
    None, "" and "off" turn nothing on. Returns a dict (mode, p, on, off, seed, scale).
    """
    q = {"mode": None, "p": 0.5, "on": [], "off": [], "seed": None, "scale": 1.0}
    if spec is None:
        return q
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    for item in items:
        item = str(item).strip()
        if not item or item == "off":
            continue
        key, eq, val = item.partition("=")
        key = key.strip().lower().replace("-", "_") if not key.startswith("-") else key
        if key == "real":
            q["mode"] = "real"
            if eq:
                q["p"] = float(val)
                if not 0.0 <= q["p"] <= 1.0:
                    raise ValueError("quirks %r: P is 0..1" % item)
        elif key == "all":
            q["mode"] = "all"
        elif key == "seed" and eq:
            q["seed"] = int(val)
        elif key == "scale" and eq:
            q["scale"] = float(val)
            if q["scale"] <= 0:
                raise ValueError("quirks %r: the scale is > 0" % item)
        elif key.startswith("-") and not eq:
            q["off"].append(key[1:].strip().lower().replace("-", "_"))
        elif not eq:
            q["on"].append(key)
        else:
            raise ValueError("bad quirks item %r" % item)
    return q


class ModemSim(SMSCommands):
    """Base simulator: 3GPP basics shared by every personality.

    Construct with keyword options (all optional):
      seed, faults (Faults or list of spec strings), hosts ({name: ip}), baud,
      sim ("ready" | "locked" | "absent"), pin ("1234"), reg_delay_ms, boot_ms,
      verbose (log lines to stderr), opts (personality options, see `defaults`),
      reject_apns (APNs the network refuses: activation fails the dialect's way;
      personalities ask apn_rejected(apn)), quirks (real modules' behaviours beyond
      their manuals, turned on by name or at random: see parse_quirks; self.quirks
      lists the ones on).

    Options of every personality (opts=, beside the personality's own; all off by
    default). They come from what real modules are publicly known to do, not from
    the manuals:
      boot_stagger_ms  0. After power-on only the first banner line (RDY) comes at
                 once; the others (+CFUN: 1, +CPIN: READY, Call Ready, SMS Ready, ...)
                 follow one by one at random moments within this many ms, each either
                 on its own or inside the reply to whatever command is under way (before
                 its echo, between its lines or before its final result). The module
                 answers commands meanwhile; registration starts once its +CPIN line
                 is out. AT+CPIN? before that answers +CME ERROR: 14 (SIM busy), or:
      boot_cpin_error  False. True: ... a plain ERROR (seen on real modules).
      boot_lost_cmds   0. Up to N commands that come while boot lines are still
                 pending get no answer at all (not even the echo): the next boot line
                 comes out at once instead, as if it were the command's answer.
      stale_answers    0. The answers (echo and result) of the first N commands after
                 each power-on are held back and come out right in front of the next
                 command's echo: a late echo / OK of the previous command before the
                 next reply (the host usually retried after a timeout).
      fail_late_ms     0. An open that fails (refused, unreachable, fail= fault)
                 reports its failure this long after the command instead of at once:
                 CONNECT FAIL later than the manual's maximum (real: 75.5 s after a
                 75 s limit). Each personality's open_max_ms is its manual's limit.
    """

    name = "base"
    manufacturer = "SIMCOM INCORPORATED"
    model = "GENERIC"
    revision = "Revision:SIM-1.0"
    imei = "861234567890123"
    imsi = "001010123456789"
    iccid = "89882390000012345678"
    operator = "SIM Operator"
    plmn = "00101"
    act = 7  # E-UTRAN (27.007 <AcT>)
    ip = "10.0.0.2"
    prompt = b"\r\n> "
    default_cmee = 0
    # A host that ends a command with CR LF: the LF right after the CR of a command
    # that opened data mode (same write) is line noise, not the first payload byte.
    swallow_lf = True
    # Harmless URCs used by the `urc=` fault; personalities put their own here.
    noise_urcs = ("+CTZV: +32,0",)
    garbage_lines = (b"\xff\xfe", b"+CPSI: NO SERVICE", b"\x00")
    defaults = {}  # personality options, overridden by opts=
    quirk_table = {}  # personality quirks (see CORE_QUIRKS), merged along the MRO
    open_max_ms = 0  # the manual's longest wait for an open's result (late_fail quirk)
    # Supply voltage URCs (vwarn= / brownout= faults, voltage_warning()): SIMCom's
    # forms, misspelt "WARNNING" as SIM800 and SIM7000 firmware prints it (public
    # knowledge: hardware design documents and users' logs, not our manuals).
    power_urcs = {"under": "UNDER-VOLTAGE WARNNING", "over": "OVER-VOLTAGE WARNNING",
                  "under_down": "UNDER-VOLTAGE POWER DOWN",
                  "over_down": "OVER-VOLTAGE POWER DOWN"}

    _table = {}

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        cls._build_table()

    @classmethod
    def _build_table(cls):
        """name -> method name, merged along the MRO; `commands` dicts and
        `unsupported` name lists in a class body adjust the inherited table."""
        table = {}
        for base in reversed(cls.__mro__[1:]):
            if "_table" in base.__dict__:
                table.update(base._table)
            else:  # a mixin (sms.SMSCommands): its marked methods
                for attr, val in base.__dict__.items():
                    for n in getattr(val, "_at_names", ()):
                        table[n] = attr
        for attr, val in cls.__dict__.items():
            for n in getattr(val, "_at_names", ()):
                table[n] = attr
        for n, attr in cls.__dict__.get("commands", {}).items():
            table[n.upper()] = attr
        for n in cls.__dict__.get("unsupported", ()):
            table.pop(n.upper(), None)
        cls._table = table

    def __init__(self, seed=0, faults=None, hosts=None, baud=None, sim="ready",
                 pin="1234", reg_delay_ms=0, boot_ms=0, verbose=False, opts=None,
                 log=None, reject_apns=(), quirks=None):
        self.lock = threading.RLock()
        self.reject_apns = set(a.lower() for a in reject_apns)
        self.rng = random.Random(seed)
        if faults is None or isinstance(faults, (list, tuple)):
            faults = Faults(faults or ())
        self.faults = faults
        self.hosts = {"localhost": "127.0.0.1"}
        for k, v in (hosts or {}).items():
            if not ipaddress.IPv4Address(v).is_loopback:  # ValueError if not an address
                raise ValueError("host %s=%s: the simulator only reaches 127.0.0.0/8" % (k, v))
            self.hosts[k.lower()] = v
        self.baud = baud
        self.sim_state = sim
        self.pin = pin
        self.reg_delay_ms = reg_delay_ms
        self.boot_ms = boot_ms
        self.verbose = verbose
        self._log = log or sys.stderr
        self.opts = dict(CORE_DEFAULTS)
        self.opts.update(self.defaults)
        for k, v in (opts or {}).items():
            if k not in self.opts:
                raise ValueError("unknown option %r for %s; known: %s"
                                 % (k, self.name, ", ".join(sorted(self.opts)) or "none"))
            self.opts[k] = v
        self.explicit_opts = set(opts or ())  # options opts= gave (quirks never change them)
        self.quirks = self._apply_quirks(parse_quirks(quirks), seed, self.explicit_opts)
        self.generation = 0
        self.closed = False
        self.hung_up = False  # the hangup fault took the port away
        self.extra_commands = {}
        self._out = None  # set by a transport: callable(item) queueing output
        self._timers = _Timers(self)
        self._timers.start()
        self.net = Net(self)
        self._linebuf = bytearray()
        self._collector = None
        self._in_cmd = False
        self._held = []
        self.streaming = False  # transparent data mode: the UART carries a connection
        self._stream_urcs = []  # URCs that wait for command mode (stream_end)
        self._suppress_ok = False
        self._final = None
        self._ncmds = 0
        self._capture = None
        self.powered = False
        self.dtr = 0  # the host's DTR line (set_dtr); not reset by a reboot
        self._sleep_timer = None
        self._boot_queue = []  # banner lines not out yet (boot_stagger_ms)
        self._lost_left = 0  # boot_lost_cmds left in this boot
        self._stale_left = 0  # stale_answers left in this boot
        self._stale = b""  # a held answer, out before the next command's echo
        self.sim_starting = False  # the +CPIN banner line is not out yet
        self._boot_reg = False  # registration waits for the staggered banner
        self.short_cuts = []  # short= fault: (header length, bytes lost) per cut
        self.reset_state()

    # ------------------------------------------------------------------ state
    def reset_state(self):
        """Power-on defaults. Personalities extend this (call super first)."""
        self.echo = True
        self.cmee = self.default_cmee
        self.reg_n = {"+CREG": 0, "+CGREG": 0, "+CEREG": 0}
        self.reg_stat = 0
        self.cfun = 1
        self.pin_ok = self.sim_state == "ready"
        self.cgdcont = {1: ("IP", "")}
        self.cgatt = 1
        self.contexts = {}  # cid -> ip of active PDP contexts
        self._linebuf = bytearray()
        self._collector = None
        self._held = []
        self.sms_reset()
        if hasattr(self, "gnss_reset"):  # a personality with a receiver (gnss.py)
            self.gnss_reset()
        if self.psm_supported:
            self.psm_reset()
        self.streaming = False
        self._stream_urcs = []
        self._in_cmd = False
        self._suppress_ok = False
        self.csclk = 0  # UART sleep setting (AT+CSCLK / AT+QSCLK), 0 after power-on
        self.asleep = False
        if self._sleep_timer:
            self._sleep_timer.cancel()
        self._sleep_timer = None

    def log(self, msg):
        if self.verbose:
            try:
                self._log.write("[%s %.3f] %s\n" % (self.name, time.monotonic() % 1000, msg))
                self._log.flush()
            except Exception:
                pass

    def log_exc(self, what):
        import traceback
        self._log.write("modemsim: exception in %s\n%s" % (what, traceback.format_exc()))

    # ------------------------------------------------------------------ quirks
    @classmethod
    def quirk_names(cls):
        """{name: settings} of every quirk this personality knows."""
        table = dict(CORE_QUIRKS)
        for base in reversed(cls.__mro__):
            table.update(base.__dict__.get("quirk_table", {}))
        return table

    def _apply_quirks(self, q, seed, explicit):
        """Turn on the quirks of a parsed quirks= spec; returns their sorted names.
        Options given in opts= and fault knobs already set win over a quirk's."""
        table = self.quirk_names()
        for name in q["on"] + q["off"]:
            if name not in table:
                raise ValueError("unknown quirk %r for %s; known: %s"
                                 % (name, self.name, ", ".join(sorted(table))))
        on = set()
        if q["mode"] == "all":
            on = set(table)
        elif q["mode"] == "real":
            r = random.Random("quirks:%s" % (seed if q["seed"] is None else q["seed"]))
            on = set(n for n in sorted(table) if r.random() < q["p"])
        on.update(q["on"])
        on.difference_update(q["off"])
        faults = {}
        for name in sorted(on):
            for key, val in table[name].items():
                if isinstance(val, Ms):
                    val = val.value(self, q["scale"])
                if key.startswith("fault:"):
                    faults[key[6:]] = val
                elif key not in explicit:
                    self.opts[key] = val
        f = self.faults
        if "short" in faults and f.short is None:
            f.parse("short=%s" % faults["short"])
        if "vwarn" in faults and f.vwarn is None:
            f.parse("vwarn=%d:%s" % (faults["vwarn"], faults.get("vwarn:kind", "under")))
        return sorted(on)

    # ------------------------------------------------------------------ lifecycle
    def start(self):
        """Power the modem on: banner, then registration. Called by the transports."""
        with self.lock:
            if self.quirks:
                self.log("-- quirks: %s" % ", ".join(self.quirks))
            f = self.faults
            if f.reboot_ms is not None:
                self.after(f.reboot_ms, self.reboot, gen=None)
            if f.vwarn is not None:
                self.after(f.vwarn[0], self._vwarn_tick, 0, gen=None)
            if f.brownout is not None:
                self.after(f.brownout[0], self._brownout, gen=None)
            self._power_on()

    def _power_on(self):
        if self.boot_ms:
            self.powered = False
            self.after(self.boot_ms, self._boot_done)
        else:
            self._boot_done()

    def _boot_done(self):
        self.powered = True
        lines = list(self.banner_lines())
        self._stale_left = int(self.opts["stale_answers"])
        self._stale = b""
        stagger = int(self.opts["boot_stagger_ms"])
        if stagger > 0 and len(lines) > 1:
            # boot_stagger_ms: RDY now, the rest one by one (see the class docstring)
            self._banner_line(lines[0])
            self._boot_queue = lines[1:]
            self._lost_left = int(self.opts["boot_lost_cmds"])
            self.sim_starting = any(ln.startswith("+CPIN:") for ln in self._boot_queue)
            self._boot_reg = True
            for t in sorted(self.rng.uniform(1, stagger) for _ in self._boot_queue):
                self.after(t, self._boot_next)
            return
        for line in lines:
            self._banner_line(line)
        if self.pin_ok:
            self.start_registration()

    def _banner_line(self, line):
        # banner lines are never held or cut: they mark the reboot for the host
        self.log("<- banner %r" % (line,))
        self._emit(b"\r\n" + self._b(line) + b"\r\n")

    def release_boot_line(self, inside_reply=None):
        """boot_stagger_ms: put out the next pending banner line now instead of at its
        random moment (tests): inside_reply True holds it for the next command's
        reply, False sends it on its own, None chooses as the timer does. Returns the
        line, or None when none is pending."""
        with self.lock:
            line = self._boot_queue[0] if self._boot_queue else None
            self._boot_next(hold=inside_reply)
            return line

    def _boot_next(self, now=False, hold=None):
        """The next pending banner line (boot_stagger_ms): on its own, or (half of the
        time) inside the next reply; now=True: at once (a lost command's answer)."""
        if not self._boot_queue:
            return
        line = self._boot_queue.pop(0)
        if hold is None:
            hold = not now and not self._in_cmd and self.rng.random() < 0.5
        if self._held and not now:
            hold = True  # an earlier line still waits there: the order stays
        if hold:
            self.log("<- banner (inside the next reply) %r" % (line,))
            self._held.append(b"\r\n" + self._b(line) + b"\r\n")
            self.after(max(50, int(self.opts["boot_stagger_ms"])), self._flush_held)
        else:
            self._banner_line(line)
        if line.startswith("+CPIN:"):
            self.sim_starting = False
        if self._boot_reg and (not self.sim_starting or not self._boot_queue):
            # the SIM was read (its +CPIN line is out): registration starts
            self._boot_reg = False
            self.sim_starting = False
            if self.pin_ok:
                self.start_registration()

    def banner_lines(self):
        """Lines printed at power-on. Override per dialect (see the manuals)."""
        return ["RDY", "+CFUN: 1", self.cpin_line(), "SMS Ready"]

    def cpin_line(self):
        if self.sim_state == "absent":
            return "+CPIN: NOT INSERTED"
        return "+CPIN: READY" if self.pin_ok else "+CPIN: SIM PIN"

    def reboot(self):
        """Reboot: every socket closes, state is lost, the banner comes again."""
        with self.lock:
            self.log("-- reboot")
            self.generation += 1
            self._boot_queue = []
            self.sim_starting = False
            self.net.close_all()
            self.reset_state()
            self.on_reboot()
            self._power_on()

    def on_reboot(self):
        """Hook for personalities: drop extra state after a reboot."""

    def power_on(self):
        """The power key after a power-down: boot again (banner). No effect on a
        module that runs (a board's power_on() checks for that first)."""
        with self.lock:
            if not self.powered:
                self.reboot()

    def power_off(self, lines=(), final=None, ok=False, delay_ms=0):
        """Power down as AT+CPOWD/AT+QPOWD do: OK first if ok, the final result line
        `final` (or none), then after delay_ms the URC `lines`; from then on the
        module ignores the UART until power_on() or reboot(). Sockets close at once."""
        if ok:
            self.ok()
        elif final:
            self.final(final)
        else:
            self.done()
        self.generation += 1  # timers of the running module die with it
        self.net.close_all()
        self.contexts.clear()
        if delay_ms or lines:
            self.after(delay_ms, self._powered_off, lines)
        else:
            self._powered_off(())

    def _powered_off(self, lines):
        for line in lines:
            self.urc(line, hold=False)
        self.powered = False
        self.asleep = False
        self._boot_queue = []
        self.sim_starting = False
        self.log("-- powered down")

    # ------------------------------------------------------------------ supply voltage
    def voltage_warning(self, kind="under"):
        """The supply is out of range: the family's warning URC (power_urcs[kind],
        kind "under" or "over"); the module keeps running."""
        with self.lock:
            if self.powered and not self.closed:
                self.urc(self.power_urcs[kind])

    def voltage_power_down(self, kind="under", restart_ms=None):
        """The supply left the range the module runs in: its power down line
        (power_urcs[kind + "_down"]), then it is off: sockets and contexts gone, the
        UART ignored. restart_ms: it boots again (banner) that much later, as a board
        whose supply recovered and whose PWRKEY is held does; None: off until
        power_on()."""
        with self.lock:
            if not self.powered or self.closed:
                return
            line = self.power_urcs[kind + "_down"]
            self.log("<- %s (power lost)" % line)
            self.streaming = False  # no data mode survives it: the line goes out as is
            self._collector = None
            self._in_cmd = False
            self._emit(b"\r\n" + self._b(line) + b"\r\n")
            self.generation += 1  # timers of the running module die with it
            self.net.close_all()
            self.contexts.clear()
            self._powered_off(())
            if restart_ms is not None:
                self.after(restart_ms, self.power_on, gen=None)

    def _vwarn_tick(self, i):
        period, kind = self.faults.vwarn
        if kind == "both":
            kind = ("under", "over")[i % 2]
        self.voltage_warning(kind)
        self.after(period, self._vwarn_tick, i + 1, gen=None)

    def _brownout(self):
        ms, restart = self.faults.brownout
        self.voltage_warning("under")
        # the sag goes on: the module gives up shortly after its warning
        self.after(50, self.voltage_power_down, "under", restart)

    # ------------------------------------------------------------------ UART sleep
    # What a personality says (the manuals differ, see each one):
    dtr_sleep = (1,)  # CSCLK values under which DTR high lets the module sleep
    idle_sleep = ()  # CSCLK values under which it sleeps after sleep_idle_ms of silence
    uart_wakes = False  # a line on the UART wakes it (the line itself is lost)
    wake_ms = 50  # from DTR low (or the waking line) until it answers again

    def set_dtr(self, level):
        """The host drives DTR (tests; FakeUART and the pty have no DTR line). High
        lets a module with DTR-controlled sleep fall asleep; low wakes it."""
        with self.lock:
            self.dtr = 1 if level else 0
            self.log("-- DTR %d" % self.dtr)
            if not self.dtr and self.asleep and self.csclk in self.dtr_sleep:
                self.after(self.wake_ms, self._wake)
            self._sleep_check()

    def sleep_idle_ms(self):
        """UART silence before a module allowed to sleep does (personality)."""
        return 0

    def _sleep_check(self):
        """Arm (or disarm) the timer that puts the module to sleep."""
        if self._sleep_timer:
            self._sleep_timer.cancel()
            self._sleep_timer = None
        if self.asleep or not self.powered:
            return
        if (self.csclk in self.dtr_sleep and self.dtr) or self.csclk in self.idle_sleep:
            self._sleep_timer = self.after(self.sleep_idle_ms(), self._fall_asleep)

    def _fall_asleep(self):
        self._sleep_timer = None
        if self._in_cmd or self.in_data_mode or not self.powered:
            return self._sleep_check()
        if (self.csclk in self.dtr_sleep and self.dtr) or self.csclk in self.idle_sleep:
            self.asleep = True
            self.log("-- asleep (CSCLK=%d, DTR %d)" % (self.csclk, self.dtr))

    def _wake(self):
        if self.asleep:
            self.asleep = False
            self.log("-- awake")
        self._sleep_check()

    @command("+CSCLK")
    def at_csclk(self, c):
        """AT+CSCLK (SIMCom, Yuge 4.12) / AT+QSCLK (Quectel): UART sleep setting."""
        allowed = tuple(sorted(set((0,) + tuple(self.dtr_sleep) + tuple(self.idle_sleep))))
        if c.kind == "test":
            return self.answer("%s: (%s)" % (c.name, ",".join(str(v) for v in allowed)))
        if c.kind == "read":
            return self.answer("%s: %d" % (c.name, self.csclk))
        if c.kind != "set":
            return self.error()
        n = c.int(0)
        if n not in allowed:
            return self.cme_error(50) if self.cmee else self.error()
        self.csclk = n
        self.ok()
        self._sleep_check()

    def hangup(self):
        """The port goes away, as a USB modem unplugged (the hangup= fault): nothing
        more is answered; on a pty the host's reads see end of file (POLLHUP) and its
        writes fail with EIO, on a FakeUART both raise OSError(EIO). close() still
        stops the rest."""
        with self.lock:
            self.log("-- hangup: the port goes away")
            self.hung_up = True
            self.closed = True  # receive() ignores the host from now on
            t = getattr(self, "transport", None)
        if t is not None:
            t.hangup()

    def close(self):
        with self.lock:
            self.closed = True
        self._timers.stop()
        self.net.stop()
        t = getattr(self, "transport", None)
        if t:
            t.close()

    # ------------------------------------------------------------------ timers
    def after(self, ms, fn, *args, gen=0):
        """Call fn(*args) after ms milliseconds, under the lock. Returns a Timer.

        By default the timer dies when the modem reboots; pass gen=None to keep it.
        """
        return Timer(self._timers.add(ms / 1000.0, fn, args,
                                      self.generation if gen == 0 else gen))

    # ------------------------------------------------------------------ output
    def _emit(self, data):
        """Queue bytes for the host, cut into random pieces if the chunk fault is on."""
        if not data:
            return
        if self._capture is not None:
            self._capture.append(data)
            return
        out = self._out
        if out is None:
            return
        f = self.faults
        if f.chunk:
            lo, hi = f.chunk
            i = 0
            while i < len(data):
                n = self.rng.randint(max(1, lo), max(1, hi))
                out(bytes(data[i:i + n]))
                i += n
                if i < len(data) and f.chunk_gap_ms:
                    out(f.chunk_gap_ms / 1000.0)
        else:
            out(bytes(data))

    @staticmethod
    def _b(line):
        return line.encode("latin-1") if isinstance(line, str) else bytes(line)

    def _inject_point(self):
        """Between two pieces of a response: maybe release held/noise URCs. Never
        while the UART carries transparent data: nothing may be injected there."""
        if not self._in_cmd or self.streaming:
            return
        if self._held and self.rng.random() < 0.5:
            self._flush_held(1)
        if self.faults.urc and self.rng.random() < self.faults.urc:
            self._emit(b"\r\n" + self._b(self.rng.choice(self.noise_urcs)) + b"\r\n")

    def _flush_held(self, n=None):
        if self.streaming and not self._in_cmd:
            return  # (the hold fault's timer) not into transparent data: stream_end
        while self._held and (n is None or n > 0):
            self._emit(self._held.pop(0))
            if n is not None:
                n -= 1

    def reply(self, *lines):
        """Information response lines, each framed \\r\\n<line>\\r\\n."""
        for line in lines:
            self._inject_point()
            self.log("<- %r" % (line,))
            self._emit(b"\r\n" + self._b(line) + b"\r\n")

    def answer(self, *lines):
        """reply(*lines) then OK: the common shape of a successful command."""
        self.reply(*lines)
        self.ok()

    def raw(self, data):
        """Bytes exactly as given (binary payloads, prompts, partial lines)."""
        self._inject_point()
        if self.verbose:
            self.log("<- raw %r" % (bytes(data[:80]),))
        self._emit(data)

    def urc(self, line, hold=None):
        """An unsolicited result code. Asynchronous URCs may be held back by the `hold`
        fault and appear inside the next reply; `noeol` may drop its line end."""
        if self.streaming:
            # transparent data mode: the UART carries the connection's bytes only;
            # URCs wait until the module is back in command mode (stream_end)
            self.log("<- urc (waits for command mode) %r" % (line,))
            self._stream_urcs.append(line)
            return
        self.log("<- urc %r" % (line,))
        data = b"\r\n" + self._b(line)
        if not (self.faults.noeol and self.rng.random() < self.faults.noeol):
            data += b"\r\n"
        if hold is None:
            hold = not self._in_cmd
        if hold and self.faults.hold and self.rng.random() < self.faults.hold:
            self._held.append(data)
            # never hold forever: release at the latest after 2 s of host silence
            self.after(2000, self._flush_held)
            return
        if self._in_cmd:
            self._inject_point()
        self._emit(data)

    def urc_in_next_reply(self, line, max_ms=60000):
        """A URC that comes out inside the next command's reply (before its echo,
        between lines, or at the latest just before its final result); released on
        its own after max_ms if the host stays silent."""
        self.log("<- urc (held) %r" % (line,))
        self._held.append(b"\r\n" + self._b(line) + b"\r\n")
        self.after(max_ms, self._flush_held)

    def _final_result(self, line):
        if self._capture is None and self.faults.delay:
            lo, hi = self.faults.delay
            d = self.rng.randint(lo, hi)
            if d and self._out:
                self._out(d / 1000.0)
        self._inject_point()
        self._flush_held()
        self.log("<- %s" % (line,))
        self._emit(b"\r\n" + self._b(line) + b"\r\n")
        self._final = line
        self._in_cmd = False
        if self.faults.garbage and not self.streaming \
                and self.rng.random() < self.faults.garbage:
            self._emit(b"\r\n" + self._b(self.rng.choice(self.garbage_lines)) + b"\r\n")

    def ok(self):
        if self._suppress_ok:  # inside a chained line (AT+A;+B): only the last OK shows
            self._final = "OK"
            return
        self._final_result("OK")

    def error(self):
        self._final_result("ERROR")

    def cme_error(self, code):
        """+CME ERROR per AT+CMEE: 0 -> ERROR, 1 -> numeric, 2 -> text."""
        if self.cmee == 0:
            self._final_result("ERROR")
        elif self.cmee == 1:
            self._final_result("+CME ERROR: %d" % code)
        else:
            self._final_result("+CME ERROR: %s" % CME_TEXT.get(code, "unknown"))

    def final(self, line):
        """Any other final result code (e.g. 'SEND OK', 'NO CARRIER')."""
        self._final_result(line)

    def done(self):
        """End a command without a final result line (rare dialect forms)."""
        self._in_cmd = False

    # ------------------------------------------------------------------ fault helpers
    def short_payload(self, data):
        """A counted payload as it reaches the host: with the short= fault, 1-16 bytes
        from a random place are lost (the header the caller prints keeps the full
        length). Personalities pass every counted payload through this."""
        rule = self.faults.short
        if rule is None or not data or rule[1] == 0 or self.rng.random() >= rule[0]:
            return data
        if rule[1] is not None:
            rule[1] -= 1
        n = len(data)
        lost = self.rng.randint(1, min(n, 16))
        at = self.rng.randint(0, n - lost)
        self.short_cuts.append((n, lost))
        self.log("-- short payload: %d of %d bytes lost at %d" % (lost, n, at))
        return data[:at] + data[at + lost:]

    def fail_code(self, name):
        """The fail= fault's code for command `name` (e.g. "+CAOPEN") if it fires now,
        else None."""
        rule = self.faults.fail.get(name)
        if rule is None or rule[1] == 0:
            return None
        if rule[1] is not None:
            rule[1] -= 1
        return rule[0]

    def fail_delay(self, ms=0):
        """How long a failed open waits before its result: fail_late_ms if set, else
        `ms` (the personality's connect delay)."""
        late = int(self.opts["fail_late_ms"])
        return late if late else ms

    # ------------------------------------------------------------------ data mode
    def collect(self, on_done, n=None, prompt=None, ctrlz=None, etx=False, timeout_ms=None):
        """Enter data mode: show `prompt`, then gather host bytes.

        n: exact byte count (fixed-length send); None: until Ctrl-Z.
        ctrlz: Ctrl-Z (0x1A) ends and ESC (0x1B) cancels; default True when n is None.
        etx: 0x03 escapes the next byte (SIM7600 CIPSEND, variable length).
        timeout_ms: give up after this long.
        on_done(data, reason) runs under the lock; reason is "len", "ctrlz", "esc"
        (cancelled, data is what came before ESC) or "timeout".
        """
        if ctrlz is None:
            ctrlz = n is None
        col = _Collector(on_done, n, ctrlz, etx)
        self._collector = col
        if timeout_ms:
            col.timer = self.after(timeout_ms, self._collect_timeout, col)
        self.raw(self.prompt if prompt is None else prompt)
        if n == 0:
            self._collect_finish(col, "len")

    def _collect_timeout(self, col):
        if self._collector is col:
            self._collect_finish(col, "timeout")

    def _collect_finish(self, col, reason):
        self._collector = None
        self._in_cmd = True
        if col.timer:
            col.timer.cancel()
        self.log("-> data %d bytes (%s)" % (len(col.buf), reason))
        col.on_done(bytes(col.buf), reason)

    @property
    def in_data_mode(self):
        return self._collector is not None or self.streaming

    def stream_begin(self, result=None, feed=None):
        """Transparent data mode: from now on the UART carries a connection.

        result: the final result code that announces it ("CONNECT"), printed first
        (the fault knobs treat it as any final result, except that no garbage line
        follows it: that would land in the data). feed: the collector (usually a
        GuardedEscape) that gets every host byte from now on; None if the
        personality routes host bytes itself.
        While streaming, urc() keeps URCs back and no fault injects anything into
        the output: only the connection's bytes (raw()) reach the host. Chunk splits
        and pacing still apply.
        """
        self.streaming = True
        if result is not None:
            self.final(result)
        if feed is not None:
            self._collector = feed

    def stream_end(self, *lines, final=None):
        """Back to command mode: `lines` (e.g. "CLOSED", "NO CARRIER") are printed
        first, framed and never held, or `final` as a final result code (the "OK"
        answering "+++"); then every URC that waited meanwhile, in order."""
        col = self._collector
        if isinstance(col, GuardedEscape):
            col.cancel()
            self._collector = None
        if not self.streaming:
            return
        self.streaming = False
        for line in lines:
            self.log("<- %s" % (line,))
            self._emit(b"\r\n" + self._b(line) + b"\r\n")
        if final is not None:
            self.final(final)
        if not self._in_cmd:
            self._flush_held()
        waiting, self._stream_urcs = self._stream_urcs, []
        for line in waiting:
            self.urc(line, hold=False)

    # ------------------------------------------------------------------ input
    def receive(self, data):
        """Bytes from the host (the transport calls this, possibly paced)."""
        with self.lock:
            if self.closed:
                return
            data = bytes(data)
            while data:
                col = self._collector
                if col is not None:
                    res = col.feed(data)
                    if res is None:
                        return
                    data, reason = res
                    self._collect_finish(col, reason)
                    continue
                data = self._assemble(data)

    def _assemble(self, data):
        """Line assembly: \\r ends a line; \\n alone also does; \\r\\n counts once.
        Returns leftover bytes when a command switched to data mode."""
        for i, b in enumerate(data):
            if b == 0x0D or b == 0x0A:
                if b == 0x0A and not self._linebuf:
                    continue  # the \n of \r\n, or a blank line
                line = bytes(self._linebuf)
                self._linebuf = bytearray()
                self._line(line)
                if self._collector is not None:
                    rest = data[i + 1:]
                    # The host may end the command with \r\n in one write: that \n is
                    # not payload. A \n in a later write is payload: a host that waited
                    # for the prompt may well start its data with a line feed.
                    if b == 0x0D and rest[:1] == b"\n" and self.swallow_lf:
                        rest = rest[1:]
                    return rest
            else:
                self._linebuf.append(b)
                if len(self._linebuf) > 4096:  # runaway garbage: modems cap the line
                    self._linebuf = bytearray()
        return b""

    def _line(self, raw):
        text = raw.decode("latin-1").strip()
        if not text:
            return
        self.log("-> %r" % text)
        if not self.powered:
            return  # booting or powered down: real modems ignore input before RDY
        if self.asleep:
            # UART sleep: the line is lost; a personality whose UART wakes it wakes now
            self.log("   (asleep: line ignored)")
            if self.uart_wakes:
                self._wake()
            return
        if text[:2].upper() != "AT":
            return  # not a command: modems ignore stray bytes
        if self._boot_queue and self._lost_left > 0:
            # boot_lost_cmds: still starting, the command is lost; what the host gets
            # back is the next boot line
            self._lost_left -= 1
            self.log("   (starting: command lost)")
            self._boot_next(now=True)
            return
        if self._stale:
            # stale_answers: the previous command's late answer, before this echo
            self.log("<- (late answer of the previous command)")
            stale, self._stale = self._stale, b""
            self._emit(stale)
        if self._stale_left > 0:
            self._stale_left -= 1
            self._capture = []
            gen = self.generation
            try:
                self._command(raw, text)
            finally:
                cap, self._capture = self._capture, None
                held = b"".join(p for p in (cap or ()) if isinstance(p, bytes))
                if self._in_cmd or self._collector is not None or self.streaming \
                        or gen != self.generation:
                    self._emit(held)  # not answered at once: nothing to hold back
                else:
                    self.log("   (answer held back until the next command)")
                    self._stale = held
            return
        self._command(raw, text)

    def _command(self, raw, text):
        """A command line from the host (powered, awake, starts with AT)."""
        self._ncmds += 1
        self._in_cmd = True
        self._final = None
        # The held-URC fault may put a URC before the echo, too.
        if self._held and self.rng.random() < 0.5:
            self._flush_held(1)
        if self.echo:
            self._emit(raw + b"\r")
        if self.faults.reboot is not None and self._ncmds == self.faults.reboot:
            self._reboot_mid_reply(text)
            return
        try:
            cmds = self.parse_line(text)
        except ValueError:
            self.error()
            return
        if not cmds:  # bare AT
            self.ok()
            return
        self._sleep_check()  # UART activity restarts the idle time before sleep
        for i, c in enumerate(cmds):
            last = i == len(cmds) - 1
            self._suppress_ok = not last
            self._final = None
            try:
                self.dispatch(c)
            finally:
                self._suppress_ok = False
            # AT+A;+B: go on only while each command succeeded at once; an error
            # ends the line (already printed), a deferred result drops the rest
            if not last and (self._final != "OK" or self._collector is not None):
                break

    def _reboot_mid_reply(self, text):
        """reboot=N fault: start answering, then the modem resets part way through."""
        outer, self._capture = self._capture, []
        try:
            for c in self.parse_line(text) or []:
                self.dispatch(c)
        except Exception:
            pass
        cap, self._capture = self._capture, outer
        for piece in cap[:len(cap) // 2]:
            self._emit(piece)
        self._in_cmd = False
        self.reboot()

    def parse_line(self, text):
        """'AT+CMEE=2;+CREG?;E0' -> [Cmd, Cmd, Cmd]. Raises ValueError if malformed."""
        s = text[2:]
        out = []
        while s:
            ch = s[0]
            if ch == ";":
                s = s[1:]
                continue
            if ch in "+*$^#%":
                # extended command: name up to = ? ; (outside quotes)
                j = 1
                while j < len(s) and (s[j].isalnum() or s[j] in "_-&."):
                    j += 1
                name = s[:j].upper()
                rest = s[j:]
                end = _find_unquoted(rest, ";")
                body, s = rest[:end], rest[end:]
                if body == "":
                    out.append(Cmd(name, "exec", "", text))
                elif body == "?":
                    out.append(Cmd(name, "read", "", text))
                elif body == "=?":
                    out.append(Cmd(name, "test", "", text))
                elif body.startswith("="):
                    out.append(Cmd(name, "set", body[1:], text))
                else:
                    # e.g. AT+CASERVER0,"TCP",80 as the manual's typo shows: the
                    # letters glue to the arguments; treat as a set command.
                    out.append(Cmd(name, "set", body, text))
            else:
                # basic command: [&]letter then digits, or S-register forms
                j = 0
                if ch == "&":
                    j = 1
                if j >= len(s) or not s[j].isalpha():
                    raise ValueError(text)
                j += 1
                name = s[:j].upper()
                k = j
                if name == "S":
                    while k < len(s) and s[k] not in ";":
                        k += 1
                else:
                    while k < len(s) and (s[k].isdigit() or (k == j and s[k] in "?=")):
                        k += 1
                out.append(Cmd(name, "basic", s[j:k], text))
                s = s[k:]
        return out

    def handler_for(self, name):
        fn = self.extra_commands.get(name)
        if fn is not None:
            return fn
        attr = self._table.get(name)
        return getattr(self, attr) if attr else None

    def add_command(self, name, fn):
        """Register a handler at run time: fn(cmd) (tests, one-off quirks)."""
        self.extra_commands[name.upper()] = fn

    def dispatch(self, c):
        rule = self.faults.hangup
        if rule is not None and rule[0] == c.name:
            rule[1] -= 1
            if rule[1] == 0:
                return self.hangup()
        rule = self.faults.cme.get(c.name)
        if rule is not None and rule[1] != 0:
            if rule[1] is not None:
                rule[1] -= 1
            return self.cme_error(rule[0])
        fn = self.handler_for(c.name)
        if fn is None:
            return self.unknown(c)
        try:
            fn(c)
        except (ValueError, IndexError):
            # malformed arguments: SIMCom and Quectel both answer plain ERROR
            self.error()

    def unknown(self, c):
        self.error()

    # ------------------------------------------------------------------ registration
    def sim_check(self):
        """+CME error code if the SIM is unusable now, else None (27.007 9.2)."""
        if self.sim_state == "absent":
            return 10
        if not self.pin_ok:
            return 11
        return None

    def start_registration(self):
        if self.cfun != 1 or self.sim_check() is not None:
            return
        self.set_reg(2)
        if self.reg_delay_ms:
            self.after(self.reg_delay_ms, self.set_reg, 1)
        else:
            self.set_reg(1)

    def set_reg(self, stat):
        """Change the registration state and send +CREG/+CGREG/+CEREG URCs."""
        if stat == self.reg_stat:
            return
        self.reg_stat = stat
        for name in ("+CREG", "+CGREG", "+CEREG"):
            n = self.reg_n[name]
            if n:
                self.urc("%s: %s" % (name, self._reg_fields(n, stat, urc=True)))
        self.on_registration(stat)

    def on_registration(self, stat):
        """Hook: registration state changed."""

    @property
    def registered(self):
        return self.reg_stat in (1, 5)

    psm_supported = False  # PSM/eDRX commands (psm.PSMCommands mixed in)

    def _reg_fields(self, n, stat, urc=False):
        head = "%d" % stat if urc else "%d,%d" % (n, stat)
        if n >= 2 and stat in (1, 5):
            head += ',"1A2B","01A2D101",%d' % self.act
            granted = self.psm_granted() if n >= 4 and self.psm_supported else None
            if granted:  # 27.007 10.1.22: ,<cause_type>,<reject_cause>,<Active-Time>,<TAU>
                head += ',,,"%s","%s"' % granted
        return head

    def apn_rejected(self, apn):
        """True if the network refuses activation with this APN (reject_apns=)."""
        return (apn or "").lower() in self.reject_apns

    drop_cause = "nw"  # during on_network_drop: "nw" the network, "me" the module

    def network_drop(self, cause="nw"):
        """The network takes the PDP contexts away: sockets die, dialect URC follows.
        cause "me": the module gave them up itself (AT+CFUN=0, AT+CGATT=0); the
        hook sees it in self.drop_cause (3GPP +CGEV: ME ... instead of NW ...)."""
        with self.lock:
            lost = dict(self.contexts)
            conns = self.net.conns()
            self.contexts.clear()
            self.drop_cause = cause
            try:
                self.on_network_drop(lost, conns)
            finally:
                self.drop_cause = "nw"
            for conn in conns:
                conn.close()

    def stall(self):
        """The network silently stops carrying data on every open connection: what the
        host sends is accepted and lost, nothing arrives, no URC says so (a radio
        link that died without the module noticing)."""
        with self.lock:
            for conn in self.net.conns():
                conn.stalled = True

    def on_network_drop(self, lost_contexts, conns):
        """Hook: emit the dialect's URCs for a network drop (before sockets close)."""

    def context_up(self, cid, ip=None):
        """Personalities call this when a PDP context became active (arms drop=)."""
        self.contexts[cid] = ip or self.ip
        if self.faults.drop is not None:
            self.after(self.faults.drop, self.network_drop)

    def context_down(self, cid):
        self.contexts.pop(cid, None)

    # ------------------------------------------------------------------ network hooks
    def net_data(self, conn, data):
        """Socket data arrived (lock held). Default: buffer it; see net_overflow."""
        conn.rx += data

    def net_closed(self, conn):
        """The remote peer closed (lock held)."""

    def net_accept(self, listener, conn):
        """An incoming connection on a listener (lock held). Return False to refuse."""
        return True

    def net_overflow(self, conn, lost):
        """overflow= fault: `lost` bytes did not fit the receive buffer (default: drop)."""

    # ------------------------------------------------------------------ common commands
    @command("E")
    def at_e(self, c):
        if c.raw not in ("", "0", "1"):
            return self.error()
        self.echo = c.raw == "1"
        self.ok()

    @command("&W", "&F", "Z", "H", "V", "Q", "&D", "&C", "X", "S")
    def at_basic_ok(self, c):
        self.ok()

    @command("O")
    def at_o(self, c):
        # no data connection to return to by default
        self.final("NO CARRIER")

    @command("I")
    def at_i(self, c):
        self.answer(self.manufacturer, self.model, self.revision)

    @command("+CGMI")
    def at_cgmi(self, c):
        if c.kind == "test":
            return self.ok()
        self.answer(self.manufacturer)

    @command("+CGMM")
    def at_cgmm(self, c):
        if c.kind == "test":
            return self.ok()
        self.answer(self.model)

    @command("+CGMR")
    def at_cgmr(self, c):
        if c.kind == "test":
            return self.ok()
        self.answer(self.revision)

    @command("+CGSN", "+GSN")
    def at_cgsn(self, c):
        if c.kind == "test":
            return self.ok()
        self.answer(self.imei)

    @command("+CIMI")
    def at_cimi(self, c):
        if c.kind == "test":
            return self.ok()
        err = self.sim_check()
        if err:
            return self.cme_error(err)
        self.answer(self.imsi)

    @command("+CCID")
    def at_ccid(self, c):
        if c.kind == "test":
            return self.ok()
        err = self.sim_check()
        if err == 10:
            return self.cme_error(err)
        self.answer(self.iccid)

    @command("+ICCID")
    def at_iccid(self, c):
        if c.kind == "test":
            return self.ok()
        if self.sim_check() == 10:
            return self.cme_error(10)
        self.answer("+ICCID: " + self.iccid)

    @command("+CPIN")
    def at_cpin(self, c):
        if c.kind == "test":
            return self.ok()
        if self.sim_starting and c.kind in ("read", "set"):
            # boot_stagger_ms: the SIM is still being read. 27.007 says SIM busy;
            # real modules often answer a plain ERROR (boot_cpin_error)
            if self.opts["boot_cpin_error"]:
                return self.error()
            return self.cme_error(14)
        if self.sim_state == "absent":
            return self.cme_error(10)
        if c.kind == "read":
            return self.answer("+CPIN: " + ("READY" if self.pin_ok else "SIM PIN"))
        if c.kind != "set":
            return self.error()
        if self.pin_ok:
            return self.cme_error(3)
        if c.str(0) != self.pin:
            return self.cme_error(16)
        self.pin_ok = True
        self.ok()
        self.urc("+CPIN: READY", hold=False)
        self.after_unlock()
        self.start_registration()

    def after_unlock(self):
        """Hook: URCs the dialect prints after the SIM PIN was accepted."""

    @command("+CSQ")
    def at_csq(self, c):
        if c.kind == "test":
            return self.answer("+CSQ: (0-31,99),(0-7,99)")
        self.answer("+CSQ: 20,99" if self.cfun == 1 and self.sim_check() is None
                    else "+CSQ: 99,99")

    @command("+CESQ")
    def at_cesq(self, c):
        if c.kind == "test":
            return self.answer("+CESQ: (0-63,99),(0-7,99),(0-96,255),(0-49,255),"
                               "(0-34,255),(0-97,255)")
        if self.registered:
            self.answer("+CESQ: 99,99,255,255,20,45")
        else:
            self.answer("+CESQ: 99,99,255,255,255,255")

    @command("+CREG", "+CGREG", "+CEREG")
    def at_reg(self, c):
        if c.kind == "test":
            return self.answer("%s: (0-2)" % c.name)
        if c.kind == "read":
            return self.answer("%s: %s" % (c.name, self._reg_fields(self.reg_n[c.name],
                                                                     self.reg_stat)))
        if c.kind == "set":
            n = c.int(0)
            if n not in (0, 1, 2) and not (self.psm_supported and c.name == "+CEREG"
                                           and n in (3, 4, 5)):
                return self.cme_error(50)
            self.reg_n[c.name] = n
            return self.ok()
        self.error()

    @command("+COPS")
    def at_cops(self, c):
        if c.kind == "test":
            return self.answer('+COPS: (2,"%s","%s","%s",%d),,(0-4),(0-2)'
                               % (self.operator, self.operator, self.plmn, self.act))
        if c.kind == "read":
            if self.registered:
                return self.answer('+COPS: 0,0,"%s",%d' % (self.operator, self.act))
            return self.answer("+COPS: 0")
        if c.kind == "set":
            c.int(0)
            return self.ok()
        self.error()

    @command("+CGDCONT")
    def at_cgdcont(self, c):
        if c.kind == "test":
            return self.answer('+CGDCONT: (1-15),"IP",,,(0-2),(0-4)',
                               '+CGDCONT: (1-15),"IPV6",,,(0-2),(0-4)',
                               '+CGDCONT: (1-15),"IPV4V6",,,(0-2),(0-4)')
        if c.kind == "read":
            lines = ['+CGDCONT: %d,"%s","%s","0.0.0.0",0,0' % (cid, t, apn)
                     for cid, (t, apn) in sorted(self.cgdcont.items())]
            return self.answer(*lines)
        if c.kind == "set":
            cid = c.int(0)
            if len(c) == 1:
                self.cgdcont.pop(cid, None)
            else:
                self.cgdcont[cid] = (c.str(1, "IP"), c.str(2, ""))
            return self.ok()
        self.error()

    @command("+CGATT")
    def at_cgatt(self, c):
        if c.kind == "test":
            return self.answer("+CGATT: (0,1)")
        if c.kind == "read":
            return self.answer("+CGATT: %d" % (1 if self.registered and self.cgatt else 0))
        if c.kind == "set":
            v = c.int(0)
            if v not in (0, 1):
                return self.cme_error(50)
            if v and not self.registered:
                return self.cme_error(30)
            self.cgatt = v
            return self.ok()
        self.error()

    @command("+CFUN")
    def at_cfun(self, c):
        if c.kind == "test":
            return self.answer("+CFUN: (0,1,4),(0,1)")
        if c.kind == "read":
            return self.answer("+CFUN: %d" % self.cfun)
        if c.kind != "set":
            return self.error()
        fun = c.int(0)
        rst = c.int(1, 0)
        if fun not in (0, 1, 4) or rst not in (0, 1):
            return self.cme_error(50)
        if rst == 1:
            # AT+CFUN=1,1 resets the module: OK first, then the boot banner
            self.ok()
            self.after(1, self.reboot)
            return
        self.cfun = fun
        self.ok()
        if fun == 1:
            self.start_registration()
        else:
            # radio off: registration and every PDP context go, with the dialect's
            # URCs (on_network_drop)
            self.set_reg(0)
            self.network_drop(cause="me")

    @command("+CPOWD")
    def at_cpowd(self, c):
        # SIMCom AT+CPOWD (Yuge manual 4.2 has the same form): 1 -> "NORMAL POWER DOWN"
        # and no OK, 0 -> urgent, nothing at all; then the module is off
        n = c.int(0, 1)
        if c.kind != "set" or n not in (0, 1):
            return self.error()
        self.power_off(final="NORMAL POWER DOWN" if n == 1 else None)

    @command("+CCLK")
    def at_cclk(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind == "read":
            t = time.gmtime()
            return self.answer('+CCLK: "%02d/%02d/%02d,%02d:%02d:%02d+00"'
                               % (t.tm_year % 100, t.tm_mon, t.tm_mday,
                                  t.tm_hour, t.tm_min, t.tm_sec))
        self.ok()

    @command("+CMEE")
    def at_cmee(self, c):
        if c.kind == "test":
            return self.answer("+CMEE: (0-2)")
        if c.kind == "read":
            return self.answer("+CMEE: %d" % self.cmee)
        if c.kind == "set":
            v = c.int(0, 0)
            if v not in (0, 1, 2):
                return self.cme_error(50)
            self.cmee = v
            return self.ok()
        self.cmee = 0
        self.ok()

    # ------------------------------------------------------------------ transports
    def attach(self, uart, baud=None, chunk=None):
        """Wire to a FakeUART in this process and power on. Returns self."""
        from .transport import attach_fakeuart
        attach_fakeuart(self, uart, baud if baud is not None else self.baud, chunk)
        return self

    def open_pty(self, baud=None):
        """Serve on a new pseudo terminal; returns its path (e.g. /dev/pts/5)."""
        from .transport import PtyTransport
        t = PtyTransport(self, baud if baud is not None else self.baud)
        return t.path


ModemSim._build_table()


def _find_unquoted(s, ch):
    inq = False
    for i, c in enumerate(s):
        if c == '"':
            inq = not inq
        elif c == ch and not inq:
            return i
    return len(s)
