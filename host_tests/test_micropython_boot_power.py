"""Issue 19 items 2 and 8 in the real micropython binary against the simulator on a
pty (host_tests/scenarios/boot_power.py): bring-up from power-on with the boot quirks
on reaches an IP and echoes, on every family and the SIM7000 variant; supply warnings
reach modem.on_power, and a power down is a restart (ECONNRESET, ModemOff meanwhile,
reconnect() after). The CPython side is test_boot_and_power.py."""
import os
import subprocess

import pytest

from mpy import LIB, ROOT, SCENARIOS, tool
from tools.modemsim import get_personality

BOOT_QUIRKS = "boot_stagger,boot_cpin_error,boot_lost_cmds,stale_answers,scale=2"


def _start(pty, port, mode):
    env = dict(os.environ, MICROPYPATH=":".join([LIB, SCENARIOS, ".frozen"]))
    return subprocess.Popen([tool("micropython"), os.path.join(SCENARIOS, "boot_power.py"),
                             pty, "echo.example", str(port), mode], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("dialect", ["sim7080", "sim7000", "sim7600", "quectel", "yuge"])
def test_micropython_bring_up_from_power_on_with_boot_quirks(tcp_echo, dialect):
    sim = get_personality(dialect)(seed=4, quirks=BOOT_QUIRKS,
                                   hosts={"echo.example": "127.0.0.1"})
    try:
        p = _start(sim.open_pty(), tcp_echo[1], "boot")
        out, err = p.communicate(timeout=180)
    finally:
        sim.close()
    assert p.returncode == 0 and "IP %s" % sim.ip in out and "ECHO OK" in out, out + err
    assert "boot_cpin_error" in sim.quirks


@pytest.mark.parametrize("dialect", ["sim7080", "quectel"])
def test_micropython_power_warnings_and_a_power_down(tcp_echo, dialect):
    sim = get_personality(dialect)(seed=4, hosts={"echo.example": "127.0.0.1"})
    try:
        p = _start(sim.open_pty(), tcp_echo[1], "power")
        try:
            line = p.stdout.readline()
            assert line.startswith("IP"), line + p.stderr.read()
            line = p.stdout.readline()
            assert line.strip() == "OPEN", line + p.stderr.read()
            sim.voltage_warning("under")
            sim.voltage_warning("over")
            sim.voltage_power_down("under", restart_ms=500)
            out, err = p.communicate(timeout=180)
        finally:
            if p.poll() is None:
                p.kill()
    finally:
        sim.close()
    assert p.returncode == 0, out + err
    assert "EVENTS under,over,down" in out and "RESET" in out and "AGAIN OK" in out, out + err
