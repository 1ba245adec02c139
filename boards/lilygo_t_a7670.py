"""LilyGO T-A7670 (ESP32 + SIMCom A7670E/G/SA) and T-SIM7600 (ESP32 + SIM7600): the board file.

Pins assumed (ESP32 GPIO, from LilyGO's T-A76XX pin definitions); VARIANT picks:
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

Usage (tools.deploy copies this file to the board as board.py, and _board with lib/):
    import board
    modem = board.modem()                    # or board.modem(variant="sim7600")
    board.power_off(); board.power_on(); board.reset()
"""
from machine import UART
import _board
from _board import answers, deep_sleep, power_off, power_on, reset, uart  # noqa: F401 (the board API)

VARIANT = "a7670"
# "hold": pins driven high while in use (POWERON; FLIGHT). Timings: _board.TIMING
# under the module's name.
VARIANTS = {
    "a7670": {"module": "a7670", "rx": 27, "tx": 26, "pwrkey": 4, "reset": 5, "dtr": 25,
              "hold": (12,)},
    "sim7600": {"module": "sim7600", "rx": 26, "tx": 27, "pwrkey": 4, "status": 34, "dtr": 32,
                "hold": (25,)},
}


def setup(variant=VARIANT, baud=115200):
    """The UART and control pins of variant; returns the UART."""
    v = VARIANTS[variant]
    return _board.setup(v["module"], UART(1, baud, rx=v["rx"], tx=v["tx"], rxbuf=2048), v)


def modem(dialect="auto", variant=VARIANT, power=True, baud=115200, **kw):
    """setup(), the module powered on if it is silent, and a ready Modem (dialect
    "auto" finds sim7600 for both modules); other keywords go to Modem()."""
    setup(variant, baud)
    return _board.modem(dialect, power, kw)
