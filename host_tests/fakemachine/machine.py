"""A stand-in for MicroPython's machine module on the unix port, to run the board
files (boards/*.py) against the simulator (host_tests/test_board_power.py).

Every output a board drives is printed as it happens, with time.ticks_ms(), for the
test to read as the pins of a real module would see them:
    MACHINE pin <id> <level> <ms>          an output pin set (also when made)
    MACHINE input <id>                     an input pin made
    MACHINE uart <id> <baud> <tx> <rx>     a UART opened
    MACHINE i2c <addr> <reg> <value> <ms>  a register written
After a pin or register line the board waits for a line on stdin: the test answers
once the module has reacted (powered on, off, rebooted), so the board never reads
STATUS or sends AT ahead of the wires, however slowly the test runs.
An input pin reads $FAKEMACHINE_DIR/pin<id> ("1" or "0"; missing: 0), which the
test writes (STATUS). UART() opens $FAKEMACHINE_TTY (the simulator's pty) with
cellmodem.ports.open_serial. I2C registers start at 0.
"""
import os
import sys
import time

from cellmodem.ports import open_serial


def _say(*words):
    print("MACHINE", *words)


def _wait():
    sys.stdin.readline()  # the test has played the module's side of the change


def _id(pin):
    return pin.id if isinstance(pin, Pin) else pin


class Pin:
    IN = 1
    OUT = 3

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = mode
        self._level = 0
        if mode == Pin.IN:
            _say("input", id)
        elif mode == Pin.OUT:
            self.value(0 if value is None else value)

    def value(self, level=None):
        if level is None:
            if self.mode == Pin.IN:
                try:
                    with open("%s/pin%s" % (os.getenv("FAKEMACHINE_DIR"), self.id)) as f:
                        return int(f.read().strip() or "0")
                except OSError:
                    return 0
            return self._level
        self._level = 1 if level else 0
        _say("pin", self.id, self._level, time.ticks_ms())
        _wait()

    __call__ = value

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


def UART(id, baudrate=115200, tx=None, rx=None, **kw):
    _say("uart", id, baudrate, _id(tx), _id(rx))
    return open_serial(os.getenv("FAKEMACHINE_TTY"), baudrate)


class I2C:
    def __init__(self, id, sda=None, scl=None, freq=400000):
        self.regs = {}
        _say("i2cbus", id, _id(sda), _id(scl), freq)

    def readfrom_mem(self, addr, reg, n):
        return bytes(self.regs.get((addr, reg + i), 0) for i in range(n))

    def writeto_mem(self, addr, reg, buf):
        for i, b in enumerate(buf):
            self.regs[(addr, reg + i)] = b
            _say("i2c", addr, reg + i, b, time.ticks_ms())
            _wait()
