"""MQTT sensor: publish a reading every N seconds, obey a command topic, survive link loss.

Topics (ID below): ID/reading gets {"n": count, "value": reading} at QoS 1;
ID/status is "online" (retained) while connected and "offline" (the will) when the
device vanishes; ID/cmd takes "period <seconds>", "ping" (answered on ID/status)
and "stop". A lost link, PDP context or modem restart is restored by the client by
itself (reconnect with backoff, session kept); readings taken meanwhile wait in its
offline queue.

On a board: set APN and BROKER below, then
    python -m tools.deploy --board <board> --example mqtt_sensor.py --port <usb port>
copies it as main.py with the board file, whose pins, power key and baud bring
the modem up (boards/README.md).
On a PC, with boards/unix.py as the board file:
    python -m tools.deploy --board unix --example mqtt_sensor.py
    micropython build/unix/main.py <tty> <broker> <port> [readings]
"""
import sys

import board  # the board file (boards/, copied as board.py): pins, power key, baud
from cellmodem.compat import ticks_ms, ticks_diff
from cellmodem.mqtt import MQTTClient

APN = "internet"
BROKER, PORT = "broker.example", 1883
ID = "sensor1"
PERIOD_S = 5


def read_sensor(n):
    try:
        import esp32  # ESP32: the chip's own temperature sensor, in Celsius
        return (esp32.raw_temperature() - 32) / 1.8
    except ImportError:
        return 20 + (n % 7) * 0.5  # no sensor here: a made-up but varying reading


class Sensor:
    def __init__(self, modem, broker, port, readings):
        self.period = PERIOD_S * 1000
        self.running = True
        self.left = readings  # None: forever
        self.modem = modem
        self.announce = False  # (re)connected: say "online" again
        c = MQTTClient(ID, broker, port, keepalive=60, modem=modem, queue=20)
        c.set_last_will(ID + "/status", b"offline", retain=True, qos=1)
        c.set_callback(self.on_command)
        c.set_status_callback(self.on_status)
        self.client = c

    def on_status(self, status, detail):
        if status == "connected":  # detail: True if the broker kept the session
            print("link: connected,", "session kept" if detail else "new session")
            # after a reconnect too: the broker published the will when the link died
            self.announce = True
        else:
            print("link:", status, detail)

    def on_command(self, topic, msg):
        print("command:", msg)
        words = msg.split()
        if words[:1] == [b"period"] and len(words) == 2 and words[1].isdigit():
            self.period = int(words[1]) * 1000
        elif msg == b"ping":
            self.client.publish(ID + "/status", b"pong", qos=1)
        elif msg == b"stop":
            self.running = False

    def run(self):
        c = self.client
        c.connect(clean_session=False)  # the broker keeps our subscription and queue
        c.subscribe(ID + "/cmd", qos=1)
        n = 0
        last = ticks_ms() - self.period
        while self.running and self.left != 0:
            if self.announce:
                self.announce = False
                c.publish(ID + "/status", b"online", retain=True, qos=1)
            if ticks_diff(ticks_ms(), last) >= self.period:
                last = ticks_ms()
                n += 1
                value = read_sensor(n)
                try:
                    c.publish(ID + "/reading", '{"n": %d, "value": %.1f}' % (n, value), qos=1)
                    print("reading", n, value)
                except OSError as e:  # offline and the queue is full: this one is lost
                    print("reading", n, "not sent:", e)
                if self.left is not None:
                    self.left -= 1
            c.check_msg()  # commands, keepalive, reconnect when due
            self.modem.poll(50)  # wait a little, handling the modem's URCs
        c.disconnect()


def main():
    broker, port, readings = BROKER, PORT, None
    if len(sys.argv) > 3:
        broker, port = sys.argv[2], int(sys.argv[3])
    if len(sys.argv) > 4:
        readings = int(sys.argv[4])
    modem = board.modem()
    print("IP address:", modem.connect(apn=APN))
    Sensor(modem, broker, port, readings).run()
    modem.disconnect()
    print("sensor done")


main()
