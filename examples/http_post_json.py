"""HTTP POST of a JSON reading, reusing one connection (keep-alive) for several.

On a board: set APN and URL below, then
    python -m tools.deploy --board <board> --example http_post_json.py --port <usb port>
copies it as main.py with the board file, whose pins, power key and baud bring
the modem up (boards/README.md).
On a PC, with boards/unix.py as the board file:
    python -m tools.deploy --board unix --example http_post_json.py
    micropython build/unix/main.py <tty> <url> [count]
"""
import sys

import board  # the board file (boards/, copied as board.py): pins, power key, baud
import cellmodem.requests as requests

APN = "internet"
URL = "http://example.com/api/readings"
COUNT = 3


def main():
    global URL, COUNT
    if len(sys.argv) > 2:
        URL = sys.argv[2]
    if len(sys.argv) > 3:
        COUNT = int(sys.argv[3])
    modem = board.modem()
    print("IP address:", modem.connect(apn=APN))
    with requests.Session() as s:  # one modem socket for all the posts
        for n in range(COUNT):
            r = s.post(URL, json={"device": modem.imei(), "n": n, "temp": 20.5 + n},
                       timeout=30)
            print("posted", n, "->", r.status_code, r.json())
        print("connections opened:", s.opened)
    modem.disconnect()


main()
