"""Exception types and texts a user sees, printed one per line so the same script's
output from MicroPython and CPython can be compared (host_tests/test_error_texts.py).

Usage: error_texts.py <dir> [<pty of a simulator whose SIM is locked with PIN 4321>]
<dir>: a directory holding a regular file "plain" (opened as a serial port: not a tty).
Prints "<check> <type> <args>" per check, then "DONE".
"""
import sys

from cellmodem.at import AT
from cellmodem.errors import ATError, ModemError, SIMError
from cellmodem.fakeuart import FakeUART, Responder
from cellmodem.ports import open_serial


def show(check, fn, *args):
    try:
        fn(*args)
    except Exception as e:  # the type and args are the output
        # CPython names an OSError by its errno subclass (FileNotFoundError); both are OSError
        name = "OSError" if isinstance(e, OSError) else type(e).__name__
        print(check, name, repr(e.args))
        return e
    print(check, "no exception")


def at_error():
    at = AT(FakeUART(None))
    Responder(at.port, [(b"AT+CIICR", b"\r\nERROR\r\n"), (b"AT+CPIN?", b"\r\n+CME ERROR: 10\r\n")])
    show("aterror-plain", at.command, "AT+CIICR")
    show("aterror-cme", at.command, "AT+CPIN?")


def main(argv):
    at_error()
    e = ATError(None, "ERROR", "AT+CIICR")
    print("aterror-str", str(e))
    e = ATError(None, "SEND FAIL")
    e.command = "AT+CIPSEND=0,5"  # the engine names the command after the fact
    print("aterror-named", str(e))
    print("aterror-attrs", repr((e.code, e.text, e.command)))
    show("port-missing", open_serial, "/dev/ttyUSB9")
    show("port-not-a-tty", open_serial, argv[1] + "/plain")
    show("port-directory", open_serial, argv[1])
    if len(argv) > 2:
        from cellmodem.modem import Modem
        modem = Modem(open_serial(argv[2]))
        e = show("pin-refused", modem.unlock, "1111")
        print("pin-refused-state", e.state if isinstance(e, SIMError) else None)
        show("pin-right", modem.unlock, "4321")
    print("DONE")


main(sys.argv)
