"""Host TLS through cellmodem (the board's own TLS over the modem's sockets), run in
real MicroPython (and CPython) against the simulator on a pty.

Run: micropython tls_client.py <mode> <tty> [args]
  echo   <tty> <host> <port> <bytes> <ca> [<cert> <key>]  verified echo of a
         pseudo-random stream; prints "TLS ECHO OK <bytes> <cipher> <handshake ms>"
  refuse <tty> <host> <port> <ca>    prints "REFUSED <errno> <text>" or "ACCEPTED"
  mqtt   <tty> <host> <port> <ca> <cert> <key> <count>   QoS 1 both ways: publishes
         <count> messages on tls/up, expects <count> on tls/down (a peer answers
         each); prints "MQTT TLS OK <up> <down>"
  https  <tty> <url> <ca>            streamed GET; prints "HTTPS OK <bytes> <sha256>"
  aio    <tty> <host> <port> <ca> <lines>  AsyncSocket over host TLS, lines echoed;
         prints "AIO TLS OK <lines>"
  plain  <tty> <host> <port> <bytes> <ca>  MicroPython's own idiom: ssl.SSLContext
         .wrap_socket(cellmodem socket with a 0.1 s timeout); prints "PLAIN TLS OK <bytes>"
  secret <tty> <host> <port> <ca> <user> <password> <trace file>  MQTT CONNECT with a
         user name and password over host TLS, then DISCONNECT; every byte the UART
         carries (at.trace) goes to <trace file>; prints "SECRET CONNECTED" or
         "SECRET REFUSED <str(e)> | <repr(e)>"
Certificates are file names (PEM or DER).
"""
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
from cellmodem.compat import ticks_ms, ticks_diff
import cellmodem.socket as socket
from cellmodem import tls
from verified_echo import Stream, echo as verified_echo

mode, tty = sys.argv[1], sys.argv[2]
args = sys.argv[3:]


def open_tls(host, port, ctx):
    s = socket.socket()
    s.settimeout(30)
    s.connect(socket.getaddrinfo(host, port)[0][-1])
    t0 = ticks_ms()
    ss = tls.wrap(s, host, ctx)
    return ss, ticks_diff(ticks_ms(), t0)


def echo(host, port, total, ca, cert=None, key=None):
    ss, hs = open_tls(host, int(port), tls.context(ca, cert, key))
    got = verified_echo(ss, int(total), 2048)
    c = ss.cipher()
    ss.close()
    print("TLS ECHO OK", got, c[0] if c else "?", hs)


def plain(host, port, total, ca):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=tls.der(ca))
    s = socket.socket()
    s.settimeout(0.1)  # at 115200 baud a 4 KiB record takes 0.36 s: reads time out mid-record
    s.connect(socket.getaddrinfo(host, int(port))[0][-1])
    ss = ctx.wrap_socket(s, server_hostname=host)
    total = int(total)
    out, back, want = bytearray(4096), bytearray(4096), bytearray(4096)
    tx, rx = Stream(), Stream()
    got = 0
    t0 = ticks_ms()
    while got < total:
        n = min(4096, total - got)
        tx.fill(out, n)
        ss.write(memoryview(out)[:n])
        k = 0
        while k < n:
            try:
                r = ss.readinto(memoryview(back)[k:n])
            except OSError as e:  # a timeout between records: the stream stays whole
                if e.args[0] != 110:
                    raise
                if ticks_diff(ticks_ms(), t0) > 60000:
                    raise SystemExit("STUCK after %d bytes: a record lost bytes" % (got + k))
                continue
            if not r:
                raise SystemExit("EOF after %d bytes" % (got + k))
            k += r
        rx.fill(want, n)
        if back[:n] != want[:n]:
            raise SystemExit("MISMATCH near byte %d" % got)
        got += n
    ss.close()
    print("PLAIN TLS OK", got)


def refuse(host, port, ca):
    s = socket.socket()
    s.settimeout(30)
    s.connect(socket.getaddrinfo(host, int(port))[0][-1])
    try:
        ss = tls.wrap(s, host, tls.context(ca))
    except OSError as e:
        print("REFUSED", e.args[0], e.args[1] if len(e.args) > 1 else "")
        return
    ss.close()
    print("ACCEPTED")


def mqtt(host, port, ca, cert, key, count):
    from cellmodem.mqtt import MQTTClient
    count = int(count)
    down = []
    c = MQTTClient("mp-tls", host, int(port), keepalive=30,
                   ssl=tls.context(ca, cert, key))
    c.set_callback(lambda t, m: down.append(m))
    c.connect()
    granted = c.subscribe(b"tls/down", 1)
    if granted != 1:
        raise SystemExit("tls/down granted QoS %r, not 1" % granted)
    for i in range(count):
        c.publish(b"tls/up", b"up %d" % i, qos=1)
        c.check_msg()
    t0 = ticks_ms()
    while len(down) < count and ticks_diff(ticks_ms(), t0) < 60000:
        c.check_msg()
    c.disconnect()
    want = set(b"down %d" % i for i in range(count))
    if set(down) != want:
        raise SystemExit("MQTT missing %r" % sorted(want - set(down))[:5])
    print("MQTT TLS OK", count, len(down))


def secret(host, port, ca, user, password, trace):
    from cellmodem.mqtt import MQTTClient, MQTTException
    f = open(trace, "wb")
    modem.at.trace = lambda d, data, ms: f.write(bytes(data))
    c = MQTTClient("mp-secret", host, int(port), user=user, password=password,
                   reconnect=False, ssl=tls.context(ca))
    try:
        c.connect()
        c.disconnect()
        print("SECRET CONNECTED")
    except (MQTTException, OSError) as e:
        print("SECRET REFUSED", str(e), "|", repr(e))
    finally:
        modem.at.trace = None
        f.close()


def https(url, ca):
    import cellmodem.requests as requests
    import hashlib
    import binascii
    h = hashlib.sha256()
    n = 0
    buf = bytearray(1024)
    with requests.get(url, verify=ca, stream=True, timeout=30) as r:
        if r.status_code != 200:
            raise SystemExit("HTTP %d" % r.status_code)
        while True:
            k = r.readinto(buf)
            if not k:
                break
            h.update(buf[:k])
            n += k
    print("HTTPS OK", n, binascii.hexlify(h.digest()).decode())


def aio(host, port, ca, lines):
    import asyncio
    from cellmodem.aio import AsyncModem

    async def main():
        am = AsyncModem(modem)
        am.start()
        s = await am.open_connection(host, int(port), ssl=tls.context(ca))
        for i in range(int(lines)):
            line = b"line %d %s\n" % (i, b"x" * (i % 200))
            await s.send(line)
            back = await s.readline()
            if back != line:
                raise SystemExit("AIO MISMATCH %r" % back[:40])
        s.close()
        am.stop()
        print("AIO TLS OK", lines)

    asyncio.run(main())


modem = Modem(open_serial(tty), sock_rxbuf=4096)
modem.connect(apn="internet")
{"echo": echo, "plain": plain, "refuse": refuse, "mqtt": mqtt, "https": https, "aio": aio,
 "secret": secret}[mode](*args)
modem.disconnect()
