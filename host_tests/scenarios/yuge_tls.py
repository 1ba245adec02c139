"""Module TLS on the Yuge family through cellmodem (the module does the handshake with
certificates stored in its file system), run in real MicroPython against the
simulator on a pty.

Run: micropython yuge_tls.py <mode> <tty> [args]
  echo   <tty> <host> <port> <bytes> <ca file> [<cert file> <key file>]
         uploads the CA (and the client certificate and key), then a verified echo of
         a pseudo-random stream; prints "YUGE TLS ECHO OK <bytes> <ms>"
  refuse <tty> <host> <port> <ca file>  prints "REFUSED <errno> <text>" or "ACCEPTED"
  mqtt   <tty> <host> <port> <n> <ca file> <cert file> <key file>
         the module's own MQTT over AT+SSLMIPSTART (context 88 from a ModuleTLS):
         publishes n QoS 1 messages on mpy/up and takes n QoS 1 answers on mpy/down
         (the peer sends each one back reversed); prints "YUGE TLS MQTT OK <n>"
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


def store(ca, cert=None, key=None):
    tls.cert_upload(modem, "ca.crt", ca, "ca")
    if cert:
        tls.cert_upload(modem, "client.crt", cert, "cert")
        tls.cert_upload(modem, "client.key", key, "key")
    return tls.ModuleTLS(ca="ca.crt", cert="client.crt" if cert else None,
                         key="client.key" if cert else None)


def connect(host, port, ca, cert=None, key=None):
    spec = store(ca, cert, key)
    s = socket.socket()
    s.settimeout(30)
    s.connect((host, int(port)), tls=spec)
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
    print("YUGE TLS ECHO OK", got, ticks_diff(ticks_ms(), t0))


def refuse(host, port, ca):
    try:
        s = connect(host, port, ca)
    except OSError as e:
        print("REFUSED", e.args[0], e.args[1] if len(e.args) > 1 else "")
        return
    s.close()
    print("ACCEPTED")


def mqtt(host, port, n, ca, cert, key):
    from cellmodem.native.yuge_mqtt import MQTTClient
    n = int(n)
    got = []
    c = MQTTClient("mpy-yuge-tls", host, int(port), ssl=store(ca, cert, key), keepalive=60,
                   modem=modem, timeout=20000)
    c.set_callback(lambda t, m: got.append((t, m)))
    c.connect()
    c.subscribe("mpy/down", 1)
    for i in range(n):
        msg = b"m%d \x00\xff\r\n" % i
        c.publish("mpy/up", msg, qos=1)
        t0 = ticks_ms()
        while len(got) <= i:
            if ticks_diff(ticks_ms(), t0) > 30000:
                raise SystemExit("no answer to message %d" % i)
            c.wait_msg()
        if got[i] != (b"mpy/down", bytes(reversed(msg))):
            raise SystemExit("WRONG ANSWER %r" % (got[i],))
    c.disconnect()
    print("YUGE TLS MQTT OK", n)


modem = Modem(open_serial(tty, 115200), dialect="yuge")
modem.connect(apn="internet")
if mode == "echo":
    echo(*args)
elif mode == "refuse":
    refuse(*args)
elif mode == "mqtt":
    mqtt(*args)
else:
    raise SystemExit("unknown mode " + mode)
