"""The README's main command works: the simulator on a pty, the examples in real
MicroPython: a TCP echo through the modem intact, then the MQTT sensor publishing,
taking commands and coming back after the network drops."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_demo_runs_the_example_in_micropython_against_the_simulator():
    p = subprocess.run([sys.executable, "-m", "tools.demo"], cwd=ROOT, capture_output=True,
                       text=True, timeout=200)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "dialect sim7080" in p.stdout
    assert "-> b'AT+CASEND=0,28'" in p.stdout  # the AT conversation is shown
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
