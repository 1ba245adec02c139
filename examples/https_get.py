"""HTTPS GET where the module can do TLS.

On a board: set the UART pins, APN and URL below; copy lib/cellmodem and this file.
On unix: micropython examples/https_get.py <tty> <https url>
Yuge modules fetch https:// URLs with their own HTTP client (cellmodem.native.yuge_http:
AT+HTTPSSL, manual ch.11; the certificate is not checked unless SSL context 153 was
configured). The socket drivers (sim7080, sim7600, quectel) have no TLS yet:
cellmodem.requests raises OSError(EOPNOTSUPP) for https, which this prints before
exiting normally.
"""
import errno
import sys

from cellmodem.modem import Modem

APN = "internet"
URL = "https://example.com/"


def open_port():
    if len(sys.argv) > 1:  # unix: a serial device or the simulator's pty
        from cellmodem.ports import open_serial
        return open_serial(sys.argv[1])
    from machine import UART  # a board: adjust the pins to your wiring
    return UART(1, 115200, tx=17, rx=18, rxbuf=2048)


def main():
    global URL
    if len(sys.argv) > 2:
        URL = sys.argv[2]
    modem = Modem(open_port())
    print("dialect", modem.dialect.NAME, "IP address:", modem.connect(apn=APN))
    if modem.dialect.NAME == "yuge":
        from cellmodem.native import yuge_http as requests
    else:
        import cellmodem.requests as requests
    try:
        r = requests.get(URL, timeout=30)
    except OSError as e:
        if e.args[0] != errno.EOPNOTSUPP:
            raise
        print("HTTPS is not supported on %s: %s" % (modem.dialect.NAME, e))
        modem.disconnect()
        return
    print("status", r.status_code, r.reason, "type", r.headers.get("Content-Type"))
    print(r.text)
    r.close()
    modem.disconnect()


main()
