"""cellmodem.psm: PSM and eDRX per 27.007 (timers per 24.008), on the families that
have them (SIM7080/SIM7000, Quectel), in CPython and in the real micropython binary.

The timer codes are checked against 24.008's tables; the simulator (tools/modemsim/
psm.py, written from the standard) grants what was asked or what its network knob
says, and the library reads back what was granted.
"""
import errno

import pytest

from cellmodem import psm
from mpy import LIB, SCENARIOS, compile_tree, run_micropython
from tools.modemsim import get_personality

PSM_FAMILIES = ["sim7080", "quectel"]


@pytest.mark.parametrize("seconds,units,bits", [
    (10, psm._T3324, "00000101"),  # 5 x 2 s
    (62, psm._T3324, "00011111"),  # 31 x 2 s
    (63, psm._T3324, "00100010"),  # rounded up: 2 x 1 min
    (3600, psm._T3324, "01001010"),  # 10 x 6 min (decihours)
    (0, psm._T3324, "00000000"),
    (3600, psm._T3412, "00000110"),  # 6 x 10 min
    (86400, psm._T3412, "00111000"),  # 24 x 1 h
    (40, psm._T3412, "01110100"),  # 20 x 2 s
    (31 * 1152000, psm._T3412, "11011111"),  # 31 x 320 h, the longest
])
def test_timers_take_the_finest_24_008_unit_that_holds_them(seconds, units, bits):
    assert psm.encode_timer(seconds, units) == bits
    assert psm.decode_timer(bits, units) >= seconds


def test_timers_longer_than_the_code_can_say_or_not_ints_are_refused():
    with pytest.raises(ValueError):
        psm.encode_timer(31 * 360 + 1, psm._T3324)
    with pytest.raises(ValueError):
        psm.encode_timer(31 * 1152000 + 1, psm._T3412)
    with pytest.raises(ValueError):
        psm.encode_timer(1.5, psm._T3412)
    assert psm.decode_timer("11100000", psm._T3324) is None  # deactivated
    with pytest.raises(ValueError):
        psm.decode_timer("0101", psm._T3412)


@pytest.mark.parametrize("family", PSM_FAMILIES)
def test_psm_requested_is_granted_and_read_back_in_seconds(device, family):
    sim, modem, uart = device(family)
    assert psm.granted(modem) is None  # nothing asked yet
    psm.request(modem, tau=86400, active=10)
    assert b'AT+CPSMS=1,,,"00111000","00000101"\r' in uart.tx
    assert psm.granted(modem) == (86400, 10)
    assert sim.reg_n["+CEREG"] == 0  # put back after the read
    psm.disable(modem)
    assert psm.granted(modem) is None


@pytest.mark.parametrize("family", PSM_FAMILIES)
def test_the_network_s_own_timers_are_what_granted_reports(device, family):
    sim, modem, uart = device(family)
    sim.psm_network = ("00000011", "00100001")  # 6 s active, 1 h TAU
    psm.request(modem, tau=86400, active=60)
    assert psm.granted(modem) == (3600, 6)


@pytest.mark.parametrize("family", PSM_FAMILIES)
def test_edrx_asks_for_the_next_cycle_24_008_has_and_reads_the_network_s(device, family):
    sim, modem, uart = device(family)
    assert psm.edrx_granted(modem) is None
    psm.edrx(modem, 80000)
    assert b'AT+CEDRXS=1,4,"0101"\r' in uart.tx  # 81.92 s
    assert psm.edrx_granted(modem) == (81920, 81920)
    sim.edrx_network = "1001"
    assert psm.edrx_granted(modem) == (81920, 163840)
    psm.edrx(modem, 0)
    assert psm.edrx_granted(modem) is None
    with pytest.raises(ValueError):
        psm.edrx(modem, 10485761)


@pytest.mark.parametrize("family", ["sim7600", "yuge", "sim800"])
def test_families_without_psm_say_eopnotsupp_before_the_uart(device, family):
    sim, modem, uart = device(family)
    start = len(uart.tx)
    for call in (lambda: psm.request(modem, 3600, 10), lambda: psm.granted(modem),
                 lambda: psm.edrx(modem, 81920)):
        with pytest.raises(OSError) as e:
            call()
        assert e.value.args[0] == errno.EOPNOTSUPP
    assert len(uart.tx) == start
    assert "psm" not in modem.power_features()


@pytest.mark.parametrize("family", PSM_FAMILIES)
def test_psm_and_edrx_in_micropython(tmp_path, family):
    compile_tree(LIB, str(tmp_path))
    sim = get_personality(family)(seed=3, hosts={})
    sim.psm_network = ("00000011", "00100001")
    try:
        pty = sim.open_pty()
        p = run_micropython(["-m", "psm_check", pty], path=(str(tmp_path), SCENARIOS),
                            heapsize="128k", timeout=120)
    finally:
        sim.close()
    assert p.returncode == 0 and "PSM OK (3600, 6) (81920, 81920)" in p.stdout, p.stdout + p.stderr
