"""Issue 19 items 3 and 7 in the real micropython binary against the simulator on a
pty (host_tests/scenarios/link_faults.py): a short payload is EIO on its socket and
the other socket's next read is intact (every family and receive mode); a +CGEV PDN
deactivation fails the open socket with ECONNABORTED at once and connect() works after."""
import os
import subprocess

import pytest

from cellmodem.dialects import load
from mpy import LIB, ROOT, SCENARIOS, tool
from tools.modemsim import get_personality
from tools import families


def _start(pty, port, mode, rx_mode=None):
    env = dict(os.environ, MICROPYPATH=":".join([LIB, SCENARIOS, ".frozen"]))
    return subprocess.Popen([tool("micropython"), os.path.join(SCENARIOS, "link_faults.py"),
                             pty, "echo.example", str(port), mode] + ([rx_mode] if rx_mode
                                                                      else []),
                            env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("dialect,rx_mode", families.modes())
def test_micropython_short_payload_is_eio_and_the_other_socket_is_intact(tcp_echo, dialect,
                                                                          rx_mode):
    sim = get_personality(dialect)(seed=3, faults=["short=1:1"],
                                   hosts={"echo.example": "127.0.0.1"})
    try:
        p = _start(sim.open_pty(), tcp_echo[1], "short", rx_mode)
        out, err = p.communicate(timeout=120)
    finally:
        sim.close()
    assert p.returncode == 0 and "SHORT EIO" in out and "B OK" in out, out + err
    assert len(sim.short_cuts) == 1
    if rx_mode == "buffered" or load(dialect).PUSH_LINE_END:
        # the cut payload was checked before any of it was readable (pulled, or
        # Quectel's pushed data with its own CR LF): the application got none of it
        assert "SHORT EIO 0\n" in out, out


@pytest.mark.parametrize("dialect", ["sim7600", "quectel", "yuge"])
def test_micropython_cgev_pdn_deact_is_econnaborted_and_connect_works_after(tcp_echo, dialect):
    sim = get_personality(dialect)(seed=3, opts={"cgev_urcs": "only"},
                                   hosts={"echo.example": "127.0.0.1"})
    try:
        p = _start(sim.open_pty(), tcp_echo[1], "cgev")
        try:
            line = p.stdout.readline()
            assert line.strip() == "OPEN", line + p.stderr.read()
            sim.network_drop()
            out, err = p.communicate(timeout=120)
        finally:
            if p.poll() is None:
                p.kill()
    finally:
        sim.close()
    assert p.returncode == 0 and "ABORTED" in out and "AGAIN OK" in out, out + err
