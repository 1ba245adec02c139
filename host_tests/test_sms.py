"""cellmodem.sms: text messages in 27.005 text mode on every family, through the
simulator (tools/modemsim/sms.py), in CPython and in the real micropython binary.

Each test is one behaviour. Sending: GSM 7-bit text as IRA, anything else as UCS2
hex, the reference the network gave back. Receiving: +CMTI noted (also inside
another command's reply), AT+CMGR read in UCS2 so any text and sender come back
exactly, deleted after reading. Bad input is refused before the UART.
"""
import time

import pytest

from cellmodem.errors import ATError
from cellmodem.fakeuart import FakeUART, Responder
from cellmodem.at import AT
from cellmodem.sms import SMS, from_ucs2_hex, ucs2_hex
from mpy import LIB, SCENARIOS, compile_tree, run_micropython
from tools.modemsim import get_personality
from tools.modemsim.sms import OWN_NUMBER, encode_deliver

NUMBER = "+491701234567"
HEAP = "176k"  # MicroPython, the socket stack plus cellmodem.sms from .mpy: 152k passed for every family (with the concatenated messages); 144k failed with MemoryError for four of the five


def wait_until(modem, cond, seconds=10):
    end = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < end, "timed out"
        modem.poll(20)


class _ScriptedModem:
    """What SMS uses of a Modem (its AT channel and module_state), over a scripted
    FakeUART: for transcripts the simulator does not produce on demand."""

    def __init__(self, at):
        self.at = at
        self.module_state = {}


def scripted(steps):
    uart = FakeUART()
    Responder(uart, steps)
    at = AT(uart)
    return at, SMS(_ScriptedModem(at))


def test_gsm_text_is_sent_in_text_mode_and_returns_the_network_s_reference(device, family):
    sim, modem, uart = device(family)
    sms = SMS(modem)
    start = len(uart.tx)
    assert sms.send(NUMBER, "Temp 21.5 C @home; ok?") == 1
    assert sms.send(NUMBER, "second") == 2
    assert sim.sms_sent == [(NUMBER, "Temp 21.5 C @home; ok?", 0), (NUMBER, "second", 0)]
    tx = bytes(uart.tx[start:])
    assert tx.count(b"AT+CMGF=1\r") == 1 and tx.count(b'AT+CSCS="IRA"\r') == 1
    assert b'AT+CMGS="+491701234567"\r' in tx and b"Temp 21.5 C @home; ok?\x1a" in tx


def test_text_outside_the_gsm_alphabet_goes_as_ucs2_with_the_number_in_hex(device, family):
    sim, modem, uart = device(family)
    sms = SMS(modem)
    text = "Grüße, line 1\nline 2 \U0001F600"  # a character above U+FFFF: two units
    sms.send(NUMBER, text)
    assert sim.sms_sent == [(NUMBER, text, 8)]
    assert b'AT+CSCS="UCS2"\r' in uart.tx and b"AT+CSMP=17,167,0,8\r" in uart.tx
    assert ('AT+CMGS="%s"\r' % ucs2_hex(NUMBER)).encode() in uart.tx


def test_a_received_message_is_announced_read_with_its_sender_and_deleted(device, family):
    sim, modem, uart = device(family)
    sms = SMS(modem)
    assert sms.receive() is None  # asks for +CMTI (AT+CNMI=2,1); nothing yet
    sim.deliver_sms("+4930123456", "Grüße\nzweite Zeile, \"quoted\"", scts="26/12/06,21:30:00+04")
    wait_until(modem, lambda: sms.pending)
    msg = sms.receive()
    assert (msg.sender, msg.text, msg.time, msg.status) == (
        "+4930123456", "Grüße\nzweite Zeile, \"quoted\"", "26/12/06,21:30:00+04", "REC UNREAD")
    assert sim.sms_store == {} and sms.pending == [] and sms.receive() is None


def test_messages_come_in_the_order_they_arrived_and_list_shows_the_store(device, family):
    sim, modem, uart = device(family)
    sms = SMS(modem)
    sms.listen()
    for i in range(3):
        sim.deliver_sms("+4930%d" % i, "msg %d" % i)
    wait_until(modem, lambda: len(sms.pending) == 3)
    listed = sms.list("REC UNREAD")
    assert [(m.sender, m.text) for m in listed] == [("+4930%d" % i, "msg %d" % i) for i in range(3)]
    assert [m.status for m in sms.list("ALL")] == ["REC READ"] * 3
    assert [sms.receive().text for _ in range(3)] == ["msg 0", "msg 1", "msg 2"]
    assert sms.list("ALL") == []


def test_messages_stored_while_nobody_listened_or_across_a_restart_are_received(device, family):
    sim, modem, uart = device(family)
    sim.deliver_sms("+4930111", "before listen")  # no +CMTI: AT+CNMI not set yet
    sms = SMS(modem)
    assert sms.receive().text == "before listen"
    sim.reboot()  # the module forgets AT+CNMI; a message comes before anyone asks again
    modem.connect(apn="internet")
    sim.deliver_sms("+4930111", "while restarting")
    assert sms.receive().text == "while restarting"
    assert sim.sms_store == {}


def test_settings_go_once_per_module_session_and_again_after_a_restart(device, family):
    sim, modem, uart = device(family)
    sms = SMS(modem)
    sms.send(NUMBER, "one")
    sms.send(NUMBER, "two")
    assert uart.tx.count(b"AT+CMGF=1\r") == 1
    sim.reboot()
    modem.connect(apn="internet")
    sms.send(NUMBER, "three")  # the module is back in PDU mode: sent again
    assert uart.tx.count(b"AT+CMGF=1\r") == 2
    assert [t for _, t, _ in sim.sms_sent] == ["one", "two", "three"]


LONG_GSM = "".join("part text %03d; " % i for i in range(26))  # 390 GSM characters: 3 parts
# 153 UTF-16 units: 3 parts of at most 67; unit 67 is the first half of a surrogate
# pair, so the first part ends one unit early (a pair is never cut)
LONG_UCS2 = "012345" + "Grüße \U0001F600 " * 16 + "end"


@pytest.mark.parametrize("text, dcs, per_part", [(LONG_GSM, 0, 153), (LONG_UCS2, 8, 67)])
def test_a_long_text_goes_in_parts_and_comes_back_whole(device, family, text, dcs, per_part):
    sim, modem, uart = device(family)
    sms = SMS(modem)
    sms.listen()
    start = len(uart.tx)
    refs = sms.send(OWN_NUMBER, text)
    assert isinstance(refs, tuple) and len(refs) == 3 and len(set(refs)) == 3
    parts = sim.sms_parts[-3:]
    assert [p[1:] for p in parts] == [(3, 1), (3, 2), (3, 3)] and len({p[0] for p in parts}) == 1
    assert "".join(t for _, t, _ in sim.sms_sent) == text
    assert {d for _, _, d in sim.sms_sent} == {dcs}
    # in PDU mode (listen() has set AT+CMGF=0 already): AT+CMGS=<TPDU length> per part
    tx = bytes(uart.tx[start:])
    assert b"AT+CMGF=1" not in tx and tx.count(b"AT+CMGS=") == 3
    assert modem.module_state["cmgf"] == "AT+CMGF=0"
    sizes = [len(t.encode("utf-16-be")) // 2 if dcs else len(t) for _, t, _ in sim.sms_sent]
    assert sizes == ([66, 67, 20] if dcs else [153, 153, 84])
    wait_until(modem, lambda: len(sms.pending) == 3)
    m = sms.receive()
    assert (m.sender, m.text, m.part) == (OWN_NUMBER, text, None)
    assert len(m.indexes) == 3 and m.index == m.indexes[0]
    assert sms.receive() is None and sim.sms_store == {}  # every part deleted


def test_parts_out_of_order_wait_while_other_messages_come_through(device):
    sim, modem, uart = device("quectel")
    sms = SMS(modem)
    sms.listen()
    sim.deliver_sms("+4930777", "third.", part=(42, 3, 3))
    sim.deliver_sms("+4930123", "a whole one")
    sim.deliver_sms("+4930777", "first, ", part=(42, 3, 1))
    sim.deliver_sms("+4930888", "other sender, same reference", part=(42, 2, 1))
    wait_until(modem, lambda: len(sms.pending) == 4)
    assert sms.receive().text == "a whole one"  # the parts before it wait
    assert sms.receive() is None and len(sim.sms_store) == 3  # parts stay in the SIM
    sim.deliver_sms("+4930777", "second, ", part=(42, 3, 2))
    wait_until(modem, lambda: sms.pending)
    m = sms.receive()
    assert (m.sender, m.text) == ("+4930777", "first, second, third.")
    assert list(sim.sms_store.values())[0][3] == "other sender, same reference"


def test_parts_read_before_the_board_restarted_are_found_again(device):
    sim, modem, uart = device("sim7600")
    sms = SMS(modem)
    sms.listen()
    sim.deliver_sms("+4930777", "one ", part=(9, 2, 1))
    wait_until(modem, lambda: sms.pending)
    assert sms.receive() is None  # read, kept in the SIM as REC READ
    again = SMS(modem)  # the board restarted: a new SMS, the module kept its settings
    modem.module_state.pop("cnmi")
    sim.deliver_sms("+4930777", "two", part=(9, 2, 2))
    m = again.receive()
    assert m.text == "one two" and sim.sms_store == {}


def test_check_finds_a_message_whose_cmti_was_lost(device):
    sim, modem, uart = device("sim7080")
    sms = SMS(modem)
    sms.listen()
    sim.cnmi_mt = 0  # the +CMTI is lost (a garbled line on a real UART)
    sim.deliver_sms("+4930123", "never announced")
    modem.poll(300)
    assert sms.pending == []
    sms.check()
    assert len(sms.pending) == 1 and sms.receive().text == "never announced"


def test_a_message_marked_read_but_never_returned_is_queued_by_check():
    # AT+CMGL marks what it lists read: a listing (or a read) cut off half way loses
    # nothing, since every message receive() returns is deleted
    pdu, n = encode_deliver("+4930", "26/12/06,21:00:00+00", "marked read", 0)
    listing = ("\r\n+CMGL: 3,1,,%d\r\n%s\r\n\r\nOK\r\n" % (n, pdu)).encode()
    at, sms = scripted([
        (b"AT+CMGL=4", b"\r\n+CMS ERROR: 500\r\n"),
        (b"AT+CMGL=4", listing),
        (b"AT+CMGR=3", ("\r\n+CMGR: 1,,%d\r\n%s\r\n\r\nOK\r\n" % (n, pdu)).encode()),
        (b"AT+CMGL=4", listing),
    ])
    sms.modem.module_state["cmgf"] = "AT+CMGF=0"
    sms.modem.module_state["cnmi"] = 1
    with pytest.raises(ATError):
        sms.check()
    sms.check()
    assert sms.pending == [3]
    assert sms.receive(delete=False).text == "marked read"
    sms.check()  # returned with delete=False: kept in the store, not queued again
    assert sms.pending == []


def test_a_part_whose_delete_failed_is_deleted_later_not_read_again(device):
    sim, modem, uart = device("quectel")
    sms = SMS(modem)
    sms.listen()
    first = sim.deliver_sms("+4930777", "one ", part=(5, 2, 1))
    sim.deliver_sms("+4930777", "two", part=(5, 2, 2))
    wait_until(modem, lambda: len(sms.pending) == 2)
    real = sms.delete
    sms.delete = lambda i: (_ for _ in ()).throw(ATError(None, "ERROR", "AT+CMGD")) \
        if i == first else real(i)
    assert sms.receive().text == "one two"
    assert list(sim.sms_store) == [first]  # the failed delete left it
    sms.delete = real
    sms.check()
    assert sim.sms_store == {} and sms.pending == [] and sms.partial == {}


def test_a_delete_that_worked_unanswered_does_not_cost_the_next_message(device):
    # the module deleted it but the OK was lost: a new message takes the index, and
    # the next check() must neither delete it nor miss it
    import errno
    sim, modem, uart = device("quectel")
    sms = SMS(modem)
    sms.listen()
    i = sim.deliver_sms("+4930111", "first")
    wait_until(modem, lambda: sms.pending)
    real = sms.delete

    def lossy(j):
        real(j)
        raise OSError(errno.ETIMEDOUT, "AT+CMGD: the OK was lost")
    sms.delete = lossy
    assert sms.receive().text == "first"
    sms.delete = real
    sim.cnmi_mt = 0  # its +CMTI is lost as well
    assert sim.deliver_sms("+4930111", "second") == i  # the same index
    sms.check()
    assert sms.receive().text == "second" and sim.sms_store == {}


def test_a_restart_while_the_parts_are_deleted_does_not_lose_the_message(device):
    # the parts are read and joined; the module restarts during their deletes: the
    # message is returned all the same, and its parts left are deleted by check()
    from cellmodem.errors import ModemError
    sim, modem, uart = device("sim7080")
    sms = SMS(modem)
    sms.listen()
    for k in (1, 2, 3):
        sim.deliver_sms("+4930777", "part %d; " % k, part=(128, 3, k))
    wait_until(modem, lambda: len(sms.pending) == 3)
    real = sms.delete
    calls = []

    def restarting(j):
        calls.append(j)
        if len(calls) == 2:
            raise ModemError("the modem restarted (RDY)")
        real(j)
    sms.delete = restarting
    assert sms.receive().text == "part 1; part 2; part 3; "
    sms.delete = real
    # the second delete never went out; the third did
    assert [m[4] for m in sim.sms_store.values()] == [(128, 3, 2)]
    sms.check()
    assert sim.sms_store == {} and sms.pending == [] and sms.partial == {}


def test_read_shows_one_part_and_list_every_stored_part(device):
    sim, modem, uart = device("sim7080")
    sms = SMS(modem)
    i = sim.deliver_sms("Vodafone", "Ihr Guthaben: 5,00 €", part=(1, 2, 1))  # an alphanumeric sender
    m = sms.read(i)
    assert (m.sender, m.text, m.part, m.status) == ("Vodafone", "Ihr Guthaben: 5,00 €", (1, 2, 1),
                                                    "REC UNREAD")
    assert [(x.index, x.part, x.status) for x in sms.list()] == [(i, (1, 2, 1), "REC READ")]


def test_the_simulator_refuses_a_pdu_whose_length_is_not_the_tpdu_s(modem_factory):
    from tools.modemsim.sms import decode_submit
    from cellmodem.smspdu import gsm_codes, submit
    sim, uart, at = modem_factory("quectel")
    at.ok("AT+CMEE=1")
    at.ok("AT+CMGF=0")
    pdu, n = submit(NUMBER, gsm_codes("hi"), 0)
    at.cmd("AT+CMGS=%d" % (n + 1), until=b">")
    at.write(bytes(pdu) + b"\x1a")
    assert at.wait_line("+CMS ERROR:", timeout=3) == "+CMS ERROR: 304" and sim.sms_sent == []
    at.cmd("AT+CMGS=%d" % n, until=b">")
    at.write(bytes(pdu) + b"\x1a")
    assert at.wait_line("+CMGS:", timeout=3) == "+CMGS: 1" and sim.sms_sent == [(NUMBER, "hi", 0)]
    assert decode_submit(bytes.fromhex(pdu.decode()))[:2] == (NUMBER, "hi")


def test_a_cmti_inside_another_command_s_reply_is_not_lost():
    at, sms = scripted([(b"AT+CSQ", b'\r\n+CSQ: 20,99\r\n+CMTI: "SM",7\r\n\r\nOK\r\n')])
    assert at.command("AT+CSQ", resp=b"+CSQ:") == [b"+CSQ: 20,99"]
    assert sms.pending == [7]


def test_a_new_message_stored_where_a_deleted_one_was_is_not_lost():
    # the module deletes index 1 and a new message lands there at once: its +CMTI
    # comes right behind the OK, in the same read
    at, sms = scripted([(b"AT+CMGD=1", b'\r\nOK\r\n\r\n+CMTI: "SM",1\r\n')])
    sms.pending.append(1)
    sms.delete(1)
    at.poll(0)
    assert sms.pending == [1]


def test_a_read_that_fails_keeps_the_message_for_the_next_receive():
    pdu, n = encode_deliver("+4930", "26/12/06,21:00:00+00", "hello", 0)
    at, sms = scripted([
        (b"AT+CMGR=3", b"\r\n+CME ERROR: 3\r\n"),  # busy for a moment
        (b"AT+CMGR=3", ("\r\n+CMGR: 0,,%d\r\n%s\r\n\r\nOK\r\n" % (n, pdu)).encode()),
        (b"AT+CMGD=3", b"\r\n+CMS ERROR: 500\r\n"),  # the delete fails: still delivered
    ])
    sms.modem.module_state["cmgf"] = "AT+CMGF=0"
    sms.modem.module_state["cnmi"] = "AT+CNMI=2,1,0,0,0"
    sms.pending.append(3)
    with pytest.raises(ATError):
        sms.receive()
    assert sms.pending == [3]
    m = sms.receive()
    assert (m.sender, m.text, m.status) == ("+4930", "hello", "REC UNREAD")
    assert sms.pending == []


def test_an_index_the_module_has_no_message_at_is_dropped():
    at, sms = scripted([
        (b"AT+CMGR=4", b"\r\n+CMS ERROR: 321\r\n"),
    ])
    sms.modem.module_state["cmgf"] = "AT+CMGF=0"
    sms.modem.module_state["cnmi"] = "AT+CNMI=2,1,0,0,0"
    sms.pending.append(4)
    with pytest.raises(ATError) as e:
        sms.receive()
    assert e.value.code == 321 and sms.pending == []


def test_a_pdu_garbled_on_the_line_is_read_again():
    pdu, n = encode_deliver("+4930", "26/12/06,21:00:00+00", "hello", 0)
    bad = pdu[:20] + "ZZ" + pdu[22:]  # noise on the line: not hex any more
    at, sms = scripted([
        (b"AT+CMGR=2", ("\r\n+CMGR: 0,,%d\r\n%s\r\n\r\nOK\r\n" % (n, bad)).encode()),
        (b"AT+CMGR=2", ("\r\n+CMGR: 1,,%d\r\n%s\r\n\r\nOK\r\n" % (n, pdu)).encode()),
        (b"AT+CMGD=2", b"\r\nOK\r\n"),
    ])
    sms.modem.module_state["cmgf"] = "AT+CMGF=0"
    sms.modem.module_state["cnmi"] = 1
    sms.pending.append(2)
    with pytest.raises(ValueError):
        sms.receive()
    assert sms.pending == [2]
    assert sms.receive().text == "hello" and sms.pending == []


def test_a_pdu_that_never_decodes_is_left_in_the_store_after_three_reads():
    step = (b"AT+CMGR=2", b"\r\n+CMGR: 0,,5\r\n0001020304\r\n\r\nOK\r\n")  # an SMS-SUBMIT
    at, sms = scripted([step, step, step])
    sms.modem.module_state["cmgf"] = "AT+CMGF=0"
    sms.modem.module_state["cnmi"] = 1
    sms.pending.append(2)
    for left in ([2], [2], []):
        with pytest.raises(ValueError):
            sms.receive()
        assert sms.pending == left
    assert b"AT+CMGD" not in bytes(at.port.tx)


@pytest.mark.parametrize("to,text,err", [
    ("0171 234", "hi", ValueError),  # a space
    ('123";+CFUN=0;"', "hi", ValueError),  # an AT command smuggled in the number
    ("", "hi", ValueError),
    (491701234567, "hi", TypeError),
    (NUMBER, "end\x1a+CFUN=0", ValueError),  # Ctrl-Z would end the text early
    (NUMBER, "esc\x1b", ValueError),
    (NUMBER, b"bytes", TypeError),
    (NUMBER, "x" * (153 * 255 + 1), ValueError),  # 255 parts of 153 GSM characters
    (NUMBER, "中" * (67 * 255 + 1), ValueError),  # 255 parts of 67 UCS2 units
])
def test_bad_input_is_refused_before_the_uart(device, to, text, err):
    sim, modem, uart = device("sim7080")
    sms = SMS(modem)
    start = len(uart.tx)
    with pytest.raises(err):
        sms.send(to, text)
    assert len(uart.tx) == start and sim.sms_sent == []


def test_160_gsm_characters_and_70_ucs2_units_fit_one_message(device):
    sim, modem, uart = device("quectel")
    sms = SMS(modem)
    sms.send(NUMBER, "x" * 160)
    sms.send(NUMBER, "ü" * 70)
    assert [(len(t), dcs) for _, t, dcs in sim.sms_sent] == [(160, 0), (70, 8)]


def test_reading_an_empty_index_raises_the_module_s_cms_error(device, family):
    sim, modem, uart = device(family)
    with pytest.raises(ATError) as e:
        SMS(modem).read(5)
    assert e.value.code == 321


def test_ucs2_hex_round_trips_every_plane():
    text = "A\u00e9\u4e2d\U0001F600\n"
    assert ucs2_hex(text) == "004100E94E2DD83DDE00000A"
    assert from_ucs2_hex(ucs2_hex(text)) == text


def test_sms_out_and_back_while_a_tcp_echo_runs_in_micropython(tmp_path, tcp_echo, family):
    # five texts to the SIM's own number between echo rounds, two of them in 3 parts;
    # each comes back (+CMTI per part) and is read whole
    compile_tree(LIB, str(tmp_path))
    sim = get_personality(family)(seed=3, hosts={"echo.example": "127.0.0.1"})
    try:
        pty = sim.open_pty()
        p = run_micropython(["-m", "sms_echo", pty, "echo.example", str(tcp_echo[1]),
                             OWN_NUMBER], path=(str(tmp_path), SCENARIOS), heapsize=HEAP,
                            timeout=180)
    finally:
        sim.close()
    assert p.returncode == 0 and "SMS OK" in p.stdout, p.stdout + p.stderr
    assert [dcs for _, _, dcs in sim.sms_sent] == [0, 8, 0, 0, 0, 0, 8, 8, 8]
    assert [p and p[1:] for p in sim.sms_parts] == [None] * 3 + [(3, 1), (3, 2), (3, 3)] * 2
