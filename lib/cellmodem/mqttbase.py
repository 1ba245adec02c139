"""What the two MQTT clients share: the error, input checks, topic filters, callbacks.

cellmodem.mqtt (MQTT 3.1.1 over the modem's sockets) and cellmodem.native.yuge_mqtt
(the Yuge module's own MQTT commands) both subclass MQTTBase, so an application can
move from one to the other without changing its code; both keep the interface of
micropython-lib's umqtt.simple.MQTTClient.

Usage: topic_matches(b"sensors/+/temp", b"sensors/k1/temp")  # -> True
"""
from cellmodem.compat import const
from cellmodem.errors import ModemError

# Status reported to set_status_callback(f): f(status, detail).
CONNECTED = "connected"  # detail: True if the broker kept the session
DISCONNECTED = "disconnected"  # detail: the OSError or reason (str)
RECONNECTING = "reconnecting"  # detail: attempt number (1, 2, ...)
OFFLINE = "offline"  # reconnect gave up for now; detail: the last error
DROPPED = "dropped"  # a message over max_payload; detail: (topic bytes, payload bytes)

# The ValueError texts for bad input live in cellmodem._mqttrare (BAD), loaded with
# the first one raised: index in BAD
_NOT_STR = const(0)
_EMPTY = const(1)
_LONG = const(2)
_NUL = const(3)
_QOS = const(4)
_MESSAGE = const(5)
_SERVER = const(6)
_PORT = const(7)
_PASSWORD = const(8)
_KEEPALIVE = const(9)
_WILDCARD = const(10)
_FILTER = const(11)


def _bad(n, *args):
    from cellmodem._mqttrare import BAD
    return ValueError(BAD[n] % args)


class MQTTException(ModemError):
    """The broker refused something. args[0] is the code, as umqtt.simple gives it:
    the CONNACK return code (1-5), or 0x80 for a subscription the broker refused."""

    def __init__(self, code, text=None):
        if text is None:
            from cellmodem._mqttrare import CONNACK  # the texts of the return codes
            text = CONNACK[code] if 0 < code < len(CONNACK) else "refused (%d)" % code
        self.code = code
        self.text = text
        super().__init__(code, text)

    def __str__(self):
        return "MQTT: %s (%d)" % (self.text, self.code)


def utf8(value, what, maxlen=65535, empty=False):
    """value (str, bytes, bytearray) as bytes, or ValueError: MQTT strings are UTF-8,
    at most 65535 bytes, with no U+0000 (MQTT 3.1.1 section 1.5.3)."""
    if isinstance(value, str):
        value = value.encode()
    elif isinstance(value, (bytearray, memoryview)):
        value = bytes(value)
    elif not isinstance(value, bytes):
        raise _bad(_NOT_STR, what, type(value).__name__)
    if not value and not empty:
        raise _bad(_EMPTY, what)
    if len(value) > maxlen:
        raise _bad(_LONG, what, maxlen)
    if b"\x00" in value:
        raise _bad(_NUL, what)
    return value


def topic_name(topic):
    """A topic to publish to, as bytes; ValueError if empty or holding + or #."""
    t = utf8(topic, "topic")
    if b"+" in t or b"#" in t:
        raise _bad(_WILDCARD, t)
    return t


def topic_filter(filt):
    """A subscription filter as bytes; ValueError unless + and # stand alone in their
    level and # is last (MQTT 3.1.1 section 4.7.1)."""
    f = utf8(filt, "topic filter")
    n = len(f)
    for i in range(n):
        c = f[i]
        if c == 35 or c == 43:  # "#" or "+"
            if i and f[i - 1] != 47 or i + 1 < n and f[i + 1] != 47 or c == 35 and i != n - 1:
                raise _bad(_FILTER, f)
    return f


def check_qos(qos):
    if qos not in (0, 1, 2) or isinstance(qos, bool):
        raise _bad(_QOS, qos)
    return qos


def message(msg):
    """A payload as something with the buffer protocol (str as UTF-8); ValueError else."""
    if isinstance(msg, (bytes, bytearray, memoryview)):
        return msg
    if isinstance(msg, str):
        return msg.encode()
    raise _bad(_MESSAGE, type(msg).__name__)


def topic_matches(filt, topic):
    """True if topic (bytes) matches the subscription filter (bytes) with + and #
    (MQTT 3.1.1 section 4.7): "a/#" matches "a" and "a/b/c"; "+/b" matches "x/b";
    wildcards at the start never match topics beginning with "$"."""
    from cellmodem._mqttrare import topic_matches  # loaded with the first route
    return topic_matches(filt, topic)


class MQTTBase:
    """Settings, callbacks and subscriptions common to both clients.

    client_id: str or bytes; server: host name or IPv4; port: 0 for 1883 (8883 with
    ssl); keepalive: seconds (0: none). Raises ValueError for bad settings."""

    def __init__(self, client_id, server, port=0, user=None, password=None, keepalive=0,
                 ssl=False):
        self.client_id = utf8(client_id, "client_id", empty=True)
        if not isinstance(server, str) or not server:
            raise _bad(_SERVER)
        self.server = server
        if not port:
            port = 8883 if ssl else 1883
        if not isinstance(port, int) or not 1 <= port <= 65535:
            raise _bad(_PORT, port)
        self.port = port
        self.user = None if user is None else utf8(user, "user", empty=True)
        self.pswd = None if password is None else message(password)
        if self.pswd is not None and self.user is None:
            raise _bad(_PASSWORD)
        if not isinstance(keepalive, int) or not 0 <= keepalive <= 65535:
            raise _bad(_KEEPALIVE, keepalive)
        self.keepalive = keepalive
        self.ssl = ssl
        self.cb = None
        self.lw_topic = None
        self.lw_msg = None
        self.lw_qos = 0
        self.lw_retain = False
        self._subs = {}  # filter (bytes) -> qos, restored after a reconnect
        self._routes = []  # [filter (bytes), callback] for subscribe(..., callback=)
        self._on_status = None

    def set_callback(self, f):
        """f(topic, msg) for every message (bytes, bytes) no route claims."""
        self.cb = f

    def set_status_callback(self, f):
        """f(status, detail) on CONNECTED, DISCONNECTED, RECONNECTING, OFFLINE and
        DROPPED (a message too big for the receive buffer: acknowledged, not
        delivered)."""
        self._on_status = f

    def set_last_will(self, topic, msg, retain=False, qos=0):
        """The message the broker publishes if this client vanishes without
        disconnect(); takes effect at the next connect()."""
        self.lw_topic = topic_name(topic)
        self.lw_msg = bytes(message(msg))
        self.lw_qos = check_qos(qos)
        self.lw_retain = bool(retain)

    def _status(self, status, detail=None):
        if self._on_status:
            self._on_status(status, detail)

    def _route(self, filt, callback):
        for r in self._routes:
            if r[0] == filt:
                r[1] = callback
                return
        self._routes.append([filt, callback])

    def _unroute(self, filt):
        self._subs.pop(filt, None)
        for r in self._routes:
            if r[0] == filt:
                self._routes.remove(r)
                return

    def _deliver(self, topic, msg):
        for filt, callback in self._routes:
            if callback is not None and topic_matches(filt, topic):
                callback(topic, msg)
                return
        if self.cb:
            self.cb(topic, msg)
