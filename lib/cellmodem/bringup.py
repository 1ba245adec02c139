"""Bringing a modem up: AT sync, the family's detection, the SIM, registration, the
data context (connect/reconnect/disconnect) and ping.

Modem reaches these through its __getattr__ (cellmodem.modem), so modem.connect(...)
is a call on the modem as before; the module is loaded for the call and dropped from
sys.modules when connect() succeeds and after each disconnect() or ping(), so a
board's heap holds its code while it brings the link up and not for the rest of the
run (issue 20), nor while a sensor sleeps disconnected. A later call (a reconnect)
loads it again.
Usage: ip = modem.connect(apn="internet")
"""
import errno

from cellmodem.compat import ticks_ms, ticks_diff, ticks_add, sleep_ms
from cellmodem.errors import ATError, ATTimeout, ModemError, SIMError, NetworkError
from cellmodem.validate import at_string, millis
from cellmodem import dialects
from cellmodem import modem as _modem


def sync(modem, timeout=15000):
    """Send AT until the module answers OK (it may be booting or echoing), then
    turn echo off and errors verbose. Also the way back after power_down() (once
    the board powered the module on) or sleep(): a module that answers is on and
    awake. Raises ATTimeout after timeout ms (int; the power/sleep state stays)."""
    millis(timeout)
    at = modem.at
    gate = modem._ungate()
    deadline = ticks_add(ticks_ms(), timeout)
    while True:
        try:
            at.command("AT", timeout=500)
            # echo on (V.250's power-on default): nobody set ATE0 since the
            # module started; cellmodem.resume reads this
            modem.fresh = at.engine.echo_seen
            # A starting module may still lose a command (issue 19 item 2): these
            # two are retried with the AT, each given 2 s (manuals: 300 ms).
            at.command("ATE0", timeout=2000)
            at.command("AT+CMEE=2", timeout=2000)
            break
        except ModemError:  # no answer yet, ERROR, or its banner cut the AT short
            if ticks_diff(deadline, ticks_ms()) <= 0:
                if gate is not None:
                    at.port = gate
                raise ATTimeout("AT", timeout, "answer from the module")
            sleep_ms(100)


def detect(modem):
    """The dialect name for this module, from AT+CGMM (then ATI)."""
    for cmd in ("AT+CGMM", "ATI"):
        try:
            text = " ".join(l.decode() for l in modem.at.command(cmd))
        except ATError:
            continue
        name = dialects.detect(text)
        if name:
            return name
    raise ValueError("cannot tell the modem's command family from %r; pass dialect=" % text)


def sim_state(modem):
    """"READY", "SIM PIN", "SIM PUK", ... or "NOT INSERTED" (CME 10)."""
    try:
        return modem._one("AT+CPIN?", b"+CPIN:")
    except ATError as e:
        if e.code == 10 or "not inserted" in e.text.lower():
            return "NOT INSERTED"
        raise


def registration(modem):
    """Best registration stat over CREG/CGREG/CEREG (0-5, see REG_STAT), queried now."""
    best = 0
    for prefix in _modem._REG_URCS:
        cmd = "AT" + prefix[:-1].decode() + "?"
        out = []
        try:
            modem.at.command(cmd, resp=prefix, on_line=lambda l: out.append(l.int(1, 4)))
        except ATError:
            continue  # not every module has all three
        if out:
            modem.reg[prefix[:-1].decode()] = out[0]
            if out[0] in (1, 5):
                return out[0]
            if out[0] == 3 or best == 0:
                best = out[0]
    return best


def wait_registered(modem, timeout=60000):
    """Wait until registered (home or roaming). Raises NetworkError when the
    network denies registration or timeout ms (int) pass."""
    millis(timeout)
    deadline = ticks_add(ticks_ms(), timeout)
    while True:
        stat = registration(modem)
        if stat in (1, 5):
            return stat
        if stat == 3:
            raise NetworkError("registration denied by the network")
        if ticks_diff(deadline, ticks_ms()) <= 0:
            raise NetworkError("not registered after %d ms (%s)" % (timeout, _modem.REG_STAT[stat]))
        modem.at.poll(200)  # URCs handled meanwhile; registration is queried again


def connect(modem, apn="", user=None, password=None, timeout=60000, rx_mode=None,
            resume=False):
    """Bring up the data context; returns the local IP address (str).

    Waits for registration, then runs the dialect's activation; timeout (int, ms)
    bounds each. rx_mode: "buffered" (the module holds received data until read;
    the default) or "push" (the module sends it as it comes), where the family has it.
    resume: the board slept and the module did not (cellmodem.resume): no SIM or
    registration checks, the activation reuses the context the module still
    holds; a full bring-up follows if that fails.
    Before anything is sent: TypeError for an argument of the wrong type,
    ValueError for a bad APN/user/password/rx_mode. Then SIMError, NetworkError
    (registration denied or not reached; a context the module did not activate:
    NetworkError('data context not activated with APN "<apn>": <command>: <the
    module's words> (<its code>)'), with .apn, .code, .text, .command - the same
    on every family), ATError for another refused command, ATTimeout."""
    apn = at_string(apn, "APN", 63)
    user = at_string(user or "", "user", 63)
    password = at_string(password or "", "password", 63, secret=True)
    millis(timeout)
    modem.at.secret(password)
    modes = modem.dialect.RX_MODES
    rx_mode = rx_mode or modem.rx_mode or modes[0]
    if rx_mode not in modes:
        raise ValueError("%s receive modes are %s, not %r" % (modem.dialect.NAME, modes, rx_mode))
    deadline = ticks_add(ticks_ms(), timeout)
    while True:
        if modem._resync:
            sync(modem)
            modem._resync = False  # a banner read while syncing was this boot's
        try:
            if resume:
                modem.dialect.link_up = True  # the module's network is ours already
            else:
                state = _sim_settled(modem, 10000)
                if state != "READY":
                    raise SIMError(state)
                wait_registered(modem, timeout)
            modem.rx_mode = rx_mode
            modem.dialect.push = rx_mode == "push"
            modem.ip = modem.dialect.activate(apn, user, password, timeout)
            if not modem._resync:
                break
            modem.ip = None
        except ModemError:
            if resume:
                resume = False  # not what was left: the whole bring-up
                modem.dialect.link_up = False
                continue
            if not modem._resync:
                raise
        # The module restarted meanwhile (its banner: a brownout, a watchdog, the
        # late end of its own power-on): bring-up starts again while the deadline
        # allows; any other failure is the answer.
        if ticks_diff(deadline, ticks_ms()) <= 0:
            raise ModemError("the modem kept restarting during connect()")
    modem._settings = (apn, user, password, timeout, rx_mode)
    _modem._current[0] = modem
    if not resume and "defects" not in modem.module_state:
        from cellmodem.defects import once  # known firmware defects: a warning
        once(modem)
        _modem.forget("defects")
    _modem.forget("bringup")  # the link is up: this module's code goes once this returns
    return modem.ip


def reconnect(modem):
    """connect() again with the settings of the last successful connect() (after a
    network drop or a restart of the module); returns the local IP. Raises as
    connect() does, or ModemError if connect() never succeeded."""
    if modem._settings is None:
        raise ModemError("reconnect() needs an earlier connect()")
    apn, user, password, timeout, rx_mode = modem._settings
    return connect(modem, apn, user, password, timeout, rx_mode)


def _sim_settled(modem, timeout):
    # Right after power-on the SIM may still be read: CME 14 "SIM busy" (27.007
    # 9.2), "+CPIN: NOT READY", or on real modules a plain ERROR (issue 19 item 2;
    # users' captures, not our manuals): asked again until timeout ms. A SIM the
    # module itself reported ready (+CPIN: READY URC) is ready whatever the
    # refusal says.
    deadline = ticks_add(ticks_ms(), timeout)
    state = "NOT READY"
    while True:
        try:
            state = sim_state(modem)
            if state != "NOT READY":
                return state
        except ATError as e:
            if e.code != 14 and "busy" not in e.text.lower() and e.text != "ERROR":
                raise
            if modem._cpin == "READY":
                return "READY"
            if ticks_diff(deadline, ticks_ms()) <= 0:
                raise
        except ModemError:
            # OK without a +CPIN: line: a late OK of an earlier command answered in
            # its place while the module was starting (the fault soak, sim7600 with
            # stale answers after a brownout): asked again
            if ticks_diff(deadline, ticks_ms()) <= 0:
                raise
        if ticks_diff(deadline, ticks_ms()) <= 0:
            return state
        modem.at.poll(200)


def disconnect(modem):
    """Close every socket and deactivate the data context."""
    try:
        if modem.data_socket is not None:
            modem.data_socket.close()  # out of data mode first: the rest are AT commands
        for link in list(modem.links.values()):
            try:
                modem.dialect.sock_close(link)
            except (ModemError, OSError):
                pass
            link.fail(OSError(errno.ENOTCONN, "modem disconnected"))
        modem.links.clear()
        modem.dialect.deactivate()
        modem.ip = None
    finally:
        _modem.forget("bringup")  # a sensor that sleeps disconnected keeps none of it


def ping(modem, host, timeout=10000):
    """Round-trip time in ms of one ping to host (name or address). OSError if
    no reply within timeout ms (int)."""
    host = at_string(host, "host name", 253, empty=False)
    millis(timeout)
    try:
        return modem.dialect.ping(host, timeout)
    except ModemError as e:
        raise modem._oserror(e)
    finally:
        _modem.forget("bringup")
