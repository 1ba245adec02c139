"""Hello modem: bring the modem up, show who it is, and echo a message over TCP.

On a board: set UART, APN, HOST and PORT below and copy this file as main.py.
On unix (the demo): micropython examples/hello_modem.py /dev/pts/N HOST PORT
Uses the SIM7080 AT+CA* commands for the TCP exchange (sockets come with cellmodem.socket).
"""
import sys

from cellmodem.modem import Modem

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
    at = modem.at
    at.trace = show
    print("modem:", modem.manufacturer(), modem.model(), "dialect", modem.dialect.NAME)
    print("IMEI", modem.imei(), "signal", modem.signal(), "dBm")
    print("IP address:", modem.connect(apn=APN))
    got = bytearray()
    waiting = []
    at.urc(b"+CADATAIND:", lambda line: waiting.append(line.int(0)))
    at.inline(b"+CARECV: ", b",", lambda line: at.engine.expect_raw(line.int(0), got.extend))
    at.command('AT+CAOPEN=0,0,"TCP","%s",%d' % (HOST, PORT), resp=b"+CAOPEN:")
    at.send_data("AT+CASEND=0,%d" % len(MESSAGE), MESSAGE)
    while len(got) < len(MESSAGE):
        at.wait_until(lambda: waiting, 10000, "+CADATAIND")
        waiting.clear() if hasattr(waiting, "clear") else waiting.pop()
        at.command("AT+CARECV=0,1460")
    at.command("AT+CACLOSE=0")
    modem.disconnect()
    print("sent     %r" % MESSAGE)
    print("received %r" % bytes(got))
    print("echo intact:", bytes(got) == MESSAGE)


main()
