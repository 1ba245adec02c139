"""Issue 19 items 2 and 8 in real MicroPython, against the simulator on a pty.

Run: micropython boot_power.py <tty> <host> <echo port> boot|power
boot: the simulator starts from power-on with boot quirks on (staggered banner, plain
  ERROR to AT+CPIN?, lost commands, a late answer): Modem() and connect() reach an IP
  and a socket echoes. Prints "IP <ip>" and "ECHO OK".
power: prints "OPEN" with a socket open and waits while the test makes the supply
  warn (under, then over) and then fail with the module booting again by itself: the
  callback sees "under", "over", "down"; the socket fails with ECONNRESET; a command
  meanwhile raises ModemOff; reconnect() then works and a new socket echoes. Prints
  "EVENTS under,over,down", "RESET", "OFF", "AGAIN OK".
"""
import errno
import sys
import time

from cellmodem.modem import Modem, ModemOff
from cellmodem.ports import open_serial
import cellmodem.socket as socket

tty, host, port, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
modem = Modem(open_serial(tty))
print("IP", modem.connect(apn="internet", timeout=60000))
addr = socket.getaddrinfo(host, port)[0][-1]


def echo(data):
    s = socket.socket()
    s.settimeout(30)
    s.connect(addr)
    s.send(data)
    got = b""
    while len(got) < len(data):
        chunk = s.recv(len(data) - len(got))
        if not chunk:
            raise OSError(errno.ECONNRESET, "EOF in echo")
        got += chunk
    if got != data:
        raise AssertionError("echo differs: %r" % got)
    return s


def power():
    events = []
    modem.on_power = lambda event, line: events.append(event)
    s = echo(b"before")
    print("OPEN")
    t0 = time.ticks_ms()
    while "down" not in events:
        if time.ticks_diff(time.ticks_ms(), t0) > 60000:  # liveness only
            raise AssertionError("no power down seen: %r" % events)
        modem.poll(20)
    print("EVENTS", ",".join(events))
    try:
        s.send(b"x")
        raise AssertionError("send worked")
    except OSError as e:
        if e.errno != errno.ECONNRESET:
            raise
    print("RESET")
    try:
        modem.signal()
    except ModemOff:
        print("OFF")  # unless the module was back already (its banner read)
    s.close()
    modem.reconnect()
    echo(b"after").close()
    print("AGAIN OK")


if mode == "boot":
    echo(b"first").close()
    print("ECHO OK")
else:
    power()
print("DONE")
