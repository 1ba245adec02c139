"""Bring-up leaves no module behind on MicroPython (host_tests/test_info.py): the
firmware-defect check's table and code, and cellmodem.bringup's, go with the next
collection once connect() succeeds; a reconnect() loads bringup again.

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
print("RECONNECTED", modem.reconnect() == modem.ip and modem.isconnected())
print("BRINGUP LEFT AGAIN", "cellmodem.bringup" in sys.modules, "bringup" in pkg)
