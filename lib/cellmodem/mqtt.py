"""MQTT 3.1.1 over the modem's sockets, made to survive a cellular link.

A superset of micropython-lib's umqtt.simple.MQTTClient (code written for it runs by
changing the import) that adds QoS 2, automatic reconnect (socket, PDP context or the
whole module gone) with backoff, resubscribe, retransmission of unacknowledged QoS 1/2
messages with DUP, keepalive with a dead-link check, status callbacks, routes per
topic filter and a bounded offline queue.

Usage:
    from cellmodem.mqtt import MQTTClient
    c = MQTTClient("dev1", "broker.example", keepalive=60)
    c.set_callback(lambda topic, msg: print(topic, msg))
    c.connect(clean_session=False)
    c.subscribe(b"dev1/cmd/#", qos=1)
    c.publish(b"dev1/temp", b"21.5", qos=1)
    while True:
        c.check_msg()  # handles incoming messages, pings, reconnects
"""
import errno

from cellmodem.compat import const, ticks_ms, ticks_diff, ticks_add
from cellmodem.errors import ModemError
from cellmodem import socket as _socket
from cellmodem.modem import forget
from cellmodem.mqttbase import (MQTTBase, MQTTException, DISCONNECTED, topic_name,
                                check_qos, message)

# MQTT 3.1.1 section 2.2.1 control packet types (upper nibble of the first byte)
_CONNACK = const(0x20)
_PUBLISH = const(0x30)
_PUBACK = const(0x40)
_PUBREC = const(0x50)
_PUBREL = const(0x62)  # PUBREL, SUBSCRIBE and UNSUBSCRIBE carry flags 0b0010 (2.2.2)
_PUBCOMP = const(0x70)
_SUBACK = const(0x90)
_UNSUBACK = const(0xB0)
_PINGREQ = const(0xC0)
_PINGRESP = const(0xD0)

# In-flight entry fields: [qos, state, topic, msg, retain, connection it was sent on]
_QOS = const(0)
_STATE = const(1)  # 0: PUBLISH sent, waiting PUBACK/PUBREC; 1: PUBREL sent (QoS 2)
_TOPIC = const(2)
_MSG = const(3)
_RETAIN = const(4)
_SENT_ON = const(5)  # (cellmodem._mqttopen has it too)

_TOPIC_ROOM = const(256)  # receive buffer bytes beyond max_payload: topic and header


# Errors that mean a broken broker or link, their texts in cellmodem._mqttrare (FAIL)
_DEAD = const(0)
_BAD_LENGTH = const(1)
_MALFORMED = const(2)
_UNEXPECTED = const(3)
_BAD_PUBLISH = const(4)
_TOO_LONG = const(5)


def _fail(n, *args):
    return _rare("fail")(n, args)


def _rare(name):
    # (not "from cellmodem import _mqttrare": MicroPython asks the package's
    # __getattr__ first, which knows only the public names)
    import cellmodem._mqttrare
    return getattr(cellmodem._mqttrare, name)


def _lazy(name):
    # a method whose body is _mqttrare.<name>(self, ...): loaded on its first call
    def call(self, *args, **kw):
        return _rare(name)(self, *args, **kw)
    return call


def _opening(name, *args, **kw):
    # cellmodem._mqttopen.<name>(*args): the session's set-up (connect, subscribe,
    # disconnect), loaded for the call and dropped after it, so a connected client
    # keeps none of its code on a board's heap (issue 20; modem.forget)
    import cellmodem._mqttopen
    try:
        return getattr(cellmodem._mqttopen, name)(*args, **kw)
    finally:
        forget("_mqttopen")


def _setup(name):
    # a method whose body is _mqttopen.<name>(self, ...), by _opening
    def call(self, *args, **kw):
        return _opening(name, self, *args, **kw)
    return call


class MQTTClient(MQTTBase):
    """MQTT client over cellmodem.socket.

    The umqtt.simple arguments, then (keywords):
    modem: the Modem to use (default: the one most recently connected).
    reconnect: restore the link by itself (True) or raise OSError on loss (False).
    timeout: ms to wait for each broker answer (CONNACK, PUBACK, SUBACK, ...) and
      for the rest of a packet once it has started.
    max_payload: largest message received, bytes (bigger ones are acknowledged,
      dropped, counted in .dropped and reported to the status callback as
      DROPPED with (topic, payload size)).
    queue: messages publish() may hold while offline (0: raise OSError instead).
    backoff: (first, longest) ms between reconnect attempts; doubles per failure.
    retry_for: ms publish()/subscribe() keep trying to reconnect before they queue
      or raise.
    """

    def __init__(self, client_id, server, port=0, user=None, password=None, keepalive=0,
                 ssl=False, ssl_params=None, modem=None, reconnect=True, timeout=10000,
                 max_payload=4096, queue=0, backoff=(500, 30000), retry_for=20000):
        super().__init__(client_id, server, port, user, password, keepalive, ssl)
        self._tls = None
        if ssl:  # host TLS context or ModuleTLS, checked now (a CA is required)
            from cellmodem.tls import choose
            self._tls = choose(ssl, ssl_params)
        self.sock = None
        self.pid = 0
        self.dropped = 0  # messages over max_payload, acknowledged and dropped
        self.reconnects = 0  # successful reconnects since the first connect()
        self._modem = modem
        self._auto = reconnect
        self._timeout = timeout
        self._queue_max = queue
        self._backoff = backoff
        self._retry_for = retry_for
        self._clean = True
        self._connected = False
        self._started = False  # connect() succeeded once and disconnect() not called
        self._gen = 0  # connection number: which in-flight messages were sent on it
        self._inflight = {}  # pid -> entry (see _QOS...): sent, not yet acknowledged
        self._queue = []  # (topic, msg, retain): QoS 0 messages held while offline
        self._q2rx = set()  # QoS 2 pids delivered, waiting for PUBREL (exactly once)
        self._ack = None  # (pid, payload) of the last SUBACK/UNSUBACK
        self._connack = None
        self._delay = 0  # ms before the next reconnect attempt
        self._next_try = ticks_ms()
        now = ticks_ms()
        self._last_tx = now
        self._last_rx = now
        self._ping_at = None  # when the unanswered PINGREQ went out
        self._rbuf = bytearray(max_payload + _TOPIC_ROOM)
        self._rmv = memoryview(self._rbuf)
        self._wbuf = bytearray(_TOPIC_ROOM)
        self._wmv = memoryview(self._wbuf)
        self._small = bytearray(5)  # fixed headers, acks, the remaining-length bytes
        self._smv = memoryview(self._small)

    # ---- connection ----
    def connect(self, clean_session=True, timeout=None):
        """Open the connection and the MQTT session; returns True if the broker kept
        the session from before (clean_session=False). Raises OSError (socket, DNS,
        no answer within timeout ms), MQTTException (the broker refused), ValueError."""
        self._clean = clean_session
        self._close_sock()
        sp = self._open(self._timeout if timeout is None else timeout)
        self._started = True
        self._delay = 0
        return sp

    # disconnect(): send DISCONNECT (the will is not published) and close; no
    # reconnect follows until connect() is called again.
    disconnect = _setup("disconnect")

    def isconnected(self):
        return self._connected

    def _the_modem(self):
        return self._modem or _socket._the_modem()

    def _open_socket(self, timeout):
        m = self._the_modem()
        m.at.secret(self.pswd)  # the CONNECT packet carries it: never in a trace
        if not m.isconnected():
            m.reconnect()
        if self._tls is not None:
            from cellmodem.tls import open_socket
            return open_socket(m, self.server, self.port, timeout / 1000, *self._tls)
        s = _socket.socket(modem=m)
        try:
            s.settimeout(timeout / 1000)
            s.connect((m.resolve(self.server), self.port))
        except BaseException:
            s.close()
            raise
        return s

    # One attempt: socket, CONNECT, CONNACK within timeout ms, then the session
    # restored (resubscribed, the unacknowledged sent again); whether the broker kept it.
    _open = _setup("open_session")

    def _close_sock(self):
        s = self.sock
        self.sock = None
        if s is not None:
            try:
                s.close()
            except (OSError, ModemError):
                pass

    def _lost(self, exc):
        """The connection failed (exc): close it; the next call reconnects."""
        self._close_sock()
        self._ping_at = None
        if self._connected:
            self._connected = False
            self._status(DISCONNECTED, exc)

    def _reconnect(self, budget):
        """Make the connection usable: nothing to do when connected; otherwise
        attempt and keep attempting for budget ms (cellmodem._mqttrare.reconnect)."""
        if not self._connected:
            _rare("reconnect")(self, budget)

    # ---- publish ----
    def publish(self, topic, msg, retain=False, qos=0):
        """Publish msg (bytes/str) to topic; returns when the QoS handshake is done
        (QoS 0: when sent). If the connection fails it reconnects and sends again
        (DUP), for up to retry_for ms; offline after that, the message is held for
        later if the queue has room, else OSError (ENOMEM when the heap has no room
        to keep a QoS 1/2 message). ValueError for bad input."""
        topic = topic_name(topic)
        msg = message(msg)
        check_qos(qos)
        retain = bool(retain)
        pid = 0
        e = None
        if qos:
            if not isinstance(msg, bytes):
                msg = bytes(msg)  # kept for a resend: the caller may reuse its buffer
            pid = self._new_pid()
            e = [qos, 0, topic, msg, retain, -1]
            try:
                self._inflight[pid] = e
            except MemoryError:  # messages held through a long outage filled the heap
                raise OSError(errno.ENOMEM, "MQTT: no heap left to keep the message")
        start = ticks_ms()
        while True:
            try:
                self._reconnect(self._retry_for)
            except OSError as exc:
                return self._hold(pid, topic, msg, retain, exc)
            try:
                if not qos:
                    self._send_publish(topic, msg, retain, 0, 0, False)
                    return None
                if e[_SENT_ON] != self._gen:
                    self._send_entry(pid, e)
                self._wait(lambda: pid not in self._inflight, self._timeout,
                           "PUBACK" if qos == 1 else "PUBCOMP")
                return None
            except MQTTException:
                self._inflight.pop(pid, None)
                raise
            except (OSError, ModemError) as exc:
                self._lost(exc)
                if not (self._auto and self._started) \
                        or ticks_diff(ticks_ms(), start) > self._retry_for:
                    return self._hold(pid, topic, msg, retain, exc)

    _hold = _lazy("hold")  # offline: queue the message or raise

    def _send_entry(self, pid, e):
        dup = e[_SENT_ON] != -1
        e[_SENT_ON] = self._gen
        if e[_STATE]:
            self._send_small(_PUBREL, pid)
        else:
            self._send_publish(e[_TOPIC], e[_MSG], e[_RETAIN], e[_QOS], pid, dup)

    # ---- subscriptions ----
    # subscribe(topic, qos=0, callback=None): subscribe to a filter (+ and # allowed);
    # callback(topic, msg), if given, gets the messages matching it instead of
    # set_callback's. topic may also be a list of (filter, qos). Returns the granted
    # QoS (a list for a list). Raises MQTTException(0x80) if the broker refuses,
    # OSError when offline, ValueError for a bad filter or QoS.
    subscribe = _setup("subscribe")

    # Stop a subscription (its route goes too). topic may be a list.
    unsubscribe = _lazy("unsubscribe")

    # ---- without waiting (the asyncio face, cellmodem.aio, awaits the answers) ----
    # publish_nowait(topic, msg, retain=False, qos=0): send a PUBLISH and return at
    # once: its packet id (0 for QoS 0); is_pending(pid) stays True until the
    # handshake is done (a reconnect sends it again). Raises OSError(ENOTCONN) when
    # not connected, ValueError for bad input.
    publish_nowait = _lazy("publish_nowait")

    def is_pending(self, pid):
        return pid in self._inflight

    # subscribe_nowait(topic, qos=0, callback=None): send a SUBSCRIBE and return a job
    # for subscribe_done(job): None while the SUBACK has not come; then the granted
    # QoS as subscribe() returns it (the subscription recorded for reconnects).
    # MQTTException(0x80) if refused.
    subscribe_nowait = _lazy("subscribe_nowait")
    subscribe_done = _lazy("subscribe_done")

    # ---- receiving ----
    def wait_msg(self):
        """Block until one packet from the broker has been handled (messages go to
        the callbacks); keeps the connection alive and restores it meanwhile. Returns
        None after a message, else the packet type (as umqtt.simple)."""
        while True:
            try:
                self._reconnect(None)
                op = self._read_packet(self._tick())
                if op is not None:
                    return None if op == _PUBLISH else op
            except (OSError, ModemError) as e:
                self._lost(e)
                if not self._auto or not self._started:
                    raise _oserror(e)

    def check_msg(self):
        """Handle everything the broker has sent, without waiting; sends PINGREQ when
        due and tries a reconnect when one is due. Returns None."""
        try:
            if not self._connected:
                if ticks_diff(self._next_try, ticks_ms()) > 0 and self._started and self._auto:
                    _rare("pause")(self, 0)
                    return None
                self._reconnect(0)
            self._tick()
            while self._read_packet(0) is not None:
                pass
        except (OSError, ModemError) as e:
            self._lost(e)
            if not self._auto or not self._started:
                raise _oserror(e)
        return None

    def ping(self):
        """Send PINGREQ (the keepalive does this by itself when keepalive > 0)."""
        self._io(self._send_ping)

    # ---- internals ----
    def _io(self, fn):
        """Run fn on a live connection; on a failure reconnect and run it again, for up
        to retry_for ms. Raises OSError when offline, MQTTException as the broker says."""
        start = ticks_ms()
        while True:
            self._reconnect(self._retry_for)
            try:
                return fn()
            except MQTTException:
                raise
            except (OSError, ModemError) as e:
                self._lost(e)
                if not (self._auto and self._started) \
                        or ticks_diff(ticks_ms(), start) > self._retry_for:
                    raise _oserror(e)

    def _wait(self, cond, timeout, what):
        deadline = ticks_add(ticks_ms(), timeout)
        while not cond():
            if not self._connected:
                raise OSError(errno.ENOTCONN, "connection lost waiting for %s" % what)
            left = ticks_diff(deadline, ticks_ms())
            if left <= 0:
                raise OSError(errno.ETIMEDOUT, "no %s within %d ms" % (what, timeout))
            self._read_packet(min(left, self._tick()))

    def _tick(self):
        """Keepalive (MQTT 3.1.1 3.1.2.10): PINGREQ after keepalive/2 without traffic
        either way; no answer within another keepalive/2 means the link is dead (a
        cellular link can vanish without a FIN), found within one keepalive. Returns
        the ms until it has something to do (a long wait if never)."""
        if not self.keepalive:
            return 1000
        now = ticks_ms()
        half = self.keepalive * 500
        if self._connected:
            if self._ping_at is None:
                if max(ticks_diff(now, self._last_tx), ticks_diff(now, self._last_rx)) >= half:
                    self._send_ping()
            elif ticks_diff(now, self._ping_at) >= half:
                raise _fail(_DEAD, half)
        if self._ping_at is not None:
            return max(1, half - ticks_diff(now, self._ping_at))
        return max(1, half - max(ticks_diff(now, self._last_tx), ticks_diff(now, self._last_rx)))

    def _send_ping(self):
        self._send_small(_PINGREQ, None)
        self._ping_at = ticks_ms()

    def _new_pid(self):
        pid = self.pid
        while True:
            pid = pid % 65535 + 1
            if pid not in self._inflight:
                self.pid = pid
                return pid

    def _need(self, n):
        # The write buffer grows only for a packet longer than any before
        # (a long CONNECT or SUBSCRIBE); PUBLISH payloads are sent from the caller's buffer.
        if n > len(self._wbuf):
            self._wbuf = bytearray(n)
            self._wmv = memoryview(self._wbuf)
        return len(self._wbuf)

    def _write(self, data):
        if self.sock is None:
            raise OSError(errno.ENOTCONN, "MQTT is not connected")
        self.sock.settimeout(self._timeout / 1000)
        self.sock.write(data)
        self._last_tx = ticks_ms()

    def _send_small(self, op, pid):
        s = self._small
        s[0] = op
        if pid is None:
            s[1] = 0
            self._write(self._smv[:2])
        else:
            s[1] = 2
            s[2] = pid >> 8
            s[3] = pid & 255
            self._write(self._smv[:4])

    def _send_publish(self, topic, msg, retain, qos, pid, dup):
        n = 2 + len(topic) + (2 if qos else 0) + len(msg)
        op = _PUBLISH | qos << 1 | (1 if retain else 0) | (8 if dup else 0)
        head = 5 + 2 + len(topic) + 2
        if head > len(self._wbuf):
            self._need(head)
        w = self._wbuf
        i = _header(w, 0, op, n, len(w))
        i = _put_str(w, i, topic)
        if qos:
            w[i] = pid >> 8
            w[i + 1] = pid & 255
            i += 2
        if i + len(msg) <= len(w):  # small message: one write, one module command
            w[i:i + len(msg)] = msg
            self._write(self._wmv[:i + len(msg)])
        else:
            self._write(self._wmv[:i])
            self._write(msg)

    def _recv(self, mv, timeout):
        """Fill mv from the socket; OSError on EOF or when timeout ms pass."""
        s = self.sock
        s.settimeout(timeout / 1000)
        got = 0
        n = len(mv)
        while got < n:
            k = s.recv_into(mv[got:])
            if not k:
                raise OSError(errno.ECONNRESET, "the broker closed the connection")
            got += k
        self._last_rx = ticks_ms()

    def _read_packet(self, wait):
        """Handle one packet if one starts within wait ms; its type, or None."""
        s = self.sock
        if s is None:
            raise OSError(errno.ENOTCONN, "MQTT is not connected")
        s.settimeout(wait / 1000)
        try:
            k = s.recv_into(self._smv[:1])
        except OSError as e:
            if e.args[0] in (errno.EAGAIN, errno.ETIMEDOUT):
                return None
            raise
        if not k:
            raise OSError(errno.ECONNRESET, "the broker closed the connection")
        first = self._small[0]
        # Remaining length: up to 4 bytes of 7 bits, least significant first (2.2.3)
        n = 0
        shift = 0
        while True:
            self._recv(self._smv[1:2], self._timeout)
            b = self._small[1]
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
            if shift > 21:
                raise _fail(_BAD_LENGTH)
        self._last_rx = ticks_ms()
        self._ping_at = None  # anything from the broker shows the link is alive
        op = first & 0xF0
        if op == _PUBLISH:
            self._on_publish(first, n)
            return op
        if n > 2 and op != _SUBACK or n < 2 and op != _PINGRESP or n and op == _PINGRESP:
            raise _fail(_MALFORMED, first, n)
        if n:
            self._recv(self._rmv[:n], self._timeout)
        b = self._rbuf
        pid = b[0] << 8 | b[1] if n >= 2 else 0
        if op == _PUBACK or op == _PUBCOMP:
            self._inflight.pop(pid, None)
        elif op == _PUBREC:
            e = self._inflight.get(pid)
            if e is not None:
                e[_STATE] = 1
            self._send_small(_PUBREL, pid)
        elif op == 0x60:  # PUBREL: the QoS 2 message we delivered is released
            self._q2rx.discard(pid)
            self._send_small(_PUBCOMP, pid)
        elif op == _SUBACK or op == _UNSUBACK:
            self._ack = (pid, bytes(self._rmv[2:n]))
        elif op == _CONNACK:
            self._connack = (b[0] & 1, b[1])
        elif op != _PINGRESP:
            raise _fail(_UNEXPECTED, first)
        return op

    def _on_publish(self, first, n):
        qos = first >> 1 & 3
        rb = self._rbuf
        size = len(rb)
        head = min(n, size)
        self._recv(self._rmv[:head], self._timeout)
        tl = rb[0] << 8 | rb[1] if head >= 2 else 0
        i = 2 + tl
        pid = 0
        if qos:
            pid = rb[i] << 8 | rb[i + 1] if i + 2 <= head else 0
            i += 2
        if qos == 3 or i > n or (qos and not pid):
            raise _fail(_BAD_PUBLISH)
        if n > size:  # too big to hold: drained, acknowledged, counted, reported
            _rare("drop")(self, n, i, tl, head)
        elif not (qos == 2 and pid in self._q2rx):  # a QoS 2 resend is not delivered twice
            self._deliver(bytes(self._rmv[2:2 + tl]), bytes(self._rmv[i:n]))
            if qos == 2:
                self._q2rx.add(pid)
        if qos == 1:
            self._send_small(_PUBACK, pid)
        elif qos == 2:
            self._send_small(_PUBREC, pid)


def _header(buf, i, op, n, size):
    """Write the fixed header (type, remaining length n) at buf[i]; returns the index
    after it. ValueError for a packet over the protocol's 268435455 bytes."""
    if n > 268435455:
        raise _fail(_TOO_LONG, n)
    buf[i] = op
    i += 1
    while True:
        b = n & 0x7F
        n >>= 7
        buf[i] = b | 0x80 if n else b
        i += 1
        if not n:
            return i


def _put_str(buf, i, s):
    n = len(s)
    buf[i] = n >> 8
    buf[i + 1] = n & 255
    buf[i + 2:i + 2 + n] = s
    return i + 2 + n


def _oserror(e):
    if isinstance(e, OSError):
        return e
    return OSError(errno.EIO, str(e))
