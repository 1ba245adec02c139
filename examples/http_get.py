"""HTTP GET: fetch a page, then stream a large file to flash in a fixed buffer.

On a board: set APN and URL below, then
    python -m tools.deploy --board <board> --example http_get.py --port <usb port>
copies it as main.py with the board file, whose pins, power key and baud bring
the modem up (boards/README.md).
On a PC, with boards/unix.py as the board file:
    python -m tools.deploy --board unix --example http_get.py
    micropython build/unix/main.py <tty> <url> [<large-url> <file>]
"""
import sys

import board  # the board file (boards/, copied as board.py): pins, power key, baud
import cellmodem.requests as requests

APN = "internet"
URL = "http://example.com/"
LARGE_URL, FILE = None, "download.bin"


def main():
    global URL, LARGE_URL, FILE
    if len(sys.argv) > 2:
        URL = sys.argv[2]
    if len(sys.argv) > 4:
        LARGE_URL, FILE = sys.argv[3], sys.argv[4]
    modem = board.modem()
    print("IP address:", modem.connect(apn=APN))
    r = requests.get(URL, timeout=30)
    print("status", r.status_code, r.reason, "type", r.headers.get("Content-Type"))
    print(r.text)
    if LARGE_URL:
        with requests.get(LARGE_URL, stream=True, timeout=30) as r:
            r.raise_for_status()
            n = r.save(FILE, 1024)  # 1 KiB at a time, whatever the size
        print("saved", n, "bytes to", FILE)
    modem.disconnect()


main()
