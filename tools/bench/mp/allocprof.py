"""Where a transfer allocates (run in MicroPython by tools/bench/allocprof.py).

Run: allocprof.py <tty> <dialect> <mode> <ip> <port> <down|up> <bytes> <rxbuf> <spec>...
<rxbuf>: the socket's receive ring, bytes.
Each spec names a function to wrap: "d.<name>" on the dialect, "at.<name>" on the AT
face, "eng.<name>" on the engine, "s.<name>" on the socket, "l.<name>" on its link,
"r.<name>" on the link's ring. With gc disabled after the first 16 KiB, each wrapper
adds up gc.mem_alloc() around its calls: "PROF <spec> <calls> <bytes>". A wrapper's
own argument tuple and dict are made before it measures, so one wrapped function
alone is exact; wrapping two where one calls the other counts the inner wrapper's
overhead in the outer figure.
"""
import gc
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
import cellmodem.socket as socket

tty, dialect, mode, ip, port, direction = sys.argv[1:7]
total = int(sys.argv[7])
rxbuf = int(sys.argv[8])
specs = sys.argv[9:]
acc = [0] * len(specs)
cnt = [0] * len(specs)


def wrap(obj, attr, idx):
    f = getattr(obj, attr)

    def w(*a, **k):
        m0 = gc.mem_alloc()
        r = f(*a, **k)
        acc[idx] += gc.mem_alloc() - m0
        cnt[idx] += 1
        return r
    setattr(obj, attr, w)


modem = Modem(open_serial(tty), dialect=dialect, sock_rxbuf=rxbuf)
modem.connect(apn="internet", rx_mode=mode)
s = socket.socket()
s.settimeout(60)
s.connect((ip, int(port)))
link = s._link
owners = {"d": modem.dialect, "at": modem.at, "eng": modem.at.engine, "s": s, "l": link,
          "r": link.ring}
for i in range(len(specs)):
    who, attr = specs[i].split(".", 1)
    wrap(owners[who], attr, i)
buf = bytearray(4096)
mv = memoryview(buf)
WARM = 16384
done = 0
gc.collect()
s.write(b"D%d\n" % total if direction == "down" else b"U%d\n" % total)
gc.disable()
while done < total:
    if direction == "down":
        n = s.recv_into(mv)
        if not n:
            break
    else:
        n = total - done
        n = s.send(mv if n >= len(buf) else mv[:n])
    done += n
    if done < WARM:  # the steady state only
        for i in range(len(specs)):
            acc[i] = cnt[i] = 0
gc.enable()
for i in range(len(specs)):
    print("PROF", specs[i], cnt[i], acc[i])
