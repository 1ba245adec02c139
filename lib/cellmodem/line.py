"""A view of one received line inside the engine's buffer, parsed in place.

The engine reuses one Line for every line, so a handler must copy (bytes(),
str()) anything it keeps. Numbers are parsed from the bytes without copying.

Usage: in a URC handler for b"+CEREG:", stat = line.int(1)   # "+CEREG: 2,5" -> 5
"""

from cellmodem.compat import const

_COMMA = const(44)
_QUOTE = const(34)
_SPACE = const(32)
_MINUS = const(45)
_COLON = const(58)


class Line:
    __slots__ = ("buf", "start", "end", "_fs", "_fe")

    def __init__(self, buf, start=0, end=0):
        self.buf = buf
        self.start = start
        self.end = end
        self._fs = self._fe = 0  # bounds of the last field found (no tuple allocated)

    def __len__(self):
        return self.end - self.start

    def startswith(self, prefix, offset=0):
        s = self.start + offset
        return self.end - s >= len(prefix) and self.buf.startswith(prefix, s)

    def equals(self, data):
        return self.end - self.start == len(data) and self.buf.startswith(data, self.start)

    def find(self, sub, offset=0):
        """Index of sub relative to the line start, or -1."""
        i = self.buf.find(sub, self.start + offset, self.end)
        return i if i < 0 else i - self.start

    def bytes(self):
        return bytes(self.buf[self.start:self.end])

    def str(self):
        return text(self.buf, self.start, self.end)

    def _args(self):
        # Arguments start after the first ':' ("+CSQ: 20,99"); in SIM800-style headers
        # the name ends at the first ',' ("+RECEIVE,0,12:", "+IPD,4"); a line not
        # starting with '+' is all arguments ("1, CONNECT OK").
        buf = self.buf
        i = buf.find(b":", self.start, self.end)
        j = buf.find(b",", self.start, self.end if i < 0 else i)
        if j >= 0 and buf[self.start] == 43:  # '+'
            return j + 1
        return self.start if i < 0 else i + 1

    def _field(self, n):
        """Find the n-th comma-separated argument, spaces trimmed: sets _fs, _fe.
        False if the line has no such argument."""
        buf = self.buf
        end = self.end
        i = self._args()
        quoted = False
        while n:
            if i >= end:
                return False
            c = buf[i]
            if c == _QUOTE:
                quoted = not quoted
            elif c == _COMMA and not quoted:
                n -= 1
            i += 1
        while i < end and buf[i] == _SPACE:
            i += 1
        j = i
        quoted = False
        while j < end:
            c = buf[j]
            if c == _QUOTE:
                quoted = not quoted
            elif c == _COMMA and not quoted:
                break
            j += 1
        if j == end and j > i and buf[j - 1] == _COLON:  # "+RECEIVE,0,12:"
            j -= 1
        while j > i and buf[j - 1] == _SPACE:
            j -= 1
        self._fs = i
        self._fe = j
        return True

    def int(self, n=0, default=None):
        """The n-th argument as an int; default when it is empty or not a number.
        (No try here: a function with one takes its call frame from the heap,
        tools/bench/frames.py, and this one parses every header's numbers.)"""
        if not self._field(n):
            if default is None:
                raise ValueError("no field")
            return default
        return parse_int(self.buf, self._fs, self._fe, default)

    def field(self, n=0):
        """The n-th argument as str, surrounding quotes removed."""
        if not self._field(n):
            raise ValueError("no field")
        i = self._fs
        j = self._fe
        if j - i >= 2 and self.buf[i] == _QUOTE and self.buf[j - 1] == _QUOTE:
            i += 1
            j -= 1
        return text(self.buf, i, j)

    def nfields(self):
        """How many comma-separated arguments the line has (at least 1: the first may
        be empty). Counted in place: no exception per line (each would allocate)."""
        buf = self.buf
        n = 1
        quoted = False
        for i in range(self._args(), self.end):
            c = buf[i]
            if c == _QUOTE:
                quoted = not quoted
            elif c == _COMMA and not quoted:
                n += 1
        return n


def text(buf, i=0, j=None):
    """buf[i:j] as str: UTF-8, or, when the line noise made it invalid, every byte
    above 0x7E as "?" (a modem's own text is ASCII; a line must never raise)."""
    b = bytes(buf[i:j]) if (i or j is not None) else bytes(buf)
    try:
        return b.decode()
    except UnicodeError:
        return "".join(chr(c) if c < 0x7F else "?" for c in b)


def parse_int(buf, i, j, default=None):
    """Parse a decimal int from buf[i:j] without copying; default (or ValueError) if none."""
    neg = False
    if i < j and buf[i] == _MINUS:
        neg = True
        i += 1
    if i >= j:
        if default is None:
            raise ValueError("not a number")
        return default
    v = 0
    while i < j:
        c = buf[i] - 48
        if c < 0 or c > 9:
            if default is None:
                raise ValueError("not a number")
            return default
        v = v * 10 + c
        i += 1
    return -v if neg else v
