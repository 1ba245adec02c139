"""One command is one trace event, in the library's at.trace (CPython and real
MicroPython) and in tools.trace's tapped port, so a trace, a log and the demo show
`AT+CGMI\\r` on one line (they showed `AT+CGMI` and `\\r` as two)."""
from tools import trace

def written(events):
    return [data for direction, data in events if direction == b">"]


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
