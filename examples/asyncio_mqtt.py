"""asyncio MQTT: two tasks on one modem - one publishes readings, one obeys commands.

Topics (ID below): ID/reading gets b"<n> <value>" at QoS 1 every PERIOD_MS; ID/cmd
takes "stop". The client's own task keeps the link alive and reconnects meanwhile.
On a board: set the UART pins, APN and BROKER below; copy lib/cellmodem and this file.
On unix: micropython examples/asyncio_mqtt.py <tty> <broker> <port> [period_ms]
"""
import sys

import asyncio

from cellmodem.aio import AsyncModem, AsyncMQTTClient
from cellmodem.modem import Modem

APN = "internet"
BROKER, PORT = "broker.example", 1883
ID = "sensor2"
PERIOD_MS = 5000


def open_port():
    if len(sys.argv) > 1:  # unix: a serial device or the simulator's pty
        from cellmodem.ports import open_serial
        return open_serial(sys.argv[1])
    from machine import UART  # a board: adjust the pins to your wiring
    return UART(1, 115200, tx=17, rx=18, rxbuf=2048)


async def readings(client, period_ms, stop):
    n = 0
    while not stop:
        n += 1
        await client.publish(ID + "/reading", b"%d %.1f" % (n, 20 + (n % 7) * 0.5), qos=1)
        print("published reading", n)
        await asyncio.sleep_ms(period_ms) if hasattr(asyncio, "sleep_ms") \
            else await asyncio.sleep(period_ms / 1000)


async def commands(client, stop):
    async for topic, msg in client:  # messages from ID/cmd
        print("command:", msg)
        if msg == b"stop":
            stop.append(True)
            return


async def main():
    broker, port, period = BROKER, PORT, PERIOD_MS
    if len(sys.argv) > 3:
        broker, port = sys.argv[2], int(sys.argv[3])
    if len(sys.argv) > 4:
        period = int(sys.argv[4])
    am = AsyncModem(Modem(open_port()))
    print("IP address:", await am.connect(apn=APN))
    client = AsyncMQTTClient(am, ID, broker, port, keepalive=60)
    await client.connect()
    await client.subscribe(ID + "/cmd", 1)
    stop = []
    task = asyncio.create_task(readings(client, period, stop))
    await commands(client, stop)
    await task
    await client.disconnect()
    am.stop()
    print("asyncio sensor done")


asyncio.run(main())
