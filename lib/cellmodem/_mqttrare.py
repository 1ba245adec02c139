"""The rarer parts of cellmodem.mqtt, imported on their first use so a program that
never meets them spends no heap on them: reconnecting with backoff, holding messages
while offline, unsubscribe, dropping a message over max_payload, matching topics to
the filters of routes, and the calls of the asyncio face (publish_nowait,
subscribe_nowait, subscribe_done).
Usage: from cellmodem._mqttrare import reconnect  # by cellmodem.mqtt
"""
import errno

from cellmodem.compat import ticks_ms, ticks_diff, ticks_add, sleep_ms
from cellmodem.errors import ModemError
from cellmodem.mqttbase import (MQTTException, RECONNECTING, OFFLINE, DROPPED, topic_name,
                                topic_filter, check_qos, message)

# MQTT 3.1.1 section 3.2.2.3, CONNACK return codes: MQTTException's texts
CONNACK = (None, "unacceptable protocol version", "identifier rejected",
           "server unavailable", "bad user name or password", "not authorized")

# mqttbase's ValueError texts, by the index mqttbase names (_NOT_STR ...): MQTT strings
# are UTF-8, at most 65535 bytes, with no U+0000 (MQTT 3.1.1 section 1.5.3)
BAD = ("%s must be str or bytes, not %s", "%s must not be empty", "%s is longer than %d bytes",
       "%s must not contain NUL", "qos must be 0, 1 or 2, not %r",
       "message must be bytes, bytearray, memoryview or str, not %s",
       "server must be a host name or address (str)", "port must be an int in 1-65535, not %r",
       "a password needs a user name (MQTT 3.1.1 section 3.1.2.9)",
       "keepalive must be 0-65535 s, not %r",
       "a topic to publish to must not contain + or #: %r",
       "bad topic filter %r: + and # must fill a level, # only as the last")  # 4.7.1

# mqtt's errors for a broken broker or link, by the index mqtt names (_DEAD ...):
# (errno or None for a ValueError, text)
FAIL = ((errno.ETIMEDOUT, "no PINGRESP within %d ms: the link is dead"),
        (errno.EIO, "malformed remaining length from the broker"),
        (errno.EIO, "malformed packet 0x%02x (%d bytes) from the broker"),
        (errno.EIO, "unexpected packet 0x%02x from the broker"),
        (errno.EIO, "malformed PUBLISH from the broker"),
        (None, "MQTT packet too long (%d bytes)"))  # 268435455 at most (2.2.3)


def fail(n, args):
    code, text = FAIL[n]
    return ValueError(text % args) if code is None else OSError(code, text % args)


def pause(c, ms):
    # Wait ms with the modem's URCs handled meanwhile (a network-lost or restart
    # banner is noticed while offline), or plainly when there is no modem.
    try:
        m = c._the_modem()
    except OSError:
        sleep_ms(ms)
        return
    m.poll(ms)


def reconnect(c, budget):
    """MQTTClient._reconnect when not connected: attempt (when the backoff delay has
    passed) and keep attempting for budget ms (None: until it works). Raises
    OSError(ENOTCONN) when it gives up for now."""
    if not c._started or not c._auto:
        raise OSError(errno.ENOTCONN, "MQTT is not connected: call connect()")
    start = ticks_ms()
    last = None
    while True:
        wait = ticks_diff(c._next_try, ticks_ms())
        if wait > 0:
            if budget is not None and ticks_diff(ticks_add(ticks_ms(), wait), start) > budget:
                break
            pause(c, wait)
            continue
        c.reconnects += 1
        c._status(RECONNECTING, c.reconnects)
        try:
            c._open(c._timeout)
            c._delay = 0
            return
        except MQTTException as e:
            if e.code != 3:  # only "server unavailable" can pass by itself
                raise
            last = e
        except (OSError, ModemError) as e:
            last = e
            c._lost(e)
        first, longest = c._backoff
        c._delay = min(longest, c._delay * 2 if c._delay else first)
        c._next_try = ticks_add(ticks_ms(), c._delay)
        if budget is not None and ticks_diff(ticks_ms(), start) >= budget:
            break
    c._status(OFFLINE, last)
    raise OSError(errno.ENOTCONN, "MQTT offline: %s" % (last or "waiting to retry"))


def hold(c, pid, topic, msg, retain, exc):
    # Offline: keep the message for the next connection if the queue has room. A
    # QoS 1/2 message waits in the in-flight table (sent by _resend), QoS 0 in
    # the queue; together at most `queue` messages.
    held = len(c._queue) + len(c._inflight)
    if c._auto and c._started:
        if pid and held <= c._queue_max:
            return None
        if not pid and held < c._queue_max:
            c._queue.append((topic, bytes(msg), retain))
            return None
    c._inflight.pop(pid, None)
    raise OSError(errno.ENOTCONN, "MQTT offline, message not sent (%d held): %s"
                  % (held - (1 if pid else 0), exc))


def unsubscribe(c, topic):
    """MQTTClient.unsubscribe: UNSUBSCRIBE, wait for UNSUBACK; the filters' routes go."""
    from cellmodem.mqtt import _header, _put_str
    filts = [topic_filter(t) for t in (topic if isinstance(topic, list) else [topic])]

    def run():
        pid = c._new_pid()
        n = 2 + sum(2 + len(f) for f in filts)
        size = c._need(n + 5)  # first: it may make a new buffer for a long packet
        w = c._wbuf
        i = _header(w, 0, 0xA2, n, size)  # UNSUBSCRIBE, flags 0b0010 (MQTT 3.1.1 3.10.1)
        w[i] = pid >> 8
        w[i + 1] = pid & 255
        i += 2
        for f in filts:
            i = _put_str(w, i, f)
        c._ack = None
        c._write(c._wmv[:i])
        c._wait(lambda: c._ack is not None and c._ack[0] == pid, c._timeout, "UNSUBACK")
    c._io(run)
    for f in filts:
        c._unroute(f)


def refused(subs, codes):
    # a SUBACK that refuses a filter (0x80), grants more than asked or does not
    # answer each filter (MQTT 3.1.1 3.9.3)
    if len(codes) != len(subs):
        raise OSError(errno.EIO, "SUBACK has %d codes for %d filters" % (len(codes), len(subs)))
    for (f, q), g in zip(subs, codes):
        if g == 0x80:
            raise MQTTException(0x80, "subscription to %r refused" % f)
        if g > q:
            raise OSError(errno.EIO, "SUBACK grants QoS %d for %r, asked %d" % (g, f, q))


def drop(c, n, i, tl, head):
    # A PUBLISH of n bytes over the receive buffer: the topic came with the head (the
    # buffer holds 256 bytes beyond max_payload), so the application learns what it
    # lost; the rest is drained, the message acknowledged by the caller and counted.
    size = len(c._rbuf)
    lost = (bytes(c._rmv[2:min(2 + tl, head)]), n - i)
    left = n - size
    while left:
        k = min(left, size)
        c._recv(c._rmv[:k], c._timeout)
        left -= k
    c.dropped += 1
    c._status(DROPPED, lost)


def publish_nowait(c, topic, msg, retain=False, qos=0):
    """MQTTClient.publish_nowait (see there)."""
    topic = topic_name(topic)
    msg = message(msg)
    check_qos(qos)
    if not c._connected:
        raise OSError(errno.ENOTCONN, "MQTT is not connected")
    if not qos:
        c._send_publish(topic, msg, bool(retain), 0, 0, False)
        return 0
    if not isinstance(msg, bytes):
        msg = bytes(msg)
    pid = c._new_pid()
    e = [qos, 0, topic, msg, bool(retain), -1]
    c._inflight[pid] = e
    c._send_entry(pid, e)
    return pid


def subscribe_nowait(c, topic, qos=0, callback=None):
    """MQTTClient.subscribe_nowait (see there)."""
    from cellmodem.mqtt import _opening
    return _opening("subscribe_start", c, topic, qos) + (callback,)


def subscribe_done(c, job):
    """MQTTClient.subscribe_done (see there)."""
    pid, subs, many, callback = job
    if c._ack is None or c._ack[0] != pid:
        return None
    from cellmodem.mqtt import _opening
    return _opening("recorded", c, subs, callback, many)


def _level_end(s, i, n):
    while i < n and s[i] != 47:
        i += 1
    return i


def topic_matches(filt, topic):
    """mqttbase.topic_matches (MQTT 3.1.1 section 4.7)."""
    fn = len(filt)
    tn = len(topic)
    if tn and topic[0] == 36 and fn and filt[0] in (35, 43):
        return False
    fi = ti = 0
    while fi <= fn:
        fe = _level_end(filt, fi, fn)
        if fe - fi == 1 and filt[fi] == 35:
            return True
        if ti > tn:
            return False
        te = _level_end(topic, ti, tn)
        if not (fe - fi == 1 and filt[fi] == 43):
            if fe - fi != te - ti:
                return False
            for k in range(fe - fi):
                if filt[fi + k] != topic[ti + k]:
                    return False
        fi = fe + 1
        ti = te + 1
    return ti > tn
