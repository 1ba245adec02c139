"""A Raspberry Pi Pico (RP2040) wired to a cellular module: the board file.

Pins assumed (GPxx numbers; change PINS below, or pass others to modem()), as on
Waveshare's Pico-SIM7080G-Cat-M/NB-IoT board:
    UART0   TX=GP0 -> module RXD, RX=GP1 <- module TXD, 115200 8N1
    PWRKEY  GP14 through an NPN transistor (GP14 high = key pressed)
    RESET   none (reset=<gp>: through an NPN, high = reset held)
    STATUS  none (status=<gp>: input, high while the module runs)
    DTR     none (dtr=<gp>: driven low, so the module never sleeps on UART)
Each RP2040 UART reaches only some pins (UART_PINS); setup() refuses others.
The Pico's 3V3 output cannot feed a module: power it from its own supply
(SIMCom modules draw 2 A peaks) with a common ground.
MODULE names the module (sim7080, sim7600, a7670, quectel, yuge): it picks the
PWRKEY timings (_board.TIMING); the AT dialect is detected.

Usage (tools.deploy copies this file to the board as board.py, and _board with lib/):
    import board
    modem = board.modem()        # powers the module on if it is silent
    board.power_off(); board.power_on(); board.reset()
"""
from machine import Pin, UART
import _board
from _board import answers, deep_sleep, power_off, power_on, reset, uart  # noqa: F401 (the board API)

MODULE = "sim7080"
PINS = {"uart_id": 0, "tx": 0, "rx": 1, "baud": 115200, "pwrkey": 14, "pwrkey_active": 1,
        "reset": None, "reset_active": 1, "status": None, "dtr": None}
# RP2040 datasheet, GPIO functions (F2): the pins each UART's TX and RX reach
UART_PINS = {0: ((0, 12, 16, 28), (1, 13, 17, 29)), 1: ((4, 8, 20, 24), (5, 9, 21, 25))}


def setup(module=MODULE, **pins):
    """Open the UART and set the control pins (PINS, with any given here); returns the UART."""
    p = _board.pins(PINS, pins)
    n = p["uart_id"]
    txs, rxs = UART_PINS[n]
    if p["tx"] not in txs or p["rx"] not in rxs:
        raise ValueError("UART%d has TX on GP%s and RX on GP%s only (got tx=%s rx=%s)"
                         % (n, "/".join(map(str, txs)), "/".join(map(str, rxs)), p["tx"], p["rx"]))
    return _board.setup(module, UART(n, p["baud"], tx=Pin(p["tx"]), rx=Pin(p["rx"]), rxbuf=2048), p)


def modem(dialect="auto", module=MODULE, power=True, **kw):
    """setup(), the module powered on if it is silent, and a ready Modem: keywords
    naming PINS go to setup(), the rest to Modem()."""
    setup(module, **_board.take(PINS, kw))
    return _board.modem(dialect, power, kw)
