"""A Raspberry Pi Pico (RP2040) wired to a cellular module: the board file.

Pins assumed (GPxx numbers; pass others to modem()), as on Waveshare's
Pico-SIM7080G-Cat-M/NB-IoT board:
    UART0   TX=GP0 -> module RXD, RX=GP1 <- module TXD, 115200 8N1
    PWRKEY  GP14 through an NPN transistor (GP14 high = key pressed)
    RESET   none (reset=<gp>: through an NPN, high = reset held)
    STATUS  none (status=<gp>: input, high while the module runs)
    DTR     none (dtr=<gp>: driven low, so the module never sleeps on UART)
The Pico's 3V3 output cannot feed a module: power it from its own supply
(SIMCom modules draw 2 A peaks) with a common ground.

Usage (copied to the board as board.py):
    import board
    modem = board.modem(module="sim7080")   # powers the module on if it is silent
    board.power_off(); board.power_on(); board.reset()
"""
from machine import Pin, UART
from cellmodem.compat import sleep_ms, ticks_ms, ticks_diff
from cellmodem.modem import Modem

# PWRKEY/RESET pulse lengths and boot time in ms per module family:
# (power-on pulse, power-off pulse, reset pulse, boot time until AT answers)
# sim7080: SIM7080G hardware design Ton >= 1 s, Toff >= 1.2 s (LilyGO T-SIM7080G
#          examples: 1000/1300); no RESET pin (PWRKEY held long resets it).
# sim7600: SIM7600 hardware design Ton 500 ms typ., Toff >= 2.5 s, RESET low 2-2.5 s;
#          UART ready after ~15 s (LilyGO T-SIM7600 MODEM_START_WAIT_MS).
# a7670:   A7670 hardware design Ton >= 50 ms (LilyGO uses 100), Toff >= 2.5 s
#          (LilyGO uses 3000), RESET 2.6 s (LilyGO T-A7670 examples).
# quectel: BG96 hardware design 3.7: PWRKEY low >= 500 ms on, >= 650 ms off,
#          RESET_N low 150-460 ms.
# yuge:    the EC716S AT manual gives no pin timing; 1000 ms is above every
#          family's minimum here. Check your module's hardware notes.
TIMING = {
    "sim7080": (1000, 1300, None, 10000),
    "sim7600": (500, 3000, 2500, 30000),
    "a7670": (100, 3000, 2600, 15000),
    "quectel": (500, 650, 300, 15000),
    "yuge": (1000, 1500, None, 15000),
}

_uart = None
_pins = {}
_timing = TIMING["sim7080"]


def setup(module="sim7080", uart_id=0, tx=0, rx=1, baud=115200, pwrkey=14,
          pwrkey_active=1, reset=None, reset_active=1, status=None, dtr=None):
    """Configure the UART and control pins; returns the UART."""
    global _uart, _timing
    _timing = TIMING[module]
    _uart = UART(uart_id, baud, tx=Pin(tx), rx=Pin(rx), rxbuf=2048)
    _pins.clear()
    if pwrkey is not None:
        _pins["pwrkey"] = (Pin(pwrkey, Pin.OUT, value=1 - pwrkey_active), pwrkey_active)
    if reset is not None:
        _pins["reset"] = (Pin(reset, Pin.OUT, value=1 - reset_active), reset_active)
    if status is not None:
        _pins["status"] = Pin(status, Pin.IN)
    if dtr is not None:
        _pins["dtr"] = Pin(dtr, Pin.OUT, value=0)
    return _uart


def uart():
    """The modem's UART (after setup() or modem())."""
    return _uart


def _pulse(name, ms):
    pin, active = _pins[name]
    pin.value(active)
    sleep_ms(ms)
    pin.value(1 - active)


def answers(timeout_ms=1500):
    """True once the module runs within timeout_ms: STATUS high where wired,
    else an answer OK to AT (sent every 500 ms)."""
    status = _pins.get("status")
    buf = bytearray(64)
    seen = b""
    start = ticks_ms()
    sent = None
    while True:
        now = ticks_ms()
        if status is not None:
            if status.value():
                return True
        else:
            if sent is None or ticks_diff(now, sent) >= 500:
                _uart.write(b"AT\r")
                sent = now
            n = _uart.readinto(buf)
            if n:
                seen = (seen + bytes(buf[:n]))[-32:]
                if b"OK" in seen:
                    return True
                continue
        if ticks_diff(now, start) >= timeout_ms:
            return False
        sleep_ms(20)


def power_on():
    """Press PWRKEY for the module's power-on time unless it already answers;
    then wait up to its boot time for AT. Returns True once it answers."""
    if answers():
        return True
    _pulse("pwrkey", _timing[0])
    return answers(_timing[3])


def power_off():
    """Press PWRKEY for the module's power-off time if it runs (PWRKEY toggles:
    a press on a module that is off would turn it on), then wait for STATUS low
    (up to 30 s) or 3 s without a STATUS pin."""
    if not answers():
        return
    _pulse("pwrkey", _timing[1])
    status = _pins.get("status")
    start = ticks_ms()
    while status is not None and status.value() and ticks_diff(ticks_ms(), start) < 30000:
        sleep_ms(100)
    if status is None:
        sleep_ms(3000)


def reset():
    """Hold RESET for the module's reset time (or power off, then on, without a
    RESET pin); returns True once it answers again."""
    if "reset" in _pins and _timing[2]:
        _pulse("reset", _timing[2])
        return answers(_timing[3])
    power_off()
    return power_on()


def modem(dialect="auto", module="sim7080", power=True, **kw):
    """Set up the pins, power the module on, return a ready Modem.

    Keywords of setup() (pins, baud) go to setup(); the rest to Modem()."""
    pins = {}
    for k in ("uart_id", "tx", "rx", "baud", "pwrkey", "pwrkey_active", "reset",
              "reset_active", "status", "dtr"):
        if k in kw:
            pins[k] = kw.pop(k)
    setup(module, **pins)
    if power and "pwrkey" in _pins:
        power_on()
    kw.setdefault("sync_timeout", _timing[3])
    return Modem(_uart, dialect=dialect, **kw)
