"""The asyncio reader task wakes on the UART's input (MicroPython, a tty).

Waiting tasks are told to look only every 10 minutes (poll_ms), so only the tty's
input can wake the reader: a URC written to it is dispatched at once all the same.
Run: aio_wake.py <tty>; prints READY once waiting, then WOKEN <the URC line>.
"""
import sys

import asyncio

from cellmodem.aio import AsyncModem
from cellmodem.at import AT
from cellmodem.ports import open_serial


class _Modem:  # the reader task uses the modem's AT channel only
    def __init__(self, at):
        self.at = at


async def main(tty):
    at = AT(open_serial(tty))
    got = []
    came = asyncio.Event()

    def ping(line):
        got.append(line.bytes())
        came.set()
    at.urc(b"+PING:", ping)
    am = AsyncModem(_Modem(at), poll_ms=600000)
    am.start()
    await asyncio.sleep_ms(50)  # the reader task is waiting now
    print("READY")
    await came.wait()
    print("WOKEN", got[0])
    am.stop()


asyncio.run(main(sys.argv[1]))
