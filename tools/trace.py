r"""Decode a saved AT log into a timeline, and replay it against the library.

Log format (text, one event per line; written by recorder(), tap() and tools.atterm):
    # cellmodem trace v1                  header; other "# ..." lines are notes
    # replay: <python code>               what produced the log (used by --replay)
    <ms> <dir> <bytes>                    ms: ticks_ms at the event (wraps at 2**30),
                                          dir: ">" host to modem, "<" modem to host,
                                          bytes: printable ASCII as is, \\ \r \n \t, \xNN

Usage:
    modem.at.trace = trace.recorder("session.log")          # the library's hook
    port = trace.tap(open_serial(path), trace.recorder("s.log", replay="..."))  # from the start
    python -m tools.trace session.log                       # timeline
    python -m tools.trace --replay session.log [--run CODE] # regression test
"""
import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "lib")
HEADER = "# cellmodem trace v1"
_PERIOD = 1 << 30
_FINALS = (b"OK", b"ERROR", b"NO CARRIER", b"BUSY", b"NO ANSWER", b"NO DIALTONE")
_FINAL_PREFIXES = (b"+CME ERROR", b"+CMS ERROR")


def ticks_ms():
    """Milliseconds on the same wrapping clock as cellmodem.compat.ticks_ms."""
    return (time.monotonic_ns() // 1000000) & (_PERIOD - 1)


def escape(data):
    """bytes -> one line of text: printable ASCII as is, \\\\ \\r \\n \\t, else \\xNN."""
    out = []
    for b in data:
        if b == 0x5C:
            out.append("\\\\")
        elif b == 13:
            out.append("\\r")
        elif b == 10:
            out.append("\\n")
        elif b == 9:
            out.append("\\t")
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append("\\x%02x" % b)
    return "".join(out)


def unescape(text):
    """The inverse of escape(); ValueError on a malformed escape."""
    out = bytearray()
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c != "\\":
            out.append(ord(c))
            i += 1
            continue
        e = text[i + 1:i + 2]
        if e == "\\":
            out.append(0x5C)
        elif e == "r":
            out.append(13)
        elif e == "n":
            out.append(10)
        elif e == "t":
            out.append(9)
        elif e == "x":
            out.append(int(text[i + 2:i + 4], 16))
            i += 2
        else:
            raise ValueError("bad escape %r at %d" % (text[i:i + 2], i))
        i += 2
    return bytes(out)


def format_event(ms, direction, data):
    """One log line (with its newline) for an event."""
    if isinstance(direction, (bytes, bytearray)):
        direction = direction.decode()
    return "%d %s %s\n" % (ms, direction, escape(data))


def recorder(path, replay=None):
    """A function fn(direction, data, ticks_ms) for modem.at.trace (or tap()) that
    appends each event to the log at path; fn.close() closes the file."""
    f = open(path, "w")
    f.write(HEADER + "\n")
    if replay:
        for line in replay.strip().splitlines():
            f.write("# replay: %s\n" % line)

    def record(direction, data, ms):
        f.write(format_event(ms, direction, data))
        f.flush()

    record.close = f.close
    return record


class Tap:
    """A port wrapper that reports every write and read to fn(direction, data, ms),
    so a log starts before Modem() syncs. Other attributes pass through.
    Writes that add up to one line (a command, then its CR) are one event: a write
    without a line end is held until the next write joins it, or the next read or
    close() reports it, at the time of its first byte."""

    def __init__(self, port, fn):
        self.port = port
        self.fn = fn
        self.held = None  # [ms, bytearray]: written, no line end yet

    def write(self, buf):
        n = self.port.write(buf)
        if n:
            if self.held is None:
                self.held = [ticks_ms(), bytearray()]
            self.held[1].extend(buf[:n])
            if self.held[1][-1:] in (b"\r", b"\n"):
                self.flush()
        return n

    def flush(self):
        """Report a held write now."""
        if self.held is not None:
            ms, data = self.held
            self.held = None
            self.fn(b">", bytes(data), ms)

    def readinto(self, buf):
        self.flush()
        n = self.port.readinto(buf)
        if n:
            self.fn(b"<", bytes(buf[:n]), ticks_ms())
        return n

    def close(self):
        self.flush()
        return self.port.close()

    def __getattr__(self, name):
        return getattr(self.port, name)


def tap(port, fn):
    """Wrap port so fn(direction, data, ticks_ms) sees all its traffic."""
    return Tap(port, fn)


def parse(lines):
    """Log lines -> (events [(ms, ">" or "<", bytes)], replay code or None).
    ValueError names the line that is neither a note nor an event."""
    events = []
    replay = []
    for no, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        if line.startswith("#"):
            if line.startswith("# replay: "):
                replay.append(line[len("# replay: "):])
            continue
        parts = line.split(" ", 2)
        if len(parts) < 2 or parts[1] not in (">", "<") or not parts[0].isdigit():
            raise ValueError("line %d is not '<ms> <dir> <bytes>': %r" % (no, line[:60]))
        events.append((int(parts[0]), parts[1], unescape(parts[2] if len(parts) > 2 else "")))
    return events, ("\n".join(replay) or None)


def load(path):
    with open(path) as f:
        return parse(f.readlines())


def command_prefix(cmd):
    """b"AT+CSQ" -> b"+CSQ", b"AT+CGDCONT=1,..." -> b"+CGDCONT"; None for basic commands."""
    cmd = cmd.strip().upper()
    if not cmd.startswith(b"AT") or len(cmd) < 3 or cmd[2:3] not in (b"+", b"$", b"*", b"^"):
        return None
    name = cmd[2:]
    for sep in (b"=", b"?", b";"):
        i = name.find(sep)
        if i >= 0:
            name = name[:i]
    return name


def is_final(line):
    return line in _FINALS or line.startswith(_FINAL_PREFIXES)


class Classifier:
    """Splits both directions into lines and labels them: host lines are
    "command" (or "payload" after a prompt, "raw" for bytes sent as they are);
    modem lines are "echo", "response", "final", "prompt" ("> " or ">", shown as
    soon as it arrives) or "URC" (a line while no command is pending, or a +X: line
    that is not the pending command's answer); partial() gives a line the modem has
    not ended yet as "data"."""

    def __init__(self):
        self.pending = None  # the command awaiting its final result
        self.host = bytearray()
        self.modem = bytearray()
        self.payload = False
        self.eat_space = False  # a ">" prompt came alone: its space may come next

    def feed(self, direction, data, raw=False):
        """Returns [(direction, label, line bytes)] for the lines data completes.
        raw: host bytes sent as they are (no command line): shown at once, whole."""
        out = []
        if direction == ">":
            if self.payload or raw:
                out.append((">", "payload" if self.payload else "raw", bytes(data)))
                return out
            self.host.extend(data)
            while True:
                i = self.host.find(b"\r")
                if i < 0:
                    break
                line = bytes(self.host[:i]).lstrip(b"\n")
                del self.host[:i + 1]
                if line:
                    self.pending = line
                    out.append((">", "command", line))
            return out
        if self.eat_space:
            self.eat_space = False
            if data[:1] == b" ":  # the rest of a "> " prompt
                data = data[1:]
                if not data:
                    return out
        self.payload = False
        self.modem.extend(data)
        while True:
            i = self.modem.find(b"\n")
            if i < 0:
                break
            line = bytes(self.modem[:i]).strip(b"\r")
            del self.modem[:i + 1]
            if line:
                out.append(("<", self.label(line), line))
        rest = self.modem.lstrip(b"\r\n")
        if rest == b"> " or rest == b">" and self.pending is not None:
            out.append(("<", "prompt", b"> "))
            self.eat_space = rest == b">"
            self.modem = bytearray()
            self.payload = True
        return out

    def partial(self):
        """[("<", "data", bytes)] for what the modem sent after its last line end
        (raw data, a line it has not ended yet), which then counts as shown; []
        if there is none. For a display when the modem has gone quiet."""
        rest = bytes(self.modem).strip(b"\r\n")
        self.modem = bytearray()
        return [("<", "data", rest)] if rest else []

    def label(self, line):
        pending = self.pending
        if pending is None:
            return "URC"
        if line == pending.strip():
            return "echo"
        if is_final(line):
            self.pending = None
            return "final"
        if line.startswith(b"+"):
            prefix = command_prefix(pending)
            if prefix is None or not line.upper().startswith(prefix):
                return "URC"
        return "response"


def timeline(events):
    """Yield the timeline's text lines: seconds since the first event, direction,
    label, escaped line."""
    cls = Classifier()
    t = 0
    last = None
    for ms, direction, data in events:
        if last is not None:
            t += ((ms - last + (_PERIOD >> 1)) % _PERIOD) - (_PERIOD >> 1)
        last = ms
        for d, label, line in cls.feed(direction, data):
            yield "%9.3f  %s  %-8s %s" % (t / 1000.0, d, label, escape(line))
    for d, label, line in cls.partial():  # the log ends inside a line
        yield "%9.3f  %s  %-8s %s" % (t / 1000.0, d, label, escape(line))


# ---- replay ----
class ReplayMismatch(AssertionError):
    """The library sent something other than the recorded session did."""


def steps(events):
    """Recorded events -> Responder steps: (None, banner), (cmd, reply) and
    (cmd, prompt reply, payload length, reply). Modem bytes that arrived between
    commands (URCs) go out with the reply before them."""
    banner = bytearray()
    out = []
    cur = None  # [cmd, reply, payload bytes or None, reply after the payload]
    host = bytearray()
    payload = False
    for _, direction, data in events:
        if direction == "<":
            if payload and cur[2]:
                payload = False  # the payload ended: the rest is its reply
            if cur is None:
                banner.extend(data)
            elif cur[2] is not None:
                cur[3].extend(data)
            else:
                cur[1].extend(data)
                if cur[1].endswith(b"> "):
                    cur[2] = 0
                    payload = True
            continue
        if payload:
            cur[2] += len(data)
            continue
        host.extend(data)
        while True:
            i = host.find(b"\r")
            if i < 0:
                break
            cur = [bytes(host[:i]), bytearray(), None, bytearray()]
            out.append(cur)
            del host[:i + 1]
    result = [(None, bytes(banner))] if banner else []
    for cmd, reply, n, after in out:
        if n is None:
            result.append((cmd, bytes(reply)))
        else:
            result.append((cmd, bytes(reply), n, bytes(after)))
    return result


def replay(events, code):
    """Run code (Python, with `uart` bound to a FakeUART) while a scripted modem
    answers each command with its recorded reply. Returns the number of exchanges;
    raises ReplayMismatch when the library sends something else or stops early."""
    if LIB not in sys.path:
        sys.path.insert(0, LIB)
    from cellmodem.fakeuart import FakeUART, Responder

    class Strict(Responder):
        def _on_write(self, data):
            Responder._on_write(self, data)
            if self.mismatch is not None:
                got, want = self.mismatch
                raise ReplayMismatch("the library sent %r where the log has %r (exchange %d of %d)"
                                     % (got, want, total - len(self.steps) + 1, total))

    script = steps(events)
    total = len([s for s in script if s[0] is not None])
    uart = FakeUART()
    r = Strict(uart, script)
    exec(compile(code, "<replay>", "exec"), {"uart": uart, "__name__": "__replay__"})
    left = [s for s in r.steps if s[0] is not None]
    if left:
        raise ReplayMismatch("the library stopped after %d of %d exchanges; next in the log: %r"
                             % (total - len(left), total, left[0][0]))
    return total


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.trace", description=__doc__.split("\n")[0])
    ap.add_argument("log", help="a log from trace.recorder(), trace.tap() or tools.atterm")
    ap.add_argument("--replay", action="store_true",
                    help="replay the modem's side against the library; exit 1 on a difference")
    ap.add_argument("--run", help="code to replay against (default: the log's '# replay:' lines); "
                                  "`uart` is the fake port")
    a = ap.parse_args(argv)
    events, code = load(a.log)
    if not a.replay:
        for line in timeline(events):
            print(line)
        return 0
    code = a.run or code
    if not code:
        print("no code to replay: pass --run or record with recorder(path, replay=...)",
              file=sys.stderr)
        return 2
    try:
        n = replay(events, code)
    except ReplayMismatch as e:
        print("replay FAILED: %s" % e)
        return 1
    print("replay OK: %d exchanges" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
