"""The names MicroPython users know from network.WLAN, socket and requests, on a Modem
of every family: status(), ipconfig("addr4"), active(); getsockname(), makefile();
Response.ok. CPython against the in-process simulator, and the same calls in real
MicroPython (scenarios/conventions.py on a pty)."""
import errno
import os

import pytest

import cellmodem.socket as msocket
from cellmodem.httpbase import Response
from mpy import SCENARIOS, run_micropython
from simfixtures import LOOPBACK
from tools.modemsim import get_personality

HOSTS = {"echo.example": LOOPBACK}


def test_status_is_got_ip_with_the_data_link_and_rssi_the_signal(connected_modem, family):
    sim, m, log = connected_modem(family, HOSTS)
    assert m.status() == "got_ip"
    assert m.status("rssi") == m.signal()
    with pytest.raises(ValueError):
        m.status("ssid")


def test_status_without_the_data_link_comes_from_registration(connected_modem, family):
    sim, m, log = connected_modem(family, HOSTS)
    m.disconnect()
    assert m.status() == "registered"


def test_ipconfig_addr4_is_the_ip_and_a_point_to_point_netmask(connected_modem, family):
    sim, m, log = connected_modem(family, HOSTS)
    assert m.ipconfig("addr4") == (m.ip, "255.255.255.255")
    with pytest.raises(ValueError):
        m.ipconfig("addr6")


def test_active_false_is_flight_mode_and_fails_open_sockets(connected_modem, tcp_echo,
                                                            family):
    sim, m, log = connected_modem(family, HOSTS)
    assert m.active() is True
    s = msocket.socket(modem=m)
    s.settimeout(10)
    s.connect(("echo.example", tcp_echo[1]))
    m.active(False)
    assert m.active() is False and not m.isconnected()
    with pytest.raises(OSError) as e:
        s.send(b"x")
    assert e.value.args[0] == errno.ECONNABORTED
    m.active(True)
    assert m.active() is True


def test_getsockname_and_makefile(connected_modem, tcp_echo, family):
    sim, m, log = connected_modem(family, HOSTS)
    s = msocket.socket(modem=m)
    s.settimeout(10)
    s.connect(("echo.example", tcp_echo[1]))
    assert s.getsockname() == (m.ip, 0)
    f = s.makefile("rwb")
    assert f is s
    f.write(b"hello\n")
    assert f.readline() == b"hello\n"
    s.close()


def test_response_ok_is_a_status_below_400():
    assert Response(200, "OK", {}, None).ok and Response(302, "Found", {}, None).ok
    assert not Response(404, "Not Found", {}, None).ok
    assert not Response(500, "Server Error", {}, None).ok


def test_the_same_calls_in_micropython(tcp_echo):
    sim = get_personality("sim7080")(seed=3, hosts=HOSTS)
    try:
        p = run_micropython([os.path.join(SCENARIOS, "conventions.py"), sim.open_pty(),
                             "sim7080", "echo.example", str(tcp_echo[1])], timeout=120)
    finally:
        sim.close()
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "CONVENTIONS OK" in p.stdout, out
    lines = p.stdout.splitlines()
    assert lines[1] == "STATUS got_ip" and "RSSI int" in lines
    for want in ("IPCONFIG True", "ACTIVE True", "SOCKNAME True", "READLINE b'one line\\n'",
                 "ACTIVE False False"):
        assert want in lines, out
