"""HTTPS GET with the server's certificate checked, on every modem family.

The board does TLS itself (host TLS: MicroPython's ssl over the modem's socket), so
any module works; the server is verified against the CA certificate in CA_FILE.
On a board: set the UART pins, APN, URL and CA_FILE below; copy lib/cellmodem, the
CA certificate (PEM or DER) and this file.
On unix: micropython examples/https_get.py <tty> <https url> <CA certificate file>
Yuge modules also have their own HTTP client with TLS in the module
(cellmodem.native.yuge_http, AT+HTTPSSL): see the README.
"""
import sys

from cellmodem.modem import Modem
import cellmodem.requests as requests

APN = "internet"
URL = "https://example.com/"
CA_FILE = "ca.pem"  # the CA that signs the server's certificate


def open_port():
    if len(sys.argv) > 1:  # unix: a serial device or the simulator's pty
        from cellmodem.ports import open_serial
        return open_serial(sys.argv[1])
    from machine import UART  # a board: adjust the pins to your wiring
    return UART(1, 115200, tx=17, rx=18, rxbuf=2048)


def main():
    url, ca = URL, CA_FILE
    if len(sys.argv) > 3:
        url, ca = sys.argv[2], sys.argv[3]
    modem = Modem(open_port())
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
