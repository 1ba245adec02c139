"""An MQTT stream each way that must survive whatever the simulator does to the link.

The device publishes n1 QoS 1 messages b"u1:<i>" and n2 QoS 2 messages b"u2:<i>"
(interleaved) to <id>/up, and counts the b"d1:<i>" / b"d2:<i>" messages a peer
publishes to <id>/down, with a persistent session (clean_session=False), so what
the peer sends while the device is offline waits at the broker.

Runs unchanged on CPython (the tests call run() with a Modem on a FakeUART) and on
MicroPython over a pty:
    micropython mqtt_stream.py <tty> <dialect> <broker> <port> <n1> <n2> <id> [gap_ms]
It prints one line "STREAM d1=<distinct> dup1=<n> d2=<distinct> dup2=<n> sent1=<n>
sent2=<n> reconnects=<n> raised=<n> peak=<bytes>", then (from main) "SETUP LEFT <in
sys.modules> <in the package>" and "DONE".
"""
import gc
import sys

from cellmodem.compat import ticks_ms, ticks_diff
from cellmodem.mqtt import MQTTClient


def _index(msg, tag):
    # b"d1:123" -> 123 for tag b"d1:", else -1; parsed in place
    if len(msg) < 4 or msg[:3] != tag:
        return -1
    n = 0
    for i in range(3, len(msg)):
        c = msg[i]
        if not 48 <= c <= 57:
            return -1
        n = n * 10 + c - 48
    return n


def run(modem, broker, port, n1, n2, client_id, keepalive=30, gap_ms=0, limit_ms=600000,
        out=print):
    seen1 = bytearray(n1)  # times each d1:<i> arrived (capped at 255)
    seen2 = bytearray(n2)
    counts = [0, 0, 0, 0]  # distinct d1, dup d1, distinct d2, dup d2
    peak = [0]

    def on_message(topic, msg):
        for tag, seen, k in ((b"d1:", seen1, 0), (b"d2:", seen2, 2)):
            i = _index(msg, tag)
            if 0 <= i < len(seen):
                if seen[i]:
                    counts[k + 1] += 1
                else:
                    counts[k] += 1
                if seen[i] < 255:
                    seen[i] += 1
                return

    c = MQTTClient(client_id, broker, port, keepalive=keepalive, modem=modem, queue=8,
                   backoff=(50, 2000), retry_for=30000)
    c.set_callback(on_message)
    c.connect(clean_session=False)
    c.subscribe(client_id + "/down", 2)
    up = client_id + "/up"
    i1 = i2 = 0
    raised = 0
    start = ticks_ms()
    while i1 < n1 or i2 < n2 or counts[0] < n1 or counts[2] < n2:
        if ticks_diff(ticks_ms(), start) > limit_ms:
            out("TIMEOUT d1=%d d2=%d sent1=%d sent2=%d" % (counts[0], counts[2], i1, i2))
            break
        try:
            if i2 < n2 and (i1 >= n1 or i2 * n1 <= i1 * n2):
                c.publish(up, b"u2:%d" % i2, qos=2)
                i2 += 1
            elif i1 < n1:
                c.publish(up, b"u1:%d" % i1, qos=1)
                i1 += 1
            c.check_msg()
            if i1 >= n1 and i2 >= n2:
                modem.poll(20)  # all sent: wait a little for the rest to come in
            elif gap_ms:
                modem.poll(gap_ms)  # a steady pace, like a sensor, not a flood
        except OSError as e:
            raised += 1  # an error the application saw; it goes on
            out("RAISED %r" % (e,))
        used = gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0
        if used > peak[0]:
            peak[0] = used
    c.disconnect()
    out("STREAM d1=%d dup1=%d d2=%d dup2=%d sent1=%d sent2=%d reconnects=%d raised=%d peak=%d"
        % (counts[0], counts[1], counts[2], counts[3], i1, i2, c.reconnects, raised, peak[0]))
    return counts, c.reconnects, raised


def main(argv):
    from cellmodem.modem import Modem
    from cellmodem.ports import open_serial
    tty, dialect, broker, port, n1, n2, cid = argv[1:8]
    gap = int(argv[8]) if len(argv) > 8 else 0
    modem = Modem(open_serial(tty), dialect=dialect, sock_rxbuf=2048)
    modem.connect(apn="internet")
    run(modem, broker, int(port), int(n1), int(n2), cid, gap_ms=gap)
    # the session set-up (connect, subscribe, every reconnect, disconnect) loaded for
    # each use and dropped after it (cellmodem.mqtt._opening): nothing left behind
    print("SETUP LEFT", "cellmodem._mqttopen" in sys.modules,
          "_mqttopen" in sys.modules["cellmodem"].__dict__)
    print("DONE")


if __name__ == "__main__":
    main(sys.argv)
