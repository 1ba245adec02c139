"""A PC with a USB modem (/dev/ttyUSB*, /dev/ttyACM*) or the simulator's pty: the board file.

Runs on MicroPython's unix port and on CPython; no pins: a USB modem is powered
by the bus, so there is no power_on/power_off/reset here (use the module's own
AT commands). Pins assumed: none. Port: modem(port=...), else the first word on
the command line (micropython main.py /dev/ttyUSB2 ...: how the examples run on a
PC), else the CELLMODEM_PORT environment variable, else the first /dev/ttyUSB* or
/dev/ttyACM* found.
A module with several USB serial interfaces usually answers AT on more than one;
SIMCom's AT port is commonly ttyUSB2, Quectel's ttyUSB2 as well.

Usage (python -m tools.deploy --board unix copies this file as board.py):
    import board
    modem = board.modem()                      # micropython main.py /dev/ttyUSB2
    modem = board.modem(port="/dev/ttyUSB2")   # or with CELLMODEM_PORT set
    modem = board.modem("sim7080", port=sim_pty_path)
"""
import os
import sys
from cellmodem.modem import Modem
from cellmodem.ports import open_serial

_port = None


def ports():
    """Serial devices that may be a modem: /dev/ttyUSB* and /dev/ttyACM*, sorted."""
    try:
        names = os.listdir("/dev")
    except OSError:
        return []
    return sorted("/dev/" + n for n in names if n.startswith("ttyUSB") or n.startswith("ttyACM"))


def find_port():
    """The command line's first word (sys.argv[1]) if there is one, else CELLMODEM_PORT
    if set, else the first of ports(); OSError if there is none."""
    if len(sys.argv) > 1 and sys.argv[1]:
        return sys.argv[1]
    path = os.getenv("CELLMODEM_PORT")
    if path:
        return path
    found = ports()
    if not found:
        raise OSError(2, "no /dev/ttyUSB* or /dev/ttyACM*: give the port on the command line,"
                      " as port= or in CELLMODEM_PORT")
    return found[0]


def setup(port=None, baud=115200):
    """Open the serial port in raw mode; returns it (cellmodem.ports.SerialPort)."""
    global _port
    _port = open_serial(port or find_port(), baud)
    return _port


def uart():
    """The open serial port (after setup() or modem())."""
    return _port


def deep_sleep(ms):
    """A PC has no deep sleep: sleep ms in place and return (on a board the MCU
    restarts into main.py instead)."""
    import time
    time.sleep(ms / 1000)


def modem(dialect="auto", port=None, baud=115200, **kw):
    """Open port and return a ready Modem; other keywords go to Modem()."""
    return Modem(setup(port, baud), dialect=dialect, **kw)
