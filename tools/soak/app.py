"""The fault soak's application (MicroPython; python -m tools.soak runs it).

Run: micropython -m soak_app <tty> <dialect> <rx_mode> <seed> <seconds> <host>
                             <echo port> <broker port> <http port> <lat> <lon>

For <seconds> it keeps three things going over one modem, the way a device would:
- TCP: a stream of seeded pseudo-random bytes (stream_byte) to the host's echo/verify
  server; every echoed byte is checked. A connection error (or end of stream) means
  reconnect and resume from the last verified byte, announced by the line
  "S <offset>\\n" the server reads first.
- MQTT: cellmodem.mqtt.MQTTClient (reconnect=True, clean_session=False) publishes
  numbered QoS 1 messages to soak/<seed>/up and takes numbered QoS 1 messages from
  soak/<seed>/down.
- HTTP: a GET of /hello every few seconds through cellmodem.requests, body checked.
- SMS: the messages the host has the network deliver (sms_text(n): short GSM 7-bit,
  UCS2, and every 4th a concatenated 3-part one), taken with cellmodem.sms as +CMTI
  announces them (or listen() finds them after a restart, or sms.check() every 15 s
  when line noise ate the +CMTI), each checked whole.
- GNSS, where the family has a receiver: a fix every GNSS_EVERY ms, checked against
  the position the host gave (on a SIM7080 each fix pauses the data link).
Then it drains: no new data; the echo stream verified to its end, "UPEND <n>"
published, until the host's peer says "END <m>" (all it published) and "ACKALL"
(all n arrived), and the host's last SMS, "SOAKEND <k>", said how many it sent and
all k arrived; or a minute passes.

Supply warnings and power downs (the modem's on_power callback, where the library
has it) are counted and logged ("POWER <event> <line>"): the module keeps running
after a warning, and after a power down the library treats it as the restart it is
(sockets fail, the next reconnect() syncs again), which the loops below already
recover from. Socket errors are handled where a device would handle them
(reconnect); anything else that reaches the main loop is counted by type and its
traceback printed ("ESCAPED ..."). Heap: gc.collect(); gc.mem_alloc() after warm-up
and at the end, both with the TCP stream and MQTT connected and nothing else open,
each after "NAMES before|after" and micropython.qstr_info()'s line (the names table).
Prints "READY" once everything is up the first time and finally "REPORT <json>".

stream_byte is plain Python: the host imports it from here to verify the stream.
"""

WINDOW = 2048  # echo bytes in flight at most (below the 4096-byte receive ring)
CHUNK = 512  # bytes per write
HTTP_EVERY = 3000  # ms
PUB_EVERY = 500  # ms
WARM_MS = 15000  # heap "before" taken at the first all-up moment after this
DRAIN_MS = 60000
STALL_MS = 20000  # no echo progress with bytes in flight: the connection is dead
DOWN_MAX = 65536  # down message numbers the bitmap holds
RECOV_MAX = 4096  # recovery times kept for the median
HTTP_BODY = b"hello world\n"
SMS_EVERY = 1000  # ms between reads of the next announced SMS
SMS_CHECK_EVERY = 15000  # ms between checks of the store (a +CMTI lost to line noise)
SMS_MAX = 4096  # SMS numbers the bitmap holds
GNSS_EVERY = 20000  # ms between fixes
GNSS_RETRY = 5000  # ms after a fix that failed (a fault in the middle of it)


def stream_byte(i, seed):
    """Byte i of the seeded stream (small-int arithmetic on a 64-bit MicroPython)."""
    x = (i * 40503 + seed * 7919 + 12345) & 0x7FFFFFFF
    x ^= x >> 13
    x = (x * 0x5BD1E995) & 0x7FFFFFFF
    x ^= x >> 15
    return x & 0xFF


def sms_text(n):
    """The text of the soak's n-th SMS: every 4th a concatenated 3-part GSM 7-bit text
    (the host delivers its parts of 153 characters), every 3rd other UCS2, else a
    short GSM 7-bit one. Plain Python: the host imports it too."""
    if n % 4 == 0:
        return "SOAK %d " % n + "a long text in three parts; " * 15
    if n % 3 == 0:
        return "SOAK %d Gr\u00fc\u00dfe \u4e2d\u6587" % n
    return "SOAK %d ok" % n


def main(argv):
    import errno
    import gc
    import micropython
    import sys
    from array import array

    from cellmodem.compat import ticks_ms, ticks_diff, sleep_ms
    from cellmodem.errors import ModemError
    from cellmodem.httpbase import HTTPError
    from cellmodem.modem import Modem
    from cellmodem.mqtt import MQTTClient
    from cellmodem.ports import open_serial
    import cellmodem.requests as requests
    import cellmodem.socket as msock
    # The library loads the code of rare paths on first use (reconnect with backoff,
    # the texts of errors): once loaded it stays, a fixed cost and no growth. Loaded
    # here, so the heap criterion sees leaks only, whether the first fault of a path
    # falls before or after the warm-up measurement. cellmodem.power too: a supply
    # power-down URC (the brownout fault) loads it for the port's gate. (Not ident:
    # this program never calls it. With these, about 210 KiB of the 64-bit binary's
    # heap is in use once all is up, and at 256k a fragmented heap refused a 1 KiB
    # block: the soak runs with 320k.)
    import cellmodem._rare, cellmodem._mqttrare, cellmodem._httprare  # noqa: F401
    import cellmodem.power  # noqa: F401
    import cellmodem.smspdu  # noqa: F401  (read with every SMS; loaded now likewise)
    from cellmodem import gnss
    from cellmodem.sms import SMS

    tty, dialect, mode = argv[0], argv[1], argv[2]
    seed, seconds = int(argv[3]), int(argv[4])
    host = argv[5]
    echo_port, broker_port, http_port = int(argv[6]), int(argv[7]), int(argv[8])
    where = (float(argv[9]), float(argv[10]))  # the simulated receiver's position

    st = {  # every counter exists from the start: no dict growth while measuring
        "tcp_sent": 0, "tcp_resent": 0, "tcp_verified": 0, "tcp_corrupted": 0,
        "tcp_corrupt_events": 0, "tcp_errors": 0, "tcp_eof": 0, "tcp_stalls": 0,
        "tcp_connects": 0,
        "mqtt_sent": 0, "mqtt_refused": 0, "mqtt_received": 0, "mqtt_dup_received": 0,
        "mqtt_disconnects": 0, "mqtt_end": -1, "mqtt_garbled": 0, "mqtt_ackall": 0,
        "http_ok": 0, "http_fail": 0, "http_bad_body": 0,
        "net_reconnects": 0, "net_reconnect_fail": 0,
        "recoveries": 0, "recover_min": -1, "recover_max": -1,
        "rec_tcp": 0, "rec_mqtt": 0, "rec_http": 0,
        "heap_before": -1, "heap_after": -1, "heap_after_state": "",
        "power_callback": 0, "power_under": 0, "power_over": 0, "power_down": 0,
        "drained": 0, "elapsed_ms": 0,
        "sms_received": 0, "sms_dup": 0, "sms_bad": 0, "sms_errors": 0, "sms_end": -1,
        "gnss_fixes": 0, "gnss_wrong": 0, "gnss_errors": 0, "gnss": 1,
    }
    escaped = {}
    recov = array("I", bytes(4 * RECOV_MAX))
    down_seen = bytearray(DOWN_MAX // 8)
    sms_seen = bytearray(SMS_MAX // 8)
    sendbuf = bytearray(CHUNK)
    sendmv = memoryview(sendbuf)
    rbuf = bytearray(1024)
    rmv = memoryview(rbuf)

    def recovered(kind, ms):
        i = st["recoveries"]
        if i < RECOV_MAX:
            recov[i] = ms
        st["recoveries"] = i + 1
        st[kind] += 1
        if st["recover_min"] < 0 or ms < st["recover_min"]:
            st["recover_min"] = ms
        if ms > st["recover_max"]:
            st["recover_max"] = ms

    T0 = [ticks_ms()]  # log times are ms since READY
    modem = Modem(open_serial(tty), dialect=dialect, sockets=3)  # TCP, MQTT, HTTP at once

    def on_power(event, line):
        # a device would log it (a brownout's first sign) and keep going
        key = "power_" + event
        if key in st:
            st[key] += 1
        print("POWER %s %s at %d ms" % (event, line, ticks_diff(ticks_ms(), T0[0])))

    if hasattr(modem, "on_power"):  # the library reports supply events (issue 19 item 8)
        modem.on_power = on_power
        st["power_callback"] = 1
    modem.connect(apn="internet", rx_mode=mode)
    net = {"next": 0}

    def ensure_net():
        """The PDP context went (network drop, modem restart): bring it back, as a
        device would before opening a socket. False while it cannot."""
        if modem.isconnected():
            return True
        if ticks_diff(ticks_ms(), net["next"]) < 0:
            return False
        try:
            modem.reconnect()
            st["net_reconnects"] += 1
            return True
        except (OSError, ModemError):  # documented failures of connect()
            st["net_reconnect_fail"] += 1
            net["next"] = ticks_ms() + 1000
            return False

    # ---------------------------------------------------------------- TCP stream
    class Tcp:
        def __init__(self):
            self.s = None
            self.sent = 0  # stream offset sent on this connection
            self.high = 0  # highest offset ever sent
            self.next_try = ticks_ms()
            self.progress = ticks_ms()
            self.down_at = None

        def fail(self, e, what="tcp_errors"):
            st[what] += 1
            print("TCP %s %s at %d ms" % (what, e, ticks_diff(ticks_ms(), T0[0])))
            s, self.s = self.s, None
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
            if self.down_at is None:
                self.down_at = ticks_ms()
            self.next_try = ticks_ms() + 300

        def open(self):
            s = msock.socket()
            try:
                s.settimeout(15)
                s.connect((host, echo_port))
                s.write(b"S %d\n" % st["tcp_verified"])
                s.settimeout(0)
            except OSError:
                try:
                    s.close()
                except OSError:
                    pass
                raise
            self.s = s
            self.sent = st["tcp_verified"]
            self.progress = ticks_ms()
            st["tcp_connects"] += 1
            if self.down_at is not None:
                recovered("rec_tcp", ticks_diff(ticks_ms(), self.down_at))
                self.down_at = None

        def step(self, sending):
            if self.s is None:
                if ticks_diff(ticks_ms(), self.next_try) < 0 or not ensure_net():
                    return
                try:
                    self.open()
                except OSError as e:
                    self.fail(e)
                    return
            s = self.s
            try:
                if sending and self.sent - st["tcp_verified"] < WINDOW:
                    n = CHUNK
                    off = self.sent
                    for k in range(n):
                        sendbuf[k] = stream_byte(off + k, seed)
                    s.settimeout(15)
                    s.write(sendmv[:n])
                    s.settimeout(0)
                    self.sent = off + n
                    if self.sent > self.high:
                        st["tcp_sent"] += self.sent - max(self.high, off)
                        st["tcp_resent"] += max(0, min(self.high, self.sent) - off)
                        self.high = self.sent
                    else:
                        st["tcp_resent"] += n
                try:
                    got = s.recv_into(rbuf)
                except OSError as e:
                    if e.args[0] != errno.EAGAIN:
                        raise
                    got = None
                if got == 0:
                    return self.fail(None, "tcp_eof")
                if got:
                    self.check(got)
                elif self.sent > st["tcp_verified"] and \
                        ticks_diff(ticks_ms(), self.progress) > STALL_MS:
                    self.fail(None, "tcp_stalls")
            except OSError as e:
                self.fail(e)

        def check(self, got):
            v = st["tcp_verified"]
            room = self.sent - v
            for k in range(got):
                if k >= room or rbuf[k] != stream_byte(v + k, seed):
                    st["tcp_corrupted"] += got - k
                    st["tcp_corrupt_events"] += 1
                    print("CORRUPT at", v + k, "got", bytes(rmv[k:min(got, k + 16)]),
                          "in flight", room)
                    st["tcp_verified"] = v + k
                    return self.fail(None, "tcp_errors")
            st["tcp_verified"] = v + got
            self.progress = ticks_ms()

    # ---------------------------------------------------------------- MQTT
    up_topic = "soak/%d/up" % seed
    down_topic = "soak/%d/down" % seed
    mq = {"down_at": None, "next_pub": ticks_ms()}

    down_b = down_topic.encode()

    def number(b):
        # what the peer sends is checked before use, as a device checks its input
        return int(b) if 0 < len(b) < 10 and b.isdigit() else -1

    def on_msg(topic, msg):
        if topic != down_b:
            st["mqtt_garbled"] += 1
            print("MQTT garbled message", topic[:40], msg[:40])
            return
        if msg == b"ACKALL":
            st["mqtt_ackall"] = 1
            return
        if msg.startswith(b"END ") and number(msg[4:]) >= 0:
            st["mqtt_end"] = number(msg[4:])
            return
        n = number(msg)
        if n < 0:
            st["mqtt_garbled"] += 1
            print("MQTT garbled message", topic[:40], msg[:40])
        elif 0 < n < DOWN_MAX:
            bit = 1 << (n & 7)
            if down_seen[n >> 3] & bit:
                st["mqtt_dup_received"] += 1
            else:
                down_seen[n >> 3] |= bit
                st["mqtt_received"] += 1

    def on_status(status, detail):
        if status == "connected":  # detail: session present, not whether it connected
            detail = "(session kept)" if detail else "(new session)"
        print("MQTT %s %s at %d ms" % (status, detail, ticks_diff(ticks_ms(), T0[0])))
        if status == "disconnected":
            st["mqtt_disconnects"] += 1
            if mq["down_at"] is None:
                mq["down_at"] = ticks_ms()
        elif status == "connected" and mq["down_at"] is not None:
            recovered("rec_mqtt", ticks_diff(ticks_ms(), mq["down_at"]))
            mq["down_at"] = None

    c = MQTTClient("soak-app-%d" % seed, host, broker_port, keepalive=30, modem=modem,
                   reconnect=True, queue=200)
    c.set_callback(on_msg)
    c.set_status_callback(on_status)
    c.connect(clean_session=False)
    c.subscribe(down_topic, qos=1)

    def mqtt_step(sending):
        if sending and ticks_diff(ticks_ms(), mq["next_pub"]) >= 0:
            mq["next_pub"] = ticks_ms() + PUB_EVERY
            n = st["mqtt_sent"] + st["mqtt_refused"] + 1
            try:
                c.publish(up_topic, b"%d" % n, qos=1)
                st["mqtt_sent"] += 1
            except OSError as e:  # offline and the queue is full: documented
                st["mqtt_refused"] += 1
                print("MQTT refused", n, e)
        c.check_msg()

    # ---------------------------------------------------------------- HTTP
    url = "http://%s:%d/hello" % (host, http_port)
    hp = {"next": ticks_ms(), "down_at": None}

    def http_step():
        if ticks_diff(ticks_ms(), hp["next"]) < 0:
            return
        hp["next"] = ticks_ms() + HTTP_EVERY
        if not ensure_net():
            return
        try:
            r = requests.get(url, timeout=10)
            try:
                body = r.content
                status = r.status_code
            finally:
                r.close()
        except (OSError, HTTPError) as e:  # link lost, truncated body: documented
            st["http_fail"] += 1
            print("HTTP failed %r at %d ms" % (e, ticks_diff(ticks_ms(), T0[0])))
            if hp["down_at"] is None:
                hp["down_at"] = ticks_ms()
            return
        if status != 200 or body != HTTP_BODY:
            st["http_bad_body"] += 1
            print("HTTP bad answer", status, body[:64])
            return
        st["http_ok"] += 1
        if hp["down_at"] is not None:
            recovered("rec_http", ticks_diff(ticks_ms(), hp["down_at"]))
            hp["down_at"] = None

    # ---------------------------------------------------------------- SMS and GNSS
    sms = SMS(modem)
    sx = {"next": ticks_ms(), "check": ticks_ms() + SMS_CHECK_EVERY, "gnss_next": ticks_ms() + GNSS_RETRY}

    def sms_step():
        if ticks_diff(ticks_ms(), sx["next"]) < 0:
            return
        sx["next"] = ticks_ms() + SMS_EVERY
        try:
            if not sms.pending and ticks_diff(ticks_ms(), sx["check"]) >= 0:
                # the garbage and no-line-end faults can eat a +CMTI, as noise on a
                # real line does: look in the store now and then
                sx["check"] = ticks_ms() + SMS_CHECK_EVERY
                sms.check()
            m = sms.receive()
        except (OSError, ModemError, ValueError) as e:  # a fault in the middle: documented
            st["sms_errors"] += 1
            print("SMS failed %r at %d ms" % (e, ticks_diff(ticks_ms(), T0[0])))
            return
        if m is None:
            return
        t = m.text
        if t.startswith("SOAKEND "):
            st["sms_end"] = int(t[8:])
            return
        try:
            n = int(t.split(" ")[1])
        except (IndexError, ValueError):
            n = -1
        if not 0 < n < SMS_MAX or t != sms_text(n):
            st["sms_bad"] += 1
            print("SMS wrong", repr(t[:80]))
            return
        if sms_seen[n >> 3] & (1 << (n & 7)):
            st["sms_dup"] += 1
            return
        sms_seen[n >> 3] |= 1 << (n & 7)
        st["sms_received"] += 1

    def gnss_step():
        if not st["gnss"] or ticks_diff(ticks_ms(), sx["gnss_next"]) < 0:
            return
        sx["gnss_next"] = ticks_ms() + GNSS_EVERY
        try:
            f = gnss.fix(modem, timeout=20000)
            gnss.stop(modem)
        except OSError as e:
            if e.args[0] == errno.EOPNOTSUPP:
                st["gnss"] = 0  # no receiver in this family
                return
            st["gnss_errors"] += 1
            sx["gnss_next"] = ticks_ms() + GNSS_RETRY
            print("GNSS failed %r at %d ms" % (e, ticks_diff(ticks_ms(), T0[0])))
            return
        except ModemError as e:
            st["gnss_errors"] += 1
            sx["gnss_next"] = ticks_ms() + GNSS_RETRY
            print("GNSS failed %r at %d ms" % (e, ticks_diff(ticks_ms(), T0[0])))
            return
        if abs(f.lat - where[0]) > 1e-5 or abs(f.lon - where[1]) > 1e-5:
            st["gnss_wrong"] += 1
            print("GNSS wrong", f.lat, f.lon)
        else:
            st["gnss_fixes"] += 1

    # ---------------------------------------------------------------- main loop
    tcp = Tcp()

    def escape(e):
        name = type(e).__name__
        escaped[name] = escaped.get(name, 0) + 1
        print("ESCAPED", name, e)
        sys.print_exception(e, sys.stdout)

    def all_up():
        # (no SMS waiting or held in parts: those are data, not a leak)
        return tcp.s is not None and c.isconnected() and not sms.pending and not sms.partial

    def heap(label):
        gc.collect()
        gc.collect()
        # MicroPython's table of names (qstrs) grows by doubling and never shrinks: a
        # name first interned after the warm-up (a module loaded for one use, a
        # character read from a reply) can make it take a new block of KiBs, which is
        # no leak. Its size goes to the host beside the heap ("qstr pool: ...").
        print("NAMES", label)
        micropython.qstr_info()
        return gc.mem_alloc()

    while tcp.s is None:  # the first connection, before any fault
        tcp.step(False)
    print("READY")
    t0 = T0[0] = ticks_ms()
    while ticks_diff(ticks_ms(), t0) < seconds * 1000:
        try:
            tcp.step(True)
            mqtt_step(True)
            http_step()
            sms_step()
            gnss_step()
            if st["heap_before"] < 0 and ticks_diff(ticks_ms(), t0) > WARM_MS and all_up():
                st["heap_before"] = heap("before")
            modem.poll(5)
        except Exception as e:
            escape(e)

    # ---------------------------------------------------------------- drain
    print("DRAIN", st["tcp_verified"], tcp.high)
    upend = False
    t1 = ticks_ms()
    while ticks_diff(ticks_ms(), t1) < DRAIN_MS:
        try:
            if not upend:
                c.publish(up_topic, b"UPEND %d" % (st["mqtt_sent"] + st["mqtt_refused"]), qos=1)
                upend = True
            # resend what a lost connection took, but nothing new
            tcp.step(tcp.sent < tcp.high)
            mqtt_step(False)
            sms_step()
            done = (st["tcp_verified"] >= tcp.high and st["mqtt_ackall"]
                    and st["mqtt_end"] >= 0 and st["mqtt_received"] >= st["mqtt_end"]
                    and st["sms_end"] >= 0 and st["sms_received"] >= st["sms_end"])
            if done and all_up():
                st["drained"] = 1
                break
            modem.poll(5)
        except Exception as e:
            escape(e)
    st["elapsed_ms"] = ticks_diff(ticks_ms(), t0)
    st["heap_after_state"] = "all up" if all_up() else "tcp %s mqtt %s" % (
        tcp.s is not None, c.isconnected())
    st["heap_after"] = heap("after")
    if st["heap_before"] < 0:  # never all up after warm-up: measure now, say so
        st["heap_before"] = st["heap_after"]
        st["heap_after_state"] += " (no warm-up measurement)"
    missing = []
    for n in range(1, max(0, st["mqtt_end"]) + 1):
        if n < DOWN_MAX and not down_seen[n >> 3] & (1 << (n & 7)):
            missing.append(n)
    times = sorted(recov[i] for i in range(min(st["recoveries"], RECOV_MAX)))
    st["recover_median"] = times[len(times) // 2] if times else -1
    st["sms_missing"] = [n for n in range(1, max(0, st["sms_end"]) + 1)
                         if not sms_seen[n >> 3] & (1 << (n & 7))][:50]
    st["mqtt_down_missing"] = missing[:50]
    st["mqtt_down_missing_count"] = len(missing)
    st["tcp_high"] = tcp.high
    st["escaped"] = escaped
    st["mqtt_reconnects"] = c.reconnects
    st["bad_urcs"] = getattr(modem.at.engine, "bad_urcs", -1)
    import json
    print("REPORT", json.dumps(st))
    try:
        c.disconnect()
    except (OSError, ModemError):
        pass


if __name__ == "__main__":
    import sys
    main(sys.argv[1:])
