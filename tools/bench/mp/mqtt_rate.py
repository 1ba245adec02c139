"""QoS 1 publish rate of an MQTT client over cellmodem.socket (MicroPython).

Run: mqtt_rate.py <tty> <dialect> <broker ip> <port> <cellmodem|umqtt> <messages>
umqtt is micropython-lib's umqtt.simple (from PyPI, on the path), given our socket
module as usocket. Prints "CLIENT_IMPORT <bytes>", "RATE <messages> <ms>" and
"PEAK <bytes>" (most heap in use after a collection, sampled every 10 messages).
"""
import gc
import sys

from cellmodem.compat import ticks_ms, ticks_diff
from cellmodem.modem import Modem
from cellmodem.ports import open_serial
import cellmodem.socket

tty, dialect, ip, port, which, n = sys.argv[1:7]
n = int(n)
modem = Modem(open_serial(tty), dialect=dialect, sock_rxbuf=2048)
modem.connect(apn="internet")
gc.collect()
before = gc.mem_alloc()
if which == "umqtt":
    sys.modules["usocket"] = cellmodem.socket
    sys.modules["socket"] = cellmodem.socket
    from umqtt.simple import MQTTClient
else:
    from cellmodem.mqtt import MQTTClient
gc.collect()
print("CLIENT_IMPORT", gc.mem_alloc() - before)
c = MQTTClient(b"bench-" + which.encode(), ip, int(port), keepalive=60)
c.connect()
payload = b"x" * 32
peak = 0
t0 = ticks_ms()
for i in range(n):
    c.publish(b"bench/rate", payload, qos=1)
    if i % 10 == 0:
        gc.collect()
        used = gc.mem_alloc()
        if used > peak:
            peak = used
ms = ticks_diff(ticks_ms(), t0)
c.disconnect()
print("RATE", n, ms)
print("PEAK", peak)
