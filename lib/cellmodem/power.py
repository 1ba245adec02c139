"""Power and sleep, loaded on first use: the family's power-down command, AT+CFUN
levels (and network.WLAN's active()), UART sleep with DTR, and waking.

What each family offers is its dialect's POWER table (lib/cellmodem/dialects/). The
library has no pins: PWRKEY and DTR belong to the board files (boards/*.py), so
sleep() and wake() take the DTR line as an argument. Modem reaches these through its
__getattr__ (cellmodem.modem): modem.power_down() works as a method, and a board that
never calls them spends no heap on this code (issue 20).
While the module is off or asleep a gate stands for the port (_Gate): commands raise
ModemOff before any byte reaches the module; Modem._ungate and sync() take it away.
Usage: modem.sleep(True, dtr=Pin(42, Pin.OUT)); modem.wake(dtr=Pin(42, Pin.OUT))
"""
import errno

from cellmodem.compat import sleep_ms
from cellmodem.errors import ModemError
from cellmodem.modem import ModemOff
from cellmodem.validate import millis


def power_features(modem):
    """What this family offers, e.g. {"power_down": "AT+CPOWD=1", "power_down_urc":
    "NORMAL POWER DOWN", "sleep": "AT+CSCLK", "uart_wakes": False, "cfun": (0, 1,
    4), "psm": True (cellmodem.psm: PSM and eDRX)}; a feature the family lacks is absent."""
    p = modem.dialect.POWER
    out = {}
    if "power_down" in p:
        cmd, line = p["power_down"][:2]
        out["power_down"] = cmd
        out["power_down_urc"] = line.decode() if line else None
    for key in ("sleep", "uart_wakes", "cfun", "psm"):
        if key in p:
            out[key] = p[key]
    return out


def _feature(modem, key, what):
    v = modem.dialect.POWER.get(key)
    if v is None:
        raise OSError(errno.EOPNOTSUPP, "%s modules have no %s" % (modem.dialect.NAME, what))
    return v


def power_down(modem):
    """Power the module down with the family's command (AT+CPOWD=1, AT+QPOWD=1,
    AT+CPOF) and wait for its last line ("NORMAL POWER DOWN", "POWERED DOWN", or
    OK) up to the family's maximum (9-65 s, see the dialect's POWER). Every socket
    fails with OSError(ENODEV); then every command raises ModemOff until the
    module prints its power-on banner or sync() finds it answering (the board
    powers it on: PWRKEY). Raises OSError(EOPNOTSUPP) if the family has no such
    command, ATTimeout if the last line does not come (the state is unknown)."""
    cmd, line, ok_first, ms = _feature(modem, "power_down", "power-down command")
    finals = ((line, True),) if line else None
    modem.at.command(cmd, finals=finals, ok_final=not (line and ok_first), timeout=ms)
    modem.ip = None
    modem.dialect.link_up = False
    modem.reg = {}
    modem._fail_links(OSError(errno.ENODEV, "the modem was powered down"))
    _gate(modem, "off", "the modem is powered down (power_down()): power it on, "
                        "then sync()")


def set_functionality(modem, level):
    """AT+CFUN=<level>: 1 full, 4 radio off (flight mode), 0 minimum (27.007 8.2;
    Yuge 4.1); up to 45 s (timeouts.py, Yuge 1.4). Below 1 the network is gone:
    sockets fail with OSError(ECONNABORTED) and connect() is needed after level 1.
    Raises ValueError for a level the family does not list (nothing sent),
    OSError(EOPNOTSUPP) if it has none, ATError if the module refuses."""
    levels = _feature(modem, "cfun", "AT+CFUN levels")
    if level not in levels:
        raise ValueError("%s AT+CFUN levels are %s, not %r" % (modem.dialect.NAME, levels, level))
    modem.at.command("AT+CFUN=%d" % level)
    if level != 1:
        modem.dialect.link_up = False
        modem.reg = {}
        if modem.ip is not None or modem.links:
            modem.link_lost("radio off (AT+CFUN=%d)" % level)


def functionality(modem):
    """The AT+CFUN level now (int; 1 full, 4 radio off, 0 minimum)."""
    return int(modem._one("AT+CFUN?", b"+CFUN:"))


def sleep(modem, enable=True, dtr=None):
    """UART sleep (AT+CSCLK=1; Quectel AT+QSCLK=1). enable=True: the module may
    sleep while its DTR line is high (Yuge: AP_WAKEUP_MODULE), so pass the board's
    DTR as dtr (a machine.Pin or a callable(level)) to have it set high after the
    command; the board files drive DTR low (awake) by default. Until wake() (or
    sync()) commands raise ModemOff. enable=False: wake(dtr), then the command with
    0 (no sleep). Raises OSError(EOPNOTSUPP) if the family has no UART sleep."""
    cmd = _feature(modem, "sleep", "UART sleep command")
    if not enable:
        wake(modem, dtr)
        modem.at.command(cmd + "=0")
        return
    modem.at.command(cmd + "=1")
    if dtr is not None:
        _drive(dtr, 1)
    _gate(modem, "asleep", "the modem may be asleep (sleep()): call wake() first")


def wake(modem, dtr=None, timeout=5000):
    """Wake the module after sleep(): DTR low (dtr: a machine.Pin or a
    callable(level)), the family's wake time (about 50 ms), then AT until it
    answers (a Yuge module may lose the first AT that wakes it). Sleep stays
    enabled: DTR high again lets it sleep. Raises ATTimeout after timeout ms
    (int; the modem then still counts as asleep)."""
    millis(timeout)
    if dtr is not None:
        _drive(dtr, 0)
    sleep_ms(modem.dialect.POWER.get("wake_ms", 50))
    modem.sync(timeout)


def active(modem, is_active=None):
    """Whether the radio is on (AT+CFUN? is 1), as network.WLAN.active();
    active(True) turns it on (AT+CFUN=1), active(False) off (flight mode: AT+CFUN=4,
    or 0 where the family has no 4; open sockets fail). See set_functionality."""
    if is_active is None:
        return functionality(modem) == 1
    set_functionality(modem, 1 if is_active else
                      (4 if 4 in _feature(modem, "cfun", "AT+CFUN levels") else 0))


def _drive(pin, level):
    """Set a DTR line: a machine.Pin (or anything with value()) or a callable(level)."""
    if hasattr(pin, "value"):
        pin.value(level)
    else:
        pin(level)


class _Gate:
    """Stands in for the port while the module is off or asleep: reads go on (so a
    power-on banner is still seen), a write raises ModemOff and ends the command that
    tried it, before any byte reaches the module."""

    power_gate = True  # what Modem._ungate looks for (data mode has a gate of its own)

    def __init__(self, port, engine, state, msg):
        self.port = port
        self.engine = engine
        self.state = state
        self.msg = msg
        if hasattr(port, "any"):
            self.any = port.any

    def write(self, data):
        e = ModemOff(self.state, self.msg)
        self.engine.abort(e)  # the command begun is over: the engine is idle again
        raise e

    def readinto(self, buf):
        return self.port.readinto(buf)


def _gate(modem, state, msg):
    # the port behind a gate: state "off" or "asleep", msg the ModemOff text
    modem._ungate()  # a gate already there: the new one stands for the real port
    at = modem.at
    at.port = _Gate(at.port, at.engine, state, msg)


def _lost_supply(modem, text):
    # Modem._on_supply for a power-down line: as good as a restart, except that the
    # module is off until the supply recovers (it boots again by itself on a board that
    # holds PWRKEY, else the board powers it on). The command in flight never gets its
    # answer.
    if modem.dialect:
        modem.dialect.link_up = False
    modem.at.engine.abort(ModemError("the modem lost power (%s)" % text))
    modem._lost(text, "the modem lost power (%s)")
    _gate(modem, "off", "the modem lost power (%s): off until its banner or sync()" % text)
    if modem.on_power:
        modem.on_power("down", text)
