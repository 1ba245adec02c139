"""HTTP POST of a JSON reading, reusing one connection (keep-alive) for several.

On a board: set the UART pins, APN and URL below; copy lib/cellmodem and this file.
On unix: micropython examples/http_post_json.py <tty> <url> [count]
"""
import sys

from cellmodem.modem import Modem
import cellmodem.requests as requests

APN = "internet"
URL = "http://example.com/api/readings"
COUNT = 3


def open_port():
    if len(sys.argv) > 1:  # unix: a serial device or the simulator's pty
        from cellmodem.ports import open_serial
        return open_serial(sys.argv[1])
    from machine import UART  # a board: adjust the pins to your wiring
    return UART(1, 115200, tx=17, rx=18, rxbuf=2048)


def main():
    global URL, COUNT
    if len(sys.argv) > 2:
        URL = sys.argv[2]
    if len(sys.argv) > 3:
        COUNT = int(sys.argv[3])
    modem = Modem(open_port())
    print("IP address:", modem.connect(apn=APN))
    with requests.Session() as s:  # one modem socket for all the posts
        for n in range(COUNT):
            r = s.post(URL, json={"device": modem.imei(), "n": n, "temp": 20.5 + n},
                       timeout=30)
            print("posted", n, "->", r.status_code, r.json())
        print("connections opened:", s.opened)
    modem.disconnect()


main()
