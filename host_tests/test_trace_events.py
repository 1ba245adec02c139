"""One command is one trace event, in the library's at.trace (CPython and real
MicroPython) and in tools.trace's tapped port, so a trace, a log and the demo show
`AT+CGMI\\r` on one line (they showed `AT+CGMI` and `\\r` as two)."""
from cellmodem.at import AT
from cellmodem.fakeuart import FakeUART, Responder
from mpy import run_micropython
from tools import trace

SCRIPT = [(b"AT+CGMI", b"\r\nSIMCOM INCORPORATED\r\n\r\nOK\r\n"),
          (b"AT+CASEND=0,5", b"\r\n> ", 5, b"\r\nOK\r\n")]


def written(events):
    return [data for direction, data in events if direction == b">"]


def test_at_trace_sees_a_command_and_its_cr_as_one_event():
    uart = FakeUART()
    Responder(uart, SCRIPT)
    at = AT(uart)
    events = []
    at.trace = lambda d, data, ms: events.append((d, data))
    at.command("AT+CGMI")
    at.send_data("AT+CASEND=0,5", b"hello")
    assert written(events) == [b"AT+CGMI\r", b"AT+CASEND=0,5\r", b"hello"]


MPY_CASE = """
from cellmodem.at import AT
from cellmodem.fakeuart import FakeUART, Responder
uart = FakeUART()
Responder(uart, %r)
at = AT(uart)
out = []
at.trace = lambda d, data, ms: out.append(data) if d == b">" else None
at.command("AT+CGMI")
at.send_data("AT+CASEND=0,5", b"hello")
print(out)
""" % (SCRIPT,)


def test_at_trace_sees_a_command_and_its_cr_as_one_event_in_micropython():
    p = run_micropython(["-c", MPY_CASE])
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip() == "[b'AT+CGMI\\r', b'AT+CASEND=0,5\\r', b'hello']", p.stdout


class Port:
    """A port that takes every write and has nothing to read."""

    def write(self, buf):
        return len(buf)

    def readinto(self, buf):
        return 0

    def close(self):
        pass


def test_tap_logs_writes_that_make_one_line_as_one_event():
    events = []
    port = trace.tap(Port(), lambda d, data, ms: events.append((d, data)))
    port.write(b"AT+CGMI")
    port.write(b"\r")
    port.write(b"AT\r")
    assert written(events) == [b"AT+CGMI\r", b"AT\r"]


def test_tap_reports_a_write_without_a_line_end_before_the_next_read():
    events = []
    port = trace.tap(Port(), lambda d, data, ms: events.append((d, data)))
    port.write(b"hello")  # a payload after a prompt: no line end
    assert events == []
    port.readinto(bytearray(8))
    port.write(b"rest")
    port.close()
    assert written(events) == [b"hello", b"rest"]
