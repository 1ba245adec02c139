"""What the board files share: the module's control pins and power key, and a ready Modem.

MicroPython only (machine.Pin, time.sleep_ms). A board file (board.py on the board)
opens its UART, hands it to setup() with its pin table, and takes answers(),
power_on(), power_off(), reset() and uart() from here as they are. tools.deploy
copies this module to the board (compiled, into /lib) with every board file but unix.py.
"""
import time
from machine import Pin
from cellmodem.errors import ModemError
from cellmodem.modem import Modem

# Per module, in ms: (PWRKEY press that powers it on, PWRKEY press that powers it off,
# RESET pulse (None: no RESET line), time from power-on until AT answers,
# time after the power-off press until it is off, where no STATUS pin tells).
# None of these is in the manuals in ../shared/manuals (they are AT command manuals):
# the figures are from the modules' hardware design documents and LilyGO's board
# examples as publicly known, not checked against a document here:
# sim7080: SIM7080G hardware design: PWRKEY low >= 1 s powers on, >= 1.2 s powers off
#          (LilyGO's T-SIM7080G examples: 1000 and 1300 ms); no RESET pin.
# sim7600: SIM7600 hardware design: power-on press 500 ms typical, power-off >= 2.5 s,
#          RESET low 2-2.5 s; the UART answers ~15 s after power-on (LilyGO T-SIM7600:
#          500/3000 ms, MODEM_START_WAIT_MS).
# a7670:   A7670 hardware design: power-on press >= 50 ms (LilyGO uses 100 ms),
#          power-off >= 2.5 s (LilyGO 3000 ms), RESET 2.6 s (LilyGO's T-A7670 examples).
# quectel: BG96 hardware design 3.7: PWRKEY low >= 500 ms on, >= 650 ms off,
#          RESET_N low 150-460 ms.
# yuge:    no pin timing is published for the EC716S modules (the AT manual here has
#          none): 1000/1500 ms are guesses above every other family's minimum. Its
#          UART autobauds (manual 4.6): the AT that answers() sends trains it.
# The shutdown waits without STATUS are margins, not documented figures.
TIMING = {
    "sim7080": (1000, 1300, None, 10000, 3000),
    "sim7600": (500, 3000, 2500, 30000, 5000),
    "a7670": (100, 3000, 2600, 15000, 5000),
    "quectel": (500, 650, 300, 15000, 3000),
    "yuge": (1000, 1500, None, 15000, 3000),
}

_uart = None
_pins = {}  # "pwrkey"/"reset": (Pin, active level); "status": Pin
_timing = TIMING["sim7080"]


def pins(table, given):
    """The board's pin table with the keywords given (a name it lacks is a TypeError)."""
    for k in given:
        if k not in table:
            raise TypeError("unknown pin setting %r; known: %s" % (k, ", ".join(sorted(table))))
    p = dict(table)
    p.update(given)
    return p


def take(table, kw):
    """Remove the keywords that name pins in table from kw; returns them."""
    return {k: kw.pop(k) for k in list(kw) if k in table}


def setup(module, uart, p):
    """Drive the pins of p (a board's table) to their idle levels and keep uart:
    p["hold"] pins high (supply switches, FLIGHT), PWRKEY and RESET released, DTR low
    (awake), STATUS an input. module picks TIMING. Returns uart."""
    global _uart, _timing
    if module not in TIMING:
        raise ValueError("unknown module %r; known: %s" % (module, ", ".join(sorted(TIMING))))
    _timing = TIMING[module]
    _pins.clear()
    for n in p.get("hold", ()):
        Pin(n, Pin.OUT, value=1)
    for name in ("pwrkey", "reset"):
        n = p.get(name)
        if n is not None:
            active = p.get(name + "_active", 1)
            _pins[name] = (Pin(n, Pin.OUT, value=1 - active), active)
    if p.get("status") is not None:
        _pins["status"] = Pin(p["status"], Pin.IN)
    if p.get("dtr") is not None:
        Pin(p["dtr"], Pin.OUT, value=0)
    _uart = uart
    return uart


def uart():
    """The modem's UART (after setup() or modem())."""
    return _uart


def press(name, ms):
    """Hold the pin name ("pwrkey", "reset") active for ms, then release it."""
    pin, active = _pins[name]
    pin.value(active)
    time.sleep_ms(ms)
    pin.value(1 - active)


def answers(timeout_ms=1500):
    """True once the module runs within timeout_ms: STATUS high where wired, else an
    OK to AT (sent every 500 ms; what follows that OK is read and dropped)."""
    status = _pins.get("status")
    buf = bytearray(64)
    seen = b""
    start = time.ticks_ms()
    sent = None
    while True:
        now = time.ticks_ms()
        if status is not None:
            if status.value():
                return True
        else:
            if sent is None or time.ticks_diff(now, sent) >= 500:
                _uart.write(b"AT\r")
                sent = now
            n = _uart.readinto(buf)
            if n:
                seen = (seen + bytes(buf[:n]))[-32:]
                if b"OK" in seen:
                    time.sleep_ms(100)  # a late OK to an earlier AT: not the Modem's
                    while _uart.readinto(buf):
                        pass
                    return True
                continue
        if time.ticks_diff(now, start) >= timeout_ms:
            return False
        time.sleep_ms(20)


def power_on():
    """Press PWRKEY for the module's power-on time unless it already runs, then
    wait up to its boot time. True once it runs."""
    if answers():
        return True
    press("pwrkey", _timing[0])
    return answers(_timing[3])


def power_off():
    """Press PWRKEY for the module's power-off time if it runs (PWRKEY toggles: a
    press on a module that is off turns it on), then wait until STATUS goes low (up
    to 30 s) or, without STATUS, the module's shutdown time."""
    if not answers():
        return
    press("pwrkey", _timing[1])
    status = _pins.get("status")
    if status is None:
        time.sleep_ms(_timing[4])
        return
    start = time.ticks_ms()
    while status.value() and time.ticks_diff(time.ticks_ms(), start) < 30000:
        time.sleep_ms(100)


def deep_sleep(ms):
    """Sleep the MCU for ms and wake into main.py again (machine.deepsleep: RAM is
    lost). Power the module down first (modem.power_down()) or it keeps drawing."""
    import machine
    machine.deepsleep(ms)


def reset():
    """Pulse RESET for the module's reset time where the board has it, else power
    off and on; True once the module runs again."""
    if "reset" in _pins and _timing[2]:
        press("reset", _timing[2])
        return answers(_timing[3])
    power_off()
    return power_on()


def modem(dialect="auto", power=True, kw=None):
    """A Modem on the UART of setup(), the module powered on first if power and the
    board has PWRKEY; kw go to Modem() (sync_timeout defaults to the boot time)."""
    kw = kw or {}
    if power and "pwrkey" in _pins and not power_on():
        raise ModemError("no answer to AT after pressing PWRKEY for %d ms and waiting %d ms:"
                         " check the module's supply and the pins in board.py"
                         % (_timing[0], _timing[3]))
    kw.setdefault("sync_timeout", _timing[3])
    return Modem(_uart, dialect=dialect, **kw)
