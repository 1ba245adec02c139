"""MQTT through the Yuge EC716S module's own MQTT client (manual ch.13, AT+M*).

The module holds one MQTT 3.1.1 connection: AT+MCONFIG (client id, user, password,
will), AT+MIPSTART / AT+SSLMIPSTART (TCP / TLS), AT+MCONNECT, then AT+MPUBEX,
AT+MSUB, AT+MUNSUB; results come as URCs (CONNECT OK, CONNACK OK, PUBACK, PUBREC,
PUBCOMP, SUBACK, UNSUBACK, ERROR, CLOSED) and messages as +MSUB. Same interface
as cellmodem.mqtt.MQTTClient (umqtt.simple's), so code moves between the two.

What the module cannot do, and how this client says so:
  * payloads over 2384 bytes (13.5): ValueError before anything is sent;
  * keepalive 0 (none): AT+MCONNECT takes 1-65535 s (13.3), so 0 is sent as 65535;
  * the CONNACK code of a refused connection, the granted QoS of a subscription and
    session present: the module reports only "ERROR" / "SUBACK" / "CONNACK OK"
    (13.3, 13.6). A refusal is MQTTException(-1); subscribe() returns the QoS asked
    for; connect() returns False;
  * a binary will, user or password: they go inside AT+MCONFIG's quotes (13.1), so
    quotes, backslashes, control and non-ASCII characters are a ValueError (also for
    topics, which go inside quotes in AT+MPUBEX/AT+MSUB);
  * TLS is AT+SSLMIPSTART (13.2) with SSL context 88 (9.7, 13.14): ssl=ModuleTLS(...)
    (cellmodem.tls; files stored with tls.cert_upload) sets context 88 from it at
    every connect (sslversion, seclevel, cacert, clientcert, clientkey, hostname);
    ssl=True leaves context 88 as the application set it (AT+SSLCFG, 13.14; unset:
    nothing verified). Anything else for ssl is a ValueError. The module reports a
    failed handshake as it reports a failed connection (CONNECT FAIL):
    OSError(ECONNABORTED, "TLS handshake failed: ...");
  * PINGREQ on demand: the module pings by itself; ping() asks AT+MQTTSTATU (13.13).
One client per modem: a second one takes the URCs over. A message whose topic holds
", <digits> byte," cannot be told from its header and is misread.

Usage:
    from cellmodem.native.yuge_mqtt import MQTTClient
    c = MQTTClient("dev1", "broker.example", modem=modem)   # modem.connect() done
    c.set_callback(lambda topic, msg: print(topic, msg))
    c.connect(); c.subscribe(b"cmd/#", 1); c.publish(b"state", b"\\x00\\r\\n", qos=1)
    while True: c.wait_msg()
"""
import errno

from cellmodem import modem as _modem
from cellmodem.compat import ticks_ms, ticks_diff, ticks_add
from cellmodem.errors import ATError, ATTimeout
from cellmodem.line import parse_int
from cellmodem.mqttbase import (MQTTBase, MQTTException, CONNECTED, DISCONNECTED,
                                topic_name, topic_filter, check_qos, message)
from cellmodem.validate import at_string, millis

MAX_PAYLOAD = 2384  # 13.5: AT+MPUBEX <len> 1~2384 ("只支持最大 2384 字节收发")
MAX_STR = 256  # 13.1/13.4/13.6: client id, user, password, topic: 256 bytes
MAX_WILL = 1360  # 13.1 <will_message>
_PROBE_MS = 1000  # no MIPSTART result this long: ask AT+MQTTSTATU (13.13)

# Result URCs (13.2-13.7), stored in self._ev as these very objects
_OK = b"CONNECT OK"
_FAIL = b"CONNECT FAIL"
_ALREADY = b"ALREADY CONNECT"
_CONNACK = b"CONNACK OK"
_PUBACK = b"PUBACK"
_PUBREC = b"PUBREC"
_PUBCOMP = b"PUBCOMP"
_SUBACK = b"SUBACK"
_UNSUBACK = b"UNSUBACK"
_ERROR = b"ERROR"
_CLOSED = b"CLOSED"
_WORDS = (_OK, _FAIL, _ALREADY, _CONNACK, _PUBACK, _PUBREC, _PUBCOMP, _SUBACK,
          _UNSUBACK, _ERROR)


def _discard(buf, off, n):
    pass


class MQTTClient(MQTTBase):
    """An MQTT client run by the module (manual ch.13).

    client_id, server, port (0: 1883, 8883 with ssl), user, password, keepalive (s),
    ssl (True or a cellmodem.tls.ModuleTLS: AT+SSLMIPSTART): as umqtt.simple; modem: a Modem with the yuge dialect
    whose data link is up (default: cellmodem.modem.current()); timeout: ms to wait
    for each answer (CONNECT OK, CONNACK, PUBACK, PUBCOMP, SUBACK, UNSUBACK);
    max_payload: largest message to publish, at most 2384; msgset: 0, the module
    pushes each message (AT+MQTTMSGSET=0), 1, it stores them and says "+MSUB: <n>",
    check_msg()/wait_msg() fetch them with AT+MQTTMSGGET (only the newest 4 are kept,
    13.8: poll often). Raises ValueError for bad settings (nothing is sent),
    OSError(ENOTCONN) without a modem."""

    def __init__(self, client_id, server, port=0, user=None, password=None, keepalive=0,
                 ssl=False, *, modem=None, timeout=10000, max_payload=MAX_PAYLOAD,
                 msgset=0):
        if ssl is not True and ssl is not False and not hasattr(ssl, "sni"):
            raise ValueError("ssl takes False, True or a cellmodem.tls.ModuleTLS: the "
                             "module's TLS is AT+SSLMIPSTART, certificates are AT+SSLCFG "
                             "context 88 (13.14)")
        super().__init__(client_id, server, port, user, password, keepalive, ssl)
        self._cid = at_string(self.client_id, "client_id", MAX_STR)
        self._server = at_string(server, "server", 255, empty=False)
        self._user = "" if user is None else at_string(self.user, "user", MAX_STR)
        self._pwd = "" if password is None else at_string(self.pswd, "password", MAX_STR, secret=True)
        if millis(timeout) <= 0:  # TypeError for a float or str (seconds by mistake)
            raise ValueError("timeout must be a positive int (ms), not %r" % (timeout,))
        if not isinstance(max_payload, int) or not 0 < max_payload <= MAX_PAYLOAD:
            raise ValueError("max_payload must be 1-%d (manual 13.5)" % MAX_PAYLOAD)
        if msgset not in (0, 1):
            raise ValueError("msgset must be 0 (pushed) or 1 (stored), not %r" % (msgset,))
        if modem is None:
            modem = _modem.current()
        if modem is None:
            raise OSError(errno.ENOTCONN, "no connected modem: pass modem= or call "
                                          "modem.connect() first")
        if getattr(modem.dialect, "NAME", None) != "yuge":
            raise ValueError("the native Yuge MQTT client needs a yuge modem, not %s"
                             % getattr(modem.dialect, "NAME", modem))
        if ssl is not True and ssl:
            from cellmodem.native.yuge_tls import level
            level(ssl)  # ValueError for a setting the module cannot do
        self.timeout = timeout
        self.max_payload = max_payload
        self.msgset = msgset
        self.dropped = 0  # messages over MAX_PAYLOAD the module announced, skipped
        self._modem = modem
        self._at = modem.at
        modem.at.secret(self._pwd)  # AT+MCONFIG carries it: never in a trace
        self._will = None  # (qos, retain, topic str, msg str) for AT+MCONFIG
        self._connected = False
        self._report = None  # DISCONNECTED detail to report outside the URC handlers
        self._ev = None  # the last result URC (one of _WORDS, or _CLOSED)
        self._want = None
        self._state = None  # "STATE: ..." before CONNECT FAIL (13.2)
        self._st = 0  # +MQTTSTATU <state>
        self._inbox = []  # (topic, payload) received, delivered by check/wait_msg
        self._stored = False  # "+MSUB: <n>": the module holds messages (13.9 mode 1)
        self._topic = None  # topic of the +MSUB header being read
        self._buf = None  # payload being read, and how much of it came
        self._pos = 0
        at = self._at
        for w in _WORDS:
            at.urc(w, self._on_result)
        at.urc(b"7,", self._on_link7)  # 13.2: "7,CONNECT OK" under AT+CIPMUX=1
        at.urc(b"STATE:", self._on_state)
        at.urc(_CLOSED, self._on_closed)
        # 13.9 mode 0 / 13.8: +MSUB: "<topic>",<len> byte,<payload> (13.14 prints the
        # length so); the payload may hold CR LF: read it counted, in raw mode
        at.inline(b"+MSUB: ", b",", self._on_msub_head)
        at.urc(b"+MSUB:", self._on_msub_stored)  # 13.9 mode 1: +MSUB: <store_addr>

    # ---- settings ----
    def set_last_will(self, topic, msg, retain=False, qos=0):
        """The will, sent in AT+MCONFIG (13.1) at the next connect(): topic and msg
        printable ASCII without quotes or backslashes, msg at most 1360 bytes;
        ValueError otherwise."""
        t = at_string(topic_name(topic), "will topic", MAX_STR)
        m = at_string(bytes(message(msg)), "will message (inside AT+MCONFIG quotes)", MAX_WILL)
        super().set_last_will(topic, msg, retain, qos)
        self._will = (self.lw_qos, 1 if self.lw_retain else 0, t, m)

    # ---- URC handlers (inside the engine: they only set state) ----
    def _on_result(self, line):
        for w in _WORDS:
            if line.startswith(w):
                self._ev = w
                return

    def _on_link7(self, line):
        i = 3 if len(line) > 2 and line.buf[line.start + 2] == 32 else 2
        for w in (_OK, _FAIL, _ALREADY):
            if line.startswith(w, i):
                self._ev = w
                return

    def _on_state(self, line):
        self._state = line.str()

    def _on_closed(self, line):
        # 13.14: CLOSED when the TCP link breaks; AT+MQTTSTATU then says 0. After a
        # refusal (ERROR, 13.3) the broker hangs up: the ERROR is the news.
        if self._ev is not _ERROR:
            self._ev = _CLOSED
        if self._connected:
            self._connected = False
            self._report = OSError(errno.ECONNABORTED, "CLOSED: the broker or the "
                                   "network ended the MQTT connection")

    def _on_statu(self, line):
        self._st = line.int(0, 0)  # "+MQTTSTATU :1" (13.13)

    def _on_msub_stored(self, line):
        self._stored = True

    def _on_msub_head(self, line):
        # the header up to the first comma: the topic, or its first part
        self._topic = bytes(line.buf[line.start + 7:line.end])
        self._at.inline(b"", b",", self._on_msub_part)

    def _on_msub_part(self, line):
        # the next comma-ended piece: "<len> byte" (or "<len>", the 13.8 table form),
        # or more of a topic that holds commas
        buf = line.buf
        s = line.start
        e = line.end
        t = self._topic
        q = t[:1] == b'"'
        if not q or len(t) > 1 and t[-1] == 34:
            j = e - 5 if e - s > 5 and buf.startswith(b" byte", e - 5) else e
            n = parse_int(buf, s, j, -1)
            if n >= 0:
                self._at.remove_urc(b"")
                self._topic = t[1:-1] if q else t
                self._buf = None
                self._pos = 0
                if n > MAX_PAYLOAD:
                    self.dropped += 1
                    self._at.engine.expect_raw(n, _discard)
                else:
                    self._buf = bytearray(n)
                    self._at.engine.expect_raw(n, self._sink, self._msg_done)
                return
        if len(t) > MAX_STR + 2:  # not a header we can read: stop looking
            self._at.remove_urc(b"")
            self.dropped += 1
            return
        self._topic = t + b"," + bytes(buf[s:e])

    def _sink(self, buf, off, n):
        self._buf[self._pos:self._pos + n] = buf[off:off + n]
        self._pos += n

    def _msg_done(self):
        self._inbox.append((self._topic, bytes(self._buf)))
        self._buf = None

    # ---- helpers ----
    def _settle(self):
        """Note a lost data link; report a loss the URC handlers saw."""
        if self._connected and self._modem.ip is None:
            self._connected = False
            self._report = OSError(errno.ECONNABORTED, "the modem lost its data link")
        r = self._report
        if r is not None:
            self._report = None
            self._status(DISCONNECTED, r)

    def _online(self):
        self._at.poll()  # a CLOSED may be waiting in the port
        self._settle()
        if not self._connected:
            raise OSError(errno.ENOTCONN, "MQTT: not connected")

    def _statu(self):
        """AT+MQTTSTATU (13.13): 0 offline, 1 connected, 2 TCP up without MQTT."""
        self._st = 0
        self._at.command("AT+MQTTSTATU", resp=b"+MQTTSTATU", on_line=self._on_statu)
        return self._st

    def _down(self, st, what):
        """MQTT is not up (AT+MQTTSTATU said st): note it, raise OSError(ENOTCONN)."""
        if self._connected:
            self._connected = False
            self._report = OSError(errno.ENOTCONN, "+MQTTSTATU :%d" % st)
        self._settle()
        raise OSError(errno.ENOTCONN, "%s (+MQTTSTATU :%d)" % (what, st))

    def _failed(self, e):
        """A command failed with e: OSError(ETIMEDOUT), ENOTCONN if AT+MQTTSTATU says
        MQTT is down, else EIO; the message is the module's answer."""
        if isinstance(e, ATTimeout):
            raise OSError(errno.ETIMEDOUT, str(e))
        st = self._statu()
        if st != 1:
            self._down(st, str(e))
        raise OSError(errno.EIO, str(e))

    def _has_ev(self):
        return self._ev is not None or self._modem.ip is None

    def _done(self):
        ev = self._ev
        return ev is self._want or ev is _ERROR or ev is _CLOSED or self._modem.ip is None

    def _wait(self, want, timeout, cmd):
        """Pump until the URC want; returns it or _ERROR. OSError(ETIMEDOUT) after
        timeout ms, OSError(ECONNABORTED) on CLOSED or a lost data link."""
        self._want = want
        try:
            self._at.wait_until(self._done, timeout, want.decode(), cmd)
        except ATTimeout:
            raise OSError(errno.ETIMEDOUT, "%s: no %s within %d ms"
                          % (cmd, want.decode(), timeout))
        ev = self._ev
        if ev is want or ev is _ERROR:
            return ev
        why = "CLOSED" if ev is _CLOSED else "the modem lost its data link"
        if self._connected:
            self._connected = False
            self._report = OSError(errno.ECONNABORTED, why)
        self._settle()
        raise OSError(errno.ECONNABORTED, "%s: %s before %s" % (cmd, why, want.decode()))

    def _close_tcp(self):
        try:
            self._at.command("AT+MIPCLOSE")  # 13.11
        except ATError:
            pass  # ERROR: no link to close (13.11), e.g. after CLOSED

    def _start_tcp(self, timeout):
        # 13.2: OK, then CONNECT OK / ALREADY CONNECT / [STATE: <s>] CONNECT FAIL
        cmd = 'AT+%sMIPSTART="%s",%d' % ("SSL" if self.ssl else "", self._server, self.port)
        for again in (True, False):
            self._ev = None
            self._state = None
            try:
                self._at.command(cmd)
            except ATError as e:
                raise OSError(errno.ECONNREFUSED, str(e))
            deadline = ticks_add(ticks_ms(), timeout)
            while self._ev is None:
                if self._modem.ip is None:
                    raise OSError(errno.ENOTCONN, "%s: the modem lost its data link" % cmd)
                left = ticks_diff(deadline, ticks_ms())
                if left <= 0:
                    self._close_tcp()
                    raise OSError(errno.ETIMEDOUT, "%s: no CONNECT OK within %d ms"
                                  % (cmd, timeout))
                try:
                    self._at.wait_until(self._has_ev, left if left < _PROBE_MS else _PROBE_MS)
                except ATTimeout:
                    # the result may be held back until the next reply; 13.13 state 2
                    # means the TCP link is up
                    if self._statu() == 2 and self._ev is None:
                        self._ev = _OK
            ev = self._ev
            if ev is _OK:
                return
            if ev is _ALREADY and again:
                self._close_tcp()  # a link from an earlier session: start afresh
                continue
            detail = ev.decode() if self._state is None else self._state + " " + ev.decode()
            if self.ssl and ev is _FAIL:
                # 13.2 has no result of its own for a failed handshake
                raise OSError(errno.ECONNABORTED, "TLS handshake failed: %s: %s (or no "
                              "connection: the module does not say which)" % (cmd, detail))
            raise OSError(errno.ECONNREFUSED, "%s: %s" % (cmd, detail))

    # ---- the interface ----
    def connect(self, clean_session=True, timeout=None):
        """AT+MCONFIG, AT+MIPSTART (or SSLMIPSTART), AT+MCONNECT (13.1-13.3); waits
        timeout ms (default self.timeout) for CONNECT OK and again for CONNACK OK.
        Returns False (the module does not report session present). Raises
        MQTTException(-1) if the broker refuses (13.3 gives only ERROR),
        OSError(ECONNREFUSED) with the module's STATE line if TCP fails, ETIMEDOUT,
        ENOTCONN without a data link, ATError if the module refuses a setting."""
        t = timeout or self.timeout
        if self._modem.ip is None:
            raise OSError(errno.ENOTCONN, "the modem has no data link: modem.connect() first")
        at = self._at
        if self._connected:
            try:
                at.command("AT+MDISCONNECT")  # 13.12: end the old session, no will
            except ATError:
                pass
        self._connected = False
        self._report = None
        self._stored = False
        at.remove_urc(b"")  # a +MSUB header cut short (module restart) reads no further
        at.command("AT+MQTTMSGSET=%d" % self.msgset)  # 13.9
        at.command("AT+MQTTMODE=0")  # 13.10: ASCII, no HEX decoding of our payloads
        cmd = 'AT+MCONFIG="%s","%s","%s"' % (self._cid, self._user, self._pwd)
        if self._will is not None:
            cmd += ',%d,%d,"%s","%s"' % self._will
        at.command(cmd)
        if self.ssl is not True and self.ssl:
            from cellmodem.native.yuge_tls import sslcfg
            sslcfg(at, 88, self.ssl, self._server)  # 9.7, 13.14
        self._start_tcp(t)
        # 13.14: MCONNECT right after CONNECT OK, or the server drops us
        cmd = "AT+MCONNECT=%d,%d" % (1 if clean_session else 0, self.keepalive or 65535)
        self._ev = None
        try:
            at.command(cmd)
            ev = self._wait(_CONNACK, t, cmd)
        except (ATError, OSError):
            self._close_tcp()
            raise
        if ev is _ERROR:
            self._close_tcp()
            raise MQTTException(-1, "%s: OK, then ERROR: the broker refused the connection "
                                    "(the module gives no CONNACK code, 13.3)" % cmd)
        self._connected = True
        self._status(CONNECTED, False)
        return False

    def disconnect(self):
        """AT+MDISCONNECT then AT+MIPCLOSE (13.12, 13.11): no will is sent."""
        was = self._connected
        self._connected = False
        self._report = None
        if was:
            try:
                self._at.command("AT+MDISCONNECT")
            except ATError:
                pass  # already offline
        self._close_tcp()
        if was:
            self._status(DISCONNECTED, "disconnect()")

    def isconnected(self):
        """True while the MQTT session is up, as far as the URCs read so far say."""
        self._at.poll()
        self._settle()
        return self._connected

    def ping(self):
        """The module sends PINGREQ by itself every keepalive (13.3) and has no command
        for one: this asks AT+MQTTSTATU (13.13). OSError(ENOTCONN) unless it says 1."""
        self._at.poll()
        try:
            st = self._statu()
        except (ATError, ATTimeout) as e:
            raise OSError(errno.ETIMEDOUT if isinstance(e, ATTimeout) else errno.EIO, str(e))
        if st != 1:
            self._down(st, "AT+MQTTSTATU: 0 offline, 2 no MQTT session (13.13)")

    def publish(self, topic, msg, retain=False, qos=0):
        """Publish msg (bytes, any values; str as UTF-8) with AT+MPUBEX (13.5: the
        module takes exactly <len> bytes after ">"); blocks until PUBACK (qos 1) or
        PUBCOMP (qos 2), at most self.timeout ms. ValueError (nothing sent) for a bad
        topic or qos or a payload over max_payload; OSError(ENOTCONN) when offline,
        ETIMEDOUT, ECONNABORTED (CLOSED meanwhile), EIO with the module's words."""
        t = at_string(topic_name(topic), "topic", MAX_STR)
        qos = check_qos(qos)
        mv = message(msg)
        n = len(mv)
        if n > self.max_payload:
            raise ValueError("message of %d bytes: at most %d (AT+MPUBEX, manual 13.5)"
                             % (n, self.max_payload))
        self._online()
        r = 1 if retain else 0
        self._ev = None
        at = self._at
        try:
            if n:
                cmd = 'AT+MPUBEX="%s",%d,%d,%d' % (t, qos, r, n)
                # CR LF ends the command: after a lone CR the module swallows a
                # payload's leading LF (9.14 note, same AT parser)
                at.send_data(cmd, mv, eol=b"\r\n")
            else:
                # 13.5 <len> is 1~2384: an empty message is AT+MPUB's "" (13.4)
                cmd = 'AT+MPUB="%s",%d,%d,""' % (t, qos, r)
                at.command(cmd)
        except (ATError, ATTimeout) as e:
            self._failed(e)
        if qos:
            if self._wait(_PUBACK if qos == 1 else _PUBCOMP, self.timeout, cmd) is _ERROR:
                raise OSError(errno.EIO, "%s: ERROR" % cmd)

    def subscribe(self, topic, qos=0, callback=None):
        """AT+MSUB (13.6), waits for SUBACK. callback(topic, msg) takes the messages
        matching this filter (else set_callback's). Returns qos: the module does not
        report the granted QoS. MQTTException(0x80) if the broker refuses; ValueError,
        OSError as publish()."""
        f = topic_filter(topic)
        fs = at_string(f, "topic filter", MAX_STR)
        qos = check_qos(qos)
        self._online()
        cmd = 'AT+MSUB="%s",%d' % (fs, qos)
        self._ev = None
        try:
            self._at.command(cmd)
        except (ATError, ATTimeout) as e:
            self._failed(e)
        if self._wait(_SUBACK, self.timeout, cmd) is _ERROR:
            raise MQTTException(0x80, "%s: OK, then ERROR: the broker refused the "
                                      "subscription" % cmd)
        self._subs[f] = qos
        if callback is not None:
            self._route(f, callback)
        return qos

    def unsubscribe(self, topic):
        """AT+MUNSUB (13.7), waits for UNSUBACK; the filter's callback goes too."""
        f = topic_filter(topic)
        fs = at_string(f, "topic filter", MAX_STR)
        self._online()
        cmd = 'AT+MUNSUB="%s"' % fs
        self._ev = None
        try:
            self._at.command(cmd)
        except (ATError, ATTimeout) as e:
            self._failed(e)
        if self._wait(_UNSUBACK, self.timeout, cmd) is _ERROR:
            raise OSError(errno.EIO, "%s: OK, then ERROR" % cmd)
        self._unroute(f)

    def _fetch(self):
        # 13.8: prints the stored messages as +MSUB lines (read by _on_msub_*), then OK
        self._stored = False
        self._at.command("AT+MQTTMSGGET", resp=b"+MQTTMSGGET")

    def check_msg(self):
        """Deliver every message that has arrived, without waiting (fetching stored
        ones in msgset 1). OSError(ENOTCONN) afterwards if the connection is down."""
        self._at.poll()
        if self._stored:
            self._fetch()
        inbox = self._inbox
        while inbox:
            topic, msg = inbox.pop(0)
            self._deliver(topic, msg)
        self._settle()
        if not self._connected:
            raise OSError(errno.ENOTCONN, "MQTT: not connected")

    def wait_msg(self):
        """Block until one message has been delivered. OSError(ENOTCONN) if the
        connection is or goes down first."""
        at = self._at
        while True:
            if self._inbox:
                topic, msg = self._inbox.pop(0)
                self._deliver(topic, msg)
                return
            if self._stored:
                self._fetch()
                continue
            self._settle()
            if not self._connected:
                raise OSError(errno.ENOTCONN, "MQTT: not connected")
            if at.idle:
                at.idle()
            at.poll(100)
