"""What a user sees first, the same in MicroPython and CPython: `from cellmodem import
Modem` (and the errors), the import heap of `import cellmodem` alone, str(ATError),
a port that cannot be opened, and a refused SIM PIN that never shows the PIN."""
import os
import subprocess
import sys

import pytest

from cellmodem.errors import ATTimeout, ModemError, SIMError
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from mpy import LIB, SCENARIOS, run_micropython, tool
from tools.modemsim import get_personality

DIALECTS = ["sim7080", "sim7600", "quectel", "yuge"]
# gc.mem_alloc() growth of `import cellmodem` from .mpy on the unix port (deterministic):
# 544 B before the package had names; 640 B with its two-line __getattr__, the floor
# for a module __getattr__ (its function object and bytecode: 96 B here; the names
# and the submodule fallback load from cellmodem._names on first use; 672 B when the
# fallback was in __getattr__ itself)
IMPORT_HEAP = 640
NAMES = ("Modem", "AT", "ModemError", "ATError", "ATTimeout", "SIMError", "NetworkError")


def run_cpython(args, timeout=120):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([LIB, SCENARIOS]))
    return subprocess.run([sys.executable] + list(args), env=env, capture_output=True,
                          text=True, timeout=timeout)


def both(args):
    """(micropython, cpython) CompletedProcess of the same script and arguments."""
    return run_micropython(args), run_cpython(args)


NAMES_SCRIPT = """
import sys
import cellmodem
print(sorted(k for k in sys.modules if k.startswith("cellmodem")))
from cellmodem import Modem, AT, ModemError, ATError, ATTimeout, SIMError, NetworkError
import cellmodem.modem, cellmodem.at, cellmodem.errors as E
assert Modem is cellmodem.modem.Modem and AT is cellmodem.at.AT
assert (ModemError, ATError, ATTimeout, SIMError, NetworkError) == \\
    (E.ModemError, E.ATError, E.ATTimeout, E.SIMError, E.NetworkError)
assert cellmodem.Modem is Modem
from cellmodem import socket  # a submodule through the package's __getattr__
assert socket is sys.modules["cellmodem.socket"]
try:
    cellmodem.Nothing
except AttributeError:
    print("AttributeError")
print(hasattr(cellmodem, "Nothing"), hasattr(cellmodem, "Modem"))
print("NAMES OK")
"""


def test_the_first_names_come_from_the_package_in_both_interpreters():
    for p in both(["-c", NAMES_SCRIPT]):
        assert p.returncode == 0, p.stdout + p.stderr
        assert p.stdout.split("\n") == ["['cellmodem']", "AttributeError", "False True",
                                        "NAMES OK", ""], p.stdout


def test_import_cellmodem_alone_takes_the_measured_heap(tmp_path):
    # compiled with a fixed source name: the name is a qstr on the heap, and a longer
    # checkout path would otherwise cost more
    pkg = tmp_path / "cellmodem"
    pkg.mkdir()
    subprocess.run([tool("mpy-cross"), "-s", "cellmodem/__init__.py", "-o", str(pkg / "__init__.mpy"),
                    os.path.join(LIB, "cellmodem", "__init__.py")], check=True)
    imports = os.path.join(os.path.dirname(LIB), "tools", "bench", "mp", "imports.py")
    # run from tmp_path: the module's __file__ is a qstr too, as long as the path
    p = run_micropython([imports, "cellmodem"], path=(".",), cwd=str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "IMPORT %d\n" % IMPORT_HEAP in p.stdout, p.stdout


@pytest.fixture
def not_a_tty(tmp_path):
    (tmp_path / "plain").write_bytes(b"")
    return str(tmp_path)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_errors_read_the_same_in_both_interpreters(not_a_tty, dialect):
    outs = []
    for run in (run_micropython, run_cpython):
        sim = get_personality(dialect)(seed=3, sim="locked", pin="4321")
        try:
            p = run([os.path.join(SCENARIOS, "error_texts.py"), not_a_tty, sim.open_pty()])
        finally:
            sim.close()
        assert p.returncode == 0 and p.stdout.endswith("DONE\n"), p.stdout + p.stderr
        assert "1111" not in p.stdout + p.stderr and "4321" not in p.stdout + p.stderr
        outs.append(p.stdout)
    assert outs[0] == outs[1]
    lines = dict(l.split(" ", 1) for l in outs[0].splitlines()[:-1])
    assert lines["aterror-plain"] == "ATError ('AT+CIICR: ERROR',)"
    assert lines["aterror-str"] == "AT+CIICR: ERROR"
    assert lines["aterror-named"] == "AT+CIPSEND=0,5: SEND FAIL"
    assert lines["aterror-attrs"] == "(None, 'SEND FAIL', 'AT+CIPSEND=0,5')"
    assert lines["port-missing"].startswith("OSError (2, 'cannot open /dev/ttyUSB9: no such file")
    assert lines["port-not-a-tty"] == "OSError (25, '%s/plain is not a tty (a serial device or pty)')" % not_a_tty
    assert lines["port-directory"] == "OSError (21, 'cannot open %s: is a directory')" % not_a_tty
    assert lines["pin-refused"].startswith("SIMError ('SIM refused the PIN: ")
    assert lines["pin-refused-state"] == "SIM PIN" and lines["pin-right"] == "no exception"


def test_an_uncaught_aterror_prints_the_same_last_line():
    code = "from cellmodem.errors import ATError\nraise ATError(None, 'ERROR', 'AT+CIICR')"
    for p in both(["-c", code]):  # (MicroPython prints it on stdout)
        last = (p.stdout + p.stderr).strip().splitlines()[-1]
        assert p.returncode == 1 and last.endswith("ATError: AT+CIICR: ERROR"), p.stderr


@pytest.mark.parametrize("raised", ["timeout", "other"])
def test_no_error_from_entering_the_pin_carries_it(raised):
    uart = FakeUART()
    sim = get_personality("sim7080")(seed=7, sim="locked", pin="4321")
    try:
        sim.attach(uart)
        modem = Modem(uart, dialect="sim7080")
        command = modem.at.command

        def failing(cmd, *a, **kw):
            if cmd.startswith("AT+CPIN="):
                e = ATTimeout(cmd, 100) if raised == "timeout" else ModemError("gone")
                e.command = cmd
                raise e
            return command(cmd, *a, **kw)

        modem.at.command = failing
        with pytest.raises(ModemError) as e:
            modem.unlock("98765")
        assert not isinstance(e.value, SIMError)
        assert "98765" not in str(e.value) and "98765" not in repr(e.value.args)
        assert "98765" not in str(e.value.command)
        assert e.value.__context__ is None and e.value.__cause__ is None
    finally:
        sim.close()
