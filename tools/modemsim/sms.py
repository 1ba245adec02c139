"""SMS in text mode (3GPP TS 27.005 chapter 3), shared by every personality.

None of the project's manuals covers SMS: these commands follow 27.005 and the
families' public behaviour (SIMCom, Quectel and Yuge modules all speak this text mode):
  AT+CMGF=1          text mode (0, PDU mode, is the power-on default here; PDU
                     commands are not simulated: +CMS ERROR: 303)
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
Errors are +CMS ERROR: <n> (27.005 3.2.5): 302 operation not allowed, 303 not
supported, 305 invalid text mode parameter, 321 invalid memory index, 322 memory full.

The test side: deliver_sms(sender, text) puts a message in the SIM's store (as if the
network delivered it); sms_sent lists (number, text, dcs) of what AT+CMGS sent. A
message sent to the SIM's own number (OWN_NUMBER) comes back 300 ms later, as the
network would deliver it.
"""
import time

SM_SIZE = 30  # messages the SIM holds (typical SIM capacity)
OWN_NUMBER = "+491700000001"  # the simulated SIM's own number (MSISDN)
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


class SMSCommands:
    """Mixed into ModemSim: the SMS text-mode commands and their state."""

    def sms_reset(self):
        """Power-on settings; the SIM's store survives a restart."""
        self.cmgf = 0
        self.cscs = "IRA"
        self.csmp_dcs = 0
        self.cnmi_mt = 0
        if not hasattr(self, "sms_store"):
            self.sms_store = {}  # index -> [stat, sender, scts, text]
            self.sms_sent = []  # (number, text, dcs) of each AT+CMGS
            self.sms_mr = 0

    def _cms(self, code):
        self._final_result("+CMS ERROR: %d" % code if self.cmee else "ERROR")

    def _te(self, s):
        """A string as the module prints it in the current character set."""
        return ucs2_hex(s) if self.cscs == "UCS2" else s

    def _from_te(self, s):
        return from_ucs2_hex(s) if self.cscs == "UCS2" else s

    # ---- test side ----
    def deliver_sms(self, sender, text, scts=None):
        """The network delivers a text message: stored at the lowest free index and
        announced with +CMTI when AT+CNMI asked for it. Returns the index (None: the
        store is full, the message is lost as on a full SIM)."""
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
            self.sms_store[i] = ["REC UNREAD", sender, scts, text]
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
        if self.cmgf != 1:
            return self._cms(303)  # PDU mode is not simulated
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
            self.sms_sent.append((number, text, self.csmp_dcs))
            if number == OWN_NUMBER:
                self.after(300, self.deliver_sms, number, text)
            self.sms_mr = (self.sms_mr + 1) % 256
            self.answer("+CMGS: %d" % self.sms_mr)
        self.collect(done, ctrlz=True)

    def _sms_index(self, c):
        i = c.int(0, -1)
        return i if i in self.sms_store else None

    @_at("+CMGR")
    def at_cmgr(self, c):
        if c.kind == "test":
            return self.ok()
        if self.cmgf != 1:
            return self._cms(303)
        i = self._sms_index(c)
        if i is None:
            return self._cms(321)
        m = self.sms_store[i]
        self.reply('+CMGR: "%s","%s","","%s"' % (m[0], self._te(m[1]), m[2]),
                   self._te(m[3]))
        if m[0] == "REC UNREAD":
            m[0] = "REC READ"
        self.ok()

    @_at("+CMGL")
    def at_cmgl(self, c):
        if c.kind == "test":
            return self.answer('+CMGL: ("REC UNREAD","REC READ","ALL")')
        if self.cmgf != 1:
            return self._cms(303)
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
