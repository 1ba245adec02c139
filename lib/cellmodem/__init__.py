"""cellmodem: drive a cellular modem over a UART with AT commands, on MicroPython and CPython.

Usage: from cellmodem import Modem; modem = Modem(machine.UART(1, 115200))
Modem, AT, ModemError, ATError, ATTimeout, SIMError and NetworkError are here
too, imported on first use (cellmodem._names): `import cellmodem` alone loads
nothing else.
"""
__version__ = "0.1.0"


def __getattr__(name):
    from cellmodem._names import get  # the names, and submodules (see there)
    return get(name)
