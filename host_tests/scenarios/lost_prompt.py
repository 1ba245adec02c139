"""A pushed payload cut short must not eat the next command's prompt or reply
(issue 19 item 3; the fault soak's wedge: quectel push, --quirks real --seed 3).

Cases run on CPython (host_tests/test_lost_prompt.py) and in real MicroPython. The
transcripts follow the Quectel family's direct-push form (+QIURC: "recv",<id>,<len>,
then <len> bytes and CR LF; UG manual 1.2 item 2) with bytes lost from the payload.
"""
from cellmodem.at import AT
from cellmodem.fakeuart import FakeUART, Responder


class Push:
    """A +QIURC: "recv" handler as the dialects set one up: the payload, then its
    CR LF checked at once and the next line's CR LF when it comes (Engine.frame)."""

    def __init__(self, at):
        self.at = at
        self.got = bytearray()
        self.verdicts = []
        at.urc(b'+QIURC: "recv"', self.header)

    def header(self, line):
        eng = self.at.engine
        eng.frame(b"\r\n\r\n", self.verdicts.append, False, True, 2)
        eng.expect_raw(line.int(2), lambda buf, off, n: self.got.extend(buf[off:off + n]))


def _chat(steps):
    uart = FakeUART()
    script = Responder(uart, steps)
    at = AT(uart)
    return at, uart, script, Push(at)


def case_a_command_is_not_written_while_a_cut_pushed_payload_is_still_arriving():
    # 10 bytes announced, 6 came; the module is quiet. AT+CSQ written now would have
    # "\r\n+CSQ" taken as the payload's missing 4 bytes and its answer lost: it waits
    # for the payload to be given up (EIO on its socket), then goes.
    at, uart, script, push = _chat([
        (None, b'\r\n+QIURC: "recv",0,10\r\nABCDEF'),
        (b"AT+CSQ", b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"),
    ])
    assert at.command("AT+CSQ", resp=b"+CSQ:") == [b"+CSQ: 20,99"]
    assert push.verdicts == [False], push.verdicts
    assert bytes(push.got) == b"ABCDEF", push.got  # none of the reply was payload
    assert at.engine.short_payloads == 1
    assert script.mismatch is None, script.mismatch


def case_a_whole_pushed_payload_arriving_still_lets_the_command_go_after_it():
    at, uart, script, push = _chat([
        (None, b'\r\n+QIURC: "recv",0,4\r\nWXYZ\r\n'),
        (b"AT+CSQ", b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"),
    ])
    assert at.command("AT+CSQ", resp=b"+CSQ:") == [b"+CSQ: 20,99"]
    assert push.verdicts == [True] and bytes(push.got) == b"WXYZ"
    assert at.engine.short_payloads == 0


def case_a_pushed_payload_two_bytes_short_with_a_line_right_behind_it_is_caught():
    # 10 bytes announced, 8 came: the payload's own CR LF passes as its last 2 bytes and
    # the next line's CR LF as its line end; the next line's text, where a CR LF must
    # come, gives it away. That line starts where the check failed, so it is parsed:
    # the next push arrives whole.
    at, uart, script, push = _chat([
        (None, b'\r\n+QIURC: "recv",0,10\r\nABCDEFGH\r\n\r\n+QIURC: "recv",0,3\r\nXYZ\r\n'),
        (b"AT+CSQ", b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"),
    ])
    assert at.command("AT+CSQ", resp=b"+CSQ:") == [b"+CSQ: 20,99"]
    assert push.verdicts == [False, True], push.verdicts
    assert bytes(push.got).endswith(b"XYZ"), push.got
    assert at.engine.short_payloads == 1
    assert script.mismatch is None, script.mismatch


def case_a_whole_pushed_payload_ending_in_cr_lf_with_nothing_behind_it_is_accepted():
    # it could be one 2 bytes short, so the next line's CR LF is waited for; none comes:
    # it is taken as absent after a quiet moment
    at, uart, script, push = _chat([
        (None, b'\r\n+QIURC: "recv",0,4\r\nWX\r\n\r\n'),
    ])
    for _ in range(100):  # up to 2 s (the accept needs 50 ms of quiet)
        at.poll(20)
        if push.verdicts:
            break
    assert push.verdicts == [True] and bytes(push.got) == b"WX\r\n", (push.verdicts, push.got)
    assert not at.engine.in_raw


def case_a_whole_pushed_payload_not_ending_in_cr_lf_is_accepted_without_a_quiet_wait():
    # only a payload ending in CR LF can be one 2 bytes short (its own CR LF taken as
    # data), so any other is accepted once its own CR LF came: no 50 ms held per push
    at, uart, script, push = _chat([
        (None, b'\r\n+QIURC: "recv",0,4\r\nWXYZ\r\n'),
    ])
    at.poll(0)  # the FakeUART holds every byte already: one read takes them all
    assert push.verdicts == [True] and bytes(push.got) == b"WXYZ", (push.verdicts, push.got)
    assert not at.engine.in_raw


def case_a_send_whose_prompt_a_cut_payload_swallowed_writes_its_data_and_completes():
    # The push came between AT+QISEND and its "> ": 10 bytes announced, 4 came, and
    # the prompt became payload. The module waits for exactly 5 bytes (the fixed-length
    # form has no cancel: ESC would be data); the data is written and SEND OK ends it.
    at, uart, script, push = _chat([
        (b"AT+QISEND=0,5", b'\r\n+QIURC: "recv",0,10\r\nABCD\r\n> ', 5,
         b"\r\nSEND OK\r\n"),
        (b"AT+CSQ", b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"),
    ])
    at.send_data(b"AT+QISEND=0,5", b"hello", finals=((b"SEND OK", True), (b"SEND FAIL", False)),
                 prompt_timeout=3000)
    assert at.engine.final == b"SEND OK", at.engine.final
    assert script.payloads == [b"hello"], script.payloads
    assert b"\x1b" not in uart.tx, uart.tx
    assert push.verdicts == [False], push.verdicts
    # the module is out of data input: the next command is answered as one
    assert at.command("AT+CSQ", resp=b"+CSQ:") == [b"+CSQ: 20,99"]
    assert script.mismatch is None, script.mismatch


def case_a_send_whose_prompt_never_came_without_a_cut_payload_is_cancelled_with_esc():
    # no payload was cut: the prompt was not swallowed by one, so the library does not
    # guess the module is waiting for data; it cancels (ESC) and reports the timeout
    from cellmodem.errors import ATTimeout
    at, uart, script, push = _chat([(b"AT+QISEND=0,5", b"")])
    try:
        at.send_data(b"AT+QISEND=0,5", b"hello", prompt_timeout=300)
    except ATTimeout:
        pass
    else:
        raise AssertionError("no ATTimeout")
    assert uart.tx.endswith(b"\x1b") and b"hello" not in uart.tx, uart.tx


CASES = [name for name in sorted(globals()) if name.startswith("case_")]
