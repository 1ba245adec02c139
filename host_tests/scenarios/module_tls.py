"""Module TLS through cellmodem (the module does the handshake with certificates
uploaded to it through the library), run in real MicroPython against the simulator
on a pty; families with module TLS: sim7080 (AT+CA*, C1802), yuge (9.6/9.7, 13.2),
quectel (AT+QSSL*) and sim7600 (AT+CCH*), these two from the families' public SSL
application notes.

Run: micropython module_tls.py <family> <mode> <tty> [args]
  echo   <host> <port> <bytes> <ca file> [<cert file> <key file>]
         a verified echo of a pseudo-random stream; prints "MODULE TLS ECHO OK <bytes> <ms>"
  refuse <host> <port> <ca file>  prints "REFUSED <errno> <text>" or "ACCEPTED"
  mqtt   <host> <port> <n> <ca file> <cert file> <key file>
         cellmodem.mqtt over a module-TLS socket (mutual TLS): publishes n QoS 1
         messages on mpy/up and takes n QoS 1 answers on mpy/down (the peer sends each
         one back reversed); prints "MODULE TLS MQTT OK <n>"
  native the same with the yuge module's own MQTT client (AT+SSLMIPSTART, context 88)
Certificates are file names (PEM or DER); each mode uploads them first.
"""
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
from cellmodem.compat import ticks_ms, ticks_diff
import cellmodem.socket as socket
from cellmodem import tls
from verified_echo import echo as verified_echo

family, mode, tty = sys.argv[1], sys.argv[2], sys.argv[3]
args = sys.argv[4:]


def store(ca, cert=None, key=None):
    """Upload the files; the ModuleTLS that names them."""
    # names ending in .pem: the SIM7600 family takes only .pem and .der names
    tls.cert_upload(modem, "ca.pem", ca, "ca")
    if cert:
        tls.cert_upload(modem, "client.pem", cert, "cert")
        tls.cert_upload(modem, "client-key.pem", key, "key")
    return tls.ModuleTLS(ca="ca.pem", cert="client.pem" if cert else None,
                         key="client-key.pem" if cert else None)


def connect(host, port, ca, cert=None, key=None):
    spec = store(ca, cert, key)
    s = socket.socket()
    s.settimeout(30)
    s.connect((host, int(port)), tls=spec)
    return s


def echo(host, port, total, ca, cert=None, key=None):
    t0 = ticks_ms()
    s = connect(host, port, ca, cert, key)
    got = verified_echo(s, int(total))
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


def mqtt(host, port, n, ca, cert, key, native=False):
    n = int(n)
    got = []
    spec = store(ca, cert, key)
    if native:
        from cellmodem.native.yuge_mqtt import MQTTClient
        c = MQTTClient("mpy-module-tls", host, int(port), ssl=spec, keepalive=60,
                       modem=modem, timeout=20000)
    else:
        from cellmodem.mqtt import MQTTClient
        c = MQTTClient("mpy-module-tls", host, int(port), ssl=spec, keepalive=60)
    c.set_callback(lambda t, m: got.append((bytes(t), bytes(m))))
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
    print("MODULE TLS MQTT OK", n)


modem = Modem(open_serial(tty, 115200), dialect=family)
modem.connect(apn="internet")
if mode == "echo":
    echo(*args)
elif mode == "refuse":
    refuse(*args)
elif mode == "mqtt":
    mqtt(*args)
elif mode == "native":
    mqtt(*args, native=True)
else:
    raise SystemExit("unknown mode " + mode)
