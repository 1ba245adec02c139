"""What a user sees first, the same in MicroPython and CPython: `from cellmodem import
Modem` (and the errors), the import heap of `import cellmodem` alone, str(ATError),
a port that cannot be opened, a refused SIM PIN that never shows the PIN; and the
error vocabulary (issue 18): a refused APN is one NetworkError shape on every family,
a port that goes away mid-session is one OSError(EIO, "port closed: <path>") on every
later call, arguments of the wrong type are TypeError (wrong values ValueError) before
anything reaches the UART, with the time unit of their layer in the message."""
import os
import subprocess
import sys

import pytest

from cellmodem.errors import ATTimeout, ModemError, SIMError
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from mpy import LIB, SCENARIOS, run_micropython, tool
from tools.modemsim import get_personality
from tools import families

DIALECTS = list(families.NAMES)  # every family in the registry (tools/families.py)
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


# ---------------------------------------------------------------- the error vocabulary
# the command each family sends a socket's data with: the hangup fault takes the port
# away when it arrives (tools/modemsim, also --fault hangup=... on its command line)
SEND = {f.name: f.send for f in families.FAMILIES}  # the registry's send command


def vocab(mode, dialect, extra=(), **sim_kw):
    """{check: "<type> <args>"} of scenarios/error_vocab.py, after checking that real
    MicroPython and CPython printed the same, each against a simulator of its own."""
    outs = []
    for run in (run_micropython, run_cpython):
        sim = get_personality(dialect)(seed=3, **sim_kw)
        try:
            p = run([os.path.join(SCENARIOS, "error_vocab.py"), mode, dialect, sim.open_pty()]
                    + [str(a) for a in extra])
        finally:
            sim.close()
        assert p.returncode == 0 and p.stdout.endswith("DONE\n"), p.stdout + p.stderr
        outs.append(p.stdout)
    assert outs[0] == outs[1], outs
    return dict(l.split(" ", 1) for l in outs[0].splitlines()[:-1])


APN_REFUSED = {  # each family's own way of saying no, in one shape
    "sim7080": ("AT+CNACT=0,1", "+APP PDP: 0,DEACTIVE", None),
    "sim7600": ("AT+NETOPEN", "Network failure", 1),
    "quectel": ("AT+QIACT=1", "open PDP context failed", 561),
    "yuge": ("AT+CIICR", "ERROR", None),
    "sim800": ("AT+CIICR", "ERROR", None),  # public knowledge: a plain ERROR to AT+CIICR
}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_refused_apn_is_one_network_error_shape_on_every_family(dialect):
    out = vocab("apn", dialect, reject_apns=["blocked.apn"])
    command, text, code = APN_REFUSED[dialect]
    words = text if code is None else "%s (%d)" % (text, code)
    assert out["apn-refused"] == "NetworkError (%r,)" % (
        'data context not activated with APN "blocked.apn": %s: %s' % (command, words))
    assert out["apn-attrs"] == repr(("blocked.apn", code, text, command))
    assert out["apn-connected"] == "False" and out["apn-right"] == "True"
    assert "s3cr3tpw" not in "".join(out.values())


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_port_gone_mid_session_is_one_clear_error_on_every_later_call(tcp_echo, dialect):
    # a USB modem unplugged while a socket sends: that call and every later one raise
    # OSError(EIO, "port closed: <path>"), never a stale ATBusy for the send in flight
    out = vocab("gone", dialect, tcp_echo, faults=["hangup=" + SEND[dialect]])
    closed = "OSError (5, 'port closed: <pty>')"
    for check in ("gone-send", "gone-send-again", "gone-recv", "gone-signal", "gone-at",
                  "gone-poll", "gone-connect", "gone-socket"):
        assert out[check] == closed, (check, out[check])
    assert out["gone-close"] == "no exception"  # closing what is gone is no error


ARGS = {  # the wrong type: TypeError naming the unit of the layer; a wrong value: ValueError
    "modem-port-none": "TypeError ('port must have write() and readinto() (a machine.UART, "
                       "open_serial(...), FakeUART), not NoneType',)",
    "modem-dialect-int": "TypeError ('dialect must be a str, not int',)",
    "modem-dialect-unknown": "ValueError (\"unknown dialect 'nokia'; known: %s\",)"
                             % ", ".join(families.NAMES),
    "modem-sync-timeout-str": "TypeError (\"sync_timeout is in milliseconds: an int, not "
                              "str '5'\",)",
    "connect-timeout-str": "TypeError (\"timeout is in milliseconds: an int, not str '5'\",)",
    "connect-timeout-float": "TypeError ('timeout is in milliseconds: an int, not float 5.0',)",
    "connect-timeout-negative": "ValueError ('timeout must be >= 0 ms, not -1',)",
    "connect-apn-int": "TypeError ('APN must be a str, not int',)",
    "connect-apn-quote": "ValueError ('APN must not contain quotes, backslashes or control "
                         "characters: \\'inter\"net\\'',)",
    "connect-password-quote": "ValueError ('password must not contain quotes, backslashes "
                              "or control characters',)",
    "connect-password-int": "TypeError ('password must be a str, not int',)",
    "unlock-pin-int": "TypeError ('PIN must be a str, not int',)",
    "unlock-pin-letters": "ValueError ('PIN must be digits',)",
    "wait-registered-str": "TypeError (\"timeout is in milliseconds: an int, not str '60'\",)",
    "poll-str": "TypeError (\"timeout_ms is in milliseconds: an int, not str '5'\",)",
    "ping-timeout-float": "TypeError ('timeout is in milliseconds: an int, not float 1.5',)",
    "at-command-timeout-str": "TypeError (\"timeout is in milliseconds: an int, not str '5'\",)",
    "at-send-data-timeout-float": "TypeError ('timeout is in milliseconds: an int, not "
                                  "float 0.5',)",
    "socket-settimeout-str": "TypeError (\"timeout is in seconds: a number or None, not "
                             "str '5'\",)",
    "socket-settimeout-negative": "ValueError ('timeout must be >= 0 s or None, not -1',)",
    "socket-port-str": "TypeError (\"port must be an int in 1-65535, not str '80'\",)",
    "socket-port-zero": "ValueError ('port must be an int in 1-65535, not 0',)",
    "socket-host-int": "TypeError ('host must be a str, not int',)",
    "socket-send-int": "TypeError ('payload must be bytes, bytearray, memoryview or str, "
                       "not int',)",
    "requests-timeout-str": "TypeError (\"timeout is in seconds: a number or None, not "
                            "str '5'\",)",
    "requests-timeout-pair": "ValueError ('timeout pair must be (connect, read), not 3 items',)",
    "open-serial-int": "TypeError ('path must be a str, not int',)",
    "open-serial-baud-str": "TypeError ('baud must be an int, not str',)",
}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_arguments_of_the_wrong_type_are_refused_before_the_uart(dialect):
    out = vocab("args", dialect)
    assert out.pop("args-written") == "[]"  # not one byte reached the module
    assert out == ARGS
    assert "s3cr" not in "".join(out.values())  # a password is in no message
