r"""An interactive AT terminal to a modem: a serial port or the simulator's pty.

Each line typed is sent with CR; every line the modem sends is printed with a
timestamp and a label (echo, response, final, prompt, URC); URCs are highlighted
in colour on a terminal. The data prompt "> " shows the moment it arrives; bytes
sent with ~raw show at once on their own line (payload after a prompt, raw
otherwise); what the modem sends without a line end (raw data) shows as data once
it has been quiet for QUIET_MS. --log writes everything in tools.trace's format, so
`python -m tools.trace LOG` shows it again. Lines starting with ~ are local:
    ~wait MS        wait (and print what arrives) for MS milliseconds
    ~raw TEXT       send TEXT as is, no CR; escapes \r \n \t \\ \xNN (payloads, Ctrl-Z \x1a)
    ~quit           leave (Ctrl-D too)

Usage:
    python -m tools.atterm /dev/ttyUSB2 --log session.log
    python -m tools.atterm /dev/pts/5 --script commands.txt     # non-interactive
"""
import argparse
import os
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))

from tools import trace  # noqa: E402

COLOURS = {"URC": "\x1b[1;33m", "final": "\x1b[32m", "prompt": "\x1b[36m", "echo": "\x1b[2m"}
ERROR_COLOUR = "\x1b[1;31m"
RESET = "\x1b[0m"
QUIET_MS = 200  # the modem silent this long: show a line it has not ended (raw data)


def stamp():
    t = time.time()
    return time.strftime("%H:%M:%S", time.localtime(t)) + ".%03d" % (int(t * 1000) % 1000)


class Terminal:
    """The port, the classifier shared by both directions, the printer and the log."""

    def __init__(self, port, log=None, colour=False, out=None):
        self.port = port
        self.cls = trace.Classifier()
        self.lock = threading.Lock()
        self.colour = colour
        self.out = out or sys.stdout
        self.log = trace.recorder(log) if log else None
        self.urcs = 0
        self.stopped = False
        self.reader = threading.Thread(target=self._read, name="atterm-reader", daemon=True)

    def start(self):
        self.reader.start()
        return self

    def show(self, direction, label, line):
        arrow = "->" if direction == ">" else "<-"
        text = "[%s] %s %-8s %s" % (stamp(), arrow, label, trace.escape(line))
        if self.colour:
            c = COLOURS.get(label, "")
            if label == "final" and line != b"OK":
                c = ERROR_COLOUR
            if c:
                text = c + text + RESET
        if label == "URC":
            self.urcs += 1
        self.out.write(text + "\n")
        self.out.flush()

    def _event(self, direction, data, raw=False):
        with self.lock:
            if self.log:
                self.log(direction.encode(), data, trace.ticks_ms())
            for d, label, line in self.cls.feed(direction, data, raw):
                self.show(d, label, line)

    def _quiet(self):
        """The modem has been silent for QUIET_MS: show what it sent without a line end."""
        with self.lock:
            for d, label, line in self.cls.partial():
                self.show(d, label, line)

    def _read(self):
        buf = bytearray(1024)
        last = None  # when the modem last sent something not yet shown in full
        while not self.stopped:
            try:
                if not self.port.wait(50):
                    if last is not None and time.monotonic() - last >= QUIET_MS / 1000.0:
                        last = None
                        self._quiet()
                    continue
                n = self.port.readinto(buf)
            except (OSError, ValueError):
                return
            if n:
                self._event("<", bytes(buf[:n]))
                last = time.monotonic()

    def send(self, data, raw=False):
        """Write data to the modem (logged and labelled like everything else).
        raw: bytes sent as they are (~raw), shown at once on their own line."""
        self._event(">", data, raw)
        view = memoryview(data)
        while view:
            n = self.port.write(view) or 0
            view = view[n:]

    def busy(self):
        """True while a command awaits its final result (and no prompt came)."""
        with self.lock:
            return self.cls.pending is not None and not self.cls.payload

    def do(self, line, timeout_ms=10000):
        """Run one terminal line (a command or a ~ directive). False for ~quit."""
        if line.startswith("~"):
            word, _, arg = line[1:].partition(" ")
            if word == "quit":
                return False
            if word == "wait":
                time.sleep(int(arg) / 1000.0)
            elif word == "raw":
                self.send(trace.unescape(arg), raw=True)
            else:
                self.out.write("unknown directive ~%s (wait, raw, quit)\n" % word)
            return True
        deadline = time.monotonic() + timeout_ms / 1000.0
        while self.cls.payload and time.monotonic() < deadline:
            time.sleep(0.01)  # after a prompt: the payload's result before the next command
        self.send(line.encode() + b"\r")
        deadline = time.monotonic() + timeout_ms / 1000.0
        while self.busy() and time.monotonic() < deadline:
            time.sleep(0.01)
        return True

    def close(self):
        self.stopped = True
        self.reader.join(1)
        if self.log:
            self.log.close()


def interactive(term):
    try:
        import readline  # noqa: F401  line editing and history where Python has it
    except ImportError:
        pass
    while True:
        try:
            line = input()
        except (EOFError, KeyboardInterrupt):
            return
        if not term.do(line, timeout_ms=0):
            return


def script(term, path, timeout_ms, linger_ms):
    with open(path) as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            if not term.do(line, timeout_ms):
                break
    time.sleep(linger_ms / 1000.0)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.atterm", description=__doc__.split("\n")[0])
    ap.add_argument("port", help="serial device or pty, e.g. /dev/ttyUSB2")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--log", help="write the session to this file (tools.trace format)")
    ap.add_argument("--script", help="send this file's lines (# comments, ~ directives) and exit")
    ap.add_argument("--timeout", type=int, default=10000,
                    help="--script: ms to wait for each command's final result")
    ap.add_argument("--linger", type=int, default=500,
                    help="--script: ms to keep printing after the last line")
    ap.add_argument("--colour", "--color", choices=("auto", "always", "never"), default="auto")
    a = ap.parse_args(argv)
    from cellmodem.ports import open_serial
    port = open_serial(a.port, a.baud)
    colour = a.colour == "always" or (a.colour == "auto" and sys.stdout.isatty())
    term = Terminal(port, a.log, colour).start()
    try:
        if a.script:
            script(term, a.script, a.timeout, a.linger)
        else:
            print("atterm on %s; ~quit or Ctrl-D to leave" % a.port)
            interactive(term)
    finally:
        term.close()
        port.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
