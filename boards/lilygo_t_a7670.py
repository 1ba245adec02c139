"""LilyGO T-A7670 (ESP32 + SIMCom A7670E/G/SA) and T-SIM7600 (ESP32 + SIM7600): the board file.

Pins assumed (ESP32 GPIO, from LilyGO's T-A76XX pin definitions); variant= picks:
  "a7670" (T-A7670X, default):
    UART1   RX=27 <- module TXD, TX=26 -> module RXD, 115200 8N1
    POWERON GPIO12 high: the module's supply switch (held high while in use)
    PWRKEY  GPIO4 through a transistor (GPIO high = key pressed)
    RESET   GPIO5 through a transistor (GPIO high = reset held)
    DTR     GPIO25, driven low (the module does not sleep on UART); RI GPIO33
  "sim7600" (T-SIM7600X):
    UART1   RX=26 <- module TXD, TX=27 -> module RXD, 115200 8N1
    PWRKEY  GPIO4 through a transistor (GPIO high = key pressed)
    FLIGHT  GPIO25 high: normal mode (low = flight mode)
    STATUS  GPIO34 input, high while the module runs
    DTR     GPIO32, driven low; RI GPIO33; no RESET pin (reset() powers off and on)

Usage (copied to the board as board.py):
    import board
    modem = board.modem()                    # or board.modem(variant="sim7600")
    board.power_off(); board.power_on(); board.reset()
"""
from machine import Pin, UART
from cellmodem.compat import sleep_ms, ticks_ms, ticks_diff
from cellmodem.modem import Modem

# (rx, tx, pwrkey, poweron, reset, dtr, flight, status,
#  PWRKEY on ms, PWRKEY off ms, RESET ms, boot ms)
# A7670 hardware design: PWRKEY Ton >= 50 ms, Toff >= 2.5 s; LilyGO uses 100 ms,
# 3000 ms and a 2.6 s RESET pulse. SIM7600 hardware design: Ton 500 ms typ.,
# Toff >= 2.5 s (LilyGO: 500/3000); its UART answers ~15 s after power-on.
VARIANTS = {
    "a7670": (27, 26, 4, 12, 5, 25, None, None, 100, 3000, 2600, 15000),
    "sim7600": (26, 27, 4, None, None, 32, 25, 34, 500, 3000, None, 30000),
}

_uart = None
_v = VARIANTS["a7670"]
_pins = {}


def setup(variant="a7670", baud=115200):
    """Configure the UART and control pins for variant; returns the UART."""
    global _uart, _v
    _v = v = VARIANTS[variant]
    _pins.clear()
    if v[3] is not None:
        Pin(v[3], Pin.OUT, value=1)  # POWERON: supply on
    _pins["pwrkey"] = Pin(v[2], Pin.OUT, value=0)
    if v[4] is not None:
        _pins["reset"] = Pin(v[4], Pin.OUT, value=0)
    Pin(v[5], Pin.OUT, value=0)  # DTR low: awake
    if v[6] is not None:
        Pin(v[6], Pin.OUT, value=1)  # FLIGHT high: normal mode
    if v[7] is not None:
        _pins["status"] = Pin(v[7], Pin.IN)
    _uart = UART(1, baud, rx=v[0], tx=v[1], rxbuf=2048)
    return _uart


def uart():
    """The modem's UART (after setup() or modem())."""
    return _uart


def _pulse(name, ms):
    pin = _pins[name]
    pin.value(1)
    sleep_ms(ms)
    pin.value(0)


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
    """Press PWRKEY for the module's power-on time unless it already runs, then
    wait up to its boot time. Returns True once it runs."""
    if answers():
        return True
    _pulse("pwrkey", _v[8])
    return answers(_v[11])


def power_off():
    """Press PWRKEY for 3 s if the module runs (a press on a module that is off
    would turn it on); wait for STATUS low (up to 30 s) or 5 s without one."""
    if not answers():
        return
    _pulse("pwrkey", _v[9])
    status = _pins.get("status")
    start = ticks_ms()
    while status is not None and status.value() and ticks_diff(ticks_ms(), start) < 30000:
        sleep_ms(100)
    if status is None:
        sleep_ms(5000)


def reset():
    """Hold RESET for 2.6 s (T-A7670), or power off and on (T-SIM7600); returns
    True once the module runs again."""
    if "reset" in _pins:
        _pulse("reset", _v[10])
        return answers(_v[11])
    power_off()
    return power_on()


def modem(dialect="auto", variant="a7670", power=True, baud=115200, **kw):
    """Set up the board, power the module on, return a ready Modem (dialect "auto"
    finds sim7600 for both modules); other keywords go to Modem()."""
    setup(variant, baud)
    if power:
        power_on()
    kw.setdefault("sync_timeout", _v[11])
    return Modem(_uart, dialect=dialect, **kw)
