"""Status report: who the modem is, its SIM, signal, registration, operator, clock and IP.

A compact report, one fact per line, for a first look at a new board or a field
check. A question the module cannot answer shows as "-" with the reason; the rest
of the report goes on.

On a board: set the UART pins and APN below; copy lib/cellmodem and this file (as
main.py).
On unix: micropython examples/status_report.py <tty>
"""
import sys

from cellmodem.errors import ModemError
from cellmodem.modem import Modem, REG_STAT

APN = "internet"


def open_port():
    if len(sys.argv) > 1:  # unix: a serial device or the simulator's pty
        from cellmodem.ports import open_serial
        return open_serial(sys.argv[1])
    from machine import UART  # a board: adjust the pins to your wiring
    return UART(1, 115200, tx=17, rx=18, rxbuf=2048)


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
    modem = Modem(open_port())
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
