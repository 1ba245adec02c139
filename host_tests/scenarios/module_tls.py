"""Module TLS on SIM7080 through cellmodem (the module does the handshake with
certificates stored on it), run in real MicroPython (and CPython) against the
simulator on a pty.

Run: micropython module_tls.py <mode> <tty> [args]
  echo   <tty> <host> <port> <bytes> <ca file> [<cert file> <key file>]
         uploads the CA (and the client certificate and key), then a verified echo of
         a pseudo-random stream; prints "MODULE TLS ECHO OK <bytes> <ms>"
  refuse <tty> <host> <port> <ca file>  prints "REFUSED <errno> <text>" or "ACCEPTED"
Certificates are file names (PEM or DER).
"""
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
from cellmodem.compat import ticks_ms, ticks_diff
import cellmodem.socket as socket
from cellmodem import tls

mode, tty = sys.argv[1], sys.argv[2]
args = sys.argv[3:]


class Stream:
    """xorshift32 bytes: the same sequence for the sender and the checker."""

    def __init__(self):
        self.x = 2463534242

    def fill(self, buf, n):
        x = self.x
        for i in range(n):
            x ^= (x << 13) & 0xFFFFFFFF
            x ^= x >> 17
            x ^= (x << 5) & 0xFFFFFFFF
            buf[i] = x & 255
        self.x = x


def connect(host, port, ca, cert=None, key=None):
    tls.cert_upload(modem, "ca.pem", ca, "ca")
    if cert:
        tls.cert_upload(modem, "dev.crt", cert, "cert")
        tls.cert_upload(modem, "dev.key", key, "key")
    s = socket.socket()
    s.settimeout(30)
    s.connect((host, int(port)), tls=tls.ModuleTLS(
        ca="ca.pem", cert="dev.crt" if cert else None, key="dev.key" if cert else None))
    return s


def echo(host, port, total, ca, cert=None, key=None):
    t0 = ticks_ms()
    s = connect(host, port, ca, cert, key)
    total = int(total)
    out, back, want = bytearray(1024), bytearray(1024), bytearray(1024)
    tx, rx = Stream(), Stream()
    sent = got = 0
    while got < total:
        if sent < total and sent - got < 4096:
            n = min(1024, total - sent)
            tx.fill(out, n)
            s.write(out, n)
            sent += n
            continue
        n = s.recv_into(back, min(1024, sent - got))
        if not n:
            raise SystemExit("EOF after %d bytes" % got)
        rx.fill(want, n)
        if back[:n] != want[:n]:
            raise SystemExit("MISMATCH at byte %d" % got)
        got += n
    s.close()
    print("MODULE TLS ECHO OK", got, ticks_diff(ticks_ms(), t0))


def refuse(host, port, ca):
    try:
        s = connect(host, port, ca)
    except OSError as e:
        print("REFUSED", e.args[0], e.args[1] if len(e.args) > 1 else "")
        return
    s.close()
    print("ACCEPTED")


modem = Modem(open_serial(tty, 115200), dialect="sim7080")
modem.connect(apn="internet")
if mode == "echo":
    echo(*args)
elif mode == "refuse":
    refuse(*args)
else:
    raise SystemExit("unknown mode " + mode)

