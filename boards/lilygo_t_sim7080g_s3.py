"""LilyGO T-SIM7080G-S3 (ESP32-S3 + SIMCom SIM7080G, AXP2101 power chip): the board file.

Pins assumed (ESP32-S3 GPIO, from LilyGO's T-SIM7080G pin definitions):
    UART1   RX=4 <- module TXD, TX=5 -> module RXD, 115200 8N1
    PWRKEY  GPIO41 through a transistor (GPIO high = key pressed)
    DTR     GPIO42, driven low (the module does not sleep on UART)
    RI      GPIO3 (not used here)
    I2C0    SDA=15, SCL=7 to the AXP2101 at 0x34, whose rails feed the module:
            DC3 3.0 V = module supply, BLDO1 3.3 V = UART level shifter,
            BLDO2 3.3 V = GPS antenna (gps=True)
The module has no RESET pin; reset() cuts its DC3 supply and powers it up again.

Usage (copied to the board as board.py):
    import board
    modem = board.modem()          # rails on, PWRKEY if the module is silent
    board.power_off(); board.power_on(); board.reset()
"""
from machine import I2C, Pin, UART
from cellmodem.compat import sleep_ms, ticks_ms, ticks_diff
from cellmodem.modem import Modem

# SIM7080G hardware design: PWRKEY low >= 1 s powers on, >= 1.2 s powers off
# (LilyGO's T-SIM7080G examples use 1000 and 1300 ms).
PWRKEY_ON_MS = 1000
PWRKEY_OFF_MS = 1300
BOOT_MS = 10000

# AXP2101 registers (X-Powers AXP2101 datasheet register map)
AXP_ADDR = 0x34
_DC_ONOFF = 0x80  # bit 2: DCDC3 on
_DC3_VOLT = 0x84  # bits 6:0; 1.6-3.4 V in 100 mV steps from code 88
_LDO_ONOFF0 = 0x90  # bit 4: BLDO1 on, bit 5: BLDO2 on
_BLDO1_VOLT = 0x96  # bits 4:0; 0.5-3.5 V in 100 mV steps from code 0
_BLDO2_VOLT = 0x97

_uart = None
_i2c = None
_pwrkey = None


def _reg(reg, value=None, mask=0xFF):
    """Read a PMU register, or write value into the bits of mask (read-modify-write)."""
    cur = _i2c.readfrom_mem(AXP_ADDR, reg, 1)[0]
    if value is None:
        return cur
    _i2c.writeto_mem(AXP_ADDR, reg, bytes(((cur & ~mask) | (value & mask),)))


def rails(on=True, gps=False):
    """Switch the module's supply (DC3 3.0 V) and the level shifter (BLDO1 3.3 V)
    on, and the GPS antenna supply (BLDO2 3.3 V) if gps; on=False cuts DC3 only."""
    if not on:
        _reg(_DC_ONOFF, 0, 1 << 2)
        return
    _reg(_BLDO1_VOLT, (3300 - 500) // 100, 0x1F)
    _reg(_LDO_ONOFF0, 1 << 4, 1 << 4)
    _reg(_DC3_VOLT, 88 + (3000 - 1600) // 100, 0x7F)
    _reg(_DC_ONOFF, 1 << 2, 1 << 2)
    if gps:
        _reg(_BLDO2_VOLT, (3300 - 500) // 100, 0x1F)
        _reg(_LDO_ONOFF0, 1 << 5, 1 << 5)


def setup(baud=115200, gps=False):
    """Configure I2C, the PMU rails, the UART and the control pins; returns the UART."""
    global _uart, _i2c, _pwrkey
    _i2c = I2C(0, sda=Pin(15), scl=Pin(7), freq=400000)
    rails(True, gps)
    _pwrkey = Pin(41, Pin.OUT, value=0)
    Pin(42, Pin.OUT, value=0)  # DTR low: awake
    _uart = UART(1, baud, rx=4, tx=5, rxbuf=2048)
    return _uart


def uart():
    """The modem's UART (after setup() or modem())."""
    return _uart


def _pulse(ms):
    _pwrkey.value(1)
    sleep_ms(ms)
    _pwrkey.value(0)


def answers(timeout_ms=1500):
    """True once the module answers OK to AT (sent every 500 ms) within timeout_ms."""
    buf = bytearray(64)
    seen = b""
    start = ticks_ms()
    sent = None
    while True:
        now = ticks_ms()
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
    """Press PWRKEY for 1 s unless the module already answers, then wait up to
    10 s for AT. Returns True once it answers."""
    if answers():
        return True
    _pulse(PWRKEY_ON_MS)
    return answers(BOOT_MS)


def power_off():
    """Press PWRKEY for 1.3 s if the module answers (a press on a module that is
    off would turn it on), then give it 3 s to shut down."""
    if answers():
        _pulse(PWRKEY_OFF_MS)
        sleep_ms(3000)


def reset():
    """Cut the module's DC3 supply for 200 ms (as LilyGO's examples do at a cold
    boot), switch it on again and power the module on; True once it answers."""
    rails(False)
    sleep_ms(200)
    rails(True)
    return power_on()


def modem(dialect="auto", power=True, baud=115200, gps=False, **kw):
    """Set up the board, power the SIM7080G on, return a ready Modem (dialect
    "auto" finds sim7080); other keywords go to Modem()."""
    setup(baud, gps)
    if power:
        power_on()
    kw.setdefault("sync_timeout", BOOT_MS)
    return Modem(_uart, dialect=dialect, **kw)
