"""NTP time: set the module's clock (and the board's RTC) from an NTP server.

On a board: set APN, NTP_SERVER and TZ below, then
    python -m tools.deploy --board <board> --example ntp_time.py --port <usb port>
copies it as main.py with the board file, whose pins, power key and baud bring
the modem up (boards/README.md).
On a PC, with boards/unix.py as the board file:
    python -m tools.deploy --board unix --example ntp_time.py
    micropython build/unix/main.py <tty> [<ntp server>]
Yuge modules have an NTP client (manual 7.1 AT+CNTP): cellmodem.native.yuge_services
ntp_sync() sets the module clock and machine.RTC where the port has one. The other
families have no NTP command here: their clock is the network's time (NITZ), read
with modem.network_time() (AT+CCLK?), which this prints.
"""
import sys

import board  # the board file (boards/, copied as board.py): pins, power key, baud

APN = "internet"
NTP_SERVER = "pool.ntp.org"
TZ = 0  # the local zone in quarter hours (+32 is UTC+8)


def main():
    global NTP_SERVER
    if len(sys.argv) > 2:
        NTP_SERVER = sys.argv[2]
    modem = board.modem()
    print("modem:", modem.model(), "dialect", modem.dialect.NAME)
    print("IP address:", modem.connect(apn=APN))
    if modem.dialect.NAME == "yuge":
        from cellmodem.native import yuge_services
        try:
            t = yuge_services.ntp_sync(NTP_SERVER, tz=TZ, modem=modem)
        except OSError as e:
            print("NTP failed:", e)
            modem.disconnect()
            sys.exit(1)
        print("NTP time from %s: %04d-%02d-%02d %02d:%02d:%02d (tz %+d quarter hours)"
              % ((NTP_SERVER,) + t))
        print("machine.RTC set:", yuge_services.set_rtc(t))
    else:
        print("%s modules have no NTP client here: network time comes from "
              "modem.network_time() (AT+CCLK?)" % modem.dialect.NAME)
    print("module clock:", modem.network_time())
    modem.disconnect()


main()
