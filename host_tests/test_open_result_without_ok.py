"""An open's failure line that ends the command without OK or ERROR (issue 19 item 4),
on the families other than the CA one (test_dialect_sim7080.py covers +CAOPEN).

A result line that is final in meaning ends the wait at once and its code reaches
the exception; the library never waits for the command's limit (each test sets
that limit to 20 s: a library that waited would fail with ETIMEDOUT instead of the
module's code). Transcripts (the simulator's, with the option on):

  sim7600 (open_fail_alone, a test aid)
    AT+CIPOPEN=0,"TCP","127.0.0.1",<port>
    +CIPOPEN: 0,1                         <- no ERROR after it (L1103 puts one)
  quectel (open_fail_alone, a test aid)
    AT+QIOPEN=1,0,"TCP","127.0.0.1",<port>,0,0
    +QIOPEN: 0,565                        <- no OK before or after it
  yuge (already_connect_alone: SIM800-family firmware, public knowledge)
    AT+CIPSTART=0,"TCP","127.0.0.1",<port>
    0, ALREADY CONNECT                    <- no +CME ERROR: 912 before it
    AT+CIPCLOSE=0 / 0, CLOSE OK / AT+CIPSTART=0,... / OK / 0, CONNECT OK
"""
import errno

import pytest

import cellmodem.socket as msocket
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from cellmodem.timeouts import late
from simfixtures import LOOPBACK, split_line_end
from tools.modemsim import get_personality

LIMIT = 20000  # the open command's limit in these tests (the manuals' are 75-150 s)


@pytest.fixture
def make():
    made = []

    def make(dialect, **kw):
        uart = FakeUART()
        sim = get_personality(dialect)(seed=4, hosts={"echo.example": LOOPBACK}, **kw)
        made.append(sim)
        sim.attach(uart)
        modem = Modem(uart, dialect=dialect)
        writes = []
        modem.at.trace = lambda d, data, t: writes.extend(
            x for x in split_line_end(data) if x.startswith(b"AT")) if d == b">" else None
        modem.connect(apn="internet")
        del writes[:]
        return sim, modem, writes

    yield make
    msocket.use(None)
    for sim in made:
        sim.close()


@pytest.mark.parametrize("dialect,name,code,said", [
    ("sim7600", "+CIPOPEN", 1, "+CIPOPEN: 0,1 (Network failure)"),
    ("quectel", "+QIOPEN", 565, "+QIOPEN: 0,565"),
])
def test_open_failure_line_without_final_result_ends_the_open_with_its_code(
        make, tcp_echo, dialect, name, code, said):
    sim, modem, writes = make(dialect, opts={"open_fail_alone": True},
                              faults=["fail=%s:%d:1" % (name, code)])
    modem.at.timeouts[name] = LIMIT
    with pytest.raises(OSError) as e:
        msocket.socket().connect((LOOPBACK, tcp_echo[1]))
    assert e.value.args[0] != errno.ETIMEDOUT and said in str(e.value), e.value
    assert len(writes) == 1 and writes[0].startswith(b"AT%s=" % name.encode())  # no close
    # the next open works: nothing of the failed one is left in the parser
    s = msocket.socket()
    s.settimeout(10)
    s.connect((LOOPBACK, tcp_echo[1]))
    s.write(b"after")
    assert s.read(5) == b"after"
    s.close()


def test_sim7600_manual_form_failure_then_error_is_the_same_failure(make, tcp_echo):
    # L1103: "+CIPOPEN: <link_num>,<err>" then ERROR: ended at the line, ERROR dropped
    sim, modem, writes = make("sim7600", opts={"open_fail_alone": False})
    modem.at.timeouts["+CIPOPEN"] = LIMIT
    modem.at.command('AT+CIPOPEN=0,"TCP","127.0.0.1",%d' % tcp_echo[1])  # behind our back
    modem.at.poll(200)
    modem.dialect._orphans.remove(0)  # keep it: the library would close it before opening
    with pytest.raises(OSError) as e:
        msocket.socket().connect((LOOPBACK, tcp_echo[1]))
    assert e.value.args[0] != errno.ETIMEDOUT and "+CIPOPEN: 0,4" in str(e.value), e.value
    assert modem.at.command("AT") == []  # the ERROR after the line was not kept for it


def test_yuge_already_connect_alone_closes_the_held_link_and_opens_again(make, tcp_echo):
    sim, modem, writes = make("yuge", opts={"already_connect_alone": True})
    modem.at.timeouts["+CIPSTART"] = late(LIMIT)
    modem.at.command('AT+CIPSTART=0,"TCP","127.0.0.1",%d' % tcp_echo[1])  # behind our back
    modem.at.poll(200)
    del writes[:]
    s = msocket.socket()
    s.settimeout(10)
    s.connect((LOOPBACK, tcp_echo[1]))
    start = b'AT+CIPSTART=0,"TCP","127.0.0.1",%d' % tcp_echo[1]
    assert writes == [start, b"AT+CIPCLOSE=0", start]  # no AT+CIPSTATUS probe: no wait
    s.write(b"mine")
    assert s.read(4) == b"mine"
    s.close()
