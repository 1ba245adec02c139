"""Bring-up leaves no module behind on MicroPython (host_tests/test_info.py): the
firmware-defect check's table and code, and cellmodem.bringup's, go with the next
collection once connect() succeeds, and so does the family's data-context module
(Dialect.UP); a disconnect(), ping() or reconnect() loads them again and drops them
when it returns.

Run: defects_dropped.py <tty> <dialect>
"""
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial

modem = Modem(open_serial(sys.argv[1]), dialect=sys.argv[2])
print("LOADED", "cellmodem.bringup" in sys.modules)  # Modem() synced through it
modem.connect(apn="internet")
pkg = sys.modules["cellmodem"].__dict__
print("CHECKED", modem.module_state.get("defects") == [])
print("LEFT", "cellmodem.defects" in sys.modules, "defects" in pkg)
print("BRINGUP LEFT", "cellmodem.bringup" in sys.modules, "bringup" in pkg)
print("SIGNAL", modem.signal() is not None)  # cellmodem.ident's: power's stays unloaded
print("POWER CODE", "cellmodem.ident" in sys.modules, "cellmodem.power" in sys.modules)
up = modem.dialect.UP  # the family's activate/deactivate/ping module
dpkg = sys.modules["cellmodem.dialects"].__dict__
print("CONTEXT CODE LEFT", "cellmodem.dialects." + up in sys.modules, up in dpkg)
try:
    modem.ping("127.0.0.1", timeout=3000)  # loads both: bringup.ping, UP's ping
    print("PINGED")
except OSError as e:  # a family without a ping command: EOPNOTSUPP, after loading UP
    print("PING REFUSED", e.errno)
print("BRINGUP AFTER PING", "cellmodem.bringup" in sys.modules, "bringup" in pkg)
print("CONTEXT CODE AFTER PING", "cellmodem.dialects." + up in sys.modules, up in dpkg)
modem.disconnect()  # deactivate: loads them again
print("DISCONNECTED", modem.ip is None and not modem.isconnected())
print("BRINGUP AFTER DISCONNECT", "cellmodem.bringup" in sys.modules, "bringup" in pkg)
print("CONTEXT CODE AFTER DISCONNECT", "cellmodem.dialects." + up in sys.modules, up in dpkg)
print("RECONNECTED", modem.reconnect() == modem.ip and modem.isconnected())
print("BRINGUP LEFT AGAIN", "cellmodem.bringup" in sys.modules, "bringup" in pkg)
print("CONTEXT CODE LEFT AGAIN", "cellmodem.dialects." + up in sys.modules, up in dpkg)
