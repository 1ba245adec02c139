"""The asyncio face of data mode (cellmodem.aio.AsyncDataSocket), in real MicroPython.

Run: micropython data_async.py <tty> <host> <echo port> <guard ms>
A read that waits leaves the loop running (a ticker task counts meanwhile); 64 KiB
echoed in 4 KiB rounds; escape() with its guard times awaited (the ticker goes on),
a command, resume(), a line echoed. Prints "ASYNC OK <ticks during the escape>".
"""
import asyncio
import sys

from cellmodem.aio import AsyncDataSocket, AsyncModem
from cellmodem.modem import Modem
from cellmodem.ports import open_serial

tty, host, port, guard = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
modem = Modem(open_serial(tty))
modem.connect(apn="internet")
ticks = [0]


async def ticker():
    while True:
        ticks[0] += 1
        await asyncio.sleep_ms(10)


async def main():
    am = AsyncModem(modem)
    am.start()
    t = asyncio.create_task(ticker())
    s = AsyncDataSocket(am, guard_ms=guard)
    await s.connect((host, port))
    reader = asyncio.create_task(s.readexactly(5))
    await asyncio.sleep_ms(200)
    if reader.done() or ticks[0] < 5:
        raise SystemExit("the read blocked the loop")
    await s.sendall(b"first")
    if await reader != b"first":
        raise SystemExit("bad first echo")
    blk = bytearray(4096)
    for r in range(16):
        for i in range(len(blk)):
            blk[i] = (i * 7 + r) & 255
        await s.sendall(blk)
        if await s.readexactly(4096) != blk:
            raise SystemExit("echo mismatch in round %d" % r)
    before = ticks[0]
    await s.escape()
    during = ticks[0] - before
    if s.data_mode or during < 10:
        raise SystemExit("escape blocked the loop (%d ticks)" % during)
    print("CSQ", modem.signal())
    await s.resume()
    await s.sendall(b"again\n")
    if await s.readline() != b"again\n":
        raise SystemExit("no line after resume")
    s.close()
    t.cancel()
    am.stop()
    print("ASYNC OK", during)


asyncio.run(main())
