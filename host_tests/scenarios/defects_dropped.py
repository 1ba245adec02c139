"""The firmware-defect check at bring-up leaves no module behind on MicroPython
(host_tests/test_info.py): its table and code go with the next collection.

Run: defects_dropped.py <tty> <dialect>
"""
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial

modem = Modem(open_serial(sys.argv[1]), dialect=sys.argv[2])
modem.connect(apn="internet")
print("CHECKED", modem.module_state.get("defects") == [])
print("LEFT", "cellmodem.defects" in sys.modules, "defects" in sys.modules["cellmodem"].__dict__)
