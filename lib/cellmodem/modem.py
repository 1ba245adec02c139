"""The modem: its port, its URCs (registration, boot, supply), its sockets' links and
rings, and DNS. Bring-up (sync, SIM, registration, connect) is in
cellmodem.bringup, identity and signal in cellmodem.ident, power, sleep and the gate
that stands for the port meanwhile in cellmodem.power: modules loaded on first use,
reached as methods of Modem.

The parts common to every 3GPP module live here; what differs per command family
(how the data context is brought up, its URCs and limits) comes from the dialect
module chosen by name or detected from the model.

Usage:
    from cellmodem.modem import Modem
    modem = Modem(uart, dialect="auto")
    ip = modem.connect(apn="internet")
"""
from cellmodem.at import AT
from cellmodem.errors import ATTimeout, ModemError
from cellmodem.validate import at_string, millis
from cellmodem import dialects
import errno
import sys

_FUNCTION = type(lambda: 0)
# Modem's methods that cellmodem.bringup holds (Modem.__getattr__)
_BRINGUP = ("sync", "detect", "sim_state", "registration", "wait_registered", "connect",
            "reconnect", "disconnect", "ping")
_current = [None]  # the modem most recently connected (cellmodem.socket's default)

# 3GPP 27.007 7.2/10.1.19/10.1.22 registration <stat>
REG_STAT = ("not registered", "registered, home", "searching", "denied", "unknown",
            "registered, roaming")
_REG_URCS = (b"+CREG:", b"+CGREG:", b"+CEREG:")
# Status lines a module prints while it starts (some again later): SIMCom "RDY",
# "+CFUN: 1", "+CPIN: READY", "SMS Ready", "Call Ready", "SMS DONE", "PB DONE";
# Quectel "+QIND: SMS DONE"/"PB DONE". Real modules print them at any moment of their
# first seconds, also inside the reply to a command (issue 19 item 2; users'
# captures, not our manuals). Those without ": " would pass for a bare answer (_one:
# "SMS Ready" as the model), so they are URCs; so is +CPIN, for the state it reports.
# Whether RDY means a restart is the dialect's (REBOOTED).
_BOOT_URCS = (b"RDY", b"+CPIN:", b"SMS ", b"Call Ready", b"PB DONE")
# Supply voltage URCs (public knowledge: SIMCom and Quectel hardware design notes and
# users' logs, not our manuals): SIMCom "UNDER-VOLTAGE WARNNING" (sic) / "OVER-VOLTAGE
# WARNNING" / "UNDER-VOLTAGE POWER DOWN", Quectel "UNDER_VOLTAGE WARNING" / "...
# POWER DOWN". A warning is often the only sign of the brownouts behind "random
# resets" on battery boards; after a power down the module is off.
_SUPPLY_URCS = (b"UNDER", b"OVER")


class ModemOff(ModemError):
    """The module was powered down (Modem.power_down) or put to sleep (Modem.sleep):
    the library refuses commands until it is back. .state is "off" or "asleep"."""

    def __init__(self, state, msg):
        self.state = state
        super().__init__(msg)


class Modem:
    """A cellular modem on a port (machine.UART, open_serial(), FakeUART).

    Every time in this layer (Modem, AT, the dialects) is in milliseconds, an int:
    sync_timeout, timeout= of sync/wait_registered/connect/ping/wake, poll's
    timeout_ms. A float or str there is a TypeError (most often seconds by mistake).

    dialect: "auto" (detected from AT+CGMM / ATI) or one of dialects.NAMES.
    rxbuf: receive buffer bytes (the longest line the modem may send).
    idle: callback() run while any call waits, e.g. to feed a watchdog.
    sync_timeout: ms to wait for the module to answer AT (it may still be booting).
    sock_rxbuf: receive ring bytes per socket.
    sockets: receive rings to make now, one per socket the application keeps open
      at once; a device that runs for months should set it, so reconnects reuse them
      instead of asking a fragmented heap for new blocks (0: made as needed).
    Raises ATTimeout if the module never answers; before anything is sent, TypeError
    for an argument of the wrong type (a port without write/readinto), ValueError for
    an unknown dialect; OSError(EIO, "port closed: ...") once the port failed.
    """

    def __init__(self, port, dialect="auto", rxbuf=1536, idle=None, sync_timeout=15000,
                 sock_rxbuf=4096, sockets=0):
        if dialect != "auto" and dialect not in dialects.NAMES:
            dialects.load(dialect)  # its TypeError/ValueError, before anything is sent
        millis(sync_timeout, "sync_timeout")
        self.dialect = None
        self.at = AT(port, rxbuf=rxbuf, idle=idle)
        self.reg = {}  # "+CEREG" -> last stat seen, from URCs and queries
        self.ip = None
        self.on_link_lost = None  # callback(reason) when the data link drops
        self.on_power = None  # callback(event, line): supply "under"/"over" warning, "down"
        self._cpin = None  # the SIM state the module last reported by itself (+CPIN URC)
        self.links = {}  # link id -> sockets.Link, the module's open connections
        self.sock_rxbuf = sock_rxbuf
        self.rx_mode = None  # "buffered" or "push", chosen at connect()
        self._resync = False  # the module restarted: sync again before using it
        self._settings = None  # connect()'s arguments, for reconnect()
        self.data_socket = None  # the datamode.DataSocket that has the module, if any
        # what feature modules set or hold in the module (a setting, a session): name ->
        # value; emptied when the module restarts or loses power, as its own state is
        self.module_state = {}
        self._rings = []  # receive rings of closed sockets, for the next ones
        from cellmodem.sockets import Ring
        for _ in range(sockets):  # made now, before a long run can fragment the heap
            self._rings.append(Ring(sock_rxbuf))
        self._keep = max(4, sockets)
        for prefixes, cb in ((_REG_URCS, self._on_reg_urc), (_BOOT_URCS, self._on_boot_line),
                             (_SUPPLY_URCS, self._on_supply)):
            for prefix in prefixes:
                self.at.urc(prefix, cb)
        self.sync(sync_timeout)
        if dialect == "auto":
            dialect = self.detect()
        self.dialect = dialects.load(dialect)(self)

    def __getattr__(self, name):
        # The methods a program calls rarely live in modules loaded on first use, so
        # a board spends no heap on their code while it does not call them (issue 20):
        # cellmodem.bringup (sync, detect, sim_state, registration, wait_registered,
        # connect, reconnect, disconnect, ping; dropped again once connect()
        # succeeds), cellmodem.ident (imei, imsi, iccid, model, manufacturer,
        # firmware, info, unlock, signal, operator, network_time, status, ipconfig)
        # and cellmodem.power (power_features, power_down, set_functionality,
        # functionality, sleep, wake, active). modem.connect() is still a call on
        # the modem.
        if name[0] != "_":
            if name in _BRINGUP:
                from cellmodem import bringup
                f = getattr(bringup, name, None)
            else:
                import cellmodem.ident
                f = getattr(cellmodem.ident, name, None)
                if type(f) is not _FUNCTION:  # power's: a signal() loads none of its code
                    import cellmodem.power
                    f = getattr(cellmodem.power, name, None)
            if type(f) is _FUNCTION:
                return lambda *a, **kw: f(self, *a, **kw)
        raise AttributeError(name)

    # ---- the application's hooks ----
    def urc(self, prefix, callback):
        """Call callback(line) for every unsolicited line starting with prefix (bytes)
        that the library does not handle itself; line is a Line (copy what you keep:
        line.bytes(), line.str(), line.int(n), line.field(n))."""
        self.at.urc(prefix, callback)

    def poll(self, timeout_ms=0):
        """Read and dispatch what the modem sent (URCs), waiting up to timeout_ms (int,
        ms). Sockets, commands and waits do this by themselves."""
        return self.at.poll(millis(timeout_ms, "timeout_ms"))

    # ---- queries (cellmodem.bringup, cellmodem.ident, cellmodem.power) ----
    def _one(self, cmd, prefix=None):
        # The answer is "<prefix> value" or the value alone on a line. A URC the
        # library does not know ("DST: 0", "*PSUTTZ: ...") can land between the
        # command and its OK, so a bare value is the first line that does not look
        # like one ("+X: ...", "*X: ...", "NAME: ...").
        # A prefix given as bytes is strict: only that line answers (it is also a URC,
        # as +CPIN: and +CFUN: are, so it must be claimed as the command's).
        strict = isinstance(prefix, bytes)
        lines = self.at.command(cmd, resp=prefix if strict else None)
        if strict:
            prefix = prefix.decode()
        bare = None
        prefixes = prefix if isinstance(prefix, tuple) else ((prefix,) if prefix else ())
        for l in lines:
            s = l.decode().strip()
            for p in prefixes:
                if s.startswith(p):
                    return s[len(p):].strip().strip('"')
            if s and bare is None and s[0] not in "+*^" and ": " not in s:
                bare = s.strip('"')
        if bare is not None:
            return bare
        raise ModemError("%s gave no answer line" % cmd)

    def _on_reg_urc(self, line):
        # URC form: "+CEREG: <stat>[,<tac>,...]" (27.007 10.1.22)
        prefix = line.bytes()[:line.find(b":")]
        self.reg[prefix.decode()] = line.int(0, 4)

    # ---- the data link ----
    def take_ring(self):
        """A receive ring of sock_rxbuf bytes for a new socket: one a closed socket
        gave back, else a new one."""
        from cellmodem.sockets import Ring
        if self._rings:
            r = self._rings.pop()
            r.clear()
            return r
        return Ring(self.sock_rxbuf)

    def give_ring(self, ring):
        if ring is not None and ring.size == self.sock_rxbuf and len(self._rings) < self._keep:
            self._rings.append(ring)

    def resolve(self, host):
        """host's IPv4 address (str) by the module's DNS; a dotted address as is.
        Raises ValueError for a bad name (nothing sent), OSError if it does not resolve
        (EIO for an answer that is no address: garbled on the line)."""
        host = at_string(host, "host name", 253, empty=False)
        if _is_ipv4(host):
            return host
        try:
            ip = self.dialect.resolve(host)
        except ModemError as e:  # as a socket reports it (found by the fault soak)
            raise self._oserror(e)
        if not _is_ipv4(ip):  # an answer garbled on the line (the fault soak again)
            raise OSError(errno.EIO, "cannot resolve %s: garbled answer" % host)
        return ip

    def _oserror(self, e):
        """A library error during a network call as the OSError a socket user expects:
        the module restarted -> ECONNRESET, no answer in time -> ETIMEDOUT, else EIO
        (the module's own text kept)."""
        if self._resync:
            return OSError(errno.ECONNRESET, "the modem restarted: %s" % e)
        if isinstance(e, ATTimeout):
            return OSError(errno.ETIMEDOUT, str(e))
        return OSError(errno.EIO, str(e))

    def isconnected(self):
        return self.ip is not None and self.dialect.link_up

    def ifconfig(self):
        """(ip, None, None, None) like network.WLAN.ifconfig(); no netmask or DNS is known."""
        return (self.ip or "0.0.0.0", None, None, None)

    # network.WLAN's names, as MicroPython users know them

    def link_lost(self, reason):
        """Called by the dialect on a network-lost URC: marks the link down and
        fails every open socket with OSError(ECONNABORTED)."""
        self.ip = None
        self._fail_links(OSError(errno.ECONNABORTED, "network lost: %s" % reason))
        if self.on_link_lost:
            self.on_link_lost(reason)

    def rebooted(self, reason):
        """Called by the dialect when the module printed its power-on banner: every
        socket fails with OSError(ECONNRESET); the next connect() syncs again. A
        module that was powered down or asleep is on and awake again."""
        self._ungate()
        self._lost(reason, "the modem restarted (%s)")

    def _lost(self, reason, text):
        self._resync = True
        self.module_state.clear()
        self._cpin = None
        self.ip = None
        self._fail_links(OSError(errno.ECONNRESET, text % reason))
        if self.on_link_lost:
            self.on_link_lost(reason)

    def _on_boot_line(self, line):
        if line.startswith(b"+CPIN:"):
            self._cpin = line.str()[6:].strip()

    def _on_supply(self, line):
        # "UNDER-VOLTAGE WARNNING", "OVER_VOLTAGE POWER DOWN", ... (see _SUPPLY_URCS)
        text = line.str()
        if line.find(b"DOWN") < 0:
            if self.on_power:
                self.on_power("under" if text[0] == "U" else "over", text)
            return
        from cellmodem.power import _lost_supply  # the module is off: cellmodem.power
        _lost_supply(self, text)

    def _ungate(self):
        """Put the real port back from the power gate (cellmodem.power: off, asleep);
        returns the gate that was there, or None."""
        gate = self.at.port
        if getattr(gate, "power_gate", False):
            self.at.port = gate.port
            return gate
        return None

    def _fail_links(self, exc):
        for link in self.links.values():
            link.fail(exc)
            for child in link.incoming:
                child.fail(exc)
        self.links.clear()


def forget(name):
    """Drop cellmodem.<name>, a module loaded for one use (cellmodem.bringup, a
    dialect's UP module, cellmodem._mqttopen), from sys.modules and its package, so
    its code goes with the next collection once no call of it runs; the next use
    imports it again.

    Only on MicroPython, where the heap is a board's: on CPython several threads may
    connect() at once (the tests do), and importlib looks a module up in sys.modules
    again after running it, so one another thread dropped in between fails that
    import with KeyError (a busy-machine CI run did)."""
    if sys.implementation.name == "micropython":
        full = "cellmodem." + name
        sys.modules.pop(full, None)
        i = full.rfind(".")
        pkg = sys.modules.get(full[:i])  # cellmodem, or cellmodem.dialects
        if pkg is not None and full[i + 1:] in pkg.__dict__:
            delattr(pkg, full[i + 1:])


def current():
    """The modem most recently connected, or None."""
    return _current[0]


def _is_ipv4(s):
    parts = s.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p.isdigit() or int(p) > 255:
            return False
    return True

