"""cellmodem.resume: an MQTT sensor that deep-sleeps between reports comes back
without a full bring-up while the module kept its context, and takes up its broker
session; after the module itself restarted, it is brought up in full and the session
still comes back.

Real parts: the real micropython binary (one process per wake, as a board's deep
sleep ends the program), the simulator on a pty (the module, powered through all the
wakes), Debian's mosquitto and a paho-mqtt peer that sends commands while the
sensor sleeps.
"""
import io
import os

import pytest

from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from cellmodem import resume
from mpy import SCENARIOS, run_micropython
from simfixtures import LOOPBACK, sim_commands
from tools.modemsim import get_personality

BRING_UP = ("AT+CPIN?", "AT+CREG?", "AT+CGREG?", "AT+CEREG?")


def wake(family, tty, broker, n, state):
    p = run_micropython([os.path.join(SCENARIOS, "sleepy_sensor.py"), family, tty,
                         "broker", str(broker[1]), str(n), str(state)], timeout=120)
    out = "exit %d\n--- stdout\n%s--- stderr\n%s" % (p.returncode, p.stdout, p.stderr)
    assert p.returncode == 0, out
    return [l for l in p.stdout.splitlines() if l.startswith("WAKE ")][-1].split(" ", 4)


def test_a_sleepy_mqtt_sensor_resumes_its_session_without_a_bring_up(family, mosquitto,
                                                                    peers, tmp_path):
    log = io.StringIO()
    sim = get_personality(family)(seed=4, hosts={"broker": LOOPBACK}, verbose=True, log=log)
    try:
        tty = sim.open_pty()
        peer = peers(mosquitto, subscribe=[("sleepy/up", 1)])
        state = tmp_path / "cm.state"
        seen = []
        for n in range(1, 5):
            if n == 4:
                sim.reboot()  # the module lost power while the board slept
            since = len(log.getvalue())
            w = wake(family, tty, mosquitto, n, state)
            cmds = sim_commands(log, since)
            seen.append((w, cmds))
            peer.publish("sleepy/cmd", b"cmd %d" % n, qos=1)  # while it sleeps
        (w1, c1), (w2, c2), (w3, c3), (w4, c4) = seen
        assert w1[2:4] == ["full", "new"] and "AT+CPIN?" in c1
        for w, c, k in ((w2, c2, 1), (w3, c3, 2)):
            assert w[2:5] == ["resumed", "session", "cmd %d" % k]
            assert not [x for x in c if x in BRING_UP]  # no SIM or registration checks
        # the module restarted: a full bring-up, and the broker's session is still there
        assert w4[2:5] == ["full", "session", "cmd 3"] and "AT+CPIN?" in c4
        assert sorted(peer.get().payload for _ in range(4)) == [b"reading %d" % i
                                                                for i in range(1, 5)]
        print("%s: AT commands per wake, full / resumed: %d / %d" % (family, len(c1), len(c2)))
    finally:
        sim.close()


def test_state_is_small_and_anything_unusable_means_a_full_bring_up(tmp_path):
    uart = FakeUART()
    sim = get_personality("quectel")(seed=1)
    try:
        sim.attach(uart)
        m = Modem(uart, dialect="quectel")
        assert m.fresh  # the simulator starts with echo on
        m.connect(apn="internet")
        b = resume.state(m)
        assert b == b"cm1|quectel|buffered|%s|" % m.ip.encode() and len(b) < 100
        for bad in (None, b"", b"garbage", b"cm1|sim7080|buffered|1.2.3.4|",
                    str(tmp_path / "missing")):
            m2 = Modem(uart, dialect="quectel")
            assert not m2.fresh  # ATE0 was set before: no echo
            start = len(uart.tx)
            assert resume.resume(m2, bad, apn="internet") is False
            assert b"AT+CPIN?" in bytes(uart.tx[start:])  # the whole bring-up
        path = str(tmp_path / "state")
        resume.save(m2, path)
        m3 = Modem(uart, dialect="quectel")
        start = len(uart.tx)
        assert resume.resume(m3, path, apn="internet") is True
        assert b"AT+CPIN?" not in bytes(uart.tx[start:])
    finally:
        sim.close()


def test_connections_left_open_are_closed_on_resume():
    uart = FakeUART()
    sim = get_personality("sim7080")(seed=1, hosts={"echo": LOOPBACK})
    import socket as pysocket
    srv = pysocket.socket()
    srv.bind((LOOPBACK, 0))
    srv.listen(2)
    try:
        sim.attach(uart)
        m = Modem(uart, dialect="sim7080")
        m.connect(apn="internet")
        import cellmodem.socket as msocket
        s = msocket.socket(modem=m)
        s.settimeout(10)
        s.connect((LOOPBACK, srv.getsockname()[1]))
        saved = resume.state(m)
        assert saved.endswith(b"|0")  # link 0 open when the board went to sleep
        m2 = Modem(uart, dialect="sim7080")  # the board woke: it knows no links
        start = len(uart.tx)
        assert resume.resume(m2, saved, apn="internet") is True
        assert b"AT+CACLOSE=0" in bytes(uart.tx[start:]) and 0 not in sim.links
        assert m2.links == {}
    finally:
        srv.close()
        sim.close()


def test_the_sensor_cycle_benchmark_counts_a_first_and_later_wakes(capsys):
    # tools.sensorcycle (BENCHMARKS.md section 7) on one family, two later wakes:
    # deterministic counts, not times
    from tools import sensorcycle
    sensorcycle.main(["--family", "quectel", "--wakes", "2"])
    out = capsys.readouterr().out
    assert out.startswith("quectel  first wake") and "TAU 3600 s, active 60 s" in out, out
    first, later = [int(x) for x in out.split() if x.isdigit()][:3:2]
    assert later < first, out  # a resumed wake sends fewer commands than a bring-up
