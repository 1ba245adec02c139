"""The asyncio face (cellmodem.aio) over the same core as the blocking one.

The socket, MQTT and HTTP scenarios are defined once (scenarios/faces.py) and run
by both faces; the asyncio runs put three tasks on one modem at once, in CPython and
in real MicroPython, on every dialect. Cancelling a waiting task leaves the engine
idle and the other tasks going.
"""
import asyncio
import hashlib
import os

import pytest

import faces
from cellmodem.aio import AsyncModem, AsyncMQTTClient, arequest
from cellmodem.engine import IDLE
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from httpserver import BIG, BIG_SHA256, HTTPTestServer
from mpy import LIB, SCENARIOS, run_micropython
from simfixtures import LOOPBACK
from tools.modemsim import get_personality
from tools import families

DIALECTS = list(families.NAMES)  # every family in the registry (tools/families.py)
DATA = bytes(i * 7 & 255 for i in range(16384))
SMALL = b"x" * 30000  # /echo body for a quick HTTP run


@pytest.fixture(scope="module")
def web():
    s = HTTPTestServer()
    yield s
    s.close()


@pytest.fixture
def net():
    made = []

    def make(dialect, **kw):
        uart = FakeUART()
        sim = get_personality(dialect)(seed=6, hosts={"web.example": LOOPBACK}, **kw)
        made.append(sim)
        sim.attach(uart)
        return sim, Modem(uart, dialect=dialect)
    yield make
    for sim in made:
        sim.close()


def scenarios(tcp_echo, mosquitto, web, dialect):
    return [faces.socket_echo(LOOPBACK, tcp_echo[1], DATA),
            faces.mqtt_roundtrip(LOOPBACK, mosquitto[1], "aio-" + dialect, 5),
            faces.http_get("http://web.example:%d/big" % web.port, 200, BIG_SHA256)]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_blocking_face_passes_the_shared_scenarios(net, tcp_echo, mosquitto, web, dialect):
    sim, modem = net(dialect)
    modem.connect(apn="internet")
    for steps in scenarios(tcp_echo, mosquitto, web, dialect):
        faces.run_blocking(modem, steps)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_asyncio_face_passes_the_same_scenarios_as_three_concurrent_tasks(net, tcp_echo,
                                                                         mosquitto, web,
                                                                         dialect):
    sim, modem = net(dialect)

    async def main():
        am = AsyncModem(modem)
        await am.connect(apn="internet")
        await asyncio.gather(*(faces.run_async(am, steps)
                               for steps in scenarios(tcp_echo, mosquitto, web, dialect)))
        am.stop()
    asyncio.run(main())
    assert modem.at.engine.state == IDLE


@pytest.mark.parametrize("dialect", DIALECTS)
def test_asyncio_face_in_micropython_with_three_tasks(tcp_echo, mosquitto, web, dialect):
    sim = get_personality(dialect)(seed=6, hosts={"web.example": LOOPBACK})
    try:
        pty = sim.open_pty()
        p = run_micropython([os.path.join(SCENARIOS, "aio_three.py"), pty, dialect,
                             str(tcp_echo[1]), str(mosquitto[1]),
                             "http://web.example:%d/big" % web.port, BIG_SHA256],
                            path=(LIB, SCENARIOS), timeout=300)
    finally:
        sim.close()
    assert p.returncode == 0 and "THREE OK" in p.stdout, p.stdout + p.stderr


def test_cancelling_a_task_waiting_on_a_socket_leaves_the_engine_consistent(net, tcp_echo):
    sim, modem = net("sim7080")

    async def main():
        am = AsyncModem(modem)
        await am.connect(apn="internet")
        quiet = await am.open_connection(LOOPBACK, tcp_echo[1])
        busy = await am.open_connection(LOOPBACK, tcp_echo[1])
        waiter = asyncio.create_task(quiet.recv(100))  # nothing will come
        await asyncio.sleep(0.2)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert modem.at.engine.state == IDLE
        await busy.send(b"still going\n")
        assert await busy.readline() == b"still going\n"
        await quiet.send(b"and this one\n")  # the cancelled socket is usable too
        assert await quiet.readline() == b"and this one\n"
        am.stop()
    asyncio.run(main())


def test_async_mqtt_messages_by_async_iteration(net, mosquitto, peers):
    sim, modem = net("sim7600")
    peer = peers(mosquitto)

    async def main():
        am = AsyncModem(modem)
        await am.connect(apn="internet")
        c = AsyncMQTTClient(am, "aio-iter", LOOPBACK, mosquitto[1])
        c.set_callback(None)
        await c.connect()
        assert await c.subscribe("aio/in", 1) == 1
        c.c.set_callback(c._keep)
        for i in range(3):
            peer.publish("aio/in", b"n%d" % i, qos=1)
        got = []
        async for topic, msg in c:
            got.append(msg)
            if len(got) == 3:
                break
        await c.disconnect()
        am.stop()
        return got
    assert asyncio.run(main()) == [b"n0", b"n1", b"n2"]


def test_async_http_post_json_and_text(net, web):
    sim, modem = net("quectel")

    async def main():
        am = AsyncModem(modem)
        await am.connect(apn="internet")
        r = await arequest(am, "POST", "http://web.example:%d/echo" % web.port, json={"a": 1})
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert await r.json() == {"a": 1}
        r = await arequest(am, "GET", "http://web.example:%d/redirect/2" % web.port)
        assert await r.text() == "landed"
        am.stop()
    asyncio.run(main())


def test_example_asyncio_mqtt_runs_two_tasks_in_micropython(mosquitto, peers):
    peer = peers(mosquitto, subscribe=[("sensor2/reading", 1)])
    sim = get_personality("sim7600")(seed=6, hosts={"broker.example": LOOPBACK})
    import subprocess
    from mpy import example_cmd
    try:
        pty = sim.open_pty()
        cmd, env = example_cmd("asyncio_mqtt.py", pty, "broker.example", mosquitto[1], 200)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        got = [peer.get(timeout=30).payload for _ in range(3)]
        peer.publish("sensor2/cmd", b"stop", qos=1)
        out, _ = proc.communicate(timeout=60)
    finally:
        sim.close()
    assert [g.split()[0] for g in got] == [b"1", b"2", b"3"]
    assert "command: b'stop'" in out and out.rstrip().endswith("asyncio sensor done"), out


def test_reader_task_wakes_on_the_uart_input_not_on_a_timer_in_micropython():
    # poll_ms is 10 minutes: a reader that looked at the UART on a timer would leave
    # the URC undispatched past the deadline; one woken by the tty's input (asyncio
    # polls the stream) dispatches it at once
    import subprocess
    from mpy import ROOT, tool
    master, slave = os.openpty()
    env = dict(os.environ, MICROPYPATH=":".join([LIB, SCENARIOS, ".frozen"]))
    p = subprocess.Popen([tool("micropython"), os.path.join(SCENARIOS, "aio_wake.py"),
                          os.ttyname(slave)], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "READY", p.stderr.read()
        os.write(master, b"\r\n+PING: 7\r\n")
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
        os.close(slave)
    assert p.returncode == 0 and out.strip() == "WOKEN b'+PING: 7'", out + err
