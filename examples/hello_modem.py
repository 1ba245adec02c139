"""Hello modem: bring the modem up, show who it is, and echo a message over TCP.

On a board: set UART, APN, HOST and PORT below and copy this file as main.py.
On unix (the demo): micropython examples/hello_modem.py /dev/pts/N HOST PORT
Works with every supported family: the dialect is detected from the module.
"""
import sys

from cellmodem.modem import Modem
import cellmodem.socket as socket

APN = "internet"
HOST, PORT = "example.com", 7
MESSAGE = b"hello from cellmodem\r\nOK\r\n\x00\xff"


def open_port():
    if len(sys.argv) > 1:  # unix: a serial device or the simulator's pty
        from cellmodem.ports import open_serial
        return open_serial(sys.argv[1])
    from machine import UART  # a board: adjust the pins to your wiring
    return UART(1, 115200, tx=17, rx=18, rxbuf=2048)


def show(direction, data, ticks):
    print("  %s %r" % ("->" if direction == b">" else "<-", bytes(data)))


def main():
    global HOST, PORT
    if len(sys.argv) > 3:
        HOST, PORT = sys.argv[2], int(sys.argv[3])
    modem = Modem(open_port())
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
