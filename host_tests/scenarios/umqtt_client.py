"""umqtt.simple from PyPI, unchanged, over cellmodem.socket (run in MicroPython).

Run: micropython umqtt_client.py <tty> <broker host> <port> <dialect> [umqtt|cellmodem]
With "cellmodem" the one line that changes is the import: cellmodem.mqtt.MQTTClient
runs the same code (its umqtt.simple-compatible interface). Subscribes to cm/in, announces itself on cm/out, then sends every message it gets
on cm/in back on cm/echo until it gets b"bye". The test's paho peer drives it.
"""
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
import cellmodem.socket

sys.modules["usocket"] = cellmodem.socket  # umqtt.simple does "import usocket as socket"
sys.modules["socket"] = cellmodem.socket
if sys.argv[5:] == ["cellmodem"]:
    from cellmodem.mqtt import MQTTClient  # noqa: E402
else:
    from umqtt.simple import MQTTClient  # noqa: E402

tty, host, port, dialect = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
modem = Modem(open_serial(tty), dialect=dialect)
print("IP", modem.connect(apn="internet"))
done = []


def on_message(topic, msg):
    if msg == b"bye":
        done.append(1)
        return
    client.publish(b"cm/echo", msg, qos=1)


client = MQTTClient(b"cellmodem-umqtt", host, port, keepalive=60)
client.set_callback(on_message)
client.connect()
client.subscribe(b"cm/in", qos=1)
client.publish(b"cm/out", b"hello from umqtt over " + dialect.encode(), qos=1)
print("READY")
while not done:
    client.wait_msg()
client.disconnect()
modem.disconnect()
print("UMQTT DONE")
