"""An open's failure that comes later than the manual's maximum (issue 19 item 5: a
CONNECT FAIL 75.5 s after AT+CIPSTART against a 75 s limit) is the module's failure
with its code, not ETIMEDOUT: every limit has a margin over the manual's figure
(cellmodem.timeouts.late). Yuge's CONNECT FAIL is in test_dialect_yuge.py; these are
the other families, scaled down: a manual limit of 6 s (7.5 s with the margin), the
simulator's failure (fail= fault, fail_late_ms) at 6.2 s.

  sim7080  AT+CAOPEN=0,1,"TCP","127.0.0.1",7 ... 6.2 s ... +CAOPEN: 0,23 / OK
  sim7600  AT+CIPOPEN=0,"TCP","127.0.0.1",7 / OK ... 6.2 s ... +CIPOPEN: 0,1
  quectel  AT+QIOPEN=1,0,"TCP","127.0.0.1",7,0,0 / OK ... 6.2 s ... +QIOPEN: 0,566
"""
import errno

import pytest

import cellmodem.socket as msocket
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from cellmodem.timeouts import late
from simfixtures import LOOPBACK
from tools.modemsim import get_personality


@pytest.mark.slow
@pytest.mark.parametrize("dialect,name,said,num", [
    ("sim7080", "+CAOPEN", "+CAOPEN: 0,23", errno.ECONNREFUSED),
    ("sim7600", "+CIPOPEN", "+CIPOPEN: 0,1", errno.ECONNREFUSED),
    ("quectel", "+QIOPEN", "+QIOPEN: 0,566", errno.ECONNREFUSED),
])
def test_open_failure_later_than_the_manuals_limit_is_the_modules_failure(dialect, name, said,
                                                                         num):
    uart = FakeUART()
    sim = get_personality(dialect)(seed=2, opts={"fail_late_ms": 6200},
                                   faults=["fail=%s:%s:1" % (name, said.split(",")[1])])
    sim.attach(uart)
    try:
        modem = Modem(uart, dialect=dialect)
        modem.connect(apn="internet")
        modem.at.timeouts[name] = late(6000)
        with pytest.raises(OSError) as e:
            msocket.socket().connect((LOOPBACK, 7))
        assert e.value.args[0] == num and said in str(e.value), e.value
    finally:
        msocket.use(None)
        sim.close()
