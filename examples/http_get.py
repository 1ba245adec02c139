"""HTTP GET: fetch a page, then stream a large file to flash in a fixed buffer.

On a board: set the UART pins, APN and URL below; copy lib/cellmodem and this file.
On unix: micropython examples/http_get.py <tty> <url> [<large-url> <file>]
"""
import sys

from cellmodem.modem import Modem
import cellmodem.requests as requests

APN = "internet"
URL = "http://example.com/"
LARGE_URL, FILE = None, "download.bin"


def open_port():
    if len(sys.argv) > 1:  # unix: a serial device or the simulator's pty
        from cellmodem.ports import open_serial
        return open_serial(sys.argv[1])
    from machine import UART  # a board: adjust the pins to your wiring
    return UART(1, 115200, tx=17, rx=18, rxbuf=2048)


def main():
    global URL, LARGE_URL, FILE
    if len(sys.argv) > 2:
        URL = sys.argv[2]
    if len(sys.argv) > 4:
        LARGE_URL, FILE = sys.argv[3], sys.argv[4]
    modem = Modem(open_port())
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
