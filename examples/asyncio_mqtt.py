"""asyncio MQTT: two tasks on one modem - one publishes readings, one obeys commands.

Topics (ID below): ID/reading gets b"<n> <value>" at QoS 1 every PERIOD_MS; ID/cmd
takes "stop". The client's own task keeps the link alive and reconnects meanwhile.
On a board: set APN and BROKER below, then
    python -m tools.deploy --board <board> --example asyncio_mqtt.py --port <usb port>
copies it as main.py with the board file, whose pins, power key and baud bring
the modem up (boards/README.md).
On a PC, with boards/unix.py as the board file:
    python -m tools.deploy --board unix --example asyncio_mqtt.py
    micropython build/unix/main.py <tty> <broker> <port> [period_ms]
"""
import sys

import asyncio

import board  # the board file (boards/, copied as board.py): pins, power key, baud
from cellmodem.aio import AsyncModem, AsyncMQTTClient

APN = "internet"
BROKER, PORT = "broker.example", 1883
ID = "sensor2"
PERIOD_MS = 5000


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
    am = AsyncModem(board.modem())
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
