"""Three tasks at once on one modem through the asyncio face (MicroPython or CPython):
a TCP echo, an MQTT round trip and an HTTP download, from faces.py's definitions.

Run: aio_three.py <tty> <dialect> <echo port> <broker port> <url> <sha256>
Prints "THREE OK" when all three passed.
"""
import sys

import asyncio

from cellmodem.aio import AsyncModem
from cellmodem.modem import Modem
from cellmodem.ports import open_serial
import faces


async def main(argv):
    tty, dialect, echo_port, broker_port, url, sha = argv[1:7]
    am = AsyncModem(Modem(open_serial(tty), dialect=dialect, sock_rxbuf=2048))
    await am.connect(apn="internet")
    data = bytes(i * 7 & 255 for i in range(16384))
    await asyncio.gather(
        faces.run_async(am, faces.socket_echo("127.0.0.1", int(echo_port), data)),
        faces.run_async(am, faces.mqtt_roundtrip("127.0.0.1", int(broker_port), "three-" + dialect, 5)),
        faces.run_async(am, faces.http_get(url, 200, sha)))
    am.stop()
    print("THREE OK")


asyncio.run(main(sys.argv))
