"""Hello modem: bring the modem up, show who it is, and echo a message over TCP.

On a board: set APN, HOST and PORT below, then
    python -m tools.deploy --board <board> --example hello_modem.py --port <usb port>
copies it as main.py with the board file, whose pins, power key and baud bring
the modem up (boards/README.md).
On a PC, with boards/unix.py as the board file:
    python -m tools.deploy --board unix --example hello_modem.py
    micropython build/unix/main.py <tty> <host> <port>
Works with every supported family: the dialect is detected from the module.
"""
import sys

import board  # the board file (boards/, copied as board.py): pins, power key, baud
import cellmodem.socket as socket

APN = "internet"
HOST, PORT = "example.com", 7
MESSAGE = b"hello from cellmodem\r\nOK\r\n\x00\xff"


def show(direction, data, ticks):
    print("  %s %r" % ("->" if direction == b">" else "<-", bytes(data)))


def main():
    global HOST, PORT
    if len(sys.argv) > 3:
        HOST, PORT = sys.argv[2], int(sys.argv[3])
    modem = board.modem()
    modem.at.trace = show
    print("modem:", modem.manufacturer(), modem.model(), "dialect", modem.dialect.NAME)
    print("IMEI", modem.imei(), "signal", modem.signal(), "dBm")
    print("IP address:", modem.connect(apn=APN))
    s = socket.socket()
    s.settimeout(10)
    s.connect(socket.getaddrinfo(HOST, PORT)[0][-1])
    s.write(MESSAGE)
    got = s.read(len(MESSAGE))
    s.close()
    modem.disconnect()
    print("sent     %r" % MESSAGE)
    print("received %r" % got)
    print("echo intact:", got == MESSAGE)


main()
