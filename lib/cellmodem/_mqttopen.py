"""MQTTClient's session set-up, loaded for each call and dropped after it: opening the
connection (CONNECT, CONNACK, resubscribing, sending again what was unacknowledged),
subscribing and disconnecting. A connected client keeps none of this code on a board's
heap (issue 20); cellmodem.mqtt reaches it through _opening().
Usage: c.connect() / c.subscribe(...) / c.disconnect()  # (cellmodem.mqtt calls these)
"""
import errno

from cellmodem.compat import const
from cellmodem.errors import ModemError
from cellmodem.mqtt import _header, _put_str
from cellmodem.mqttbase import (MQTTException, CONNECTED, DISCONNECTED, topic_filter,
                                check_qos)

# MQTT 3.1.1 section 2.2.1 control packet types, with their flags (2.2.2)
_CONNECT = const(0x10)
_SUBSCRIBE = const(0x82)
_DISCONNECT = const(0xE0)
_SENT_ON = const(5)  # an in-flight entry's connection number (cellmodem.mqtt)


def open_session(c, timeout):
    """MQTTClient._open: one attempt: socket, CONNECT, CONNACK within timeout ms, then
    the session restored. Returns whether the broker kept the session."""
    c.sock = c._open_socket(timeout)
    c._gen += 1
    c._ping_at = None
    c._connack = None
    try:
        _send_connect(c)
        c._connected = True  # for _wait; reverted below if CONNACK fails
        c._wait(lambda: c._connack is not None, timeout, "CONNACK")
    except BaseException:
        c._connected = False
        c._close_sock()
        raise
    sp, rc = c._connack
    if rc:
        c._connected = False
        c._close_sock()
        raise MQTTException(rc)
    if not sp:
        c._q2rx = set()  # a new session: the broker forgot those pids too
    c._status(CONNECTED, bool(sp))
    if not sp and c._subs:
        _send_subscribe(c, list(c._subs.items()), timeout)
    # Unacknowledged messages go again, oldest first, DUP set (MQTT 3.1.1 4.4);
    # a QoS 2 message whose PUBREC came is released again with PUBREL.
    for pid in sorted(c._inflight):
        e = c._inflight.get(pid)
        if e is not None and e[_SENT_ON] != c._gen:
            c._send_entry(pid, e)
    while c._queue:
        topic, msg, retain = c._queue[0]
        c._send_publish(topic, msg, retain, 0, 0, False)
        c._queue.pop(0)
    return bool(sp)


def _send_connect(c):
    cid, user, pswd = c.client_id, c.user, c.pswd
    will = c.lw_topic
    n = 10 + 2 + len(cid)
    flags = 0x02 if c._clean else 0
    if will is not None:
        n += 4 + len(will) + len(c.lw_msg)
        flags |= 0x04 | c.lw_qos << 3 | (0x20 if c.lw_retain else 0)
    if user is not None:
        n += 2 + len(user)
        flags |= 0x80
    if pswd is not None:
        n += 2 + len(pswd)
        flags |= 0x40
    c._need(n + 5)
    w = c._wbuf
    i = _header(w, 0, _CONNECT, n, len(w))
    i = _put_str(w, i, b"MQTT")
    w[i] = 4  # protocol level 3.1.1
    w[i + 1] = flags
    w[i + 2] = c.keepalive >> 8
    w[i + 3] = c.keepalive & 255
    i = _put_str(w, i + 4, cid)
    if will is not None:
        i = _put_str(w, i, will)
        i = _put_str(w, i, c.lw_msg)
    if user is not None:
        i = _put_str(w, i, user)
    if pswd is not None:
        i = _put_str(w, i, pswd)
    c._write(c._wmv[:i])


def disconnect(c):
    """MQTTClient.disconnect: DISCONNECT (the will is not published), then close; no
    reconnect follows until connect() is called again."""
    c._started = False
    if c._connected:
        try:
            c._send_small(_DISCONNECT, None)
        except (OSError, ModemError):
            pass
    c._close_sock()
    if c._connected:
        c._connected = False
        c._status(DISCONNECTED, "disconnect()")


def subscribe(c, topic, qos=0, callback=None):
    """MQTTClient.subscribe (see there): SUBSCRIBE, SUBACK, the filters recorded."""
    many, subs = _filters(topic, qos)
    granted = c._io(lambda: _send_subscribe(c, subs, c._timeout))
    return _record(c, subs, granted, callback, many)


def _send_subscribe(c, subs, timeout):
    # SUBSCRIBE, its SUBACK within timeout ms; the granted QoS (a refusal raises)
    pid = _subscribe_send(c, subs)
    c._wait(lambda: c._ack is not None and c._ack[0] == pid, timeout, "SUBACK")
    return _granted(c, subs)


def subscribe_start(c, topic, qos):
    """subscribe_nowait's SUBSCRIBE sent: (pid, subs, many); ENOTCONN when offline."""
    many, subs = _filters(topic, qos)
    if not c._connected:
        raise OSError(errno.ENOTCONN, "MQTT is not connected")
    return _subscribe_send(c, subs), subs, many


def _filters(topic, qos):
    """(many, [(filter, qos)]) for a filter or a list of (filter, qos); ValueError."""
    many = isinstance(topic, list)
    return many, [(topic_filter(t), check_qos(q))
                  for t, q in (topic if many else [(topic, qos)])]


def _subscribe_send(c, subs):
    """Send one SUBSCRIBE for subs [(filter, qos)]; returns its packet id."""
    pid = c._new_pid()
    n = 2 + sum(3 + len(f) for f, q in subs)
    size = c._need(n + 5)  # first: it may make a new buffer
    w = c._wbuf
    i = _header(w, 0, _SUBSCRIBE, n, size)
    w[i] = pid >> 8
    w[i + 1] = pid & 255
    i += 2
    for f, q in subs:
        i = _put_str(w, i, f)
        w[i] = q
        i += 1
    c._ack = None
    c._write(c._wmv[:i])
    return pid


def _granted(c, subs):
    # the QoS the broker granted per filter; a refusal or a bad SUBACK raises
    codes = c._ack[1]
    if len(codes) != len(subs) or any(g > q for (f, q), g in zip(subs, codes)):
        from cellmodem._mqttrare import refused
        refused(subs, codes)
    return list(codes)


def recorded(c, subs, callback, many):
    """The SUBACK come for subs: the granted QoS (a list when many), the subscriptions
    kept for reconnects and callback routed to them. MQTTException(0x80) if refused."""
    return _record(c, subs, _granted(c, subs), callback, many)


def _record(c, subs, granted, callback, many):
    for (filt, q), g in zip(subs, granted):
        c._subs[filt] = q
        if callback is not None:
            c._route(filt, callback)
    return granted if many else granted[0]
