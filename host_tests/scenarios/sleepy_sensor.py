"""One wake of an MQTT sensor that deep-sleeps between reports, in real MicroPython.

Run: micropython sleepy_sensor.py <family> <tty> <broker host> <port> <n> <state file>
Each run is one wake (the process ends as the board's deep sleep would end it): the
modem comes back with cellmodem.resume (no SIM or registration checks while the
module kept its context), the MQTT client takes up its broker session
(clean_session=False), reading <n> goes out at QoS 1 on sleepy/up, the commands the
broker kept while the board slept (sleepy/cmd, QoS 1) are taken, the PSM timers are
asked for on the first wake, and the state is saved for the next. It does not
disconnect: the module's connection is left open, as a board that powers down at
once leaves it, and the next wake closes it. Prints "WAKE <n> <resumed|full>
<session|new> <commands received, comma-separated>".
"""
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
from cellmodem.compat import ticks_ms, ticks_diff
from cellmodem.mqtt import MQTTClient
from cellmodem import resume

family, tty, host, port, n, path = sys.argv[1:7]
modem = Modem(open_serial(tty), dialect=family)
resumed = resume.resume(modem, path, apn="internet")
if not resumed and modem.dialect.POWER.get("psm"):
    from cellmodem import psm
    psm.request(modem, tau=3600, active=60)  # report every 15 min, TAU every hour
got = []
c = MQTTClient("sleepy-" + family, host, int(port), keepalive=1200)
c.set_callback(lambda t, m: got.append(bytes(m).decode()))
session = c.connect(clean_session=False)
if not session:
    c.subscribe("sleepy/cmd", 1)
c.publish("sleepy/up", b"reading %s" % n.encode(), qos=1)
t0 = ticks_ms()
while ticks_diff(ticks_ms(), t0) < 1500:  # what the broker kept comes after CONNACK
    c.check_msg()
    modem.poll(50)
resume.save(modem, path)
print("WAKE", n, "resumed" if resumed else "full", "session" if session else "new",
      ",".join(got))
