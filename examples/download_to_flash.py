"""Download to flash: stream a large file over HTTP into a file, 1 KiB at a time.

The body never sits in RAM: each 1 KiB piece read from the modem is written to the
file and added to a running SHA-256 (when the port has hashlib.sha256), with a
progress line every PROGRESS bytes. The heap is printed before and after, to show
that the download's size does not matter. Then the file is read back from flash and
its SHA-256 compared with the one computed on the way in. On any failure (HTTP
status, connection lost, a body shorter than announced) the partial file is
removed and the script exits with status 1.

On a board: set APN, URL and FILE below, then
    python -m tools.deploy --board <board> --example download_to_flash.py --port <usb port>
copies it as main.py with the board file, whose pins, power key and baud bring
the modem up (boards/README.md).
On a PC, with boards/unix.py as the board file:
    python -m tools.deploy --board unix --example download_to_flash.py
    micropython build/unix/main.py <tty> <url> <file>
"""
import gc
import os
import sys

import board  # the board file (boards/, copied as board.py): pins, power key, baud
from cellmodem.compat import ticks_ms, ticks_diff
from cellmodem.httpbase import HTTPError
import cellmodem.requests as requests

try:
    import hashlib
    hashlib.sha256  # some ports build hashlib without it
except (ImportError, AttributeError):
    hashlib = None

APN = "internet"
URL = "http://example.com/firmware.bin"
FILE = "/download.bin"
CHUNK = 1024
PROGRESS = 64 * 1024  # bytes between progress lines


def heap(when):
    gc.collect()
    print("heap %s: %d bytes free, %d in use" % (when, gc.mem_free(), gc.mem_alloc()))


def new_hash():
    return hashlib.sha256() if hashlib else None


def hexdigest(h):
    from binascii import hexlify
    return hexlify(h.digest()).decode()


def download(url, path):
    """Stream url into path; returns (bytes, sha256 hex or None)."""
    buf = bytearray(CHUNK)
    mv = memoryview(buf)
    h = new_hash()
    total = 0
    start = ticks_ms()
    with requests.get(url, stream=True, timeout=30) as r:
        r.raise_for_status()
        size = r.headers.get("Content-Length")
        size = int(size) if size else None
        print("status %d, %s bytes" % (r.status_code, size if size is not None else "unknown"))
        with open(path, "wb") as f:
            while True:
                n = r.readinto(mv)
                if not n:
                    break
                f.write(mv[:n])
                if h:
                    h.update(mv[:n])
                total += n
                if total % PROGRESS < n:  # crossed a PROGRESS boundary
                    ms = ticks_diff(ticks_ms(), start) or 1
                    print("  %7d bytes%s  %d KiB/s" % (
                        total, " (%d%%)" % (total * 100 // size) if size else "",
                        total * 1000 // ms // 1024))
    ms = ticks_diff(ticks_ms(), start)
    print("done: %d bytes in %d ms" % (total, ms))
    return total, hexdigest(h) if h else None


def file_sha256(path):
    """SHA-256 of the file as stored, read back in CHUNK pieces."""
    buf = bytearray(CHUNK)
    mv = memoryview(buf)
    h = new_hash()
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(mv[:n])
    return hexdigest(h)


def main():
    global URL, FILE
    if len(sys.argv) > 3:
        URL, FILE = sys.argv[2], sys.argv[3]
    modem = board.modem()
    print("IP address:", modem.connect(apn=APN))
    heap("before")
    try:
        total, digest = download(URL, FILE)
    except (OSError, HTTPError) as e:
        print("FAILED: %s" % (e,))
        try:
            os.remove(FILE)
        except OSError:
            pass  # not created
        modem.disconnect()
        sys.exit(1)
    heap("after")
    modem.disconnect()
    print("saved %d bytes to %s (size on flash %d)" % (total, FILE, os.stat(FILE)[6]))
    if digest is None:
        print("sha256: this port has no hashlib.sha256")
        return
    print("sha256:", digest)
    ok = file_sha256(FILE) == digest
    print("file read back from flash:", "sha256 matches" if ok else "sha256 DIFFERS")
    if not ok:
        sys.exit(1)


main()
