"""cellmodem.mqtt's MQTT 3.1.1 packets, byte for byte, against a scripted broker.

The client's socket is replaced (its _open_socket) by a fake that hands out the
broker's packets given here and records every byte the client writes, so each test
asserts the exact bytes of the protocol (MQTT 3.1.1 OASIS standard, section cited).
"""
import errno

import pytest

from cellmodem.mqtt import MQTTClient
from cellmodem.mqttbase import MQTTException, topic_matches, DISCONNECTED

CONNACK = b"\x20\x02\x00\x00"
CONNACK_SP = b"\x20\x02\x01\x00"


def ack(op, pid):
    return bytes([op, 2, pid >> 8, pid & 255])


class FakeSock:
    """The broker's side: `incoming` is what the client reads; then either EOF
    (eof=True) or timeouts. .tx holds what the client wrote."""

    def __init__(self, *incoming, eof=False):
        self.rx = bytearray(b"".join(incoming))
        self.tx = bytearray()
        self.eof = eof
        self.closed = False

    def settimeout(self, t):
        self.timeout = t

    def write(self, data):
        self.tx += bytes(data)
        return len(data)

    def recv_into(self, buf, nbytes=0):
        if not self.rx:
            if self.eof:
                return 0
            raise OSError(errno.EAGAIN if self.timeout == 0 else errno.ETIMEDOUT, "nothing")
        mv = memoryview(buf)
        k = min(len(mv), len(self.rx))
        mv[:k] = self.rx[:k]
        del self.rx[:k]
        return k

    def close(self):
        self.closed = True


class Scripted(MQTTClient):
    """An MQTTClient whose connections are the FakeSocks given, in order."""

    def __init__(self, socks, *a, **kw):
        kw.setdefault("reconnect", False)
        kw.setdefault("timeout", 300)
        super().__init__(*a, **kw)
        self.socks = list(socks)
        self.opened = []

    def _open_socket(self, timeout):
        if not self.socks:
            raise OSError(errno.ECONNREFUSED, "no more scripted connections")
        s = self.socks.pop(0)
        self.opened.append(s)
        return s


def client(*incoming, **kw):
    sock = FakeSock(CONNACK, *incoming)
    c = Scripted([sock], "c1", "broker", **kw)
    c.connect()
    del sock.tx[:]
    return c, sock


def test_connect_packet_carries_id_will_user_password_and_keepalive():
    sock = FakeSock(CONNACK_SP)
    c = Scripted([sock], "c1", "broker", 1883, user="u", password="p", keepalive=60)
    c.set_last_will("w/t", b"bye", retain=True, qos=1)
    assert c.connect(clean_session=False) is True
    # 3.1: flags user 0x80, password 0x40, will retain 0x20, will QoS 1 0x08, will 0x04
    assert bytes(sock.tx) == (b"\x10\x1e\x00\x04MQTT\x04\xec\x00\x3c\x00\x02c1"
                              b"\x00\x03w/t\x00\x03bye\x00\x01u\x00\x01p")


def test_minimal_connect_is_clean_session_with_no_keepalive():
    sock = FakeSock(CONNACK)
    c = Scripted([sock], b"dev", "broker")
    assert c.connect() is False
    assert bytes(sock.tx) == b"\x10\x0f\x00\x04MQTT\x04\x02\x00\x00\x00\x03dev"


@pytest.mark.parametrize("code,text", [(1, "unacceptable protocol version"),
                                       (2, "identifier rejected"), (4, "bad user name or password"),
                                       (5, "not authorized")])
def test_refused_connack_raises_mqttexception_with_its_code(code, text):
    c = Scripted([FakeSock(bytes([0x20, 2, 0, code]))], "c1", "broker")
    with pytest.raises(MQTTException) as e:
        c.connect()
    assert e.value.args[0] == code and e.value.code == code and text in str(e.value)
    assert not c.isconnected() and c.opened[0].closed


def test_no_connack_within_the_timeout_is_a_timeout():
    c = Scripted([FakeSock()], "c1", "broker", timeout=100)
    with pytest.raises(OSError) as e:
        c.connect()
    assert e.value.args[0] == errno.ETIMEDOUT and "CONNACK" in str(e.value)


def test_qos0_publish_is_one_packet_without_packet_id():
    c, sock = client()
    c.publish("a/b", b"hi")
    assert bytes(sock.tx) == b"\x30\x07\x00\x03a/bhi"


def test_retain_flag_and_str_payload_as_utf8():
    c, sock = client()
    c.publish(b"t", "\u00e9", retain=True)
    assert bytes(sock.tx) == b"\x31\x05\x00\x01t\xc3\xa9"


def test_qos1_publish_returns_after_its_puback():
    c, sock = client(ack(0x40, 1))
    c.publish("a/b", b"hi", qos=1)
    assert bytes(sock.tx) == b"\x32\x09\x00\x03a/b\x00\x01hi"
    assert c._inflight == {}


def test_qos1_publish_without_puback_times_out_and_is_not_kept():
    c, sock = client()
    with pytest.raises(OSError) as e:
        c.publish("a/b", b"hi", qos=1)
    assert "PUBACK" in str(e.value) and c._inflight == {}


def test_qos2_publish_runs_pubrec_pubrel_pubcomp():
    c, sock = client(ack(0x50, 1), ack(0x70, 1))
    c.publish("q", b"x", qos=2)
    # 3.3, 3.6: PUBLISH QoS 2 (0x34), then PUBREL with flags 0010 (0x62)
    assert bytes(sock.tx) == b"\x34\x06\x00\x01q\x00\x01x" + b"\x62\x02\x00\x01"
    assert c._inflight == {}


@pytest.mark.parametrize("size,header", [(127, b"\x30\x7f"), (128, b"\x30\x80\x01"),
                                         (16383, b"\x30\xff\x7f"), (16384, b"\x30\x80\x80\x01")])
def test_remaining_length_encoding_at_its_boundaries(size, header):
    c, sock = client()
    c.publish("t", bytes(size - 3))  # 2 + 1 bytes of topic
    assert bytes(sock.tx[:len(header)]) == header and len(sock.tx) == len(header) + size


def test_packet_ids_count_up_and_skip_those_in_flight():
    c, sock = client(ack(0x40, 1), ack(0x40, 2))
    c.publish("t", b"1", qos=1)
    c.publish("t", b"2", qos=1)
    assert c.pid == 2
    c.pid = 65535
    c._inflight[1] = [1, 0, b"t", b"old", False, c._gen]
    assert c._new_pid() == 2  # wraps past 65535 to 1, which is taken


def test_unacknowledged_qos1_is_resent_with_dup_after_a_reconnect():
    first = FakeSock(CONNACK, eof=True)  # the link dies before the PUBACK
    second = FakeSock(CONNACK_SP, ack(0x40, 1))
    c = Scripted([first, second], "c1", "broker", reconnect=True, backoff=(1, 1))
    c.connect(clean_session=False)
    c.publish("a", b"m", qos=1)
    assert bytes(first.tx).endswith(b"\x32\x06\x00\x01a\x00\x01m")
    # 3.3.1.1: DUP (0x08) on the resend, same packet id
    assert bytes(second.tx).endswith(b"\x3a\x06\x00\x01a\x00\x01m")
    assert c.reconnects == 1 and c._inflight == {}


def test_qos2_released_before_the_loss_is_completed_with_pubrel_after_reconnect():
    first = FakeSock(CONNACK, ack(0x50, 1), eof=True)  # PUBREC came, then the link died
    second = FakeSock(CONNACK_SP, ack(0x70, 1))
    c = Scripted([first, second], "c1", "broker", reconnect=True, backoff=(1, 1))
    c.connect(clean_session=False)
    c.publish("a", b"m", qos=2)
    assert bytes(second.tx).endswith(b"\x62\x02\x00\x01")  # 4.3.3: PUBREL again, no PUBLISH
    assert b"\x34" not in bytes(second.tx)[-10:-4]


def test_subscriptions_are_restored_when_the_broker_did_not_keep_the_session():
    first = FakeSock(CONNACK, b"\x90\x03\x00\x01\x01", eof=True)
    second = FakeSock(CONNACK, b"\x90\x03\x00\x03\x01", ack(0x40, 2))
    c = Scripted([first, second], "c1", "broker", reconnect=True, backoff=(1, 1))
    c.connect()
    assert c.subscribe("s/#", 1) == 1
    c.publish("p", b"x", qos=1)  # pid 2; finds the dead link, reconnects, resubscribes
    # the SUBSCRIBE takes pid 3 (2 is still in flight), then the PUBLISH goes again
    assert bytes(second.tx).startswith(b"\x10") and \
        bytes(second.tx).endswith(b"\x82\x08\x00\x03\x00\x03s/#\x01" + b"\x3a\x06\x00\x01p\x00\x02x")


def test_incoming_qos1_is_delivered_then_acknowledged():
    c, sock = client(b"\x32\x08\x00\x03a/b\x00\x07m")
    got = []
    c.set_callback(lambda t, m: got.append((t, m, bytes(sock.tx))))
    c.check_msg()
    assert got == [(b"a/b", b"m", b"")]  # the PUBACK goes after the callback returned
    assert bytes(sock.tx) == b"\x40\x02\x00\x07"


def test_incoming_qos2_resent_with_dup_is_delivered_once():
    publish = b"\x34\x06\x00\x01q\x00\x09x"
    dup = b"\x3c\x06\x00\x01q\x00\x09x"
    c, sock = client(publish, dup, b"\x62\x02\x00\x09")
    got = []
    c.set_callback(lambda t, m: got.append(m))
    c.check_msg()
    assert got == [b"x"]
    assert bytes(sock.tx) == b"\x50\x02\x00\x09" * 2 + b"\x70\x02\x00\x09"
    assert c._q2rx == set()


def test_wait_msg_returns_none_after_a_message_and_the_type_otherwise():
    c, sock = client(b"\xd0\x00", b"\x30\x04\x00\x01tm")
    c.set_callback(lambda t, m: None)
    assert c.wait_msg() == 0xD0
    assert c.wait_msg() is None


def test_subscribe_several_filters_in_one_packet_and_granted_qos_checked():
    c, sock = client(b"\x90\x04\x00\x01\x01\x00")
    assert c.subscribe([("a/+", 1), ("b/#", 0)]) == [1, 0]
    assert bytes(sock.tx) == b"\x82\x0e\x00\x01\x00\x03a/+\x01\x00\x03b/#\x00"


def test_a_subscribe_longer_than_the_write_buffer_goes_out_whole():
    # 304 bytes: over the 256-byte buffer, which grows for it; the header went into
    # the old buffer before, and the packet left with four zero bytes in front
    filt = "a/" + "x" * 300
    c, sock = client(b"\x90\x03\x00\x01\x01")
    assert c.subscribe(filt, 1) == 1
    assert bytes(sock.tx) == b"\x82\xb3\x02\x00\x01\x01\x2e" + filt.encode() + b"\x01"


def test_an_unsubscribe_longer_than_the_write_buffer_goes_out_whole():
    filt = "a/" + "x" * 300
    c, sock = client(b"\xb0\x02\x00\x01")
    c.unsubscribe(filt)
    assert bytes(sock.tx) == b"\xa2\xb2\x02\x00\x01\x01\x2e" + filt.encode()


def test_refused_subscription_raises_0x80():
    c, sock = client(b"\x90\x03\x00\x01\x80")
    with pytest.raises(MQTTException) as e:
        c.subscribe("nope", 1)
    assert e.value.args[0] == 0x80 and b"nope" not in c._subs


def test_granted_qos_above_the_request_is_a_protocol_error():
    c, sock = client(b"\x90\x03\x00\x01\x02")
    with pytest.raises(OSError) as e:
        c.subscribe("t", 1)
    assert "grants QoS 2" in str(e.value)


def test_unsubscribe_packet_and_unsuback():
    c, sock = client(b"\x90\x03\x00\x01\x00", b"\xb0\x02\x00\x02")
    c.subscribe("a", 0, callback=lambda t, m: None)
    del sock.tx[:]
    c.unsubscribe("a")
    assert bytes(sock.tx) == b"\xa2\x05\x00\x02\x00\x01a"
    assert c._subs == {} and c._routes == []


def test_message_over_max_payload_is_acknowledged_dropped_and_counted():
    big = b"\x32\x88\x01\x00\x01t\x00\x05" + bytes(131)  # 136 bytes remaining
    c, sock = client(big, b"\x30\x04\x00\x01tm", max_payload=0)
    got = []
    c.set_callback(lambda t, m: got.append(m))
    c._rbuf = bytearray(100)  # smaller than the message
    c._rmv = memoryview(c._rbuf)
    c.check_msg()
    assert c.dropped == 1 and got == [b"m"]
    assert bytes(sock.tx) == b"\x40\x02\x00\x05"


def test_message_over_max_payload_reaches_the_status_callback_with_topic_and_size():
    big = b"\x32\x88\x01\x00\x03big\x00\x05" + bytes(129)  # 136 remaining, 129 payload
    c, sock = client(big, b"\x30\x04\x00\x01tm", max_payload=0)
    seen = []
    c.set_status_callback(lambda status, detail: seen.append((status, detail)))
    c._rbuf = bytearray(100)  # smaller than the message
    c._rmv = memoryview(c._rbuf)
    c.check_msg()
    assert seen == [("dropped", (b"big", 129))]


def test_pingreq_goes_out_after_half_the_keepalive_without_traffic():
    c, sock = client(keepalive=1)
    c._last_tx -= 600
    c._last_rx -= 600
    c.check_msg()
    assert bytes(sock.tx) == b"\xc0\x00"  # 3.12


def test_no_pingresp_within_half_the_keepalive_fails_the_connection():
    c, sock = client(keepalive=1)
    events = []
    c.set_status_callback(lambda s, d: events.append(s))
    c.ping()
    c._ping_at -= 600
    with pytest.raises(OSError) as e:
        c.check_msg()
    assert e.value.args[0] == errno.ETIMEDOUT and "PINGRESP" in str(e.value)
    assert events == [DISCONNECTED] and sock.closed


def test_malformed_remaining_length_fails_the_connection():
    c, sock = client(b"\x30\xff\xff\xff\xff\x01")
    with pytest.raises(OSError) as e:
        c.check_msg()
    assert "remaining length" in str(e.value) and not c.isconnected()


def test_broker_closing_the_connection_is_econnreset():
    sock = FakeSock(CONNACK, eof=True)
    c = Scripted([sock], "c1", "broker")
    c.connect()
    with pytest.raises(OSError) as e:
        c.check_msg()
    assert e.value.args[0] == errno.ECONNRESET


@pytest.mark.parametrize("call", [
    lambda c: c.publish("a/+", b"x"),
    lambda c: c.publish("a/#", b"x"),
    lambda c: c.publish("", b"x"),
    lambda c: c.publish("a\x00b", b"x"),
    lambda c: c.publish("a", b"x", qos=3),
    lambda c: c.publish("a", 42),
    lambda c: c.publish(7, b"x"),
    lambda c: c.subscribe("a/b#"),
    lambda c: c.subscribe("a/#/b"),
    lambda c: c.subscribe("a+/b"),
    lambda c: c.subscribe("a", qos=-1),
    lambda c: c.set_last_will("w/+", b"x"),
    lambda c: c.unsubscribe("x#"),
], ids=["plus-in-topic", "hash-in-topic", "empty-topic", "nul-in-topic", "qos-3",
        "int-payload", "int-topic", "hash-in-level", "hash-not-last", "plus-in-level",
        "negative-qos", "will-wildcard", "unsubscribe-bad-filter"])
def test_bad_input_is_refused_before_anything_is_sent(call):
    c, sock = client()
    with pytest.raises(ValueError):
        call(c)
    assert bytes(sock.tx) == b""


@pytest.mark.parametrize("kw", [dict(port=0x10000), dict(keepalive=-1), dict(password="p"),
                                dict(client_id=5)])
def test_bad_settings_are_refused_at_construction(kw):
    args = dict(client_id="c", server="h")
    args.update(kw)
    with pytest.raises(ValueError):
        MQTTClient(**args)


def test_umqtt_simple_positional_arguments_and_attributes():
    c = MQTTClient("id", "host", 1884, "user", "pw", 30)
    assert (c.client_id, c.server, c.port, c.user, c.pswd, c.keepalive) == \
        (b"id", "host", 1884, b"user", b"pw", 30)
    assert MQTTClient("id", "host").port == 1883
    assert MQTTClient("id", "host", ssl=True, ssl_params={"cert_reqs": 0}).port == 8883


def test_ssl_true_without_a_ca_is_refused_when_the_client_is_made():
    # verification is on unless turned off by name: no silent unverified handshake
    with pytest.raises(ValueError) as e:
        MQTTClient("id", "host", ssl=True)
    assert "ca=" in str(e.value) and "verify=False" in str(e.value)
    with pytest.raises(TypeError):
        MQTTClient("id", "host", ssl="yes")


@pytest.mark.parametrize("filt,topic,match", [
    ("a/b", "a/b", True), ("a/b", "a/c", False), ("a/+", "a/b", True), ("a/+", "a/b/c", False),
    ("a/#", "a", True), ("a/#", "a/b/c", True), ("#", "a/b", True), ("+/+", "/x", True),
    ("+", "/x", False), ("sport/+", "sport/", True), ("+/b", "x/b", True),
    ("a/b/c", "a/b", False), ("a/b", "a/b/c", False), ("#", "$SYS/x", False),
    ("+/x", "$SYS/x", False), ("$SYS/#", "$SYS/x", True), ("a//b", "a//b", True),
    ("a/+/c", "a//c", True),
])
def test_topic_filter_matching(filt, topic, match):
    assert topic_matches(filt.encode(), topic.encode()) is match
