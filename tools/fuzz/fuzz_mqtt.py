"""Fuzz target: cellmodem.mqtt's decoder, fed a broker's side of a connection.

The client's socket is a scripted one (as in host_tests/test_mqtt_protocol.py) that
hands out the fuzzed bytes in fuzzed pieces, then EOF. The input picks what the
client does (connect, then subscribe / publish QoS 1 / publish QoS 2 / wait for
messages); the broker's bytes are whatever the fuzzer makes of CONNACK, SUBACK,
PUBACK, PUBLISH, ... (the corpus starts from real ones).

It fails (raises) when:
  * the client lets out anything but OSError, MQTTException or ValueError;
  * the client ends up connected, or with its socket not closed, after the error
    (but for a refused subscription, which leaves the connection working);
  * the receive buffer changed size or more messages were delivered than PUBLISH
    packets could have carried.

Run: python -m tools.fuzz --target mqtt --minutes N
"""
import errno

from tools.fuzz.common import Input, cut, main  # sets sys.path for lib/

from cellmodem.mqtt import MQTTClient
from cellmodem.mqttbase import MQTTException


class FuzzSock:
    """The broker: pieces of bytes to hand out in order, then EOF."""

    def __init__(self, pieces):
        self.pieces = list(pieces)
        self.tx = bytearray()
        self.closed = False
        self.timeout = None

    def settimeout(self, t):
        self.timeout = t

    def write(self, data, n=None):
        if self.closed:
            raise OSError(errno.EBADF, "closed")
        self.tx += bytes(data)
        return len(data)

    def recv_into(self, buf, nbytes=0):
        if self.closed:
            raise OSError(errno.EBADF, "closed")
        while self.pieces and not self.pieces[0]:
            self.pieces.pop(0)
        if not self.pieces:
            return 0
        p = self.pieces[0]
        k = min(len(buf), len(p))
        buf[:k] = p[:k]
        self.pieces[0] = p[k:]
        return k

    def close(self):
        self.closed = True


class Client(MQTTClient):
    def __init__(self, sock, **kw):
        super().__init__("fuzz", "broker.example", reconnect=False, timeout=200,
                         max_payload=64, **kw)
        self.fuzz_sock = sock

    def _open_socket(self, timeout):
        s, self.fuzz_sock = self.fuzz_sock, None
        if s is None:
            raise OSError(errno.ECONNREFUSED, "one connection only")
        return s


def one_input(data):
    inp = Input(data)
    plan = inp.byte()
    seed = inp.byte()
    stream = inp.rest()
    sock = FuzzSock(cut(stream, seed))
    c = Client(sock, keepalive=plan >> 6)
    got = []
    c.set_callback(lambda t, m: got.append((t, m)))
    rbuf = len(c._rbuf)
    try:
        c.connect(clean_session=bool(plan & 1))
        action = plan >> 1 & 3
        if action == 1:
            c.subscribe(b"a/#", qos=(plan >> 3 & 3) % 3)
        elif action == 2:
            c.publish(b"t", b"x" * (plan >> 3 & 7), qos=1)
        elif action == 3:
            c.publish(b"t", b"y", qos=2)
        for _ in range(64):
            c.wait_msg()
        # 64 packets handled: the broker's bytes were long enough; fine either way
        c.disconnect()
    except MQTTException as e:
        # a refused subscription (SUBACK 0x80) leaves a working connection; a refused
        # CONNECT does not
        if c.isconnected():
            assert e.code == 0x80 and not sock.closed, "refusal %r on a broken connection" % e
            c.disconnect()
        assert sock.closed, "socket left open after %r" % e
    except (OSError, ValueError) as e:
        assert not c.isconnected(), "connected after %r" % e
        assert sock.closed, "socket left open after %r" % e
    assert len(c._rbuf) == rbuf
    publishes = sum(1 for b in stream if b >> 4 == 3)  # bytes that could start one
    assert len(got) <= publishes, "more messages than PUBLISH packets"


if __name__ == "__main__":
    main("mqtt", one_input)
