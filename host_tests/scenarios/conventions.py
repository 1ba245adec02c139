"""network.WLAN / socket / requests conventions on a Modem, in real MicroPython.

Run: micropython conventions.py <tty> <dialect> <echo host> <echo port>
Prints one line per check ("STATUS got_ip", ...) and "CONVENTIONS OK".
"""
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
import cellmodem.socket as socket

tty, dialect, host, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
modem = Modem(open_serial(tty), dialect=dialect)
print("STATUS", modem.status())  # before connect: registered, searching or idle
modem.connect(apn="internet")
print("STATUS", modem.status())
rssi = modem.status("rssi")
print("RSSI", type(rssi).__name__)
print("IPCONFIG", modem.ipconfig("addr4") == (modem.ip, "255.255.255.255"))
print("ACTIVE", modem.active())
s = socket.socket()
s.settimeout(20)
s.connect(socket.getaddrinfo(host, port)[0][-1])
print("SOCKNAME", s.getsockname() == (modem.ip, 0))
f = s.makefile("rwb")
f.write(b"one line\n")
print("READLINE", f.readline())
s.close()
modem.active(False)
print("ACTIVE", modem.active(), modem.isconnected())
modem.active(True)
print("ACTIVE", modem.active())
print("CONVENTIONS OK")
