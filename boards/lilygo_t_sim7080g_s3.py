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

Usage (tools.deploy copies this file to the board as board.py, and _board with lib/):
    import board
    modem = board.modem()          # rails on, PWRKEY if the module is silent
    board.power_off(); board.power_on(); board.reset()
"""
import time
from machine import I2C, Pin, UART
import _board
from _board import answers, deep_sleep, power_off, power_on, uart  # noqa: F401 (the board API)

PINS = {"uart_id": 1, "tx": 5, "rx": 4, "pwrkey": 41, "dtr": 42}

# AXP2101 registers (X-Powers AXP2101 datasheet register map)
AXP_ADDR = 0x34
_DC_ONOFF = 0x80  # bit 2: DCDC3 on
_DC3_VOLT = 0x84  # bits 6:0; 1.6-3.4 V in 100 mV steps from code 88
_LDO_ONOFF0 = 0x90  # bit 4: BLDO1 on, bit 5: BLDO2 on
_BLDO1_VOLT = 0x96  # bits 4:0; 0.5-3.5 V in 100 mV steps from code 0
_BLDO2_VOLT = 0x97

_i2c = None


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
    """I2C and the PMU rails, then the UART and control pins; returns the UART."""
    global _i2c
    _i2c = I2C(0, sda=Pin(15), scl=Pin(7), freq=400000)
    rails(True, gps)
    return _board.setup("sim7080", UART(1, baud, rx=PINS["rx"], tx=PINS["tx"], rxbuf=2048), PINS)


def reset():
    """Cut the module's DC3 supply for 200 ms (as LilyGO's examples do at a cold
    boot), switch it on again and power the module on; True once it answers."""
    rails(False)
    time.sleep_ms(200)
    rails(True)
    return power_on()


def modem(dialect="auto", power=True, baud=115200, gps=False, **kw):
    """setup(), the SIM7080G powered on if it is silent, and a ready Modem (dialect
    "auto" finds sim7080); other keywords go to Modem()."""
    setup(baud, gps)
    return _board.modem(dialect, power, kw)
