"""Status report: who the modem is, its SIM, signal, registration, operator, clock and IP.

A compact report, one fact per line, for a first look at a new board or a field
check. A question the module cannot answer shows as "-" with the reason; the rest
of the report goes on.

On a board: set APN below, then
    python -m tools.deploy --board <board> --example status_report.py --port <usb port>
copies it as main.py with the board file, whose pins, power key and baud bring
the modem up (boards/README.md).
On a PC, with boards/unix.py as the board file:
    python -m tools.deploy --board unix --example status_report.py
    micropython build/unix/main.py <tty>
"""
import sys

import board  # the board file (boards/, copied as board.py): pins, power key, baud
from cellmodem.errors import ModemError
from cellmodem.modem import REG_STAT

APN = "internet"


def show(name, fn):
    """Print 'name: value' from fn(); a failure prints '-' and why. The value or None."""
    try:
        value = fn()
    except (ModemError, OSError) as e:  # ATError, ATTimeout, SIMError, ...: go on
        print("%-12s - (%s)" % (name + ":", e))
        return None
    print("%-12s %s" % (name + ":", "-" if value is None else value))
    return value


def dbm(value):
    return None if value is None else "%d dBm" % value


def named(stat):
    return "%d (%s)" % (stat, REG_STAT[stat])


def main():
    modem = board.modem()
    show("dialect", lambda: modem.dialect.NAME)
    show("maker", modem.manufacturer)
    show("model", modem.model)
    show("firmware", modem.firmware)
    show("IMEI", modem.imei)
    sim = show("SIM", modem.sim_state)
    if sim == "READY":
        show("IMSI", modem.imsi)
        show("ICCID", modem.iccid)
    show("signal", lambda: dbm(modem.signal()))
    show("registered", lambda: named(modem.registration()))
    show("operator", modem.operator)
    show("clock", modem.network_time)
    ip = show("IP address", lambda: modem.connect(apn=APN))
    if ip:
        modem.disconnect()


main()
