"""cellmodem: drive a cellular modem over a UART with AT commands, on MicroPython and CPython.

Usage: from cellmodem import Modem; modem = Modem(machine.UART(1, 115200))
Modem, AT, ModemError, ATError, ATTimeout, SIMError and NetworkError are here
too, imported on first use (cellmodem._names): `import cellmodem` alone loads
nothing else.
"""
__version__ = "0.1.0"


def __getattr__(name):
    # MicroPython asks a module's __getattr__ before it imports a submodule
    # (from cellmodem import socket), and passes on its AttributeError: so import it.
    if name[0] < "a":
        from cellmodem._names import get
        return get(name)
    return __import__("cellmodem." + name, None, None, (name,))
