"""The README's main command works: the simulator on a pty, the example in real
MicroPython, a TCP echo through the modem intact."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_demo_runs_the_example_in_micropython_against_the_simulator():
    p = subprocess.run([sys.executable, "-m", "tools.demo"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "dialect sim7080" in p.stdout
    assert "-> b'AT+CASEND=0,28'" in p.stdout  # the AT conversation is shown
    assert "echo intact: True" in p.stdout
