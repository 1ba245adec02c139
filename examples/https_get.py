"""HTTPS GET with the server's certificate checked, on every modem family.

The board does TLS itself (host TLS: MicroPython's ssl over the modem's socket), so
any module works; the server is verified against the CA certificate in CA_FILE.
On a board: set APN, URL and CA_FILE below, then
    python -m tools.deploy --board <board> --example https_get.py --file ca.pem --port <usb port>
copies it as main.py, the CA certificate (PEM or DER) as ca.pem, and the board
file, whose pins, power key and baud bring the modem up (boards/README.md).
On a PC, with boards/unix.py as the board file:
    python -m tools.deploy --board unix --example https_get.py
    micropython build/unix/main.py <tty> <https url> <CA certificate file>
Yuge modules also have their own HTTP client with TLS in the module
(cellmodem.native.yuge_http, AT+HTTPSSL): see the README.
"""
import sys

import board  # the board file (boards/, copied as board.py): pins, power key, baud
import cellmodem.requests as requests

APN = "internet"
URL = "https://example.com/"
CA_FILE = "ca.pem"  # the CA that signs the server's certificate


def main():
    url, ca = URL, CA_FILE
    if len(sys.argv) > 3:
        url, ca = sys.argv[2], sys.argv[3]
    modem = board.modem()
    print("dialect", modem.dialect.NAME, "IP address:", modem.connect(apn=APN))
    try:
        r = requests.get(url, verify=ca, timeout=30)
    except OSError as e:  # DNS, connection, or the server refused by the TLS check
        print("HTTPS failed:", e)
        modem.disconnect()
        sys.exit(1)
    print("status", r.status_code, r.reason, "type", r.headers.get("Content-Type"))
    print(r.text)
    r.close()
    modem.disconnect()


main()
