"""PSM and eDRX requested and read back, in real MicroPython.

Run: micropython psm_check.py <tty>. Prints "PSM OK <granted PSM> <eDRX>".
"""
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
from cellmodem import psm

modem = Modem(open_serial(sys.argv[1]))
modem.connect(apn="internet")
psm.request(modem, tau=86400, active=60)
psm.edrx(modem, 81920)
print("PSM OK", psm.granted(modem), psm.edrx_granted(modem))
