"""One TCP transfer through cellmodem.socket, timed (run in MicroPython).

Run: goodput.py <tty> <dialect> <mode> <ip> <port> <down|up> <bytes> [alloc]
mode "data": a cellmodem.datamode.DataSocket (transparent mode) instead of a socket.
The server (tools/bench/servers.py) answers "D<n>\\n" with n bytes and "U<n>\\n" by
reading n bytes and replying "OK <n>\\n". Prints "GOODPUT <bytes> <ms> <urcs>"; with
"alloc", gc is disabled for the transfer and "ALLOC <bytes allocated> <bytes measured>
<urcs>" covers everything after the first 16 KiB (the steady state).
"""
import gc
import sys

from cellmodem.compat import ticks_ms, ticks_diff
from cellmodem.modem import Modem
from cellmodem.ports import open_serial
import cellmodem.socket as socket

tty, dialect, mode, ip, port, direction = sys.argv[1:7]
total = int(sys.argv[7])
alloc = sys.argv[8:] == ["alloc"]
modem = Modem(open_serial(tty), dialect=dialect, sock_rxbuf=8192)
modem.connect(apn="internet", rx_mode=None if mode == "data" else mode)
eng = modem.at.engine
if mode == "data":
    from cellmodem.datamode import DataSocket
    s = DataSocket(modem, rxbuf=8192)
else:
    s = socket.socket()
s.settimeout(60)
s.connect((ip, int(port)))
buf = bytearray(4096)
mv = memoryview(buf)
for i in range(len(buf)):
    buf[i] = i * 7 & 255
WARM = 16384
a0 = u0 = None
done = 0
gc.collect()
if direction == "down":
    s.write(b"D%d\n" % total)
    t0 = ticks_ms()
    u = eng.urc_count
    if alloc:
        gc.disable()
    while done < total:
        if alloc and a0 is None and done >= WARM:
            a0, m0, u0 = gc.mem_alloc(), done, eng.urc_count
        n = s.recv_into(mv)
        if not n:
            break
        done += n
else:
    s.write(b"U%d\n" % total)
    t0 = ticks_ms()
    u = eng.urc_count
    if alloc:
        gc.disable()
    while done < total:
        if alloc and a0 is None and done >= WARM:
            a0, m0, u0 = gc.mem_alloc(), done, eng.urc_count
        n = total - done
        if n > len(buf):
            n = len(buf)
        # the whole view while it fits: a slice per call would be this loop's own
        # allocation, not the library's
        done += s.send(mv if n == len(buf) else mv[:n])
    a1 = gc.mem_alloc()
    reply = b""
    while not reply.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            break
        reply += c
    if reply != b"OK %d\n" % total:
        raise SystemExit("server got %r" % reply)
ms = ticks_diff(ticks_ms(), t0)
if alloc and direction == "down":
    a1 = gc.mem_alloc()
gc.enable()
print("GOODPUT", done, ms, eng.urc_count - u)
if alloc:
    print("ALLOC", a1 - a0, done - m0, eng.urc_count - u0)
s.close()
