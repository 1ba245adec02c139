"""One TCP transfer through cellmodem.socket, plain or with TLS, timed (run in MicroPython).

Run: tls_goodput.py <tty> <dialect> <ip> <port> <plain|host|module> <down|up> <bytes>
                    <ca file> <server name>
host: cellmodem.tls.wrap() over the connected socket (the board's mbedTLS), the
server checked against the CA and the name. module: the CA stored on the module
with tls.cert_upload() and the socket connected with tls=ModuleTLS (the module's
TLS). The server (tools/bench/servers.py, behind TLS) answers "D<n>\\n" with n bytes
and "U<n>\\n" by reading n bytes and replying "OK <n>\\n".
Prints "HANDSHAKE <ms> <cipher suite> <protocol>" (host: from the connected TCP socket to the end
of tls.wrap; module: the whole connect, the module's handshake inside it), one
"MEM <point> <gc.mem_alloc after gc.collect> <VmRSS kB> <RssAnon kB>" per point
(start, connected, handshake, transfer, closed; /proc/self/status read by this
process), "GOODPUT <bytes> <ms> <urcs>"; "UNSUPPORTED <errno> <text>" when module TLS
is refused (nothing else is measured then).
"""
import gc
import sys

from cellmodem.compat import ticks_ms, ticks_diff
from cellmodem.modem import Modem
from cellmodem.ports import open_serial
import cellmodem.socket as socket
from cellmodem import tls

tty, dialect, ip, port, kind, direction = sys.argv[1:7]
total = int(sys.argv[7])
ca, name = sys.argv[8:10]


def status():
    kb = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:") or line.startswith("RssAnon:"):
                kb[line.split(":")[0]] = int(line.split()[1])
    return kb.get("VmRSS", -1), kb.get("RssAnon", -1)


def mem(point):
    rss, anon = status()
    gc.collect()
    print("MEM", point, gc.mem_alloc(), rss, anon)


modem = Modem(open_serial(tty), dialect=dialect, sock_rxbuf=8192)
modem.connect(apn="internet")
eng = modem.at.engine
buf = bytearray(4096)
mv = memoryview(buf)
for i in range(len(buf)):
    buf[i] = i * 7 & 255
mem("start")
s = socket.socket()
s.settimeout(60)
if kind == "module":
    try:
        tls.cert_upload(modem, "benchca.pem", ca, "ca")
        t0 = ticks_ms()
        s.connect((ip, int(port)), tls=tls.ModuleTLS(ca="benchca.pem"))
    except OSError as e:
        print("UNSUPPORTED", e.args[0], e.args[1] if len(e.args) > 1 else "")
        raise SystemExit(0)
    print("HANDSHAKE", ticks_diff(ticks_ms(), t0), "module")
else:
    if kind == "host":
        ctx = tls.context(ca)
    s.connect((ip, int(port)))
    if kind == "host":
        mem("connected")
        t0 = ticks_ms()
        s = tls.wrap(s, name, ctx)
        ms = ticks_diff(ticks_ms(), t0)
        mem("handshake")
        c = s.cipher()
        print("HANDSHAKE", ms, " ".join(str(x) for x in c) if c else "?")
done = 0
gc.collect()
if direction == "down":
    s.write(b"D%d\n" % total)
    t0 = ticks_ms()
    u = eng.urc_count
    while done < total:
        n = s.recv_into(mv)
        if not n:
            break
        done += n
else:
    s.write(b"U%d\n" % total)
    t0 = ticks_ms()
    u = eng.urc_count
    while done < total:
        n = total - done
        if n > len(buf):
            n = len(buf)
        done += s.send(mv[:n])
    reply = b""
    while not reply.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            break
        reply += c
    if reply != b"OK %d\n" % total:
        raise SystemExit("server got %r" % reply)
ms = ticks_diff(ticks_ms(), t0)
print("GOODPUT", done, ms, eng.urc_count - u)
if kind == "host":
    mem("transfer")
s.close()
s = None
if kind == "host":
    ctx = None
    mem("closed")
