"""The README's main command works: the simulator on a pty, the examples in real
MicroPython: a TCP echo through the modem intact, then the MQTT sensor publishing,
taking commands and coming back after the network drops."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def demo():
    """One run of `python -m tools.demo` for the tests below."""
    return subprocess.run([sys.executable, "-m", "tools.demo"], cwd=ROOT, capture_output=True,
                          text=True, timeout=200)


def test_demo_runs_the_example_in_micropython_against_the_simulator(demo):
    p = demo
    assert p.returncode == 0, p.stdout + p.stderr
    assert "dialect sim7080" in p.stdout
    assert "-> b'AT+CASEND=0,28\\r'" in p.stdout  # the AT conversation is shown
    assert "echo intact: True" in p.stdout
    out = p.stdout
    assert "peer got sensor1/reading b'{\"n\": 1," in out
    assert "command: b'period 1'" in out
    # the drop, then the client's own reconnect, then readings flow again
    assert out.index("link: disconnected") < out.index("link: reconnecting 1") \
        < out.index("peer got sensor1/reading b'{\"n\": 6,")
    assert "peer got sensor1/status b'offline'" in out  # the will, while the device was away
    assert "peer got sensor1/status b'pong'" in out
    assert out.rstrip().endswith("sensor done")


def test_demo_shows_each_command_as_one_trace_line(demo):
    out = demo.stdout.splitlines()
    assert "  -> b'AT+CGMI\\r'" in out, demo.stdout  # the command with its CR, one event
    assert "  -> b'\\r'" not in out, demo.stdout


def test_demo_says_whether_the_broker_kept_the_session(demo):
    out = demo.stdout.splitlines()
    # a new session at first, the kept one after the reconnect; not "connected False"
    assert "link: connected, new session" in out and "link: connected, session kept" in out, \
        demo.stdout
    assert not [l for l in out if l.startswith("link: connected F")], demo.stdout
