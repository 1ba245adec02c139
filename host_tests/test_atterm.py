"""tools.atterm shows the modem's data prompt, and bytes sent raw, as they come.

Against the simulator's pty (as the README runs it) and, for what the modem sends
without a line end, against a stand-in port; tools.trace's classifier is the one
both the terminal and the timeline use.
"""
import subprocess
import sys
import threading
import time

from mpy import ROOT
from tools import atterm, trace
from tools.modemsim import get_personality


def run_script(tmp_path, text, tcp_echo=None):
    """Run atterm --script over the sim7080 simulator's pty; its output lines."""
    script = tmp_path / "cmds.txt"
    script.write_text(text)
    sim = get_personality("sim7080")(seed=1, reg_delay_ms=0)
    try:
        pty = sim.open_pty()
        p = subprocess.run([sys.executable, "-m", "tools.atterm", pty, "--script", str(script),
                            "--colour", "never", "--linger", "100"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        sim.close()
    assert p.returncode == 0, p.stdout + p.stderr
    return [l.split("] ", 1)[1] for l in p.stdout.splitlines() if l.startswith("[")]


def test_atterm_shows_the_data_prompt_and_then_the_payload(tmp_path, tcp_echo):
    host, port = tcp_echo
    lines = run_script(tmp_path, "AT+CNACT=0,1\nAT+CAOPEN=0,0,\"TCP\",\"%s\",%d\n"
                                 "AT+CASEND=0,5\n~raw hello\nAT\n" % (host, port))
    i = lines.index("-> command  AT+CASEND=0,5")
    # the prompt shows on its own, then the payload, then the module's OK for it
    # (before the fix the prompt never showed: the terminal waited out the module's
    # payload timeout, ERROR, and the payload went as part of the next command)
    assert lines[i + 1:i + 5] == ["<- echo     AT+CASEND=0,5", "<- prompt   > ",
                                  "-> payload  hello", "<- final    OK"], lines
    assert "-> command  AT" in lines


def test_atterm_shows_raw_bytes_on_their_own_line_not_glued_to_the_next_command(tmp_path):
    lines = run_script(tmp_path, "~raw AT\nATI\n")
    i = lines.index("-> raw      AT")
    assert lines[i + 1] == "-> command  ATI", lines
    assert "<- final    ERROR" in lines  # the module got ATATI: the terminal shows what went


def test_classifier_shows_a_prompt_whose_space_comes_in_the_next_read():
    c = trace.Classifier()
    assert c.feed(">", b"AT+CIPSEND=0,3\r") == [(">", "command", b"AT+CIPSEND=0,3")]
    assert c.feed("<", b"\r\n>") == [("<", "prompt", b"> ")]
    assert c.feed("<", b" ") == []  # the prompt's space: nothing more to show
    assert c.feed(">", b"abc") == [(">", "payload", b"abc")]
    assert c.feed("<", b"\r\nOK\r\n") == [("<", "final", b"OK")]


def test_classifier_gives_what_the_modem_has_not_ended_as_data_once():
    c = trace.Classifier()
    assert c.feed("<", b"\r\nCONNECT\r\nraw bytes") == [("<", "URC", b"CONNECT")]
    assert c.partial() == [("<", "data", b"raw bytes")]
    assert c.partial() == []


def test_timeline_shows_a_log_that_ends_inside_a_line():
    events = [(0, ">", b"ATO\r"), (5, "<", b"\r\nCONNECT\r\n"), (9, "<", b"stream")]
    out = list(trace.timeline(events))
    assert out[-1].split(None, 2)[1:] == ["<", "data     stream"], out


class QuietPort:
    """A stand-in port: hands out the chunks given to it, then stays silent."""

    def __init__(self, chunks):
        self.chunks = list(chunks)

    def wait(self, ms):
        if self.chunks:
            return True
        time.sleep(ms / 1000.0)
        return False

    def readinto(self, buf):
        data = self.chunks.pop(0)
        buf[:len(data)] = data
        return len(data)

    def write(self, data):
        return len(data)


class Out:
    def __init__(self):
        self.text = ""
        self.changed = threading.Event()

    def write(self, s):
        self.text += s
        self.changed.set()

    def flush(self):
        pass


def test_atterm_shows_what_the_modem_sent_without_a_line_end_once_it_is_quiet():
    out = Out()
    term = atterm.Terminal(QuietPort([b"\r\nCONNECT\r\n", b"data without", b" a line end"]),
                           out=out).start()
    try:
        deadline = time.monotonic() + 30  # liveness only
        while "data     data without a line end" not in out.text and time.monotonic() < deadline:
            out.changed.wait(0.5)
            out.changed.clear()
    finally:
        term.close()
    shown = [l.split("] ", 1)[1] for l in out.text.splitlines()]
    assert shown == ["<- URC      CONNECT", "<- data     data without a line end"], out.text
