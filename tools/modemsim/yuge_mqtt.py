"""Yuge EC716S native MQTT (manual ch.13 AT+M*): a mixin the yuge personality inherits
(tools/modemsim/yuge.py: `class Yuge(YugeHTTP, YugeMQTT)`).

Source: /work/shared/manuals/yuge-ec716s-cat1-at-manual-zh.txt, cited "manual 13.x".
The simulated module speaks REAL MQTT 3.1.1 (packets encoded here, stdlib socket; TLS
for AT+SSLMIPSTART with the stdlib ssl module, configured from AT+SSLCFG context 88 as
module_tls() below says) to a real broker on 127.0.0.0/8; names resolve through the
simulator's `hosts` table, never real DNS.

Module TLS (shared with AT+CIPSSL=1 + AT+CIPSTART in yuge.py): module_tls(ctx, host)
reads AT+SSLCFG context ctx (manual 9.7): "seclevel" (unset: 0, nothing verified, as
the 13.14 flow without certificates; 1: the server's chain against the "cacert" file
of the module's file system (ch.8), then its dates (unless "ignorelocaltime" is 1)
and its name ("hostname" if set, else the server as given to the connect command);
2: as 1, and "clientcert"/"clientkey" are presented when the server asks),
"sslversion" (0 SSL 3.0 - Python has none, TLS 1.0 instead - 1 TLS 1.0, 2 TLS 1.1,
3 TLS 1.2, 4/unset all of them up to TLS 1.2), "hostname" (sent as SNI),
"negotiatetimeout" (10-300 s, default 10 here). Any failure - a file that is missing
or no certificate/key, a chain the CA does not sign, an expired certificate, another
name, a refused client certificate - is the manual's CONNECT FAIL (9.9, 13.2 give no
other result); the simulator's log says which.
A reader thread per connection hands each packet to the simulator under its lock.

Reply shapes, as the manual prints them:
  AT+MIPSTART=<addr>,<port>  OK, then `CONNECT OK` (AT+CIPMUX=1: `7, CONNECT OK`),
                             `ALREADY CONNECT`, or `STATE: <state>` + `CONNECT FAIL`
  AT+MCONNECT=<clean>,<ka>   OK, then `CONNACK OK` (or a bare `ERROR` URC on refusal)
  AT+MPUB / AT+MPUBEX        OK (qos 0); OK, PUBACK (qos 1); OK, PUBREC, PUBCOMP (qos 2)
  AT+MSUB / AT+MUNSUB        OK, then SUBACK / UNSUBACK
  incoming, MQTTMSGSET=0     `+MSUB: "<topic>",<len> byte,<payload>` (13.14)
  incoming, MQTTMSGSET=1     `+MSUB: <store_addr>`; AT+MQTTMSGGET prints
                             `+MSUB: <topic>,<len> byte,<payload>` (topic unquoted:
                             13.14 prints it so)
  peer/network closes        `CLOSED` (13.14 "TCP 断链")
  AT+MQTTSTATU               `+MQTTSTATU :<state>` (space before the colon, 13.13)

Options (merged into the personality's `defaults`, see __init_subclass__):
  mqtt_msgset_default  0: pushed messages after power-on. The 13.14 example gets
                       `+MSUB: 0` (cache mode) without setting AT+MQTTMSGSET=1 first;
                       1 reproduces that. The manual gives no default; 0 is what the
                       module family (Luat-style MQTT AT set) is publicly known to use.
  mqtt_link_space      None: follow the personality's `link_space` option (yuge.py:
                       one switch for every link-numbered result), True when there is
                       none. True: `7, CONNECT OK` in multi-link mode (real firmware
                       puts a space after the link number); False: `7,CONNECT OK` (the
                       13.2 text).
  mpubex_prompt        "\\r\\n>": 13.5 "首先返回一个>" (first a `>`).
  mpubex_gap_ms        5000: without <len>, MPUBEX data ends on 0x1A or after this
                       much silence between two pieces of data (13.5).
  mqtt_connect_ms      0: delay before the MIPSTART result URC (real networks: 0.1-10 s).
  The personality's `connect_result_in_reply` option (yuge.py), when set, also holds
  the MIPSTART result back until it comes out inside the next command's reply.
  mqtt_connack_ms      10000: no CONNACK within this time -> `ERROR` URC.
"""
import socket
import ssl
import threading

from .core import ModemSim, NetError, command
from .tlsclient import TLSFailure, check_name, client_context, expired

MQTT_DEFAULTS = {
    "mqtt_msgset_default": 0,
    "mqtt_link_space": None,
    "mpubex_prompt": "\r\n>",
    "mpubex_gap_ms": 5000,
    "mqtt_connect_ms": 0,
    "mqtt_connack_ms": 10000,
}

MQTT_LINK = 7  # 13.2: the link number MIPSTART reports under AT+CIPMUX=1
MAX_MSG = 2384  # 13.4/13.5: largest message MPUB/MPUBEX send
MAX_STR = 256  # 13.1/13.4: client id, user, password, topic
NSLOTS = 4  # 13.8: AT+MQTTMSGGET keeps the 4 newest messages

# MQTT 3.1.1 control packet types (OASIS spec section 2.2.1)
CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = \
    8, 9, 10, 11, 12, 13, 14


# ---------------------------------------------------------------- MQTT 3.1.1 encoding
def _varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(b):
    return len(b).to_bytes(2, "big") + b


def packet(ptype, flags, body=b""):
    return bytes([(ptype << 4) | flags]) + _varint(len(body)) + body


def connect_packet(client_id, user, pwd, clean, keepalive, will=None):
    flags = 0x02 if clean else 0
    payload = _str(client_id)
    if will:
        qos, retain, topic, msg = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        payload += _str(topic) + _str(msg)
    if user:
        flags |= 0x80
        payload += _str(user)
        if pwd:
            flags |= 0x40
            payload += _str(pwd)
    var = _str(b"MQTT") + bytes([4, flags]) + keepalive.to_bytes(2, "big")
    return packet(CONNECT, 0, var + payload)


def publish_packet(topic, payload, qos, retain, pid=0, dup=False):
    flags = (0x08 if dup else 0) | (qos << 1) | (1 if retain else 0)
    var = _str(topic) + (pid.to_bytes(2, "big") if qos else b"")
    return packet(PUBLISH, flags, var + payload)


def parse_packets(buf):
    """Take complete packets off the front of buf: list of (type, flags, body)."""
    out = []
    while len(buf) >= 2:
        n, mul, i = 0, 1, 1
        while True:
            if i >= len(buf):
                return out
            b = buf[i]
            n += (b & 0x7F) * mul
            mul *= 128
            i += 1
            if not b & 0x80:
                break
            if i > 4:
                raise ValueError("bad remaining length")
        if len(buf) < i + n:
            return out
        out.append((buf[0] >> 4, buf[0] & 0x0F, bytes(buf[i:i + n])))
        del buf[:i + n]
    return out


class MQTTLink:
    """The one MQTT connection of the module (MIPSTART .. MIPCLOSE)."""

    def __init__(self, host, port, tls):
        self.host = host
        self.port = port
        self.tls = tls
        self.sock = None
        self.connected = False  # TCP (and TLS) up
        self.state = 2  # 13.13 <state>: 0 offline, 1 MQTT session up, 2 TCP only
        self.closing = False  # we closed it (MDISCONNECT/MIPCLOSE): no CLOSED URC
        self.buf = bytearray()
        self.next_pid = 0
        self.pending = {}  # pid -> "pub1" | "pub2" | "sub" | "unsub"
        self.rx_qos2 = set()  # incoming QoS 2 ids waiting for PUBREL
        self.keepalive = 0
        self.connack_timer = None
        self.ping_timer = None
        self.wlock = threading.Lock()

    def pid(self):
        self.next_pid = self.next_pid % 65535 + 1
        return self.next_pid

    def send(self, data):
        if self.sock is None:
            return False
        try:
            with self.wlock:
                self.sock.sendall(data)
            return True
        except OSError:
            return False

    def shutdown(self):
        s, self.sock = self.sock, None
        self.connected = False
        for t in (self.connack_timer, self.ping_timer):
            if t:
                t.cancel()
        if s is not None:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass


class TLSPipe:
    """TLS over a plain socket through memory BIOs, so that the reader thread (recv)
    and the simulator (sendall, under its lock) never use one SSL object at the same
    time: every SSL call happens under self.lock, socket reads outside it."""

    def __init__(self, sock, ctx, sni):
        self.sock = sock
        self.lock = threading.Lock()
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=sni)
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                d = sock.recv(65536)
                if not d:
                    raise TLSFailure("handshake", "the server closed the connection")
                self.inc.write(d)
            except ssl.SSLError as e:
                try:
                    self._flush()  # the alert
                except OSError:
                    pass
                raise TLSFailure("handshake", getattr(e, "verify_message", None) or
                                 e.reason or str(e))
        self._flush()

    def _flush(self):
        d = self.out.read()
        if d:
            self.sock.sendall(d)

    def sendall(self, data):
        with self.lock:
            self.obj.write(data)
            self._flush()

    def recv(self, n):
        while True:
            with self.lock:
                try:
                    return self.obj.read(n)
                except ssl.SSLWantReadError:
                    pass
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    return b""
            d = self.sock.recv(65536)
            if not d:
                return b""
            with self.lock:
                self.inc.write(d)
                self._flush()

    def shutdown(self, how):
        self.sock.shutdown(how)

    def close(self):
        self.sock.close()


# AT+SSLCFG "sslversion" (9.7) -> (minimum, maximum) TLS version
_VERSIONS = {0: ("TLSv1", "TLSv1"), 1: ("TLSv1", "TLSv1"), 2: ("TLSv1_1", "TLSv1_1"),
             3: ("TLSv1_2", "TLSv1_2"), 4: (None, "TLSv1_2")}


def _unescape(msg):
    """13.4 ASCII mode: \\22 is ", \\0D CR, \\0A LF, \\5C backslash; nothing else is
    decoded (the manual lists exactly these four)."""
    out = bytearray()
    i = 0
    b = msg.encode("latin-1")
    table = {b"22": 0x22, b"0D": 0x0D, b"0A": 0x0A, b"5C": 0x5C}
    while i < len(b):
        if b[i] == 0x5C and b[i + 1:i + 3].upper() in table:
            out.append(table[b[i + 1:i + 3].upper()])
            i += 3
        else:
            out.append(b[i])
            i += 1
    return bytes(out)


class YugeMQTT(ModemSim):
    """AT+MCONFIG, AT+MIPSTART ... AT+MQTTSTATU (manual ch.13)."""

    defaults = dict(MQTT_DEFAULTS)

    def __init_subclass__(cls, **kw):
        # merge our options beneath whatever `defaults` the personality declares
        super().__init_subclass__(**kw)
        merged = dict(MQTT_DEFAULTS)
        merged.update(cls.defaults)
        cls.defaults = merged

    # ---------------------------------------------------------------- state
    def reset_state(self):
        old = getattr(self, "mq", None)
        if old is not None:
            old.closing = True
            old.shutdown()
        super().reset_state()
        self.mq = None  # MQTTLink
        self.mcfg = None  # (client_id, user, pwd, will) from AT+MCONFIG
        self.mqtt_mode = 0  # AT+MQTTMODE: 0 ASCII, 1 HEX
        self.msgset = self.opts.get("mqtt_msgset_default", 0)  # AT+MQTTMSGSET
        self.msg_slots = [None] * NSLOTS  # (seq, topic, payload) per store_addr
        self.msg_seq = 0

    def close(self):
        with self.lock:
            m = self.mq
            self.mq = None
            if m is not None:
                m.closing = True
                m.shutdown()
        super().close()

    def network_drop(self, cause="nw"):
        with self.lock:
            super().network_drop(cause)
            m = self.mq
            if m is not None and (m.connected or m.sock is not None):
                self._mq_lost(m)

    def _mux(self):
        # AT+CIPMUX belongs to the TCP/IP side (ch.9); read it if the personality has it
        return int(getattr(self, "cipmux", 0) or 0)

    def _link_prefix(self):
        space = self.opts["mqtt_link_space"]
        if space is None:
            space = self.opts.get("link_space", True)
        return "%d,%s" % (MQTT_LINK, " " if space else "")

    # ---------------------------------------------------------------- 13.1 MCONFIG
    @command("+MCONFIG")
    def at_mconfig(self, c):
        if c.kind == "test":
            return self.answer("+MCONFIG: <clientid>[,<username>,<password>[,(0-2),(0,1),"
                               "<will_topic>,<will_message>]]")
        if c.kind != "set":
            return self.error()
        n = len(c)
        if n not in (1, 3, 7):
            return self.error()
        cid = c.str(0, "")
        user = c.str(1, "") if n > 1 else ""
        pwd = c.str(2, "") if n > 1 else ""
        if max(len(cid), len(user), len(pwd)) > MAX_STR:
            return self.error()
        will = None
        if n == 7:
            qos, retain = c.int(3), c.int(4)
            topic, msg = c.str(5, ""), c.str(6, "")
            if qos not in (0, 1, 2) or retain not in (0, 1) or len(topic) > MAX_STR \
                    or len(msg) > 1360:
                return self.error()
            if topic:
                will = (qos, retain, topic.encode("latin-1"), msg.encode("latin-1"))
        self.mcfg = (cid.encode("latin-1"), user.encode("latin-1"),
                     pwd.encode("latin-1"), will)
        self.ok()

    # ---------------------------------------------------------------- module TLS
    def _ssl_file(self, ctx, key):
        name = self.sslcfg.get((key, ctx), "")
        try:
            f = self.fs.entries.get(self.fs.norm(name)) if name else None
        except Exception:
            f = None
        if not isinstance(f, bytearray):
            raise TLSFailure("config", "%s %r: no such file" % (key, name))
        return bytes(f)

    def module_tls(self, ctx, host):
        """(SSLContext, SNI, name to check or None, check dates) for AT+SSLCFG
        context ctx (see the module docstring). TLSFailure for unusable settings."""
        cfg = self.sslcfg

        def num(key, default):
            try:
                return int(cfg.get((key, ctx), default))
            except ValueError:
                return default
        level = num("seclevel", 0)
        ca = chain = None
        if level >= 1:
            ca = self._ssl_file(ctx, "cacert")
        if level >= 2 and cfg.get(("clientcert", ctx)):
            chain = (self._ssl_file(ctx, "clientcert"), self._ssl_file(ctx, "clientkey"))
        lo, hi = _VERSIONS.get(num("sslversion", 4), _VERSIONS[4])
        try:
            sc = client_context(ca, chain, lo and ssl.TLSVersion[lo], ssl.TLSVersion[hi],
                                check_time=False)
        except (ssl.SSLError, ValueError, UnicodeError) as e:
            raise TLSFailure("config", "certificate or key not usable: %s" % e)
        sni = cfg.get(("hostname", ctx)) or None
        name = (sni or host) if ca is not None else None
        return sc, sni, name, num("ignorelocaltime", 0) != 1

    def tls_refused(self, ts, name, dates):
        """Why the verified server certificate is refused (None: it is not)."""
        if name is None:
            return None
        cert = ts.getpeercert()
        if dates and expired(cert):
            return "the server's certificate has expired (or is not valid yet)"
        if not check_name(cert, name):
            return "the server's certificate is not for %s" % name
        return None

    def tls_timeout(self, ctx):
        try:
            t = int(self.sslcfg.get(("negotiatetimeout", ctx), 10))
        except ValueError:
            t = 10
        return min(300, max(10, t))

    # ---------------------------------------------------------------- 13.2 MIPSTART
    @command("+MIPSTART")
    def at_mipstart(self, c):
        self._mipstart(c, False)

    @command("+SSLMIPSTART")
    def at_sslmipstart(self, c):
        if c.kind == "set" and not self.opts.get("tls_firmware", True):
            # firmware built without TLS (the yuge personality's tls_firmware option)
            return self.error()
        self._mipstart(c, True)

    def _mipstart(self, c, tls):
        name = "+SSLMIPSTART" if tls else "+MIPSTART"
        if c.kind == "test":
            return self.answer('%s:"(0,255).(0,255).(0,255).(0,255)",(1-65535)' % name,
                               '%s:"DOMAIN NAME",(1-65535)' % name)
        if c.kind != "set" or len(c) != 2:
            return self.error()
        host = c.str(0)
        port = c.int(1)
        if not host or not 0 < port < 65536:
            return self.error()
        m = self.mq
        if m is not None:
            if m.connected:
                self.ok()
                # 13.2: "如果链接已经存在, 则上报: ALREADY CONNECT" (no link number,
                # in both modes)
                return self.urc("ALREADY CONNECT")
            if m.sock is None and not m.closing:
                return self.error()  # still connecting
            self.mq = None
        m = MQTTLink(host, port, tls)
        self.mq = m
        self.ok()
        self.after(max(1, self.opts["mqtt_connect_ms"]), self._mq_connect, m)

    def _mq_connect(self, m):
        if self.mq is not m:
            return
        state = "TCP CLOSED"
        bearer = getattr(self, "bearer_ip", None)  # YugeHTTP's view of bearer 1
        if not self.registered or self.cfun != 1 or (bearer and not bearer(1)):
            # 13.14: after +PDP DEACT, MQTT needs a PDP context again
            state = "PDP DEACT"
            sock = None
        else:
            sock = None
            try:
                ip = self.net.resolve(m.host)
                if m.tls:
                    # settings first: a missing file fails before any connection
                    sc, sni, name, dates = self.module_tls(88, m.host)
                sock = socket.create_connection((ip, m.port), timeout=5)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if m.tls:
                    # 13.2 AT+SSLMIPSTART with context 88 (9.7, 13.14): a real
                    # handshake, under the simulator lock (loopback: milliseconds)
                    sock.settimeout(self.tls_timeout(88))
                    tls = TLSPipe(sock, sc, sni)
                    why = self.tls_refused(tls.obj, name, dates)
                    if why:
                        raise TLSFailure("verify", why)
                    self.log("-- MQTT TLS %s %s" % (tls.obj.version(), tls.obj.cipher()[0]))
                    sock.settimeout(None)
                    sock = tls
                else:
                    sock.settimeout(None)
            except (NetError, OSError, ssl.SSLError, TLSFailure) as e:
                self.log("-- %s: %s" % ("SSLMIPSTART" if m.tls else "MIPSTART", e))
                if sock is not None:
                    sock.close()
                sock = None
        report = self.urc
        if self.opts.get("connect_result_in_reply"):
            # yuge.py option: the connection result comes out inside the next,
            # unrelated command's reply (as CIPSTART's does)
            report = self.urc_in_next_reply
        if sock is None:
            self.mq = None
            if self._mux():
                report(self._link_prefix() + "CONNECT FAIL")
            else:
                # 13.2: "STATE:<state>" then "CONNECT FAIL"; the state is spelled as
                # AT+CIPSTATUS spells it (ch.9: "STATE: <sl_state>", with a space)
                report("STATE: " + state)
                report("CONNECT FAIL")
            return
        m.sock = sock
        m.connected = True
        m.state = 2
        report((self._link_prefix() if self._mux() else "") + "CONNECT OK")
        threading.Thread(target=self._mq_reader, args=(m, sock), daemon=True,
                         name="modemsim-mqtt").start()

    def _mq_reader(self, m, sock):
        while True:
            try:
                data = sock.recv(65536)
            except (OSError, ValueError):
                data = b""
            with self.lock:
                if self.closed or self.mq is not m or m.sock is not sock:
                    return
                if not self.powered:  # AT+CPOWD: the module is off, so is the link
                    m.closing = True
                    m.shutdown()
                    self.mq = None
                    return
                if not data:
                    return self._mq_lost(m)
                m.buf += data
                try:
                    pkts = parse_packets(m.buf)
                except ValueError:
                    return self._mq_lost(m)
                for p in pkts:
                    try:
                        self._mq_packet(m, *p)
                    except Exception:
                        self.log_exc("mqtt packet")
                    if self.mq is not m:
                        return

    def _mq_lost(self, m):
        """The connection went away without being asked to (lock held)."""
        quiet = m.closing
        m.shutdown()
        m.state = 0
        if quiet:
            return  # the close that follows MDISCONNECT: MIPCLOSE still answers OK
        if self.mq is m:
            self.mq = None
        # 13.14: "CLOSED" when the TCP link breaks; AT+MQTTSTATU then says 0
        self.urc("CLOSED")

    # ---------------------------------------------------------------- packets in
    def _mq_packet(self, m, ptype, flags, body):
        if ptype == CONNACK:
            if m.connack_timer:
                m.connack_timer.cancel()
                m.connack_timer = None
            rc = body[1] if len(body) >= 2 else 255
            if rc == 0:
                m.state = 1
                self.urc("CONNACK OK")
                if m.keepalive:
                    self._mq_arm_ping(m)
            else:
                # 13.3: "如果连接失败则返回: ERROR" - a bare ERROR line as the URC
                self.urc("ERROR")
        elif ptype == PUBLISH:
            qos = (flags >> 1) & 3
            tl = int.from_bytes(body[:2], "big")
            topic = body[2:2 + tl]
            i = 2 + tl
            pid = 0
            if qos:
                pid = int.from_bytes(body[i:i + 2], "big")
                i += 2
            payload = body[i:]
            if qos == 1:
                m.send(packet(PUBACK, 0, pid.to_bytes(2, "big")))
            elif qos == 2:
                m.send(packet(PUBREC, 0, pid.to_bytes(2, "big")))
                if pid in m.rx_qos2:
                    return  # a resent QoS 2 message is delivered once only
                m.rx_qos2.add(pid)
            self._mq_deliver(topic, payload)
        elif ptype == PUBREL:
            pid = int.from_bytes(body[:2], "big")
            m.rx_qos2.discard(pid)
            m.send(packet(PUBCOMP, 0, body[:2]))
        elif ptype in (PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK):
            pid = int.from_bytes(body[:2], "big")
            kind = m.pending.get(pid)
            if ptype == PUBACK and kind == "pub1":
                del m.pending[pid]
                self.urc("PUBACK")
            elif ptype == PUBREC and kind == "pub2":
                m.pending[pid] = "rel"
                self.urc("PUBREC")
                m.send(packet(PUBREL, 2, body[:2]))
            elif ptype == PUBCOMP and kind == "rel":
                del m.pending[pid]
                self.urc("PUBCOMP")
            elif ptype == SUBACK and kind == "sub":
                del m.pending[pid]
                # 0x80 in the return code: the broker refused the subscription
                self.urc("ERROR" if 0x80 in body[2:] else "SUBACK")
            elif ptype == UNSUBACK and kind == "unsub":
                del m.pending[pid]
                self.urc("UNSUBACK")
        # PINGRESP and anything else: nothing to report

    def _mq_deliver(self, topic, payload):
        if self.msgset == 0:
            # 13.14: +MSUB: "mqtt/topic",9 byte,SSSSddddd - raw payload bytes, so the
            # host reads exactly <len> bytes after "byte,"
            self.urc(b'+MSUB: "' + topic + b'",' + str(len(payload)).encode()
                     + b" byte," + payload)
            return
        # 13.8/13.9 cache mode: the first free slot, else the oldest is overwritten
        self.msg_seq += 1
        free = [i for i, s in enumerate(self.msg_slots) if s is None]
        if free:
            slot = free[0]
        else:
            slot = min(range(NSLOTS), key=lambda i: self.msg_slots[i][0])
        self.msg_slots[slot] = (self.msg_seq, topic, payload)
        self.urc("+MSUB: %d" % slot)

    # ---------------------------------------------------------------- keepalive
    def _mq_arm_ping(self, m):
        # PINGREQ a little before each keepalive period ends (MQTT 3.1.1 3.1.2.10)
        ms = max(100, int(m.keepalive * 1000 * 0.75))
        m.ping_timer = self.after(ms, self._mq_ping, m)

    def _mq_ping(self, m):
        if self.mq is m and m.state == 1:
            m.send(packet(PINGREQ, 0))
            self._mq_arm_ping(m)

    # ---------------------------------------------------------------- 13.3 MCONNECT
    @command("+MCONNECT")
    def at_mconnect(self, c):
        if c.kind == "test":
            return self.answer("+MCONNECT:(0-1),(1-65535)")
        if c.kind != "set":
            return self.error()
        clean, ka = c.int(0), c.int(1)
        if clean not in (0, 1) or not 1 <= ka <= 65535:
            return self.error()
        m = self.mq
        # 13.3/13.14: only after CONNECT OK, with AT+MCONFIG done, and not twice
        if m is None or not m.connected or m.state != 2 or self.mcfg is None \
                or m.connack_timer is not None:
            return self.error()
        cid, user, pwd, will = self.mcfg
        m.keepalive = ka
        if not m.send(connect_packet(cid, user, pwd, clean, ka, will)):
            return self.error()
        self.ok()
        m.connack_timer = self.after(self.opts["mqtt_connack_ms"], self._mq_connack_late, m)

    def _mq_connack_late(self, m):
        if self.mq is m and m.state == 2:
            m.connack_timer = None
            self.urc("ERROR")

    # ---------------------------------------------------------------- 13.4/13.5 publish
    def _online(self):
        m = self.mq
        return m if m is not None and m.connected and m.state == 1 else None

    def _mq_publish(self, m, topic, payload, qos, retain):
        pid = m.pid() if qos else 0
        if qos:
            m.pending[pid] = "pub1" if qos == 1 else "pub2"
        if not m.send(publish_packet(topic, payload, qos, retain, pid)):
            m.pending.pop(pid, None)
            return False
        return True

    @command("+MPUB")
    def at_mpub(self, c):
        if c.kind == "test":
            return self.answer("+MPUB:<topic>,(0-2),(0-1),<message>")
        if c.kind != "set" or len(c) != 4:
            return self.error()
        topic, qos, retain = c.str(0), c.int(1), c.int(2)
        if not topic or len(topic) > MAX_STR or qos not in (0, 1, 2) or retain not in (0, 1):
            return self.error()
        msg = c.str(3, "")
        if self.mqtt_mode == 1:
            # 13.10 HEX mode: "313233" publishes the three bytes "123"
            try:
                payload = bytes.fromhex(msg)
            except ValueError:
                return self.error()
        else:
            payload = _unescape(msg)
        if len(payload) > MAX_MSG:
            return self.error()
        m = self._online()
        if m is None or not self._mq_publish(m, topic.encode("latin-1"), payload, qos,
                                             retain):
            return self.error()
        self.ok()

    @command("+MPUBEX")
    def at_mpubex(self, c):
        if c.kind == "test":
            return self.answer("+MPUBEX:<topic>,(0-2),(0-1),<len>")
        if c.kind != "set" or len(c) not in (3, 4):
            return self.error()
        topic, qos, retain = c.str(0), c.int(1), c.int(2)
        n = c.int(3, 0) if len(c) == 4 else 0
        if not topic or len(topic) > MAX_STR or qos not in (0, 1, 2) \
                or retain not in (0, 1) or not 0 <= n <= MAX_MSG:
            return self.error()
        if self._online() is None:
            return self.error()
        tb = topic.encode("latin-1")

        def done(data, reason):
            m = self._online()
            if m is None or len(data) > MAX_MSG or not self._mq_publish(m, tb, data, qos,
                                                                         retain):
                return self.error()
            self.ok()

        prompt = self.opts["mpubex_prompt"].encode("latin-1")
        if n:
            # 13.5 1): with <len>, data mode ends once <len> bytes are in
            return self.collect(done, n=n, prompt=prompt)
        # 13.5 2): without <len>, 0x1A ends the data, or 5 s of silence between two
        # pieces. Only 0x1A is special (no ESC cancel): the collector is fed through
        # our own function, and its timer restarts on every piece.
        self.collect(done, n=None, ctrlz=False, prompt=prompt,
                     timeout_ms=self.opts["mpubex_gap_ms"])
        col = self._collector
        if col is None:
            return
        gap = self.opts["mpubex_gap_ms"]

        def feed(data):
            if col.timer:
                col.timer.cancel()
            i = data.find(b"\x1a")
            if i >= 0:
                col.buf += data[:i]
                if len(col.buf) > MAX_MSG:
                    del col.buf[MAX_MSG + 1:]
                return data[i + 1:], "ctrlz"
            col.buf += data
            if len(col.buf) > MAX_MSG + 1:
                del col.buf[MAX_MSG + 1:]  # too long anyway: ends in ERROR
            col.timer = self.after(gap, self._collect_timeout, col)
            return None

        col.feed = feed

    # ---------------------------------------------------------------- 13.6/13.7 (un)sub
    @command("+MSUB")
    def at_msub(self, c):
        if c.kind == "test":
            return self.answer("+MSUB:<topic>,(0-2)")
        if c.kind != "set" or len(c) != 2:
            return self.error()
        topic, qos = c.str(0), c.int(1)
        if not topic or len(topic) > MAX_STR or qos not in (0, 1, 2):
            return self.error()
        m = self._online()
        if m is None:
            return self.error()
        pid = m.pid()
        m.pending[pid] = "sub"
        body = pid.to_bytes(2, "big") + _str(topic.encode("latin-1")) + bytes([qos])
        if not m.send(packet(SUBSCRIBE, 2, body)):
            return self.error()
        self.ok()

    @command("+MUNSUB")
    def at_munsub(self, c):
        if c.kind == "test":
            return self.answer("+MUNSUB:<topic>")
        if c.kind != "set" or len(c) != 1:
            return self.error()
        topic = c.str(0)
        if not topic or len(topic) > MAX_STR:
            return self.error()
        m = self._online()
        if m is None:
            return self.error()
        pid = m.pid()
        m.pending[pid] = "unsub"
        body = pid.to_bytes(2, "big") + _str(topic.encode("latin-1"))
        if not m.send(packet(UNSUBSCRIBE, 2, body)):
            return self.error()
        self.ok()

    # ---------------------------------------------------------------- 13.8/13.9 cache
    @command("+MQTTMSGGET")
    def at_mqttmsgget(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind == "read":
            return self.answer(*["+MQTTMSGGET: %d,%s" % (i, "INVALID" if s is None else
                                                         "VALID")
                                 for i, s in enumerate(self.msg_slots)])
        if c.kind != "exec":
            return self.error()
        # oldest first; afterwards every slot is INVALID (13.8)
        msgs = sorted(s for s in self.msg_slots if s is not None)
        self.msg_slots = [None] * NSLOTS
        for _, topic, payload in msgs:
            # 13.14 prints the topic without quotes here, unlike the pushed +MSUB
            self.reply(b"+MSUB: " + topic + b"," + str(len(payload)).encode() + b" byte,"
                       + payload)
        self.ok()

    @command("+MQTTMSGSET")
    def at_mqttmsgset(self, c):
        if c.kind == "test":
            return self.answer("+MQTTMSGSET:(0,1)")
        if c.kind == "read":
            return self.answer("+MQTTMSGSET:%d" % self.msgset)  # 13.9: no space
        if c.kind != "set":
            return self.error()
        mode = c.int(0)
        if mode not in (0, 1):
            return self.error()
        self.msgset = mode
        self.ok()

    @command("+MQTTMODE")
    def at_mqttmode(self, c):
        if c.kind == "test":
            return self.answer("+MQTTMODE: (0,1)")
        if c.kind == "read":
            return self.answer("+MQTTMODE: %d" % self.mqtt_mode)
        if c.kind != "set":
            return self.error()
        mode = c.int(0)
        if mode not in (0, 1):
            return self.error()
        self.mqtt_mode = mode
        self.ok()

    # ---------------------------------------------------------------- 13.11-13.13
    @command("+MDISCONNECT")
    def at_mdisconnect(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "exec":
            return self.error()
        m = self._online()
        if m is None:
            return self.error()
        m.send(packet(DISCONNECT, 0))
        # The broker closes the TCP link after DISCONNECT (MQTT 3.1.1 3.14.4): that
        # close is expected, no CLOSED URC. The session is offline (13.13 state 0)
        # and AT+MIPCLOSE still answers OK.
        m.closing = True
        m.state = 0
        if m.ping_timer:
            m.ping_timer.cancel()
        self.ok()

    @command("+MIPCLOSE")
    def at_mipclose(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "exec":
            return self.error()
        m = self.mq
        if m is None:
            return self.error()  # 13.11 "ERROR 失败": nothing to close
        m.closing = True
        m.shutdown()
        self.mq = None
        self.ok()

    @command("+MQTTSTATU")
    def at_mqttstatu(self, c):
        if c.kind == "test":
            return self.ok()
        if c.kind != "exec":
            return self.error()
        m = self.mq
        st = 0 if m is None or not m.connected else m.state
        # 13.13 and 13.14 both print a space before the colon: "+MQTTSTATU :0"
        self.answer("+MQTTSTATU :%d" % st)
