"""cellmodem: drive a cellular modem over a UART with AT commands, on MicroPython and CPython.

Usage: from cellmodem.at import AT; at = AT(machine.UART(1, 115200)); at.command("AT")
"""
__version__ = "0.1.0"
