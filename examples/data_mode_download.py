"""Data-mode download: fetch a file over a raw TCP stream in transparent mode and save
it, checking the signal on the way.

Transparent (data) mode gives the connection the whole UART - no AT framing, close to
the line rate - which suits a firmware image or any long download. Every CHECK_BYTES
the script escapes to command mode ("+++"), reads the signal, and goes back (ATO).
It sends REQUEST (a line); the server answers with the length as a line, then the
bytes. The script saves exactly that many and closes, then prints the byte count,
the SHA-256 and the rate. (A length up front matters: on SIM7600 and Yuge modules a
connection the peer closes while escaped is gone with what the module still held.)
The line rate is the board file's baud (115200): for more, set the module's rate
with AT+IPR and the board file's baud to match.

On a board: set APN, HOST, PORT, REQUEST and FILE below, then
    python -m tools.deploy --board <board> --example data_mode_download.py --port <usb port>
copies it as main.py with the board file, whose pins, power key and baud bring
the modem up (boards/README.md).
On a PC, with boards/unix.py as the board file:
    python -m tools.deploy --board unix --example data_mode_download.py
    micropython build/unix/main.py <tty> <host> <port> <file> [<request>]
"""
import binascii
import hashlib
import sys

import board  # the board file (boards/, copied as board.py): pins, power key, baud
from cellmodem.compat import ticks_ms, ticks_diff
from cellmodem.datamode import DataSocket

APN = "internet"
HOST, PORT = "example.com", 5000
REQUEST = b"GET firmware.bin"
FILE = "/download.bin"
CHECK_BYTES = 256 * 1024  # look at the signal this often (two guard times each: ~2 s)
GUARD_MS = None  # the family's "+++" guard time (1 s); the simulator tests shorten it


def download(modem, host, port, request, path):
    """Save what host:port sends after request to path; (bytes, sha256 hex, ms)."""
    s = DataSocket(modem, rxbuf=4096, guard_ms=GUARD_MS)
    s.settimeout(30)
    buf = bytearray(2048)
    h = hashlib.sha256()
    n = 0
    t0 = ticks_ms()
    try:
        s.connect((host, port))
        s.write(request + b"\r\n")
        head = b""
        while not head.endswith(b"\n"):
            c = s.recv(1)
            if not c or len(head) > 20:
                raise OSError(5, "no length line from the server: %r" % head)
            head += c
        size = int(head)
        with open(path, "wb") as f:
            while n < size:
                k = s.readinto(buf, min(len(buf), size - n))
                if not k:
                    raise OSError(104, "the server closed after %d of %d bytes" % (n, size))
                f.write(buf[:k] if k < len(buf) else buf)
                h.update(memoryview(buf)[:k])
                before = n
                n += k
                if n // CHECK_BYTES != before // CHECK_BYTES:
                    s.escape()  # "+++": command mode, the download waits in the module
                    print("%d bytes, signal %d dBm" % (n, modem.signal()))
                    s.resume()  # ATO
    finally:
        s.close()
    return n, binascii.hexlify(h.digest()).decode(), ticks_diff(ticks_ms(), t0)


def main():
    global HOST, PORT, FILE, REQUEST, GUARD_MS
    if len(sys.argv) > 4:
        HOST, PORT, FILE = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        if len(sys.argv) > 5:
            REQUEST = sys.argv[5].encode()
        if len(sys.argv) > 6:
            GUARD_MS = int(sys.argv[6])
    modem = board.modem()
    print("IP", modem.connect(apn=APN))
    try:
        n, sha, ms = download(modem, HOST, PORT, REQUEST, FILE)
    except OSError as e:
        print("download failed:", e)
        sys.exit(1)
    print("saved %d bytes to %s in %d ms (%d B/s)" % (n, FILE, ms, n * 1000 // max(ms, 1)))
    print("sha256", sha)


main()
