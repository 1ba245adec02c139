"""A GNSS fix awaited with asyncio while a TCP echo task keeps going, in real
MicroPython.

Run: micropython gnss_async.py <tty> <echo host> <echo port>
One task echoes 64-byte rounds through an AsyncSocket, checking each; another awaits
gnss.afix(). On the SIM7080 the fix pauses the data link, so the echo task reopens
its connection after it. Prints "ASYNC FIX <lat> <lon> ROUNDS <n during the fix>".
"""
import sys

import asyncio
from cellmodem.modem import Modem
from cellmodem.ports import open_serial
from cellmodem.aio import AsyncModem
from cellmodem import gnss

tty, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
modem = Modem(open_serial(tty))
am = AsyncModem(modem)
state = {"fixing": False, "during": 0, "done": False}


async def echo():
    n = 0
    s = None
    while not state["done"]:
        try:
            if s is None:
                s = await am.open_connection(host, port)
            out = bytes((n + i) & 255 for i in range(64))
            await s.send(out)
            back = await s.readexactly(64)
            if back != out:
                raise SystemExit("MISMATCH in round %d" % n)
            n += 1
            if state["fixing"]:
                state["during"] += 1
        except OSError:  # the SIM7080's pause for the fix: open again
            if s is not None:
                s.close()
            s = None
            await asyncio.sleep_ms(100)
    if s is not None:
        s.close()


async def main():
    await am.connect(apn="internet")
    t = asyncio.create_task(echo())
    await asyncio.sleep_ms(300)
    state["fixing"] = True
    f = await gnss.afix(am, timeout=60000, every=200)
    state["fixing"] = False
    gnss.stop(modem)
    await asyncio.sleep_ms(500)  # rounds after the fix: the link is back
    state["done"] = True
    await t
    print("ASYNC FIX %.6f %.6f ROUNDS %d" % (f.lat, f.lon, state["during"]))
    am.stop()


asyncio.run(main())
