"""Coming back from the board's deep sleep without a full bring-up: the module stayed
powered (idle, or in PSM) and kept its registration and data context, so after a
wake the library needs only what the board forgot. A few bytes of state (in a file,
or in RTC memory) say what that was: the family, the receive mode, the address the
context had, and the module's connections still open when the board went to sleep
(they are closed on resume, so their ids are free; an MQTT client with
clean_session=False then takes its broker session up again on a new connection).

Usage (every wake of a sensor that sleeps between reports):
    from cellmodem import resume
    modem = Modem(uart, dialect="quectel")      # AT, ATE0, AT+CMEE=2
    resumed = resume.resume(modem, "/cm.state", apn="internet")
    c = MQTTClient("sensor-1", "broker.example", keepalive=1200)
    c.connect(clean_session=False)              # the broker kept the session
    c.publish("sensors/1", reading, qos=1)
    resume.save(modem, "/cm.state")             # then machine.deepsleep(...)
"""
_MAGIC = "cm1"


def state(modem):
    """The state to keep across the board's sleep (bytes, under 100), for RTC memory
    (machine.RTC().memory(...)) or a file (save())."""
    ids = ",".join([str(i) for i in sorted(modem.links)])
    return ("%s|%s|%s|%s|%s" % (_MAGIC, modem.dialect.NAME, modem.rx_mode or "",
                                modem.ip or "", ids)).encode()


def save(modem, path):
    """Write state(modem) to the file path."""
    with open(path, "wb") as f:
        f.write(state(modem))


def _load(saved):
    # saved: bytes from state(), a file name, or None; None when unusable
    if isinstance(saved, str):
        try:
            with open(saved, "rb") as f:
                saved = f.read()
        except OSError:
            return None
    if not saved:
        return None
    try:
        parts = bytes(saved).decode().split("|")
    except (UnicodeError, TypeError):
        return None
    if len(parts) != 5 or parts[0] != _MAGIC or parts[2] not in ("", "buffered", "push"):
        return None
    for i in parts[4].split(",") if parts[4] else ():
        if not i.isdigit() or len(i) > 2:
            return None  # not what state() writes: a damaged file
    return parts


def resume(modem, saved, apn="", user=None, password=None, timeout=60000):
    """Bring modem's data link back after the board slept: with the state saved
    before the sleep (bytes from state(), or a file name from save()), no SIM or
    registration checks and the module's context reused (Modem.connect(resume=True));
    without it (no file, another family, garbage), or when the module did not keep
    its context, a full connect(). The module's connections from before the sleep
    are closed. Returns True when the module still had the context with the same
    address (the session resumed), False when it was brought up anew (also when the
    module restarted meanwhile: it answered with echo on, Modem.fresh). Raises what
    Modem.connect raises."""
    s = _load(saved)
    # a module that answered the first AT with its echo restarted since ATE0 was set
    # (Modem.sync): it holds nothing of before
    if s is None or s[1] != modem.dialect.NAME or modem.fresh:
        modem.connect(apn, user, password, timeout)
        return False
    ip = modem.connect(apn, user, password, timeout, s[2] or None, True)
    if s[4]:
        from cellmodem.sockets import Link, TCP
        d = modem.dialect
        for i in s[4].split(","):
            n = int(i)
            if n in modem.links:
                continue
            link = Link(TCP, 0)
            link.id = n
            link.open = True
            modem.links[n] = link
            try:
                d.sock_close(link)  # not ours any more: the id is free again
            except OSError:
                pass
            modem.links.pop(n, None)
    return ip == s[3]
