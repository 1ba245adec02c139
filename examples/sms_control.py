"""SMS control: a device that answers text messages from the numbers it trusts.

Commands (case does not matter): STATUS (the answer holds signal, operator and IP
address), PING (answers PONG), STOP (answers BYE and ends). Messages from other
numbers are deleted unanswered; messages that came while the device was off are
answered too. Sockets, MQTT and HTTP can run beside it: reading
a message is a few AT commands between their own.

On a board: set OWNER below, then
    python -m tools.deploy --board <board> --example sms_control.py --features sms --port <usb port>
On a PC, with boards/unix.py as the board file:
    micropython build/unix/main.py <tty> [owner number]
"""
import sys

import board  # the board file (boards/, copied as board.py): pins, power key, baud
from cellmodem.sms import SMS

APN = "internet"
OWNER = "+491701234567"  # the number whose messages are obeyed


def status(modem):
    return "signal %s dBm, operator %s, IP %s" % (modem.signal(), modem.operator(), modem.ip)


def main():
    global OWNER
    if len(sys.argv) > 2:
        OWNER = sys.argv[2]
    modem = board.modem()
    modem.connect(apn=APN)
    sms = SMS(modem)
    sms.listen()  # new messages announced (+CMTI); unread ones already stored queued too
    print("listening for SMS from", OWNER)
    while True:
        msg = sms.receive()  # read and deleted from the SIM
        if msg is None:
            modem.poll(500)
            continue
        print("from %s at %s: %r" % (msg.sender, msg.time, msg.text))
        if msg.sender != OWNER:
            print("  not the owner: ignored")
            continue
        cmd = msg.text.strip().upper()
        if cmd == "STATUS":
            sms.send(OWNER, status(modem))
        elif cmd == "PING":
            sms.send(OWNER, "PONG")
        elif cmd == "STOP":
            sms.send(OWNER, "BYE")
            break
        else:
            # short enough for one UCS2 message (70) whatever the command held
            sms.send(OWNER, "unknown command %r: STATUS, PING or STOP" % cmd[:16])
    print("sms control done")


main()
