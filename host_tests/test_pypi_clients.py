"""Third-party MicroPython clients from PyPI run unchanged over cellmodem.socket.

umqtt.simple and urequests, as published on PyPI, run in the real micropython binary
with their usocket module replaced by cellmodem.socket through sys.modules, and talk
through the simulated modem (on a pty) to a real mosquitto and a real HTTP server on
loopback. Nothing in them is changed.
"""
import os
import subprocess
import threading

import paho.mqtt.client as paho
import pytest

from mpy import LIB, SCENARIOS, tool
from pypi import sdist
from tools.modemsim import get_personality
from tools import families

DIALECTS = list(families.NAMES)  # every family in the registry (tools/families.py)


@pytest.fixture
def sim_pty():
    sims = []

    def make(dialect):
        sim = get_personality(dialect)(seed=5, hosts={"broker.example": "127.0.0.1",
                                                      "web.example": "127.0.0.1"})
        sims.append(sim)
        return sim.open_pty()

    yield make
    for sim in sims:
        sim.close()


def micropython(script, args, extra_path):
    env = dict(os.environ, MICROPYPATH=":".join([LIB, extra_path, SCENARIOS]))
    return subprocess.Popen([tool("micropython"), os.path.join(SCENARIOS, script)] + args,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize("client", ["umqtt", "cellmodem"])
@pytest.mark.parametrize("dialect", DIALECTS)
def test_umqtt_simple_from_pypi_talks_to_mosquitto_through_the_modem(sim_pty, mosquitto, dialect,
                                                                      client):
    """umqtt.simple as published; and the same program with its import changed to
    cellmodem.mqtt (whose interface is a superset of umqtt.simple's)."""
    pkg = sdist("micropython-umqtt-simple", "1.3.4")
    host, port = mosquitto
    got = {"out": [], "echo": []}
    ready = threading.Event()
    echoed = threading.Event()
    peer = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="peer")

    def on_message(c, userdata, msg):
        got[msg.topic.split("/")[1]].append(msg.payload)
        if msg.topic == "cm/out":
            ready.set()
        else:
            echoed.set()

    peer.on_message = on_message
    peer.connect(host, port)
    peer.subscribe([("cm/out", 1), ("cm/echo", 1)])
    peer.loop_start()
    proc = micropython("umqtt_client.py", [sim_pty(dialect), "broker.example", str(port), dialect,
                                           client], pkg)
    try:
        assert ready.wait(60), "no hello from the MicroPython client"
        # One at a time: umqtt.simple's publish(qos=1) waits for its PUBACK inside
        # wait_msg, so a message arriving meanwhile would re-enter the callback.
        messages = [os.urandom(200), b"second", bytes(range(256)) * 4]
        for m in messages:
            echoed.clear()
            peer.publish("cm/in", m, qos=1)
            assert echoed.wait(60), got
        peer.publish("cm/in", b"bye", qos=1)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
        peer.loop_stop()
        peer.disconnect()
    assert "UMQTT DONE" in out, out
    assert got["out"] == [b"hello from umqtt over " + dialect.encode()]
    assert got["echo"] == messages


@pytest.mark.parametrize("dialect", DIALECTS)
def test_urequests_from_pypi_fetches_from_a_real_http_server_through_the_modem(sim_pty, http_server,
                                                                               dialect):
    pkg = sdist("micropython-urequests", "0.9.1")
    base = "http://web.example:%d" % http_server[1]
    proc = micropython("urequests_client.py", [sim_pty(dialect), base, dialect], pkg)
    try:
        out, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert "UREQUESTS DONE" in out, out
    assert "hello: 200 hello world" in out
    assert "json: 42" in out
    assert "post: 200 True" in out
    assert "large: 200000 True" in out
    assert "status: 404" in out


def test_sdists_come_from_the_index_pip_is_configured_with(tmp_path, monkeypatch):
    """pypi.sdist asks pip which index it uses (PIP_INDEX_URL here: a PEP 503 index on
    disk) and takes the sdist whose sha256 the index gives; a wrong digest is refused."""
    import hashlib
    import io
    import tarfile

    import pypi

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        data = b"print('hello')\n"
        info = tarfile.TarInfo("micropython-demo.pkg-0.1/demo.py")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    blob = buf.getvalue()
    files = tmp_path / "files"
    files.mkdir()
    (files / "micropython-demo.pkg-0.1.tar.gz").write_bytes(blob)
    project = tmp_path / "simple" / "micropython-demo-pkg"
    project.mkdir(parents=True)

    def publish(digest):
        (project / "index.html").write_text(
            '<a href="../../files/micropython-demo.pkg-0.1.tar.gz#sha256=%s">x</a>\n' % digest)

    monkeypatch.setenv("PIP_INDEX_URL", (tmp_path / "simple").as_uri())
    monkeypatch.setattr(pypi, "CACHE", str(tmp_path / "cache"))
    assert pypi.pip_indexes()[0] == (tmp_path / "simple").as_uri()
    publish("0" * 64)
    with pytest.raises(RuntimeError, match="sha256 mismatch"):
        pypi.sdist("micropython-demo.pkg", "0.1")
    publish(hashlib.sha256(blob).hexdigest())
    root = pypi.sdist("micropython-demo.pkg", "0.1")
    with open(os.path.join(root, "demo.py"), "rb") as f:
        assert f.read() == data
    with pytest.raises(RuntimeError, match="no sdist"):
        pypi.sdist("micropython-demo.pkg", "0.2")
