"""A GNSS fix taken while an MQTT session is up, in real MicroPython.

Run: micropython gnss_mqtt.py <tty> <broker host> <broker port>
Publishes 5 QoS 1 readings, takes a fix (on the SIM7080 the data link is paused for
it and comes back), publishes the fix and 5 more readings; the client reconnects
with its session. Prints "GNSS OK <lat> <lon> <reconnects>".
"""
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
from cellmodem.mqtt import MQTTClient
from cellmodem import gnss

tty, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
modem = Modem(open_serial(tty))
modem.connect(apn="internet")
c = MQTTClient("gnss-dev", host, port, keepalive=30, modem=modem, queue=20)
c.connect(clean_session=False)
for i in range(5):
    c.publish(b"gnss-dev/up", b"%d" % i, qos=1)
f = gnss.fix(modem, timeout=60000)
gnss.stop(modem)
c.publish(b"gnss-dev/fix", ("%.6f,%.6f,%s" % (f.lat, f.lon, f.utc)).encode(), qos=1)
for i in range(5, 10):
    c.publish(b"gnss-dev/up", b"%d" % i, qos=1)
print("GNSS OK %.6f %.6f %d" % (f.lat, f.lon, c.reconnects))
c.disconnect()
