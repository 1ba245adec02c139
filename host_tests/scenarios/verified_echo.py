"""A verified echo for the MicroPython scenarios: a pseudo-random stream (all 256
byte values) generated and checked on the fly, so the heap holds only the buffers.

Usage: from verified_echo import echo; echo(sock, total) -> bytes echoed (raises
SystemExit on EOF or a wrong byte).
"""


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


def echo(s, total, window=4096, chunk=1024):
    """Write total bytes to s (write(buf, n)) and check the echo read back with
    recv_into, at most window bytes outstanding."""
    out, back, want = bytearray(chunk), bytearray(chunk), bytearray(chunk)
    tx, rx = Stream(), Stream()
    sent = got = 0
    while got < total:
        if sent < total and sent - got < window:
            n = min(chunk, total - sent)
            tx.fill(out, n)
            s.write(out, n)
            sent += n
            continue
        n = s.recv_into(back, min(chunk, sent - got))
        if not n:
            raise SystemExit("EOF after %d bytes" % got)
        rx.fill(want, n)
        if back[:n] != want[:n]:
            raise SystemExit("MISMATCH at byte %d" % got)
        got += n
    return got
