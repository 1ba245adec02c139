"""Checks on user input before anything reaches the UART.

A user string goes inside double quotes in a command line; a quote, CR, LF or any
other control character in it would end the quoted field or the command and let
the rest run as another AT command. These checks refuse that with ValueError,
before anything reaches the UART. Times are checked too: milliseconds (ints) in the
Modem and AT layers, seconds (int or float) where MicroPython's own API uses seconds
(sockets, requests).

The vocabulary: an argument of the wrong type is a TypeError, one of the right type
with a wrong value (a quote in an APN, a port out of range, a negative time) a
ValueError; a secret (PIN, password) is never part of either message.
Usage: apn = at_string(apn, "APN"); t = millis(timeout); t = seconds(t, "timeout")
"""


def at_string(value, what, maxlen=255, empty=True, secret=False):
    """value (str or bytes) as str; TypeError for another type, ValueError if it could
    break out of a quoted AT argument: quotes, backslash, control characters,
    non-ASCII, over maxlen. secret: the message never shows the value (PIN, password)."""
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode()
        except UnicodeError:
            raise ValueError("%s is not ASCII text" % what)
    if not isinstance(value, str):
        raise TypeError("%s must be a str, not %s" % (what, type(value).__name__))
    if not value and not empty:
        raise ValueError("%s must not be empty" % what)
    if len(value) > maxlen:
        raise ValueError("%s is longer than %d characters" % (what, maxlen))
    for ch in value:
        c = ord(ch)
        if c < 0x20 or c > 0x7E or ch == '"' or ch == "\\":
            raise ValueError("%s must not contain quotes, backslashes or control characters%s"
                             % (what, "" if secret else ": %r" % value))
    return value


def port_number(value, what="port"):
    """An int in 1-65535: TypeError for another type, ValueError out of range."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("%s must be an int in 1-65535, not %s %r"
                        % (what, type(value).__name__, value))
    if not 1 <= value <= 65535:
        raise ValueError("%s must be an int in 1-65535, not %r" % (what, value))
    return value


def millis(value, what="timeout"):
    """A time in milliseconds (the Modem and AT layers): an int >= 0. TypeError for
    another type - a float or a str is most often seconds given by mistake -,
    ValueError below 0."""
    if type(value) is not int or value < 0:
        from cellmodem._rare import refuse
        refuse("millis", value, what)
    return value


def seconds(value, what="timeout", pair=False):
    """A time in seconds (sockets, requests: as MicroPython's own socket): an int or
    float >= 0, or None (no limit); pair: also a (connect, read) tuple of them.
    TypeError for another type, ValueError below 0 (or a tuple not of two)."""
    if pair and type(value) is tuple and len(value) == 2:
        seconds(value[0], "connect " + what)
        seconds(value[1], "read " + what)
        return value
    if value is not None and (type(value) is not int and type(value) is not float
                              or value < 0):
        from cellmodem._rare import refuse
        refuse("seconds", value, what)
    return value


def payload(data):
    """bytes, bytearray, memoryview or str as a memoryview; anything else is refused
    with TypeError. A str is sent as its UTF-8 bytes, as MicroPython's own sockets
    do (its str has the buffer protocol; urequests writes header names as str)."""
    if isinstance(data, memoryview):
        return data  # as given: no new view per send
    if isinstance(data, (bytes, bytearray)):
        return memoryview(data)
    if isinstance(data, str):
        return memoryview(data.encode())
    raise TypeError("payload must be bytes, bytearray, memoryview or str, not %s"
                    % type(data).__name__)
