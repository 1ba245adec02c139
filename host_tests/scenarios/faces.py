"""Scenarios written once and run by both faces: blocking and asyncio.

A scenario is a list of steps (op, args...) whose expected results are part of the
steps; run_blocking(modem, steps) drives cellmodem.socket / mqtt / requests, and
run_async(amodem, steps) drives cellmodem.aio, over the same list. A mismatch raises
AssertionError naming the step. Runs on CPython and MicroPython.

Usage:
    run_blocking(modem, socket_echo("echo.example", 7, data))
    await asyncio.gather(run_async(am, socket_echo(...)), run_async(am, http_get(...)))
"""
import hashlib
from binascii import hexlify

from cellmodem.compat import ticks_ms, ticks_diff


def socket_echo(host, port, data, window=2048):
    """TCP: send data through an echo server, at most window bytes in flight, and
    expect every byte back in order."""
    return [("tcp_open", host, port), ("echo", data, window), ("close",)]


def mqtt_roundtrip(host, port, client_id, count):
    """MQTT: subscribe to a topic, publish count QoS 1 messages to it, expect each
    back from the broker."""
    topic = client_id + "/loop"
    steps = [("mqtt_connect", client_id, host, port), ("mqtt_subscribe", topic, 1)]
    for i in range(count):
        steps.append(("mqtt_publish_expect", topic, b"message %d" % i, 1))
    steps.append(("mqtt_disconnect",))
    return steps


def http_get(url, status, sha256):
    """HTTP: GET url streamed in 1 KiB pieces; expect the status and the body's SHA-256."""
    return [("http_get", url, status, sha256)]


def _check(ok, step, what):
    if not ok:
        raise AssertionError("%s: %s" % (step[0], what))


def _sha(h):
    return hexlify(h.digest()).decode()


# ---------------------------------------------------------------- blocking face
def run_blocking(modem, steps, timeout_ms=30000):
    import cellmodem.socket as socket
    import cellmodem.requests as requests
    from cellmodem.mqtt import MQTTClient
    s = client = None
    got = []
    for step in steps:
        op = step[0]
        if op == "tcp_open":
            s = socket.socket(modem=modem)
            s.settimeout(timeout_ms / 1000)
            s.connect((modem.resolve(step[1]), step[2]))
        elif op == "echo":
            data, window = step[1], step[2]
            mv = memoryview(data)
            back = bytearray(len(data))
            bmv = memoryview(back)
            sent = n = 0
            while n < len(data):
                if sent < len(data) and sent - n < window:
                    sent += s.send(mv[sent:sent + min(1024, window - (sent - n))])
                    continue
                k = s.recv_into(bmv[n:])
                _check(k, step, "EOF after %d bytes" % n)
                n += k
            _check(back == data, step, "echo differs")
        elif op == "close":
            s.close()
        elif op == "mqtt_connect":
            client = MQTTClient(step[1], step[2], step[3], modem=modem, keepalive=30)
            client.set_callback(lambda t, m: got.append((t, m)))
            client.connect()
        elif op == "mqtt_subscribe":
            _check(client.subscribe(step[1], step[2]) == step[2], step, "granted QoS")
        elif op == "mqtt_publish_expect":
            topic, msg, qos = step[1], step[2], step[3]
            client.publish(topic, msg, qos=qos)
            t0 = ticks_ms()
            while (topic.encode(), msg) not in got:
                _check(ticks_diff(ticks_ms(), t0) < timeout_ms, step, "message not back")
                client.check_msg()
                modem.poll(5)
        elif op == "mqtt_disconnect":
            client.disconnect()
        elif op == "http_get":
            r = requests.get(step[1], stream=True, modem=modem, timeout=timeout_ms / 1000)
            _check(r.status_code == step[2], step, "status %d" % r.status_code)
            h = hashlib.sha256()
            buf = bytearray(1024)
            while True:
                k = r.readinto(buf)
                if not k:
                    break
                h.update(memoryview(buf)[:k])
            _check(_sha(h) == step[3], step, "body differs")
        else:
            raise ValueError("unknown step %r" % op)


# ---------------------------------------------------------------- asyncio face
async def run_async(am, steps, timeout_ms=30000):
    from cellmodem.aio import AsyncMQTTClient, arequest
    s = client = None
    got = []
    for step in steps:
        op = step[0]
        if op == "tcp_open":
            s = await am.open_connection(step[1], step[2])
        elif op == "echo":
            data, window = step[1], step[2]
            mv = memoryview(data)
            back = bytearray(len(data))
            bmv = memoryview(back)
            sent = n = 0
            while n < len(data):
                if sent < len(data) and sent - n < window:
                    sent += await s.send(mv[sent:sent + min(1024, window - (sent - n))])
                    continue
                k = await s.recv_into(bmv[n:])
                _check(k, step, "EOF after %d bytes" % n)
                n += k
            _check(back == data, step, "echo differs")
        elif op == "close":
            s.close()
        elif op == "mqtt_connect":
            client = AsyncMQTTClient(am, step[1], step[2], step[3], keepalive=30)
            client.set_callback(lambda t, m: got.append((t, m)))
            await client.connect()
        elif op == "mqtt_subscribe":
            _check(await client.subscribe(step[1], step[2]) == step[2], step, "granted QoS")
        elif op == "mqtt_publish_expect":
            topic, msg, qos = step[1], step[2], step[3]
            await client.publish(topic, msg, qos=qos)
            await am.wait_until(lambda: (topic.encode(), msg) in got, timeout_ms, "message back")
        elif op == "mqtt_disconnect":
            await client.disconnect()
        elif op == "http_get":
            r = await arequest(am, "GET", step[1], timeout=timeout_ms / 1000)
            _check(r.status_code == step[2], step, "status %d" % r.status_code)
            h = hashlib.sha256()
            buf = bytearray(1024)
            while True:
                k = await r.readinto(buf)
                if not k:
                    break
                h.update(memoryview(buf)[:k])
            _check(_sha(h) == step[3], step, "body differs")
        else:
            raise ValueError("unknown step %r" % op)
