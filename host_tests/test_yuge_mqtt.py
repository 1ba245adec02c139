"""cellmodem.native.yuge_mqtt: the Yuge EC716S module's own MQTT client (manual ch.13).

A Modem with the yuge dialect drives the simulator (tools/modemsim/yuge_mqtt.py), which
speaks real MQTT 3.1.1 to Debian's mosquitto; a paho-mqtt peer is the other side.
Each test is one behaviour. Receiving tests run in both print modes of AT+MQTTMSGSET
(13.9: 0 pushed, 1 stored and fetched with AT+MQTTMSGGET), and the parsing ones also
on a line where the simulator splits its output into 1-64 byte chunks and puts URCs
between lines.
"""
import errno
import queue
import time

import pytest

from cellmodem import modem as modem_mod
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from cellmodem.mqttbase import CONNECTED, DISCONNECTED, MQTTException
from cellmodem.native.yuge_mqtt import MAX_PAYLOAD, MQTTClient
from simfixtures import LOOPBACK, free_port, split_line_end
from tools.modemsim import get_personality

LINES = {"clean": [], "chunked": ["chunk=1-64", "urc=0.3"]}
NASTY = b"\r\nOK\r\n\x1a\x1b\x03\r\nERROR\r\n+MSUB: 0\r\nCLOSED\r\n\"\\,9 byte,\x00\xff"


@pytest.fixture
def yuge():
    """make(line="clean", **sim_opts) -> (sim, modem): yuge personality, data link up."""
    made = []

    def make(line="clean", **opts):
        uart = FakeUART()
        sim = get_personality("yuge")(seed=7, faults=list(LINES[line]),
                                      hosts={"broker.example": LOOPBACK}, opts=opts)
        made.append(sim)
        sim.attach(uart)
        m = Modem(uart, dialect="yuge")
        m.connect(apn="internet")
        return sim, m

    yield make
    for sim in made:
        sim.close()


class Device:
    """An MQTTClient on the modem, recording messages and status reports."""

    def __init__(self, modem, broker, client_id="dev1", **kw):
        self.c = MQTTClient(client_id, "broker.example", broker[1], modem=modem, **kw)
        self.msgs = []
        self.status = []
        self.c.set_callback(lambda t, m: self.msgs.append((t, m)))
        self.c.set_status_callback(lambda s, d: self.status.append((s, d)))

    def take(self, n, timeout=5.0):
        """Wait (wait_msg) until n messages have been delivered; return them."""
        deadline = time.monotonic() + timeout
        while len(self.msgs) < n:
            assert time.monotonic() < deadline, "got only %r" % (self.msgs,)
            self.c.wait_msg()
        return self.msgs[:n]


def written_by(modem):
    """A list that fills with every byte string written to the UART."""
    out = []
    modem.at.trace = lambda d, data, t: out.extend(split_line_end(data)) if d == b">" \
        else None
    return out


def settle(c, seconds=0.3):
    """Give the broker and the simulator time, reading the UART meanwhile."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        c.check_msg()
        time.sleep(0.02)


# ---------------------------------------------------------------- connect
def test_connect_and_disconnect_report_status(yuge, mosquitto):
    sim, modem = yuge()
    d = Device(modem, mosquitto)
    assert d.c.connect() is False  # the module does not report session present
    assert d.c.isconnected()
    assert modem.at.command("AT+MQTTSTATU", resp=b"+MQTTSTATU") == [b"+MQTTSTATU :1"]
    d.c.disconnect()
    assert not d.c.isconnected()
    assert modem.at.command("AT+MQTTSTATU", resp=b"+MQTTSTATU") == [b"+MQTTSTATU :0"]
    assert d.status == [(CONNECTED, False), (DISCONNECTED, "disconnect()")]


def test_connect_writes_the_13_14_command_sequence(yuge, mosquitto):
    sim, modem = yuge()
    d = Device(modem, mosquitto, user="u1", password="p1", keepalive=300)
    d.c.set_last_will("wills/dev1", "gone", retain=True, qos=1)
    out = written_by(modem)
    d.c.connect(clean_session=False)
    cmds = [b.decode() for b in out if b not in (b"\r", b"\r\n")]
    assert cmds == ["AT+MQTTMSGSET=0", "AT+MQTTMODE=0",
                    'AT+MCONFIG="dev1","u1","p1",1,1,"wills/dev1","gone"',
                    'AT+MIPSTART="broker.example",%d' % mosquitto[1],
                    "AT+MCONNECT=0,300"]


def test_keepalive_zero_is_sent_as_the_longest_the_module_takes(yuge, mosquitto):
    sim, modem = yuge()
    d = Device(modem, mosquitto)
    out = written_by(modem)
    d.c.connect()
    assert b"AT+MCONNECT=1,65535" in out  # 13.3: <keepalive> 1-65535, no "none"


def test_connect_result_held_until_the_next_reply_is_found_by_a_probe(yuge, mosquitto):
    """The MIPSTART result URC comes out only inside the next command's reply: the
    client asks AT+MQTTSTATU after 1 s and finds it there."""
    sim, modem = yuge(connect_result_in_reply=True, mqtt_connect_ms=50)
    d = Device(modem, mosquitto)
    out = written_by(modem)
    d.c.connect()
    assert d.c.isconnected()
    assert b"AT+MQTTSTATU" in out


def test_dead_port_raises_econnrefused_with_the_modules_words(yuge, mosquitto):
    sim, modem = yuge()
    d = Device(modem, (LOOPBACK, free_port()))
    with pytest.raises(OSError) as e:
        d.c.connect()
    assert e.value.args[0] == errno.ECONNREFUSED
    assert "CONNECT FAIL" in str(e.value)
    assert not d.c.isconnected()


def test_broker_refusal_is_an_mqttexception_and_leaves_no_link(yuge, mosquitto):
    """An empty client id without a clean session: mosquitto answers CONNACK 2; the
    module says only ERROR after the OK of AT+MCONNECT (13.3)."""
    sim, modem = yuge()
    d = Device(modem, mosquitto, client_id="")
    with pytest.raises(MQTTException) as e:
        d.c.connect(clean_session=False)
    assert e.value.code == -1 and "ERROR" in str(e.value)
    assert not d.c.isconnected()
    assert modem.at.command("AT+MQTTSTATU", resp=b"+MQTTSTATU") == [b"+MQTTSTATU :0"]
    d.c.connect(clean_session=True)  # the broker assigns an id: accepted
    assert d.c.isconnected()


def test_a_modem_of_another_dialect_is_refused(modem_factory):
    uart = FakeUART()
    sim = get_personality("sim7080")()
    sim.attach(uart)
    try:
        m = Modem(uart, dialect="sim7080")
        with pytest.raises(ValueError, match="yuge"):
            MQTTClient("x", "broker.example", modem=m)
    finally:
        sim.close()


def test_no_modem_at_all_is_an_oserror(monkeypatch):
    monkeypatch.setattr(modem_mod, "current", lambda: None)
    with pytest.raises(OSError) as e:
        MQTTClient("x", "broker.example")
    assert e.value.args[0] == errno.ENOTCONN


def test_connect_without_a_data_link_is_enotconn(yuge, mosquitto):
    sim, modem = yuge()
    d = Device(modem, mosquitto)
    modem.disconnect()
    out = written_by(modem)
    with pytest.raises(OSError) as e:
        d.c.connect()
    assert e.value.args[0] == errno.ENOTCONN
    assert out == []


def test_tls_uses_sslmipstart(yuge, mosquitto_tls, peers):
    sim, modem = yuge()
    peer = peers(mosquitto_tls, subscribe=[("tls/t", 1)], tls=True)
    d = Device(modem, mosquitto_tls, ssl=True)
    out = written_by(modem)
    d.c.connect()
    assert b'AT+SSLMIPSTART="broker.example",%d' % mosquitto_tls[1] in out
    d.c.publish("tls/t", b"secret\r\n", qos=1)
    assert peer.get().payload == b"secret\r\n"


def test_ssl_options_the_module_lacks_are_refused():
    with pytest.raises(ValueError, match="SSLMIPSTART"):
        MQTTClient("x", "broker.example", ssl={"cert_reqs": 2}, modem=object())


# ---------------------------------------------------------------- publish
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_publish_reaches_paho_with_its_qos(yuge, mosquitto, peers, qos):
    sim, modem = yuge()
    peer = peers(mosquitto, subscribe=[("dev/#", 2)])
    d = Device(modem, mosquitto)
    d.c.connect()
    d.c.publish("dev/state", "on", qos=qos)
    m = peer.get()
    assert (m.topic, m.payload, m.qos) == ("dev/state", b"on", qos)


@pytest.mark.parametrize("qos,acks", [(1, [b"PUBACK"]), (2, [b"PUBREC", b"PUBCOMP"])])
def test_publish_returns_after_the_qos_handshake(yuge, mosquitto, qos, acks):
    sim, modem = yuge()
    d = Device(modem, mosquitto)
    d.c.connect()
    read = []
    modem.at.trace = lambda dr, data, t: read.append(data) if dr == b"<" else None
    d.c.publish("dev/x", b"1", qos=qos)
    got = b"".join(read)
    assert [a for a in (b"PUBACK", b"PUBREC", b"PUBCOMP") if a in got] == acks


@pytest.mark.parametrize("line", list(LINES))
def test_binary_payload_of_every_byte_value_reaches_paho_exactly(yuge, mosquitto, peers,
                                                                   line):
    sim, modem = yuge(line)
    peer = peers(mosquitto, subscribe=[("bin", 1)])
    d = Device(modem, mosquitto)
    d.c.connect()
    data = b"\n" + NASTY + bytes(range(256)) + b"\r\n"  # a leading LF survives too
    d.c.publish("bin", data, qos=1)
    assert peer.get().payload == data


def test_payload_of_the_module_limit_is_sent(yuge, mosquitto, peers):
    sim, modem = yuge()
    peer = peers(mosquitto, subscribe=[("big", 1)])
    d = Device(modem, mosquitto)
    d.c.connect()
    data = bytes(i % 256 for i in range(MAX_PAYLOAD))
    d.c.publish("big", data, qos=1)
    assert peer.get().payload == data


def test_empty_payload_goes_as_mpub(yuge, mosquitto, peers):
    sim, modem = yuge()
    peer = peers(mosquitto, subscribe=[("empty", 1)])
    d = Device(modem, mosquitto)
    d.c.connect()
    out = written_by(modem)
    d.c.publish("empty", b"", qos=1)
    assert peer.get().payload == b""
    assert b'AT+MPUB="empty",1,0,""' in out


def test_retained_publish_is_kept_by_the_broker(yuge, mosquitto, peers):
    sim, modem = yuge()
    d = Device(modem, mosquitto)
    d.c.connect()
    d.c.publish("keep/me", b"kept", retain=True, qos=1)
    peer = peers(mosquitto, client_id="late", subscribe=[("keep/#", 1)])
    m = peer.get()
    assert (m.payload, m.retain) == (b"kept", True)


def test_publish_before_connect_is_enotconn_and_writes_nothing(yuge, mosquitto):
    sim, modem = yuge()
    d = Device(modem, mosquitto)
    out = written_by(modem)
    with pytest.raises(OSError) as e:
        d.c.publish("t", b"x")
    assert e.value.args[0] == errno.ENOTCONN
    assert out == []


# ---------------------------------------------------------------- receive
@pytest.mark.parametrize("msgset", [0, 1])
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_subscribe_receives_paho_messages(yuge, mosquitto, peers, qos, msgset):
    sim, modem = yuge()
    peer = peers(mosquitto)
    d = Device(modem, mosquitto, msgset=msgset)
    d.c.connect()
    assert d.c.subscribe("cmd/#", qos) == qos
    for i in range(3):
        peer.publish("cmd/%d" % i, b"go %d" % i, qos=qos)
    assert d.take(3) == [(b"cmd/%d" % i, b"go %d" % i) for i in range(3)]


@pytest.mark.parametrize("line", list(LINES))
@pytest.mark.parametrize("msgset", [0, 1])
def test_binary_payload_of_every_byte_value_is_received_exactly(yuge, mosquitto, peers,
                                                                 msgset, line):
    sim, modem = yuge(line)
    peer = peers(mosquitto)
    d = Device(modem, mosquitto, msgset=msgset)
    d.c.connect()
    d.c.subscribe("bin/in", 1)
    data = NASTY + bytes(range(256)) + b"\r\n"
    peer.publish("bin/in", data, qos=1)
    peer.publish("bin/in", b"\n", qos=1)
    assert d.take(2) == [(b"bin/in", data), (b"bin/in", b"\n")]


@pytest.mark.parametrize("msgset", [0, 1])
def test_topic_holding_commas_is_read_whole(yuge, mosquitto, peers, msgset):
    """13.14: the pushed +MSUB quotes the topic, AT+MQTTMSGGET prints it bare."""
    sim, modem = yuge()
    peer = peers(mosquitto)
    d = Device(modem, mosquitto, msgset=msgset)
    d.c.connect()
    d.c.subscribe("a/#", 1)
    peer.publish("a/x,y,z", b"1,2", qos=1)
    assert d.take(1) == [(b"a/x,y,z", b"1,2")]


def test_empty_message_is_received(yuge, mosquitto, peers):
    sim, modem = yuge()
    peer = peers(mosquitto)
    d = Device(modem, mosquitto)
    d.c.connect()
    d.c.subscribe("e", 1)
    peer.publish("e", b"", qos=1)
    peer.publish("e", b"after", qos=1)
    assert d.take(2) == [(b"e", b""), (b"e", b"after")]


def test_check_msg_delivers_what_arrived_without_waiting(yuge, mosquitto, peers):
    sim, modem = yuge()
    peer = peers(mosquitto)
    d = Device(modem, mosquitto)
    d.c.connect()
    d.c.subscribe("c", 0)
    t0 = time.monotonic()
    d.c.check_msg()
    assert d.msgs == [] and time.monotonic() - t0 < 0.5
    peer.publish("c", b"one", qos=1)
    peer.publish("c", b"two", qos=1)
    deadline = time.monotonic() + 5
    while len(d.msgs) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        d.c.check_msg()
    assert d.msgs == [(b"c", b"one"), (b"c", b"two")]


def test_subscribe_callback_takes_the_messages_of_its_filter(yuge, mosquitto, peers):
    sim, modem = yuge()
    peer = peers(mosquitto)
    d = Device(modem, mosquitto)
    d.c.connect()
    alarms = []
    d.c.subscribe("alarm/+", 1, callback=lambda t, m: alarms.append((t, m)))
    d.c.subscribe("other", 1)
    peer.publish("alarm/fire", b"!", qos=1)
    peer.publish("other", b"o", qos=1)
    d.take(1)
    assert alarms == [(b"alarm/fire", b"!")]
    assert d.msgs == [(b"other", b"o")]


def test_callback_may_publish_while_a_message_is_delivered(yuge, mosquitto, peers):
    """Messages are delivered from check_msg/wait_msg, never from inside the URC
    parser, so a callback can use the client."""
    sim, modem = yuge()
    peer = peers(mosquitto, subscribe=[("pong", 1)])
    d = Device(modem, mosquitto)
    d.c.connect()
    d.c.set_callback(lambda t, m: d.c.publish("pong", m, qos=1))
    d.c.subscribe("ping", 1)
    peer.publish("ping", b"p1", qos=1)
    d.c.wait_msg()
    assert peer.get().payload == b"p1"


def test_retained_message_is_delivered_on_subscribe(yuge, mosquitto, peers):
    sim, modem = yuge()
    peer = peers(mosquitto)
    peer.publish("cfg/rate", b"10", qos=1, retain=True)
    d = Device(modem, mosquitto)
    d.c.connect()
    d.c.subscribe("cfg/#", 1)
    assert d.take(1) == [(b"cfg/rate", b"10")]


def test_unsubscribe_stops_delivery(yuge, mosquitto, peers):
    sim, modem = yuge()
    peer = peers(mosquitto)
    d = Device(modem, mosquitto)
    d.c.connect()
    d.c.subscribe("gone", 1)
    d.c.subscribe("stay", 1)
    d.c.unsubscribe("gone")
    peer.publish("gone", b"lost", qos=1)
    peer.publish("stay", b"marker", qos=1)  # arrives after "gone" would have
    assert d.take(1) == [(b"stay", b"marker")]
    settle(d.c)
    assert d.msgs == [(b"stay", b"marker")]


def test_persistent_session_gets_messages_sent_while_offline(yuge, mosquitto, peers):
    sim, modem = yuge()
    peer = peers(mosquitto)
    d = Device(modem, mosquitto, client_id="persist1")
    d.c.connect(clean_session=False)
    d.c.subscribe("queue", 1)
    d.c.disconnect()
    for i in range(3):
        peer.publish("queue", b"q%d" % i, qos=1)
    d.c.connect(clean_session=False)
    assert d.take(3) == [(b"queue", b"q%d" % i) for i in range(3)]


def test_clean_session_forgets_messages_sent_while_offline(yuge, mosquitto, peers):
    sim, modem = yuge()
    peer = peers(mosquitto)
    d = Device(modem, mosquitto, client_id="persist2")
    d.c.connect(clean_session=False)
    d.c.subscribe("queue", 1)
    d.c.disconnect()
    peer.publish("queue", b"old", qos=1)
    d.c.connect(clean_session=True)
    d.c.subscribe("queue", 1)
    peer.publish("queue", b"new", qos=1)
    assert d.take(1) == [(b"queue", b"new")]


# ---------------------------------------------------------------- loss
def test_will_is_published_when_the_network_drops(yuge, mosquitto, peers):
    sim, modem = yuge()
    peer = peers(mosquitto, subscribe=[("wills/#", 1)])
    d = Device(modem, mosquitto)
    d.c.set_last_will("wills/dev1", "offline", qos=1)
    d.c.connect()
    sim.network_drop()
    m = peer.get()
    assert (m.topic, m.payload) == ("wills/dev1", b"offline")


def test_will_is_published_when_the_module_reboots(yuge, mosquitto, peers):
    sim, modem = yuge()
    peer = peers(mosquitto, subscribe=[("wills/#", 1)])
    d = Device(modem, mosquitto)
    d.c.set_last_will("wills/dev1", "rebooted")
    d.c.connect()
    sim.reboot()
    assert peer.get().payload == b"rebooted"
    deadline = time.monotonic() + 5
    while d.c.isconnected():  # the banner comes after the boot time
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert d.status[-1][0] == DISCONNECTED


def test_no_will_after_a_clean_disconnect(yuge, mosquitto, peers):
    sim, modem = yuge()
    peer = peers(mosquitto, subscribe=[("wills/#", 1)])
    d = Device(modem, mosquitto)
    d.c.set_last_will("wills/dev1", "x")
    d.c.connect()
    d.c.disconnect()
    with pytest.raises(queue.Empty):
        peer.get(timeout=0.5)


def test_network_drop_reports_disconnected_and_connect_works_after_bring_up(
        yuge, mosquitto, peers):
    sim, modem = yuge()
    d = Device(modem, mosquitto)
    d.c.connect()
    sim.network_drop()
    with pytest.raises(OSError) as e:
        d.c.wait_msg()
    assert e.value.args[0] == errno.ENOTCONN
    assert d.status[-1][0] == DISCONNECTED
    with pytest.raises(OSError) as e:
        d.c.publish("t", b"x")
    assert e.value.args[0] == errno.ENOTCONN
    modem.connect(apn="internet")
    d.c.connect()
    peer = peers(mosquitto, subscribe=[("again", 0)])
    d.c.publish("again", b"back")
    assert peer.get().payload == b"back"


def test_broker_kick_reports_disconnected_and_connect_works_again(yuge, mosquitto, peers):
    """13.14 "TCP 断链": a second client with the same id makes the broker drop ours;
    CLOSED is reported once, publish is ENOTCONN, connect() starts afresh."""
    sim, modem = yuge()
    d = Device(modem, mosquitto, client_id="twin")
    d.c.connect()
    peers(mosquitto, client_id="twin")
    deadline = time.monotonic() + 5
    while d.c.isconnected():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert [s for s, _ in d.status] == [CONNECTED, DISCONNECTED]
    assert d.status[-1][1].args[0] == errno.ECONNABORTED
    with pytest.raises(OSError) as e:
        d.c.publish("t", b"x")
    assert e.value.args[0] == errno.ENOTCONN
    d.c.connect()
    assert d.c.isconnected()


def test_ping_asks_mqttstatu_and_fails_when_offline(yuge, mosquitto, peers):
    sim, modem = yuge()
    d = Device(modem, mosquitto, client_id="pinger")
    d.c.connect()
    out = written_by(modem)
    d.c.ping()
    assert b"AT+MQTTSTATU" in out
    sim.reboot()
    time.sleep(0.3)
    modem.connect(apn="internet")  # the client has not looked since the reboot
    with pytest.raises(OSError) as e:
        d.c.ping()
    assert e.value.args[0] == errno.ENOTCONN
    assert not d.c.isconnected()


# ---------------------------------------------------------------- bad input
def test_bad_input_is_refused_before_the_uart(yuge, mosquitto):
    sim, modem = yuge()
    d = Device(modem, mosquitto)
    d.c.connect()
    out = written_by(modem)
    for topic in ('a"b', "a\rb", "a\nb", "a\\b", "a\x1ab", "", "a/+"):
        with pytest.raises(ValueError):
            d.c.publish(topic, b"x")
    for filt in ('a"b', "a\r\nAT+CFUN=0", "a#", ""):
        with pytest.raises(ValueError):
            d.c.subscribe(filt)
        with pytest.raises(ValueError):
            d.c.unsubscribe(filt)
    with pytest.raises(ValueError):
        d.c.publish("t", b"x" * (MAX_PAYLOAD + 1))
    for qos in (3, -1, True, "1"):
        with pytest.raises(ValueError):
            d.c.publish("t", b"x", qos=qos)
        with pytest.raises(ValueError):
            d.c.subscribe("t", qos)
    with pytest.raises(ValueError):
        d.c.publish("t", 12)
    for bad in (('w"', "m"), ("w", 'm"'), ("w", "m\r\nAT"), ("w", b"\x00\xff")):
        with pytest.raises(ValueError):
            d.c.set_last_will(*bad)
    assert out == []


def test_bad_settings_are_refused_before_the_uart(yuge, mosquitto):
    sim, modem = yuge()
    out = written_by(modem)
    for kw in ({"client_id": 'x"'}, {"client_id": "x\r"}, {"server": "b\r\nAT"},
               {"user": 'u"'}, {"user": "u", "password": "p\n"}, {"max_payload": 2385},
               {"msgset": 2}, {"timeout": 0}, {"port": 70000}):
        args = {"client_id": "x", "server": "broker.example"}
        args.update(kw)
        with pytest.raises(ValueError):
            MQTTClient(modem=modem, **args)
    assert out == []


# ---------------------------------------------------------------- MicroPython
MPY_SCRIPT = """
import sys
from cellmodem.modem import Modem
from cellmodem.ports import open_serial
from cellmodem.native.yuge_mqtt import MQTTClient

modem = Modem(open_serial(sys.argv[1]), dialect="yuge")
modem.connect(apn="internet")
got = []
c = MQTTClient("mpy1", "broker.example", int(sys.argv[2]), modem=modem, keepalive=60)
c.set_callback(lambda t, m: got.append((t, m)))
c.connect()
c.subscribe(b"mpy/in", 1)
data = bytes(range(256)) + b"\\r\\nOK\\r\\n"
c.publish(b"mpy/out", data, qos=2)
c.wait_msg()
assert got == [(b"mpy/in", bytes(reversed(data)))], got
c.disconnect()
print("NATIVE MQTT OK")
"""


def test_runs_in_micropython_from_mpy_files(tmp_path, mosquitto, peers):
    """The real micropython binary, the library as .mpy files, a 144k heap (112k, then 128k,
    before the stack grew; 136k the smallest that passed after issues 17-19): publish
    QoS 2 and receive QoS 1, every byte value, through the simulator on a pty."""
    import subprocess
    from mpy import LIB, compile_tree, tool
    compile_tree(LIB, str(tmp_path))
    script = tmp_path / "native_mqtt.py"
    script.write_text(MPY_SCRIPT)
    peer = peers(mosquitto, subscribe=[("mpy/out", 2)])
    sim = get_personality("yuge")(seed=3, hosts={"broker.example": LOOPBACK})
    try:
        pty = sim.open_pty()
        p = subprocess.Popen([tool("micropython"), "-X", "heapsize=144k", str(script), pty,
                              str(mosquitto[1])], env={"MICROPYPATH": str(tmp_path)},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            m = peer.get(timeout=60)
            peer.publish("mpy/in", m.payload[::-1], qos=1)
            out = p.communicate(timeout=60)[0]
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    finally:
        sim.close()
    assert p.returncode == 0 and "NATIVE MQTT OK" in out, out


def test_connect_while_connected_starts_afresh_without_the_will(yuge, mosquitto, peers):
    sim, modem = yuge()
    peer = peers(mosquitto, subscribe=[("wills/#", 1), ("after", 0)])
    d = Device(modem, mosquitto)
    d.c.set_last_will("wills/dev1", "x")
    d.c.connect()
    d.c.connect()
    d.c.publish("after", b"ok")
    assert peer.get().payload == b"ok"  # the will would have come first
