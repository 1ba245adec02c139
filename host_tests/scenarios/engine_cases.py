"""Engine behaviour, as cases that run on both CPython (pytest) and real MicroPython.

Each case_* function is one behaviour. Transcripts come from the vendors' manuals
(file and section named next to each). host_tests/test_engine.py runs them under
pytest; host_tests/scenarios/run.py runs them in the micropython binary.
"""
from cellmodem.at import AT
from cellmodem.engine import Engine
from cellmodem.errors import ATError, ATTimeout, ATLineTooLong, ATBusy
from cellmodem.fakeuart import FakeUART, Responder
from cellmodem.compat import ticks_ms, ticks_diff

OK = b"\r\nOK\r\n"


def raises(exc, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    raise AssertionError("%s not raised" % exc.__name__)


def chat(steps, chunk=None, rxbuf=1024):
    """An AT channel over a FakeUART answered by a script."""
    uart = FakeUART(chunk)
    script = Responder(uart, steps)
    return AT(uart, rxbuf=rxbuf), uart, script


def splits(reply):
    """Every way to cut reply in two, then 1-byte pieces: the chunkings to try."""
    out = [[k] for k in range(1, len(reply))]
    out.append([1] * len(reply))
    return out


# ---- plain commands ----

def case_simple_query_returns_its_response_line():
    # SIM7600 manual, AT+CSQ: "+CSQ: <rssi>,<ber>" then OK
    at, _, _ = chat([(b"AT+CSQ", b"\r\n+CSQ: 20,99\r\n" + OK)])
    assert at.command("AT+CSQ", resp=b"+CSQ:") == [b"+CSQ: 20,99"]


def case_exact_bytes_written_for_a_command():
    at, uart, _ = chat([(b"AT+CGSN", b"\r\n861234567890123\r\n" + OK)])
    at.command(b"AT+CGSN")
    assert bytes(uart.tx) == b"AT+CGSN\r"


def case_bare_response_line_is_collected_without_prefix():
    # Yuge 2.x: AT+CIMI answers the IMSI alone on a line
    at, _, _ = chat([(b"AT+CIMI", b"\r\n460060500266902\r\n" + OK)])
    assert at.command("AT+CIMI") == [b"460060500266902"]


def case_response_survives_every_split_point_and_one_byte_chunks():
    reply = b"\r\n+CEREG: 2,1,\"1A2B\",\"01A2B3C4\",7\r\n" + OK
    for sizes in splits(reply):
        at, _, _ = chat([(b"AT+CEREG?", reply)], chunk=sizes)
        lines = at.command("AT+CEREG?", resp=b"+CEREG:")
        assert lines == [b"+CEREG: 2,1,\"1A2B\",\"01A2B3C4\",7"], (sizes, lines)


def case_echo_of_the_command_is_not_a_response_line():
    # ATE1: the module repeats "AT+CSQ\r" before its answer
    for chunk in (None, 1):
        at, _, _ = chat([(b"AT+CSQ", b"AT+CSQ\r\r\n+CSQ: 31,99\r\n" + OK)], chunk=chunk)
        assert at.command("AT+CSQ") == [b"+CSQ: 31,99"]


def case_echo_on_and_off_both_work_in_one_session():
    at, _, _ = chat([
        (b"ATE1", b"ATE1\r" + OK),
        (b"AT+CGMR", b"AT+CGMR\r\r\nRevision: YM310\r\n" + OK),
        (b"ATE0", b"ATE0\r" + OK),
        (b"AT+CGMR", b"\r\nRevision: YM310\r\n" + OK),
    ])
    assert at.command("ATE1") == []
    assert at.command("AT+CGMR") == [b"Revision: YM310"]
    assert at.command("ATE0") == []
    assert at.command("AT+CGMR") == [b"Revision: YM310"]


def case_lone_cr_and_lone_lf_line_ends_are_tolerated():
    at, _, _ = chat([(b"AT+CSQ", b"\r+CSQ: 5,0\rOK\r"), (b"AT+CSQ", b"\n+CSQ: 6,0\nOK\n")])
    assert at.command("AT+CSQ") == [b"+CSQ: 5,0"]
    assert at.command("AT+CSQ") == [b"+CSQ: 6,0"]


# ---- URCs ----

def case_urcs_anywhere_in_a_reply_are_dispatched_not_answered():
    # SIM7080: "+CADATAIND: 0" and "+APP PDP: 0,ACTIVE" may come before the echo,
    # between echo and result, and between the result line and OK.
    reply = (b"\r\n+CADATAIND: 0\r\nAT+CSQ\r\r\n+APP PDP: 0,ACTIVE\r\n+CSQ: 20,99\r\n"
             b"\r\n+CADATAIND: 1\r\n" + OK)
    for sizes in splits(reply):
        seen = []
        at, _, _ = chat([(b"AT+CSQ", reply)], chunk=sizes)
        at.urc(b"+CADATAIND:", lambda line: seen.append(line.int(0)))
        at.urc(b"+APP PDP:", lambda line: seen.append(line.field(1)))
        assert at.command("AT+CSQ") == [b"+CSQ: 20,99"], sizes
        assert seen == [0, "ACTIVE", 1], (sizes, seen)


def case_urc_with_the_commands_own_prefix_is_its_answer():
    # +CEREG: is both the query's answer and a URC; during AT+CEREG? it is the answer
    seen = []
    at, _, _ = chat([(b"AT+CEREG?", b"\r\n+CEREG: 2,5\r\n" + OK)])
    at.urc(b"+CEREG:", lambda line: seen.append(line.int(0)))
    assert at.command("AT+CEREG?", resp=b"+CEREG:") == [b"+CEREG: 2,5"]
    assert seen == []


def case_urc_between_commands_is_dispatched_by_poll():
    seen = []
    at, uart, _ = chat([])
    at.urc(b"+CEREG:", lambda line: seen.append((line.int(0), line.field(1))))
    uart.feed(b"\r\n+CEREG: 5,\"1A2B\"\r\n")
    assert at.poll() is True
    assert seen == [(5, "1A2B")]
    assert at.poll() is False


def case_urc_waiting_before_a_command_is_not_its_answer():
    seen = []
    at, uart, _ = chat([(b"AT+CIMI", b"\r\n460060500266902\r\n" + OK)])
    at.urc(b"+CPIN:", lambda line: seen.append(line.field(0)))
    uart.feed(b"\r\n+CPIN: READY\r\n")
    assert at.command("AT+CIMI") == [b"460060500266902"]
    assert seen == ["READY"]


def case_unclaimed_lines_go_to_on_unknown():
    got = []
    at, uart, _ = chat([])
    at.engine.on_unknown = lambda line: got.append(line.bytes())
    uart.feed(b"\r\nRDY\r\n\r\nSMS Ready\r\n")
    at.poll()
    assert got == [b"RDY", b"SMS Ready"]


def case_result_urc_after_ok_finishes_the_command():
    # Yuge 9.42 (SIM800 style): AT+CIPSTART answers OK, the result follows later
    # as "CONNECT OK" (single link) or "1, CONNECT OK" (CIPMUX=1)
    finals = ((b"CONNECT OK", True), (b"ALREADY CONNECT", False), (b"CONNECT FAIL", False))
    at, _, _ = chat([
        (b'AT+CIPSTART="TCP","127.0.0.1",7', b"\r\nOK\r\n\r\nCONNECT OK\r\n"),
        (b'AT+CIPSTART=1,"TCP","127.0.0.1",7', b"\r\nOK\r\n\r\n1, CONNECT OK\r\n"),
        (b'AT+CIPSTART=2,"TCP","127.0.0.1",7', b"\r\nOK\r\n\r\n2, CONNECT FAIL\r\n"),
    ])
    at.command('AT+CIPSTART="TCP","127.0.0.1",7', finals=finals, ok_final=False)
    assert at.engine.final == b"CONNECT OK"
    at.command('AT+CIPSTART=1,"TCP","127.0.0.1",7', finals=finals, ok_final=False)
    assert at.engine.final == b"1, CONNECT OK"
    e = raises(ATError, at.command, 'AT+CIPSTART=2,"TCP","127.0.0.1",7',
               finals=finals, ok_final=False)
    assert e.text == "2, CONNECT FAIL"


# ---- errors ----

def case_cme_error_numeric_carries_the_code():
    at, _, _ = chat([(b"AT+CPIN?", b"\r\n+CME ERROR: 10\r\n")])
    e = raises(ATError, at.command, "AT+CPIN?")
    assert e.code == 10 and e.text == "CME ERROR" and e.command == "AT+CPIN?"


def case_cme_error_text_carries_the_text():
    at, _, _ = chat([(b"AT+CPIN?", b"\r\n+CME ERROR: SIM not inserted\r\n")])
    e = raises(ATError, at.command, "AT+CPIN?")
    assert e.code is None and e.text == "SIM not inserted"


def case_cms_error_and_plain_error():
    at, _, _ = chat([(b"AT+CMGS=1", b"\r\n+CMS ERROR: 304\r\n"), (b"AT+XYZ", b"\r\nERROR\r\n")])
    e = raises(ATError, at.command, "AT+CMGS=1")
    assert (e.code, e.text) == (304, "CMS ERROR")
    e = raises(ATError, at.command, "AT+XYZ")
    assert (e.code, e.text) == (None, "ERROR")


def case_error_detail_line_gives_plain_error_its_text():
    # A7600 manual 6.2.2.3: "+IP ERROR: No data" then "ERROR"
    at, _, _ = chat([(b"AT+CIPRXGET=2,2", b"\r\n+IP ERROR: No data\r\n\r\nERROR\r\n")])
    at.engine.detail_prefixes = (b"+IP ERROR:",)
    e = raises(ATError, at.command, "AT+CIPRXGET=2,2")
    assert e.text == "No data"


def case_timeout_raises_within_the_deadline_and_next_command_works():
    at, _, script = chat([(b"AT+COPS?", b""), (b"AT", OK)])
    t0 = ticks_ms()
    e = raises(ATTimeout, at.command, "AT+COPS?", timeout=200)
    dt = ticks_diff(ticks_ms(), t0)
    assert 200 <= dt < 1000, dt
    assert e.command == "AT+COPS?" and e.timeout_ms == 200
    assert at.command("AT") == []


def case_default_timeout_comes_from_the_command_table():
    at, _, _ = chat([])
    assert at.timeout_for(b"AT+COPS=0") == 375000  # Yuge manual 1.4: 300 s, + a quarter
    assert at.timeout_for("AT+CSQ") == 9000  # Yuge 1.4: anything not listed, 9 s
    at.timeouts["+CIPOPEN"] = 120000  # SIM7600 manual: CIPOPEN 120000 ms
    assert at.timeout_for('AT+CIPOPEN=0,"TCP","x",1') == 120000


def case_second_command_while_one_is_in_flight_is_refused():
    eng = Engine(64)
    eng.begin(b"AT")
    raises(ATBusy, eng.begin, b"AT+CSQ")
    eng.feed(OK)
    assert eng.done and eng.error is None
    eng.begin(b"AT+CSQ")


# ---- the data prompt ----

def case_prompt_then_payload_then_result():
    # SIM7080 manual 4.2.x: AT+CASEND=0,5 / "> " / hello / OK
    at, uart, script = chat([(b"AT+CASEND=0,5", b"\r\n> ", 5, OK)])
    at.send_data("AT+CASEND=0,5", b"hello")
    assert script.payloads == [b"hello"]
    assert bytes(uart.tx) == b"AT+CASEND=0,5\r" + b"hello"


def case_prompt_without_space_and_link_numbered_result():
    # Yuge 9.x multi-link: "AT+CIPSEND=1,4" / ">" / data / "1, SEND OK"
    for chunk in (None, 1):
        at, _, script = chat([(b"AT+CIPSEND=1,4", b"\r\n>", 4, b"\r\n1, SEND OK\r\n")], chunk=chunk)
        at.send_data("AT+CIPSEND=1,4", b"\r\nOK", finals=((b"SEND OK", True), (b"SEND FAIL", False)),
                     ok_final=False)
        assert script.payloads == [b"\r\nOK"]
        assert at.engine.final == b"1, SEND OK"


def case_send_fail_is_an_error():
    at, _, _ = chat([(b"AT+CIPSEND=2,3", b"\r\n> ", 3, b"\r\n2, SEND FAIL\r\n")])
    e = raises(ATError, at.send_data, "AT+CIPSEND=2,3", b"abc",
               finals=((b"SEND OK", True), (b"SEND FAIL", False)), ok_final=False)
    assert e.text == "2, SEND FAIL"


def case_data_accept_without_space_is_a_final():
    # Yuge 9.x quick send: "DATA ACCEPT:1,65" (no space after the colon)
    at, _, _ = chat([(b"AT+CIPSEND=1,65", b"\r\n> ", 65, b"\r\nDATA ACCEPT:1,65\r\n")])
    at.send_data("AT+CIPSEND=1,65", b"x" * 65, finals=((b"DATA ACCEPT:", True),), ok_final=False)
    assert at.engine.final == b"DATA ACCEPT:1,65"


def case_refusal_before_the_prompt_sends_no_payload():
    at, uart, _ = chat([(b"AT+CIPSEND=0,5", b"\r\n+CME ERROR: 3\r\n")])
    e = raises(ATError, at.send_data, "AT+CIPSEND=0,5", b"hello")
    assert e.code == 3
    assert bytes(uart.tx) == b"AT+CIPSEND=0,5\r"


def case_urc_while_waiting_for_the_prompt_and_the_result():
    seen = []
    at, _, script = chat([(b"AT+QISEND=0,3", b"\r\n+QIURC: \"recv\",1\r\n> ", 3,
                           b"\r\n+QIURC: \"closed\",2\r\n\r\nSEND OK\r\n")], chunk=1)
    at.urc(b"+QIURC:", lambda line: seen.append((line.field(0), line.int(1))))
    at.send_data("AT+QISEND=0,3", b"abc", finals=((b"SEND OK", True), (b"SEND FAIL", False)),
                 ok_final=False)
    assert seen == [("recv", 1), ("closed", 2)]


def case_no_prompt_times_out_and_cancels_with_esc():
    # the modem sees ESC before the next command line
    at, uart, _ = chat([(b"AT+CASEND=0,5", b""), (b"\x1bAT", OK)])
    raises(ATTimeout, at.send_data, "AT+CASEND=0,5", b"hello", prompt_timeout=100)
    assert bytes(uart.tx).endswith(b"\x1b")
    uart.take()
    assert at.command("AT") == []


# ---- raw payloads ----

NASTY = b"\r\nOK\r\n+CME ERROR: 1\r\n> \x00\xff\x1a\x1b\x03\nERROR\r"


def _reader(at, sink):
    return lambda buf, off, n: sink.extend(buf[off:off + n])


def case_raw_after_header_line_ciprxget():
    # A7600 manual 6.2.2.3: "+CIPRXGET: 2,1,5,11" then the 5 bytes, then OK
    reply = b"\r\n+CIPRXGET: 2,1,%d,0\r\n" % len(NASTY) + NASTY + b"\r\n" + OK
    for sizes in splits(reply):
        got = bytearray()
        at, _, _ = chat([(b"AT+CIPRXGET=2,1,100", reply)], chunk=sizes)
        at.command("AT+CIPRXGET=2,1,100",
                   on_line=lambda line: at.engine.expect_raw(line.int(2), _reader(at, got)))
        assert bytes(got) == NASTY, sizes


def case_raw_push_ipd_urc():
    # A7600 manual 6.2.1.3: "RECV FROM:117.131.85.139:5253" / "+IPD16" / data
    frm = []
    got = bytearray()
    at, uart, _ = chat([(b"AT", OK)], chunk=1)
    at.urc(b"RECV FROM:", lambda line: frm.append(line.bytes()))
    at.urc(b"+IPD", lambda line: at.engine.expect_raw(int(line.bytes()[4:]), _reader(at, got)))
    uart.feed(b"\r\nRECV FROM:117.131.85.139:5253\r\n+IPD%d\r\n" % len(NASTY) + NASTY)
    assert at.command("AT") == []
    assert frm == [b"RECV FROM:117.131.85.139:5253"]
    assert bytes(got) == NASTY


def case_raw_push_receive_multilink():
    # Yuge 9.25: "+RECEIVE,<n>,<length>:" then the data on its own line
    data = b"TEST123\r\nOK\r\n"
    push = b"\r\n+RECEIVE,0,%d:\r\n" % len(data) + data
    for sizes in splits(push):
        got = bytearray()
        at, uart, _ = chat([], chunk=sizes)
        at.urc(b"+RECEIVE,", lambda line: at.engine.expect_raw(line.int(1), _reader(at, got)))
        uart.feed(push)
        while at.poll():
            pass
        assert bytes(got) == data, sizes


def case_raw_after_qird_header_then_ok():
    # Quectel QIRD: "+QIRD: <len>" CRLF data CRLF OK
    got = bytearray()
    reply = b"\r\n+QIRD: %d\r\n" % len(NASTY) + NASTY + b"\r\n" + OK
    at, _, _ = chat([(b"AT+QIRD=0,1500", reply)], chunk=3)
    at.command("AT+QIRD=0,1500", resp=b"+QIRD:",
               on_line=lambda line: at.engine.expect_raw(line.int(0), _reader(at, got)))
    assert bytes(got) == NASTY


def case_raw_mid_line_carecv():
    # Real SIM7080: "+CARECV: <len>,<data>" with data right after the comma;
    # "+CARECV: 0" when nothing is buffered.
    reply = b"\r\n+CARECV: %d," % len(NASTY) + NASTY + b"\r\n" + OK
    for sizes in splits(reply):
        got = bytearray()
        at, _, _ = chat([(b"AT+CARECV=0,1460", reply), (b"AT+CARECV=0,1460", b"\r\n+CARECV: 0\r\n" + OK)],
                        chunk=sizes)
        at.inline(b"+CARECV: ", b",", lambda line: at.engine.expect_raw(line.int(0), _reader(at, got)))
        assert at.command("AT+CARECV=0,1460") == []
        assert bytes(got) == NASTY, sizes
        assert at.command("AT+CARECV=0,1460") == [b"+CARECV: 0"]


def case_raw_mid_line_ipd_with_length_and_colon():
    # Yuge 9.x with CIPHEAD=1: "+IPD,4:TEST" (data after the colon on the same line)
    got = bytearray()
    at, uart, _ = chat([], chunk=1)
    at.inline(b"+IPD,", b":", lambda line: at.engine.expect_raw(line.int(0), _reader(at, got)))
    uart.feed(b"\r\n+IPD,4:TEST\r\n+IPD,6:\r\nOK\r\n")
    while at.poll():
        pass
    assert bytes(got) == b"TEST\r\nOK\r\n"


def case_raw_payload_larger_than_the_buffer():
    data = bytes(range(256)) * 4
    got = bytearray()
    at, uart, _ = chat([(b"AT+CIPRXGET=2,0,1024", b"\r\n+CIPRXGET: 2,0,1024,0\r\n" + data + OK)],
                       chunk=(1, 64, 7), rxbuf=128)
    at.command("AT+CIPRXGET=2,0,1024",
               on_line=lambda line: at.engine.expect_raw(line.int(2), _reader(at, got)))
    assert bytes(got) == data


# ---- limits ----

def case_line_longer_than_the_buffer_fails_the_command_then_recovers():
    long_line = b"+CLONG: " + b"x" * 300
    at, _, _ = chat([(b"AT+CLONG", b"\r\n" + long_line + b"\r\n" + OK),
                     (b"AT+CSQ", b"\r\n+CSQ: 1,2\r\n" + OK)], chunk=(1, 40, 3), rxbuf=64)
    e = raises(ATLineTooLong, at.command, "AT+CLONG")
    assert e.command == "AT+CLONG"
    assert at.command("AT+CSQ") == [b"+CSQ: 1,2"]
    assert at.engine.overflows == 1


def case_overlong_urc_when_idle_is_reported_and_dropped():
    hits = []
    seen = []
    at, uart, _ = chat([(b"AT", OK)], rxbuf=32)
    at.engine.on_overflow = lambda: hits.append(1)
    at.urc(b"+CEREG:", lambda line: seen.append(line.int(0)))
    uart.feed(b"\r\n" + b"N" * 100 + b"\r\n+CEREG: 1\r\n")
    while at.poll():
        pass
    assert hits == [1] and seen == [1]
    assert at.command("AT") == []


def case_trace_hook_sees_both_directions():
    log = []
    at, _, _ = chat([(b"AT", OK)])
    at.trace = lambda d, data, t: log.append((d, data))
    at.command("AT")
    assert log[0] == (b">", b"AT\r")  # the command and its CR: one event, one line
    assert b"".join(d for k, d in log if k == b"<") == OK


def case_idle_hook_runs_while_waiting():
    calls = []
    at, _, _ = chat([(b"AT+CGATT=1", b"")])
    at.idle = lambda: calls.append(1)
    raises(ATTimeout, at.command, "AT+CGATT=1", timeout=60)
    assert len(calls) >= 2


def case_line_fields_parse_in_place():
    from cellmodem.line import Line
    b = bytearray(b'xx+CIPOPEN: 1,"TCP","1.2.3.4",-5, 7 ,yy')
    line = Line(b, 2, len(b) - 3)
    assert line.int(0) == 1 and line.field(1) == "TCP" and line.field(2) == "1.2.3.4"
    assert line.int(3) == -5 and line.int(4) == 7 and line.nfields() == 5
    assert line.int(9, -1) == -1 and line.int(1, -2) == -2
    assert line.startswith(b"+CIPOPEN:") and not line.startswith(b"+CIPOPEN: 1,\"TCP\",\"1.2.3.4\",-5, 7 ,yy")


# ---- a port that fails ----

class _Dying(FakeUART):
    """A FakeUART whose write raises (a USB modem unplugged: EIO; or, with exc=
    ValueError, a port the program closed) from the after-th write on."""

    def __init__(self, after, exc=None):
        FakeUART.__init__(self)
        self.after = after
        self.exc = exc
        self.path = "/dev/ttyUSB7"

    def write(self, buf):
        self.after -= 1
        if self.after < 0:
            raise self.exc if self.exc else OSError(5, "Input/output error")
        return FakeUART.write(self, buf)


def _port_closed(fn, *args):
    e = raises(OSError, fn, *args)
    assert e.args == (5, "port closed: /dev/ttyUSB7"), e.args
    return e


def case_a_port_that_fails_mid_command_gives_one_error_on_every_later_call():
    # the command line went out, the port died before its payload: that call and every
    # later one raise OSError(EIO, "port closed: <path>"), never ATBusy for the old one
    uart = _Dying(2)
    Responder(uart, [(b"AT+CASEND=0,5", b"\r\n> ")])
    at = AT(uart)
    _port_closed(at.send_data, "AT+CASEND=0,5", b"hello")
    written = len(uart.tx)
    _port_closed(at.command, "AT+CSQ")
    _port_closed(at.send_data, "AT+CASEND=0,5", b"hello")
    _port_closed(at.poll, 10)
    assert len(uart.tx) == written  # nothing more was tried on the dead port
    assert at.engine.state == 0 and at.closed == "port closed: /dev/ttyUSB7"


def case_a_port_the_program_closed_is_the_same_error():
    # CPython and MicroPython both raise ValueError for I/O on a closed file
    uart = _Dying(0, ValueError("I/O operation on closed file"))
    at = AT(uart)
    _port_closed(at.command, "AT")
    _port_closed(at.command, "AT")


def case_a_port_whose_reads_fail_names_itself_by_repr_without_a_path():
    uart = FakeUART()
    at = AT(uart)
    uart.hangup()  # the simulator's hangup fault on a FakeUART: EIO both ways
    for _ in range(2):
        e = raises(OSError, at.command, "AT")
        assert e.args == (5, "port closed: FakeUART"), e.args


def case_times_and_ports_of_the_wrong_type_are_refused_before_the_uart():
    uart = FakeUART()
    at = AT(uart)
    for t in ("5", 5.0, True):
        e = raises(TypeError, at.command, "AT", timeout=t)
        assert "milliseconds" in e.args[0], e.args
        raises(TypeError, at.poll, t)
        raises(TypeError, at.send_data, "AT+CASEND=0,1", b"x", timeout=t)
    assert bytes(uart.tx) == b""
    e = raises(TypeError, AT, None)
    assert e.args == ("port must have write() and readinto() (a machine.UART, "
                      "open_serial(...), FakeUART), not NoneType",), e.args


CASES = [name for name in sorted(globals()) if name.startswith("case_")]
