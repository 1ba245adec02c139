"""GPS tracker: a GNSS fix, published over MQTT, then deep sleep until the next one.

Each wake: bring the modem back (cellmodem.resume: where the module kept its context
through the board's sleep - PSM on the families that have it, requested at the
first wake - no SIM or registration checks; a full bring-up otherwise), take a fix
(on a SIM7080 the data link is paused for it), publish {"lat", "lon", "alt", "utc",
"sats"} to ID/fix at QoS 1 (a persistent session: nothing is lost across wakes),
ID/status "no fix" when the sky stays hidden, then power the receiver down, keep the
state for the next wake and sleep: board.deep_sleep(), on a board machine.deepsleep()
(it starts main.py again when it wakes); the unix board file sleeps in place. A
module without PSM is powered down for the sleep where the board has a power key.
[fixes] takes that many fixes per wake, [period] apart.

On a board: set APN and BROKER below, then
    python -m tools.deploy --board <board> --example gps_tracker.py --features mqtt,gnss --port <usb port>
On a PC, with boards/unix.py as the board file:
    micropython build/unix/main.py <tty> <broker> <port> [fixes] [period s]
"""
import json
import sys
import time

import board  # the board file (boards/, copied as board.py): pins, power key, baud
from cellmodem import gnss, resume
from cellmodem.mqtt import MQTTClient

APN = "internet"
BROKER, PORT = "broker.example", 1883
ID = "tracker1"
PERIOD_S = 900  # 15 minutes between fixes
FIX_TIMEOUT_MS = 120000  # a cold start outdoors takes 30-60 s; indoors never
STATE = "cm.state"  # what the next wake needs (a file; RTC memory works too)


def report(modem, client):
    try:
        f = gnss.fix(modem, timeout=FIX_TIMEOUT_MS)
    except OSError as e:  # ETIMEDOUT: no fix this time
        print("no fix:", e)
        client.publish(ID + "/status", b"no fix", qos=1)
        return
    finally:
        gnss.stop(modem)  # the receiver draws current
    print("fix:", f)
    client.publish(ID + "/fix", json.dumps({"lat": f.lat, "lon": f.lon, "alt": f.alt,
                                            "utc": f.utc, "sats": f.sats}), qos=1)


def main():
    global BROKER, PORT, PERIOD_S
    fixes = 1
    if len(sys.argv) > 3:
        BROKER, PORT = sys.argv[2], int(sys.argv[3])
    if len(sys.argv) > 4:
        fixes = int(sys.argv[4])
    if len(sys.argv) > 5:
        PERIOD_S = int(sys.argv[5])
    modem = board.modem()
    psm = modem.dialect.POWER.get("psm")
    resumed = resume.resume(modem, STATE, apn=APN)
    print("modem:", "resumed" if resumed else "brought up")
    if not resumed and psm:
        from cellmodem import psm as _psm
        _psm.request(modem, tau=4 * PERIOD_S, active=60)  # asleep between reports
    client = MQTTClient(ID, BROKER, PORT, keepalive=PERIOD_S * 2, modem=modem, queue=10)
    client.connect(clean_session=False)
    for n in range(fixes):
        report(modem, client)
        if n + 1 < fixes:
            time.sleep(PERIOD_S)
    client.disconnect()
    print("tracker done")
    if psm:
        resume.save(modem, STATE)  # the module stays on, in PSM
    elif hasattr(board, "power_on"):  # a board with a power key: the module off too
        modem.power_down()
    board.deep_sleep(PERIOD_S * 1000)  # on a board: wakes into main.py again


main()
