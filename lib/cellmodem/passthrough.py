"""Bridge the REPL's stdin/stdout and the modem's UART: type AT commands to the
module through the board's USB REPL. Ctrl-] ends it; Ctrl-C goes to the modem.

Works on boards (machine.UART) and on unix MicroPython/CPython (open_serial()).
Usage:
    from cellmodem import passthrough
    passthrough.run(board.uart())      # then type AT, ATI, AT+CSQ ... ; Ctrl-] leaves
"""
import sys
import select

ESCAPE = 0x1D  # Ctrl-]


def run(uart, stdin=None, stdout=None, escape=ESCAPE):
    """Copy stdin to uart and uart to stdout until the escape byte arrives or stdin
    ends. Returns the number of bytes sent to the modem."""
    src = stdin if stdin is not None else sys.stdin
    inp = getattr(src, "buffer", src)
    inp = getattr(inp, "raw", inp)  # CPython: unbuffered, so poll and read agree
    out = stdout if stdout is not None else getattr(sys.stdout, "buffer", sys.stdout)
    poll = select.poll()
    poll.register(src, select.POLLIN)
    try:
        import micropython
        micropython.kbd_intr(-1)  # Ctrl-C is data for the modem here
    except (ImportError, AttributeError):
        micropython = None
    buf = bytearray(256)
    any_ = getattr(uart, "any", None)
    sent = 0
    try:
        while True:
            while not any_ or any_():
                n = uart.readinto(buf)
                if not n:
                    break
                out.write(bytes(buf[:n]))
                if hasattr(out, "flush"):
                    out.flush()
            if not poll.poll(10):
                continue
            b = inp.read(1)
            if not b:
                return sent  # stdin ended
            if b[0] == escape:
                return sent
            uart.write(b)
            sent += 1
    finally:
        if micropython:
            micropython.kbd_intr(3)
