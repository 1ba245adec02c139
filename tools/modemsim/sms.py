"""SMS in text and PDU mode (3GPP TS 27.005 chapters 3 and 4), shared by every
personality.

None of the project's manuals covers SMS: these commands follow 27.005, the PDU
layouts of 23.040 and the alphabet of 23.038, and the families' public behaviour
(SIMCom, Quectel and Yuge modules all speak both modes):
  AT+CMGF=0|1        PDU mode (the power-on default) or text mode
  AT+CSCS="IRA"|"GSM"|"UCS2"  the TE character set. With "UCS2" every string the
                     module prints or takes (text, the number of AT+CMGS, the sender
                     of AT+CMGR) is hex, four digits per UTF-16 unit (public
                     knowledge: SIM800 and SIM7600 want the number in hex too)
  AT+CSMP=<fo>,<vp>,<pid>,<dcs>  dcs 0: GSM 7-bit, 8: UCS2 (160 / 70 characters)
  AT+CNMI=<mode>,<mt>,...  mt 1: a new message is stored and announced with
                     +CMTI: "SM",<index>; mt 0 (the default here): stored silently
  AT+CMGS="<da>" then "> ", the text, Ctrl-Z (ESC cancels): +CMGS: <mr>
  AT+CMGR=<index>    +CMGR: <stat>,<oa>,,<scts> then the text; REC UNREAD -> REC READ
  AT+CMGL=<stat>     one +CMGL: <index>,<stat>,<oa>,,<scts> and text line per message
  AT+CMGD=<index>[,<delflag>]
PDU mode: AT+CMGS=<TPDU octets> then "> ", the hex PDU (SMSC address first, "00"
for the stored one), Ctrl-Z: +CMGS: <mr>; AT+CMGR=<index>: +CMGR: <stat>,,<length>
then the SMS-DELIVER in hex (with this SIM's SMSC address); AT+CMGL=<stat 0-4> the
same per message with its index first. A message that is one part of a concatenated
one (a user data header, 23.040 9.2.3.24.1) shows in text mode as its own text only:
the header is not shown there, as on the modules, so only PDU mode can join parts.
Errors are +CMS ERROR: <n> (27.005 3.2.5): 302 operation not allowed, 303 not
supported, 305 invalid text mode parameter, 321 invalid memory index, 322 memory full.

The test side: deliver_sms(sender, text, part=) puts a message in the SIM's store (as
if the network delivered it); sms_sent lists (number, text, dcs) of what AT+CMGS sent
and sms_parts the (reference, total, sequence) of each (None: a whole message). A
message sent to the SIM's own number (OWN_NUMBER) comes back 300 ms later, as the
network would deliver it, its header with it.
"""
import time

SM_SIZE = 30  # messages the SIM holds (typical SIM capacity)
OWN_NUMBER = "+491700000001"  # the simulated SIM's own number (MSISDN)
SMSC = "+491710760000"  # the service centre AT+CMGR shows in a PDU
_PDU_STAT = {"REC UNREAD": 0, "REC READ": 1}  # 27.005 4.1 <stat> in PDU mode
_GSM_SAFE = set("@$_!\"#%&'()*+,-./:;<=>?\n\r ")


def _at(*names):
    # the same marking core.command() makes (this module cannot import core: core
    # imports it)
    def deco(fn):
        fn._at_names = tuple(n.upper() for n in names)
        return fn
    return deco


def ucs2_hex(text):
    """text as 27.005 UCS2 hex: four hex digits per UTF-16 code unit."""
    data = text.encode("utf-16-be")
    return data.hex().upper()


def from_ucs2_hex(h):
    """ValueError if h is not UCS2 hex."""
    if len(h) % 4:
        raise ValueError("UCS2 hex length %d" % len(h))
    return bytes.fromhex(h).decode("utf-16-be")


def gsm_safe(text):
    return all(c.isascii() and (c.isalnum() or c in _GSM_SAFE) for c in text)


def _gsm_alphabet():
    # 23.038 6.2.1: ASCII where the two agree, the rest as the standard's table has it
    t = [chr(i) for i in range(128)]
    for i, ch in enumerate("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"):
        t[i] = ch
    for code, ch in ((0x24, "¤"), (0x40, "¡"), (0x5B, "Ä"), (0x5C, "Ö"), (0x5D, "Ñ"),
                     (0x5E, "Ü"), (0x5F, "§"), (0x60, "¿"), (0x7B, "ä"), (0x7C, "ö"),
                     (0x7D, "ñ"), (0x7E, "ü"), (0x7F, "à")):
        t[code] = ch
    return t


GSM7 = _gsm_alphabet()
GSM7_CODE = {ch: i for i, ch in enumerate(GSM7) if i != 0x1B}


def gsm7_encodable(text):
    return all(c in GSM7_CODE for c in text)


def _semi_octets(digits):
    d = digits + ("F" if len(digits) % 2 else "")
    return bytes(int(d[i + 1] + d[i], 16) for i in range(0, len(d), 2))


def _address(number):
    """23.040 9.1.2.5: length in digits, type, digits as semi-octets."""
    digits = number.lstrip("+")
    return bytes((len(digits), 0x91 if number.startswith("+") else 0x81)) + _semi_octets(digits)


def _pack7(codes, skip_bits):
    v = 0
    for i, c in enumerate(codes):
        v |= c << (skip_bits + 7 * i)
    n = (skip_bits + 7 * len(codes) + 7) // 8
    return v.to_bytes(n, "little")


def _unpack7(data, count, skip_bits):
    v = int.from_bytes(data, "little")
    return [(v >> (skip_bits + 7 * i)) & 0x7F for i in range(count)]


def _user_data(text, dcs, part):
    """(UDL, UD) with the concatenation header when part is (ref, total, seq)."""
    head = bytes((5, 0, 3) + tuple(part)) if part else b""
    if dcs == 8:
        body = text.encode("utf-16-be")
        return len(head) + len(body), head + body
    hbits = len(head) * 8
    skip = -(-hbits // 7) * 7  # the header padded to a septet boundary
    codes = [GSM7_CODE[c] for c in text]
    packed = _pack7(codes, skip)  # its first len(head) octets are the header's room
    return skip // 7 + len(codes), head + packed[len(head):]


def encode_deliver(sender, scts, text, dcs, part=None):
    """The hex SMS-DELIVER (23.040 9.2.2.1) AT+CMGR shows in PDU mode, after this
    SIM's SMSC address."""
    smsc = _semi_octets(SMSC.lstrip("+"))
    out = bytes((len(smsc) + 1, 0x91)) + smsc
    fo = 0x04 | (0x40 if part else 0)  # SMS-DELIVER, no more messages, TP-UDHI
    if sender.lstrip("+").isdigit():
        oa = _address(sender)
    else:  # alphanumeric (9.1.2.5): GSM septets, length in semi-octets
        packed = _pack7([GSM7_CODE[c] for c in sender], 0)
        oa = bytes((len(packed) * 2, 0xD0)) + packed
    date, clock = scts.split(",")
    zone = clock[8:]
    q = int(zone[1:])
    ts = _semi_octets(date.replace("/", "") + clock[:8].replace(":", ""))
    tz = int("%d%d" % (q % 10, q // 10), 16) | (0x08 if zone[0] == "-" else 0)
    udl, ud = _user_data(text, dcs, part)
    out += bytes((fo,)) + oa + bytes((0, dcs)) + ts + bytes((tz, udl)) + ud
    return out.hex().upper(), len(out) - 1 - out[0]


def decode_submit(b):
    """(number, text, dcs, part) of an SMS-SUBMIT (23.040 9.2.2.2) after its SMSC
    address; ValueError for anything else."""
    i = 1 + b[0]
    fo = b[i]
    if fo & 3 != 1:
        raise ValueError("not an SMS-SUBMIT")
    n, ton = b[i + 2], b[i + 3]
    raw = b[i + 4:i + 4 + (n + 1) // 2].hex()
    digits = "".join(raw[k + 1] + raw[k] for k in range(0, len(raw), 2))[:n]
    number = ("+" if ton == 0x91 else "") + digits
    i += 4 + (n + 1) // 2
    dcs = b[i + 1]
    i += 2 + {0: 0, 2: 1}.get((fo >> 3) & 3, 7)  # TP-VP by TP-VPF
    udl, ud = b[i], b[i + 1:]
    part, hlen = None, 0
    if fo & 0x40:
        hlen = ud[0] + 1
        if ud[1] == 0 and ud[2] == 3:
            part = (ud[3], ud[4], ud[5])
    if dcs == 8:
        return number, ud[hlen:udl].decode("utf-16-be"), dcs, part
    if dcs != 0:
        raise ValueError("dcs %d" % dcs)
    skip = -(-hlen * 8 // 7) * 7
    codes = _unpack7(ud, udl - skip // 7, skip)
    return number, "".join(GSM7[c] for c in codes), dcs, part


class SMSCommands:
    """Mixed into ModemSim: the SMS text-mode commands and their state."""

    def sms_reset(self):
        """Power-on settings; the SIM's store survives a restart."""
        self.cmgf = 0
        self.cscs = "IRA"
        self.csmp_dcs = 0
        self.cnmi_mt = 0
        if not hasattr(self, "sms_store"):
            self.sms_store = {}  # index -> [stat, sender, scts, text, part, dcs]
            self.sms_sent = []  # (number, text, dcs) of each AT+CMGS
            self.sms_parts = []  # its (reference, total, sequence), None for a whole one
            self.sms_mr = 0

    def _cms(self, code):
        self._final_result("+CMS ERROR: %d" % code if self.cmee else "ERROR")

    def _te(self, s):
        """A string as the module prints it in the current character set."""
        return ucs2_hex(s) if self.cscs == "UCS2" else s

    def _from_te(self, s):
        return from_ucs2_hex(s) if self.cscs == "UCS2" else s

    # ---- test side ----
    def deliver_sms(self, sender, text, scts=None, part=None, dcs=None):
        """The network delivers a text message (part: (reference, total, sequence)
        for one part of a concatenated message; dcs: 0 GSM 7-bit, 8 UCS2, by
        default what the text needs): stored at the lowest free index and announced
        with +CMTI when AT+CNMI asked for it. Returns the index (None: the store is
        full, the message is lost as on a full SIM)."""
        if dcs is None:
            dcs = 0 if gsm7_encodable(text) else 8
        with self.lock:
            for i in range(1, SM_SIZE + 1):
                if i not in self.sms_store:
                    break
            else:
                return None
            if scts is None:
                t = time.gmtime()
                scts = "%02d/%02d/%02d,%02d:%02d:%02d+00" % (
                    t.tm_year % 100, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
            self.sms_store[i] = ["REC UNREAD", sender, scts, text, part, dcs]
            if self.cnmi_mt == 1:
                self.urc('+CMTI: "SM",%d' % i)
            return i

    # ---- commands ----
    @_at("+CMGF")
    def at_cmgf(self, c):
        if c.kind == "test":
            return self.answer("+CMGF: (0,1)")
        if c.kind == "read":
            return self.answer("+CMGF: %d" % self.cmgf)
        if c.int(0, 0) not in (0, 1):
            return self._cms(302)
        self.cmgf = c.int(0, 0)
        self.ok()

    @_at("+CSCS")
    def at_cscs(self, c):
        if c.kind == "test":
            return self.answer('+CSCS: ("IRA","GSM","UCS2")')
        if c.kind == "read":
            return self.answer('+CSCS: "%s"' % self.cscs)
        cs = c.str(0, "").upper()
        if cs not in ("IRA", "GSM", "UCS2"):
            return self.cme_error(4)
        self.cscs = cs
        self.ok()

    @_at("+CSMP")
    def at_csmp(self, c):
        if c.kind in ("test", "read"):
            return self.answer("+CSMP: 17,167,0,%d" % self.csmp_dcs)
        dcs = c.int(3, 0)
        if dcs not in (0, 8):
            return self._cms(305)
        self.csmp_dcs = dcs
        self.ok()

    @_at("+CNMI")
    def at_cnmi(self, c):
        if c.kind == "test":
            return self.answer("+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)")
        if c.kind == "read":
            return self.answer("+CNMI: 2,%d,0,0,0" % self.cnmi_mt)
        self.cnmi_mt = c.int(1, 0)
        self.ok()

    @_at("+CMGS")
    def at_cmgs(self, c):
        if c.kind == "test":
            return self.ok()
        if self.cmgf == 0:
            return self._cmgs_pdu(c)
        try:
            number = self._from_te(c.str(0))
        except ValueError:
            return self._cms(305)
        if not number.lstrip("+").isdigit():
            return self._cms(305)

        def done(data, reason):
            if reason != "ctrlz":
                return self.ok() if reason == "esc" else self._cms(305)
            try:
                text = self._from_te(data.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                return self._cms(305)
            limit = 70 if self.csmp_dcs == 8 else 160
            if len(text.encode("utf-16-be")) // 2 > limit or (
                    self.csmp_dcs == 0 and not gsm_safe(text)):
                return self._cms(305)
            self._sent_sms(number, text, self.csmp_dcs, None)
        self.collect(done, ctrlz=True)

    def _sent_sms(self, number, text, dcs, part):
        self.sms_sent.append((number, text, dcs))
        self.sms_parts.append(part)
        if number == OWN_NUMBER:
            self.after(300, self.deliver_sms, number, text, None, part, dcs)
        self.sms_mr = (self.sms_mr + 1) % 256
        self.answer("+CMGS: %d" % self.sms_mr)

    def _cmgs_pdu(self, c):
        # 27.005 4.3: AT+CMGS=<length> (the TPDU's octets, the SMSC address not counted)
        n = c.int(0, -1)
        if not 7 <= n <= 164:
            return self._cms(304)  # invalid PDU mode parameter

        def done(data, reason):
            if reason != "ctrlz":
                return self.ok() if reason == "esc" else self._cms(304)
            try:
                b = bytes.fromhex(data.decode("ascii"))
                if len(b) - 1 - b[0] != n:
                    raise ValueError("length %d, said %d" % (len(b) - 1 - b[0], n))
                number, text, dcs, part = decode_submit(b)
            except (ValueError, IndexError, UnicodeDecodeError) as e:
                self.log("-- PDU refused: %s" % e)
                return self._cms(304)
            self._sent_sms(number, text, dcs, part)
        self.collect(done, ctrlz=True)

    def _sms_index(self, c):
        i = c.int(0, -1)
        return i if i in self.sms_store else None

    @_at("+CMGR")
    def at_cmgr(self, c):
        if c.kind == "test":
            return self.ok()
        i = self._sms_index(c)
        if i is None:
            return self._cms(321)
        m = self.sms_store[i]
        if self.cmgf == 0:
            pdu, n = encode_deliver(m[1], m[2], m[3], m[5], m[4])
            self.reply("+CMGR: %d,,%d" % (_PDU_STAT[m[0]], n), pdu)
        else:
            self.reply('+CMGR: "%s","%s","","%s"' % (m[0], self._te(m[1]), m[2]),
                       self._te(m[3]))
        if m[0] == "REC UNREAD":
            m[0] = "REC READ"
        self.ok()

    @_at("+CMGL")
    def at_cmgl(self, c):
        if c.kind == "test":
            return self.answer('+CMGL: ("REC UNREAD","REC READ","ALL")')
        if self.cmgf == 0:
            return self._cmgl_pdu(c)
        try:  # a string argument is in the TE character set, as the number of AT+CMGS
            want = self._from_te(c.str(0, self._te("REC UNREAD"))).upper()
        except ValueError:
            return self._cms(305)
        if want not in ("REC UNREAD", "REC READ", "ALL"):
            return self._cms(305)
        lines = []
        for i in sorted(self.sms_store):
            m = self.sms_store[i]
            if want == "ALL" or m[0] == want:
                lines.append('+CMGL: %d,"%s","%s","","%s"' % (i, m[0], self._te(m[1]), m[2]))
                lines.append(self._te(m[3]))
                if m[0] == "REC UNREAD":
                    m[0] = "REC READ"
        self.answer(*lines)

    def _cmgl_pdu(self, c):
        want = c.int(0, 0)
        if want not in (0, 1, 4):
            return self._cms(304)
        lines = []
        for i in sorted(self.sms_store):
            m = self.sms_store[i]
            if want == 4 or _PDU_STAT[m[0]] == want:
                pdu, n = encode_deliver(m[1], m[2], m[3], m[5], m[4])
                lines += ["+CMGL: %d,%d,,%d" % (i, _PDU_STAT[m[0]], n), pdu]
                if m[0] == "REC UNREAD":
                    m[0] = "REC READ"
        self.answer(*lines)

    @_at("+CMGD")
    def at_cmgd(self, c):
        if c.kind == "test":
            return self.answer("+CMGD: (1-%d),(0-4)" % SM_SIZE)
        flag = c.int(1, 0)
        if flag == 4:
            self.sms_store.clear()
        elif flag == 0:
            if self.sms_store.pop(c.int(0, -1), None) is None:
                return self._cms(321)
        else:
            return self._cms(303)
        self.ok()
