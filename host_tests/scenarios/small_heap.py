"""A whole AT session in a small heap (micropython -X heapsize=50k -m small_heap).

Echo on, URCs between lines, a prompt send, a raw read of 1 KiB in 1-64 byte
pieces, an over-long line and recovery, a timeout; prints the heap it needed.
"""
import gc

from cellmodem.at import AT
from cellmodem.errors import ATLineTooLong, ATTimeout
from cellmodem.fakeuart import FakeUART, Responder

OK = b"\r\nOK\r\n"
data = bytes(range(256)) * 4
uart = FakeUART((1, 64, 11))
Responder(uart, [
    (None, b"\r\nRDY\r\n"),
    (b"ATE1", b"ATE1\r" + OK),
    (b"AT+CSQ", b"AT+CSQ\r\r\n+CEREG: 5\r\n+CSQ: 20,99\r\n" + OK),
    (b"AT+CASEND=0,5", b"\r\n> ", 5, OK),
    (b"AT+CIPRXGET=2,0,1024", b"\r\n+CIPRXGET: 2,0,1024,0\r\n" + data + OK),
    (b"AT+CLONG", b"\r\n+CLONG: " + b"y" * 600 + b"\r\n" + OK),
    (b"AT+COPS?", b""),
    (b"AT", OK),
])
gc.collect()
start = gc.mem_alloc()
at = AT(uart, rxbuf=256)
seen = []
at.urc(b"+CEREG:", lambda line: seen.append(line.int(0)))
at.engine.on_unknown = lambda line: seen.append(line.bytes())
at.command("ATE1")
assert at.command("AT+CSQ") == [b"+CSQ: 20,99"]
at.send_data("AT+CASEND=0,5", b"hello")
got = bytearray(1024)
pos = [0]


def sink(buf, off, n):
    got[pos[0]:pos[0] + n] = buf[off:off + n]
    pos[0] += n


at.command("AT+CIPRXGET=2,0,1024", on_line=lambda line: at.engine.expect_raw(line.int(2), sink))
assert bytes(got) == data
try:
    at.command("AT+CLONG")
    raise AssertionError("no overflow")
except ATLineTooLong:
    pass
try:
    at.command("AT+COPS?", timeout=50)
    raise AssertionError("no timeout")
except ATTimeout:
    pass
uart.take()
at.command("AT")
assert seen == [b"RDY", 5], seen
gc.collect()
print("heap used by the session:", gc.mem_alloc() - start)
print("SMALL HEAP OK")
