"""A generic ESP32 board wired to a cellular module: the board file.

Pins assumed (ESP32 GPIO numbers; change PINS below, or pass others to modem()):
    UART1   TX=17 -> module RXD, RX=16 <- module TXD, 115200 8N1
    PWRKEY  GPIO4 through an NPN transistor (GPIO high = key pressed), as in the
            SIMCom hardware designs' open-collector reference circuit
    RESET   none (reset=<gpio>: through an NPN, GPIO high = reset held)
    STATUS  none (status=<gpio>: input, high while the module runs)
    DTR     none (dtr=<gpio>: driven low, so the module never sleeps on UART)
GPIO16/17 are free on ESP32-WROOM modules; on WROVER (PSRAM) pick others.
MODULE names the module on the other end (sim7080, sim7600, a7670, quectel, yuge):
it picks the PWRKEY timings (_board.TIMING); the AT dialect is detected.

Usage (tools.deploy copies this file to the board as board.py, and _board with lib/):
    import board
    modem = board.modem()        # powers the module on if it is silent
    board.power_off(); board.power_on(); board.reset()
"""
from machine import UART
import _board
from _board import answers, deep_sleep, power_off, power_on, reset, uart  # noqa: F401 (the board API)

MODULE = "sim7080"
PINS = {"uart_id": 1, "tx": 17, "rx": 16, "baud": 115200, "pwrkey": 4, "pwrkey_active": 1,
        "reset": None, "reset_active": 1, "status": None, "dtr": None}


def setup(module=MODULE, **pins):
    """Open the UART and set the control pins (PINS, with any given here); returns the UART."""
    p = _board.pins(PINS, pins)
    return _board.setup(module, UART(p["uart_id"], p["baud"], tx=p["tx"], rx=p["rx"], rxbuf=2048), p)


def modem(dialect="auto", module=MODULE, power=True, **kw):
    """setup(), the module powered on if it is silent, and a ready Modem: keywords
    naming PINS go to setup(), the rest to Modem()."""
    setup(module, **_board.take(PINS, kw))
    return _board.modem(dialect, power, kw)
