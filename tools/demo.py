"""The README's main command (`make demo`): drive a modem through the cellmodem engine
and print the AT conversation.

Until the modem simulator lands this talks to a scripted modem (a transcript from
the SIM7080 manual, with URCs and a binary payload); run as: python -m tools.demo
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))

from cellmodem.at import AT  # noqa: E402
from cellmodem.fakeuart import FakeUART, Responder  # noqa: E402

OK = b"\r\nOK\r\n"
PAYLOAD = b"GET / HTTP/1.0\r\n\r\n"
REPLY = b"HTTP/1.0 200 OK\r\n\r\nhi\r\nOK\r\n"


def show(direction, data, ticks):
    arrow = "->" if direction == b">" else "<-"
    print("%8d %s %r" % (ticks, arrow, bytes(data)))


def main():
    uart = FakeUART(chunk=(1, 16, 2026))  # the modem's bytes arrive in 1-16 byte pieces
    Responder(uart, [
        (None, b"\r\nRDY\r\n"),
        (b"ATE0", b"ATE0\r" + OK),
        (b"AT+CGMM", b"\r\nSIMCOM_SIM7080G\r\n" + OK),
        (b"AT+CSQ", b"\r\n+CSQ: 20,99\r\n" + OK),
        (b'AT+CNACT=0,1', OK + b"\r\n+APP PDP: 0,ACTIVE\r\n"),
        (b'AT+CAOPEN=0,0,"TCP","example.com",80', b"\r\n+CAOPEN: 0,0\r\n" + OK),
        (b"AT+CASEND=0,%d" % len(PAYLOAD), b"\r\n> ", len(PAYLOAD), OK + b"\r\n+CADATAIND: 0\r\n"),
        (b"AT+CARECV=0,1460", b"\r\n+CARECV: %d," % len(REPLY) + REPLY + b"\r\n" + OK),
        (b"AT+CACLOSE=0", OK),
    ])
    at = AT(uart)
    at.trace = show
    events = []
    at.urc(b"+APP PDP:", lambda line: events.append("PDP " + line.field(1)))
    at.urc(b"+CADATAIND:", lambda line: events.append("data waiting on link %d" % line.int(0)))
    received = bytearray()
    at.inline(b"+CARECV: ", b",", lambda line: at.engine.expect_raw(line.int(0), received.extend))
    at.command("ATE0")
    model = at.command("AT+CGMM")[0].decode()
    rssi = at.command("AT+CSQ", resp=b"+CSQ:")
    at.command("AT+CNACT=0,1")
    at.command('AT+CAOPEN=0,0,"TCP","example.com",80', resp=b"+CAOPEN:")
    at.send_data("AT+CASEND=0,%d" % len(PAYLOAD), PAYLOAD)
    at.poll(100)
    at.command("AT+CARECV=0,1460")
    at.command("AT+CACLOSE=0")
    print()
    print("model:", model, "| signal:", rssi[0].decode())
    print("events:", events)
    print("received %d bytes: %r" % (len(received), bytes(received)))


if __name__ == "__main__":
    main()
