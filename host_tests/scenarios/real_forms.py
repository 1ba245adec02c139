"""Real modules' forms beyond the manuals (issue 19), in real MicroPython.

Run: micropython real_forms.py <tty> <case> [<host> <port> [<command>:<manual ms>]]
  connect        bring-up only (e.g. SIM7600's bare ERROR to AT+NETOPEN): "IP <ip>"
  open_fails     then one TCP open that the module refuses: "OPEN FAILED <errno> <text>";
                 <command>:<ms> scales a manual limit down (the library adds its margin)
Ends with "DONE".
"""
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
import cellmodem.socket as socket

tty, case = sys.argv[1], sys.argv[2]
modem = Modem(open_serial(tty))
print("IP", modem.connect(apn="internet"))
if case == "open_fails":
    if len(sys.argv) > 5:
        from cellmodem.timeouts import late
        name, ms = sys.argv[5].split(":")
        modem.at.timeouts[name] = late(int(ms))
    s = socket.socket()
    try:
        s.connect(socket.getaddrinfo(sys.argv[3], int(sys.argv[4]))[0][-1])
        print("CONNECTED")
    except OSError as e:
        print("OPEN FAILED", e.args[0], e.args[1] if len(e.args) > 1 else "")
    s.close()
print("DONE")
