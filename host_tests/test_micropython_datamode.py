"""Transparent data mode in the real micropython binary, from .mpy files, against the
simulator on a pty: 1 MiB each way with matching SHA-256, +++ / a command / ATO, and a
peer that closes while the module is in data mode (host_tests/scenarios/data_echo.py);
the asyncio face (host_tests/scenarios/data_async.py).
"""
import os
import subprocess

import pytest

from mpy import LIB, SCENARIOS, compile_tree, run_micropython, tool
from test_datamode import GUARD, GUARD_OPT, SIM_GUARD, Server
from tools.modemsim import get_personality
from tools import families

DIALECTS = list(families.NAMES)  # every family in the registry (tools/families.py)
BURST = 20000


@pytest.fixture(scope="module")
def mpy_tree(tmp_path_factory):
    out = tmp_path_factory.mktemp("mpy")
    compile_tree(LIB, str(out))
    for name in ("data_echo", "data_async"):
        subprocess.run([tool("mpy-cross"), "-o", str(out / (name + ".mpy")),
                        os.path.join(SCENARIOS, name + ".py")], check=True)
    return str(out)


def burst(server, c):
    c.recv(2)
    c.sendall(os.urandom(BURST))
    c.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_one_mib_each_way_escape_ato_and_peer_close_in_micropython(mpy_tree, tcp_echo, dialect):
    sim = get_personality(dialect)(seed=3, opts={GUARD_OPT[dialect]: SIM_GUARD})
    srv = Server(burst)
    try:
        pty = sim.open_pty()
        p = run_micropython(["-m", "data_echo", pty, "127.0.0.1", str(tcp_echo[1]), str(1 << 20),
                             str(GUARD), str(srv.addr[1]), str(BURST)],
                            path=(mpy_tree,), heapsize="256k", timeout=300)
    finally:
        sim.close()
        srv.close()
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "DATA OK %d" % (1 << 20) in p.stdout, out
    sha = [l.split() for l in p.stdout.splitlines() if l.startswith("SHA ")][0]
    assert sha[1] == sha[2], out
    assert "CSQ -" in p.stdout and ("BURST %d -" % BURST) in p.stdout, out


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_asyncio_face_awaits_reads_and_the_escape_in_micropython(mpy_tree, tcp_echo, dialect):
    sim = get_personality(dialect)(seed=4, opts={GUARD_OPT[dialect]: SIM_GUARD})
    try:
        pty = sim.open_pty()
        p = run_micropython(["-m", "data_async", pty, "127.0.0.1", str(tcp_echo[1]), str(GUARD)],
                            path=(mpy_tree,), heapsize="256k", timeout=120)
    finally:
        sim.close()
    assert p.returncode == 0 and "ASYNC OK" in p.stdout, p.stdout + p.stderr
