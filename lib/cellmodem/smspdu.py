"""SMS PDUs for cellmodem.sms in 27.005 PDU mode (AT+CMGF=0): the SMS-SUBMIT of one
message part to send and the SMS-DELIVER read back, as 3GPP TS 23.040 (9.2) lays
them out, with the GSM 7-bit default alphabet of 23.038 (6.2.1). PDU mode carries
what text mode cannot: the user data header of concatenated messages (23.040
9.2.3.24.1) and the sender's own alphabet. Imported by cellmodem.sms when needed.

Usage:
    from cellmodem.smspdu import submit, deliver
    hexpdu, n = submit("+491701234567", "part one ...", 0, (ref, 3, 1))
    sender, time, text, part = deliver(b"0791...")   # part: (ref, total, seq) or None
"""
from binascii import hexlify, unhexlify

# 23.038 6.2.1: the default alphabet, one character per septet value (0x1B is the
# escape to the extension table, never a character of its own)
GSM = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
       "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
# 23.038 6.2.1.1: the extension table, reached by 0x1B: septet -> character
_EXT = {0x0A: "\x0c", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~",
        0x3E: "]", 0x40: "|", 0x65: "€"}


def gsm_codes(text):
    """The septet values of text in the default alphabet (bytearray), or None if a
    character is not in it (the extension table is used for reading only)."""
    out = bytearray(len(text))
    for i, c in enumerate(text):
        v = GSM.find(c)
        if v < 0 or v == 0x1B:
            return None
        out[i] = v
    return out


def _swap(digits, out):
    # 23.040 9.1.2.3: semi-octets, low nibble first, F fills an odd count
    for i in range(0, len(digits), 2):
        lo = ord(digits[i]) - 48
        hi = ord(digits[i + 1]) - 48 if i + 1 < len(digits) else 15
        out.append(hi << 4 | lo)


def submit(to, payload, dcs, part=None):
    """The SMS-SUBMIT of one message part (23.040 9.2.2.2): (hex PDU as bytearray,
    with "00" for the SMSC stored in the module first; TPDU length in octets for
    AT+CMGS). to: "+<digits>" or digits; payload: septet values (dcs 0) or UTF-16-BE
    bytes (dcs 8); part: (reference 0-255, total, sequence) for a concatenated one."""
    digits = to[1:] if to[:1] == "+" else to
    udh = 0 if part is None else 6  # UDHL, IEI 0 (8-bit reference), IEDL 3, ref, total, seq
    # TP-MTI 01 SUBMIT, TP-VPF 10 relative, TP-UDHI with a header: 0x11 | 0x40
    t = bytearray((0x51 if udh else 0x11, 0, len(digits), 0x91 if to[:1] == "+" else 0x81))
    _swap(digits, t)
    t.append(0)  # TP-PID
    t.append(dcs)
    t.append(0xA7)  # TP-VP: 24 hours
    if dcs == 0:
        fill = (7 - udh * 8 % 7) % 7
        septets = (udh * 8 + fill) // 7 + len(payload)
        t.append(septets)
        start = len(t)
        t.extend(bytes((septets * 7 + 7) // 8))
    else:
        t.append(udh + len(payload))
        start = len(t)
    if udh:
        t[start:start + 6] = bytes((5, 0, 3, part[0], part[1], part[2]))
    if dcs == 0:
        base = start * 8 + udh * 8 + fill
        for i, v in enumerate(payload):
            p = base + 7 * i
            k = p >> 3
            s = p & 7
            t[k] |= (v << s) & 0xFF
            if s > 1:
                t[k + 1] |= v >> (8 - s)
    else:
        t.extend(payload)
    out = bytearray(b"00")
    out.extend(hexlify(t).upper())
    return out, len(t)


def _septets(b, start, n, skip=0):
    """n septet values packed from octet start on, after skip bits (a header's fill)."""
    out = bytearray(n)
    base = start * 8 + skip
    for i in range(n):
        p = base + 7 * i
        k = p >> 3
        s = p & 7
        v = b[k] >> s
        if s > 1 and k + 1 < len(b):
            v |= b[k + 1] << (8 - s)
        out[i] = v & 0x7F
    return out


_UTF8 = None  # the default alphabet as UTF-8, two bytes per septet value (0: none)


def gsm_text(codes):
    """The text of septet values, with the extension table's characters: one UTF-8
    buffer, decoded once (no string per character)."""
    global _UTF8
    if _UTF8 is None:
        t = bytearray(256)
        for i in range(128):
            e = GSM[i].encode()
            t[2 * i:2 * i + len(e)] = e  # every character of the table is 1-2 bytes
        _UTF8 = bytes(t)
    t = _UTF8
    out = bytearray(3 * len(codes))
    n = 0
    esc = False
    for v in codes:
        if esc:
            esc = False
            e = _EXT.get(v, " ").encode()
            out[n:n + len(e)] = e
            n += len(e)
        elif v == 0x1B:
            esc = True
        else:
            out[n] = t[2 * v]
            n += 1
            if t[2 * v + 1]:
                out[n] = t[2 * v + 1]
                n += 1
    return str(memoryview(out)[:n], "utf-8")


def _bcd(b, i, n):
    # n semi-octets from octet i (23.040 9.1.2.3), F ends an odd count
    out = bytearray(n)
    for k in range(n):
        d = b[i + k // 2]
        out[k] = 48 + (d >> 4 if k & 1 else d & 15)
    return str(out, "ascii")


def deliver(line):
    """(sender, time "yy/MM/dd,hh:mm:ss+zz", text, part) of the SMS-DELIVER in line
    (hex, bytes; 23.040 9.2.2.1, after the SMSC address 27.005 puts first); part is
    (reference, total, sequence) for a part of a concatenated message, else None.
    ValueError for a PDU that is not an SMS-DELIVER or is cut short."""
    try:
        b = unhexlify(bytes(line).strip())
        i = b[0] + 1  # past the SMSC address
        fo = b[i]
        if fo & 3:
            raise ValueError("not an SMS-DELIVER (TP-MTI %d)" % (fo & 3))
        n = b[i + 1]  # address digits
        ton = b[i + 2]
        i += 3
        if ton & 0x70 == 0x50:  # alphanumeric (23.040 9.1.2.5): GSM septets
            sender = gsm_text(_septets(b, i, n * 4 // 7))
        else:
            sender = ("+" if ton & 0x70 == 0x10 else "") + _bcd(b, i, n)
        i += (n + 1) // 2
        dcs = b[i + 1]
        ts = _bcd(b, i + 2, 14)
        tz = b[i + 8]
        q = (tz & 7) * 10 + (tz >> 4)  # quarters of an hour, sign in bit 3
        when = "%s/%s/%s,%s:%s:%s%s%02d" % (ts[0:2], ts[2:4], ts[4:6], ts[6:8], ts[8:10],
                                            ts[10:12], "-" if tz & 8 else "+", q)
        udl = b[i + 9]
        i += 10
        part = None
        hdr = 0
        if fo & 0x40:  # TP-UDHI: a user data header first
            hdr = b[i] + 1
            j = i + 1
            while j < i + hdr:
                iei, ln = b[j], b[j + 1]
                if iei == 0 and ln == 3:
                    part = (b[j + 2], b[j + 3], b[j + 4])
                elif iei == 8 and ln == 4:
                    part = (b[j + 2] << 8 | b[j + 3], b[j + 4], b[j + 5])
                j += 2 + ln
        alphabet = (dcs >> 2) & 3 if dcs & 0xC0 == 0 else 1 if dcs & 0xF4 == 0xF4 else 0
        if alphabet == 0:
            skip = hdr * 8
            septets = udl - (skip + 6) // 7
            text = gsm_text(_septets(b, i, septets, (skip + 6) // 7 * 7))
        else:
            data = b[i + hdr:i + udl]
            if len(data) != udl - hdr:
                raise ValueError("user data cut short")
            if alphabet == 2:
                # UTF-16-BE (MicroPython's bytes.decode knows only UTF-8): through the
                # UCS2 hex reader of cellmodem.sms
                from cellmodem.sms import from_ucs2_hex
                text = from_ucs2_hex(hexlify(data))
            else:
                text = "".join(chr(c) for c in data)  # 8-bit data: one character per octet
    except IndexError:
        raise ValueError("SMS PDU cut short")
    return sender, when, text, part
