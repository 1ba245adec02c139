"""NTP time: set the module's clock (and the board's RTC) from an NTP server.

On a board: set the UART pins, APN, NTP_SERVER and TZ below; copy lib/cellmodem and
this file as main.py.
On unix: micropython examples/ntp_time.py <tty> [<ntp server>]
Yuge modules have an NTP client (manual 7.1 AT+CNTP): cellmodem.native.yuge_services
ntp_sync() sets the module clock and machine.RTC where the port has one. The other
families have no NTP command here: their clock is the network's time (NITZ), read
with modem.network_time() (AT+CCLK?), which this prints.
"""
import sys

from cellmodem.modem import Modem

APN = "internet"
NTP_SERVER = "pool.ntp.org"
TZ = 0  # the local zone in quarter hours (+32 is UTC+8)


def open_port():
    if len(sys.argv) > 1:  # unix: a serial device or the simulator's pty
        from cellmodem.ports import open_serial
        return open_serial(sys.argv[1])
    from machine import UART  # a board: adjust the pins to your wiring
    return UART(1, 115200, tx=17, rx=18, rxbuf=2048)


def main():
    global NTP_SERVER
    if len(sys.argv) > 2:
        NTP_SERVER = sys.argv[2]
    modem = Modem(open_port())
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
