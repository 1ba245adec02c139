"""SMS on every family: send, and receive through +CMTI.

None of the project's manuals covers SMS; this follows 3GPP TS 27.005 and 23.040 and
the families' public behaviour (SIMCom, Quectel and Yuge modules all speak both
modes). A text that fits one message (160 characters of the GSM alphabet, or 70
UTF-16 units of anything else) goes in text mode (27.005 ch.3); a longer one as a
concatenated message of up to 255 parts in PDU mode (ch.4, cellmodem.smspdu), which
alone carries the parts' user data header. Messages are read in PDU mode, so any
alphabet and any sender come back exactly and the parts of a concatenated message
are joined again.

Usage:
    from cellmodem.sms import SMS
    sms = SMS(modem)
    sms.send("+491701234567", "Temperature 21.5 C")
    while True:
        msg = sms.receive()  # the next message announced by +CMTI, or None
        if msg:
            print(msg.sender, msg.text)
        modem.poll(1000)
"""
import errno

from cellmodem import modem as _modem
from cellmodem.compat import const, ticks_ms
from cellmodem.errors import ATError
from cellmodem.line import Line
from cellmodem.validate import at_string

MAX_GSM = 160  # characters of one GSM 7-bit message (23.038)
MAX_UCS2 = 70  # UTF-16 units of one UCS2 message
_PENDING_MAX = const(30)  # +CMTI indexes noted and not yet read (a SIM holds about 30)
# ASCII characters that the GSM 7-bit default alphabet has too (23.038 6.2.1), so
# AT+CSCS="IRA" sends them unchanged; anything else goes as UCS2. CR and LF too go as
# UCS2: typed after the "> " prompt, a CR makes many modules print another prompt
_GSM_PUNCT = "@$_!\"#%&'()*+,-./:;<=>? "


_STATUS = ("REC UNREAD", "REC READ", "STO UNSENT", "STO SENT")  # PDU mode <stat> 0-3
_LIST_STAT = {"REC UNREAD": 0, "REC READ": 1, "ALL": 4}  # AT+CMGL <stat> in PDU mode
_PART_GSM = const(153)  # septets of one part after its 6-octet header (23.040 9.2.3.24.1)
_PART_UCS2 = const(67)  # UTF-16 units of one part


class Message:
    """A received message: index (in the SIM's store; the first part's for a
    concatenated message), indexes (every part's), sender (str), time (the service
    centre's time stamp, "yy/MM/dd,hh:mm:ss+zz"), text (str), status ("REC UNREAD",
    "REC READ"), part ((reference, total, sequence) of one part as read(), None for
    a whole message)."""

    def __init__(self, index, status, sender, time, text, part=None):
        self.index = index
        self.indexes = (index,)
        self.status = status
        self.sender = sender
        self.time = time
        self.text = text
        self.part = part
        # what tells it (its parts, when joined) in the store from a later message
        self.keys = [(index, sender, time, part, hash(text))]

    def __repr__(self):
        return "Message(%d, %r, %r)" % (self.index, self.sender, self.text)


def number(value):
    """value (str or bytes) checked as a phone number: an optional leading '+' and
    1-20 digits; returned as str. TypeError for another type, ValueError otherwise
    (nothing reaches the UART)."""
    value = at_string(value, "phone number", 21, empty=False)
    d = value[1:] if value[:1] == "+" else value
    if not 0 < len(d) <= 20 or not all("0" <= c <= "9" for c in d):
        raise ValueError("phone number must be an optional + and 1-20 digits")
    return value


def _units(text):
    """UTF-16 code units of text (a character above U+FFFF takes two)."""
    return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


def _gsm(text):
    for c in text:
        if not ("a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9" or c in _GSM_PUNCT):
            return False
    return True


_HEX = const(b"0123456789ABCDEF")


def _ucs2(text):
    """text as 27.005 UCS2 hex (bytearray): four hex digits per UTF-16 code unit, one
    buffer for the whole text (no string per character)."""
    out = bytearray(4 * _units(text))
    i = 0
    for c in text:
        o = ord(c)
        if o > 0xFFFF:  # a surrogate pair
            o -= 0x10000
            units = (0xD800 + (o >> 10), 0xDC00 + (o & 0x3FF))
        else:
            units = (o,)
        for u in units:
            for shift in (12, 8, 4, 0):
                out[i] = _HEX[(u >> shift) & 15]
                i += 1
    return out


def ucs2_hex(text):
    """text as 27.005 UCS2 hex (str): four hex digits per UTF-16 code unit."""
    return _ucs2(text).decode()


def _unit(h, i):
    # the 4 hex digits at h[i:i+4] (bytes) as an int, parsed in place
    v = 0
    for k in range(i, i + 4):
        c = h[k]
        if 48 <= c <= 57:
            c -= 48
        elif 65 <= c <= 70:
            c -= 55
        elif 97 <= c <= 102:
            c -= 87
        else:
            raise ValueError("not UCS2 hex")
        v = v << 4 | c
    return v


def from_ucs2_hex(h):
    """The text of 27.005 UCS2 hex (str or bytes); ValueError if h is not that. One
    UTF-8 buffer, decoded once."""
    if isinstance(h, str):
        h = h.encode()
    if len(h) % 4:
        raise ValueError("UCS2 hex of odd length")
    out = bytearray(len(h) // 4 * 3)  # a unit is at most 3 UTF-8 bytes (a pair: 4 for 2)
    n = 0
    i = 0
    while i < len(h):
        o = _unit(h, i)
        i += 4
        if 0xD800 <= o < 0xDC00 and i < len(h):  # the first half of a surrogate pair
            o = 0x10000 + ((o - 0xD800) << 10) + (_unit(h, i) - 0xDC00)
            i += 4
        if o < 0x80:
            out[n] = o
            n += 1
        elif o < 0x800:
            out[n] = 0xC0 | o >> 6
            out[n + 1] = 0x80 | o & 63
            n += 2
        elif o < 0x10000:
            out[n] = 0xE0 | o >> 12
            out[n + 1] = 0x80 | o >> 6 & 63
            out[n + 2] = 0x80 | o & 63
            n += 3
        else:
            out[n] = 0xF0 | o >> 18
            out[n + 1] = 0x80 | o >> 12 & 63
            out[n + 2] = 0x80 | o >> 6 & 63
            out[n + 3] = 0x80 | o & 63
            n += 4
    return str(memoryview(out)[:n], "utf-8")


class SMS:
    """Text messages through modem (default: the one connected last). Settings the
    module keeps (AT+CMGF, AT+CSCS, AT+CSMP, AT+CNMI) are sent when needed and again
    after the module restarted."""

    def __init__(self, modem=None):
        if modem is None:
            modem = _modem.current()
        if modem is None:
            raise OSError(errno.ENOTCONN, "no modem: pass modem= or call modem.connect() first")
        self.modem = modem
        self.at = modem.at
        self.pending = []  # indexes +CMTI announced, oldest first, not yet read
        self._cb = None
        # concatenated messages not complete yet: (sender, reference, total) ->
        # {sequence: Message} of the parts read so far
        self.partial = {}
        # what a message receive() returned left in the store, as (index, sender, time,
        # part): parts and messages whose delete failed (deleted by the next check()),
        # and those returned with delete=False (never queued again)
        self._undeleted = []
        self._kept = []
        self._bad = {}  # index -> reads whose PDU did not decode
        # the concatenation reference of the last message sent in parts; from the clock,
        # so a board that restarts does not start again at the reference it last used
        self._ref = ticks_ms() & 0xFF
        self.at.urc(b"+CMTI:", self._on_cmti)

    def _on_cmti(self, line):
        # +CMTI: <mem>,<index> (27.005 3.4.1, AT+CNMI mt=1): runs inside a poll, so
        # only the index is noted; receive() reads it
        i = line.int(1, -1)
        if i >= 0 and len(self.pending) < _PENDING_MAX and i not in self.pending:
            self.pending.append(i)
        if self._cb:
            self._cb(i)

    def _set(self, key, cmd):
        # a module setting, sent once per module session (module_state is emptied
        # when the module restarts)
        st = self.modem.module_state
        if st.get(key) != cmd:
            self.at.command(cmd)
            st[key] = cmd

    def _text_mode(self, charset):
        self._set("cmgf", "AT+CMGF=1")
        self._set("cscs", 'AT+CSCS="%s"' % charset)

    def send(self, to, text):
        """Send text (str) to the number `to` ("+491701234567"); returns the message
        reference (int) the network gave, or a tuple of them (one per part) for a
        text sent in parts. Text the GSM alphabet holds goes as GSM 7-bit (160
        characters in one message, 153 per part), any other as UCS2 (70 UTF-16 units,
        67 per part); up to 255 parts. ValueError for a bad number, text with Ctrl-Z
        or ESC, or text longer than 255 parts; ATError with the module's +CMS ERROR
        code (the parts before it are sent); ATTimeout after the command's maximum
        response time (90 s)."""
        to = number(to)
        if not isinstance(text, str):
            raise TypeError("SMS text must be str, not %s" % type(text).__name__)
        if "\x1a" in text or "\x1b" in text:
            raise ValueError("SMS text must not hold Ctrl-Z or ESC (they end or cancel it)")
        gsm = _gsm(text)
        if gsm and len(text) <= MAX_GSM:
            self._text_mode("IRA")
            self._set("csmp", "AT+CSMP=17,167,0,0")  # SMS-SUBMIT, 24 h validity, GSM 7-bit
            da = to
            data = bytearray(text, "utf-8")
        elif not gsm and _units(text) <= MAX_UCS2:
            self._text_mode("UCS2")
            self._set("csmp", "AT+CSMP=17,167,0,8")  # dcs 8: UCS2
            # with AT+CSCS="UCS2" the number is hex too (public knowledge: SIM800,
            # SIM7600 and Quectel modules read it in the TE character set)
            da = ucs2_hex(to)
            data = _ucs2(text)
        else:
            return self._send_parts(to, text)
        data.append(0x1A)  # Ctrl-Z ends the text (27.005 3.5.1)
        lines = self.at.send_data('AT+CMGS="%s"' % da, data, resp=b"+CMGS:")
        if not lines:
            raise OSError(errno.EIO, "AT+CMGS: OK without +CMGS: <mr>")
        return Line(lines[0], 0, len(lines[0])).int(0)

    def _send_parts(self, to, text):
        # PDU mode (27.005 4.3): AT+CMGS=<TPDU octets>, "> ", the PDU in hex, Ctrl-Z
        from binascii import unhexlify
        from cellmodem.smspdu import gsm_codes, submit
        data = gsm_codes(text)
        if data is not None:
            dcs, size, one, step = 0, len(data), MAX_GSM, _PART_GSM
        else:
            data = unhexlify(_ucs2(text))  # UTF-16-BE
            dcs, size, one, step = 8, len(data) // 2, MAX_UCS2, _PART_UCS2
        cuts = [0]
        if size > one:
            while cuts[-1] < size:
                c = cuts[-1] + step
                if dcs and c < size and 0xD8 <= data[2 * c - 2] < 0xDC:
                    c -= 1  # a surrogate pair stays in one part
                cuts.append(c if c < size else size)
        else:
            cuts.append(size)
        total = len(cuts) - 1
        if total > 255:
            raise ValueError("SMS text of %d parts: a concatenated message has 255 at most"
                             % total)
        self._ref = ref = (self._ref + 1) & 0xFF
        self._set("cmgf", "AT+CMGF=0")
        refs = []
        w = 2 if dcs else 1
        for k in range(total):
            pdu, n = submit(to, data[cuts[k] * w:cuts[k + 1] * w], dcs,
                            (ref, total, k + 1) if total > 1 else None)
            pdu.append(0x1A)
            lines = self.at.send_data("AT+CMGS=%d" % n, pdu, resp=b"+CMGS:")
            if not lines:
                raise OSError(errno.EIO, "AT+CMGS: OK without +CMGS: <mr>")
            refs.append(Line(lines[0], 0, len(lines[0])).int(0))
        return tuple(refs) if total > 1 else refs[0]

    def on_message(self, callback):
        """Ask the module to announce new messages (+CMTI) and call callback(index)
        for each, inside the library's poll: note the index there and read it later
        (receive() or read()); None for no callback. Announced indexes also collect
        in .pending."""
        self._cb = callback
        self.listen()

    def listen(self):
        """Ask the module to store new messages and announce each with +CMTI
        (AT+CNMI=2,1, 27.005 3.4.1), once per module session, then check() the
        store. receive() does this by itself."""
        st = self.modem.module_state
        if st.get("cnmi"):
            return
        self.at.command("AT+CNMI=2,1,0,0,0")
        self.check()  # (if it fails, listen() runs again on the next receive())
        st["cnmi"] = 1

    def check(self):
        """Queue (in .pending) what the SIM's store holds that was not returned yet:
        messages no +CMTI announced (stored while nobody listened, or whose +CMTI a
        restart or a garbled line lost), messages a listing or a read cut off half
        way marked read, and the parts of concatenated messages not held (read
        before the board restarted). A message receive() returned is deleted, or
        remembered when its delete failed (deleted here) or delete=False kept it
        (left alone). One AT+CMGL; a program on a noisy line calls it now and then."""
        listed = self.list()
        pending = self.pending
        seen = []
        for m in listed:
            key = m.keys[0]
            seen.append(key)
            if key in self._kept:
                continue
            if key in self._undeleted:
                try:
                    self.delete(m.index)  # only this very message: its index may be
                    self._undeleted.remove(key)  # another's once a delete worked
                except (ATError, OSError):
                    pass
                continue
            if m.index in pending or len(pending) >= _PENDING_MAX:
                continue
            if m.part is not None:
                held = self.partial.get((m.sender, m.part[0], m.part[1]), {})
                if m.part[2] in held and held[m.part[2]].index == m.index:
                    continue  # read already, waiting for the other parts
            pending.append(m.index)
        self._undeleted = [k for k in self._undeleted if k in seen]
        self._kept = [k for k in self._kept if k in seen]

    def receive(self, delete=True):
        """The oldest message +CMTI announced and not read yet, as a Message, or
        None. A concatenated message comes whole, once its last part is read (its
        parts wait in the SIM until then). It is deleted from the SIM after reading
        unless delete=False (a failed delete leaves it there, marked read). A read
        that fails (ATError, ATTimeout, OSError) keeps the message for the next
        call, unless the module has none at that index (+CMS ERROR: 321); one whose
        PDU does not decode (ValueError: a reply garbled on the line, most often) is
        read again twice, then left in the store. Delivery is at least once: a
        message whose read or delete was cut off comes again (check() finds it)."""
        self.listen()
        self.at.poll(0)
        while self.pending:
            # taken off before any command: a +CMTI that comes during them (a new
            # message stored where a deleted one was) is noted again, not lost
            i = self.pending.pop(0)
            try:
                m = self.read(i)
            except ATError as e:
                if e.code != 321 and "index" not in e.text.lower():
                    self.pending.insert(0, i)  # still there: read it next time
                raise  # 321 (27.005 3.2.5): no message at that index, nothing to read
            except ValueError:
                # a PDU that does not decode: most often a reply garbled on the line
                # (noise in the hex), so it is read again; a third time it stays in
                # the store, not to block the queue
                n = self._bad.get(i, 0) + 1
                if n < 3:
                    self._bad[i] = n
                    self.pending.insert(0, i)
                else:
                    self._bad.pop(i, None)
                raise
            except BaseException:
                self.pending.insert(0, i)  # a timeout, a lost link: read it next time
                raise
            self._bad.pop(i, None)
            if m.part is not None:
                m = self._join(m)
                if m is None:
                    continue  # its other parts are still to come
            for key in m.keys:
                if delete:
                    try:
                        self.delete(key[0])
                        continue
                    except Exception:  # noqa: BLE001 - a restart, a timeout, ERROR
                        # it stays in the store, marked read; the message (read and
                        # joined already) is the caller's: the next check() deletes it
                        self._undeleted.append(key)
                else:
                    self._kept.append(key)
            if len(self._kept) > _PENDING_MAX:  # (a SIM holds about that many)
                self._kept = self._kept[-_PENDING_MAX:]
            return m
        return None

    def _join(self, m):
        """The whole message once every part of m's is read, else None (23.040
        9.2.3.24.1: parts share sender, reference and total; sequence 1..total)."""
        ref, total, seq = m.part
        key = (m.sender, ref, total)
        got = self.partial.get(key)
        if got is None:
            got = self.partial[key] = {}
        got[seq] = m
        if len(got) < total:
            return None
        del self.partial[key]
        ms = [got[k] for k in sorted(got)]
        whole = Message(ms[0].index, ms[0].status, m.sender, ms[0].time,
                        "".join([p.text for p in ms]))
        whole.indexes = tuple([p.index for p in ms])
        whole.keys = [p.keys[0] for p in ms]
        return whole

    def _messages(self, lines, prefix, index=None):
        # PDU mode (27.005 4.1, 4.4): +CMGR: <stat>,[<alpha>],<length> (index given) or
        # +CMGL: <index>,<stat>,[<alpha>],<length>, each followed by its PDU line. A
        # PDU that does not decode is skipped in a list, an error for one read.
        from cellmodem.smspdu import deliver
        f = 0 if index is not None else 1
        out = []
        for k in range(len(lines) - 1):
            raw = lines[k]
            if raw.startswith(prefix):
                ln = Line(raw, 0, len(raw))
                try:
                    sender, when, text, part = deliver(lines[k + 1])
                except ValueError:
                    if f == 0:
                        raise
                    continue
                stat = ln.int(f, 0)
                out.append(Message(index if f == 0 else ln.int(0),
                                   _STATUS[stat] if 0 <= stat < 4 else str(stat), sender,
                                   when, text, part))
        return out

    def read(self, index):
        """The message at index (int) in the SIM's store, as a Message (one part of a
        concatenated message: .part says which). Read in PDU mode, so any alphabet
        and any sender come back exactly. ATError (+CMS ERROR: 321) if there is none,
        ValueError for a PDU that does not decode."""
        if type(index) is not int or index < 0:
            raise ValueError("message index must be an int >= 0")
        self._set("cmgf", "AT+CMGF=0")
        found = self._messages(self.at.command("AT+CMGR=%d" % index), b"+CMGR:", index)
        if not found:
            raise OSError(errno.EIO, "AT+CMGR=%d: no message in the answer" % index)
        return found[0]

    def list(self, status="ALL"):
        """Messages in the SIM's store with that status ("ALL", "REC UNREAD",
        "REC READ"), as Messages (parts of concatenated ones as they are stored);
        reading marks unread ones read."""
        stat = _LIST_STAT.get(status) if isinstance(status, str) else None
        if stat is None:
            raise ValueError("status must be ALL, REC UNREAD or REC READ")
        self._set("cmgf", "AT+CMGF=0")
        return self._messages(self.at.command("AT+CMGL=%d" % stat), b"+CMGL:")

    def delete(self, index):
        """Delete the message at index from the SIM's store (AT+CMGD)."""
        if type(index) is not int or index < 0:
            raise ValueError("message index must be an int >= 0")
        if index in self.pending:  # before the command: see receive()
            self.pending.remove(index)
        self.at.command("AT+CMGD=%d" % index)
