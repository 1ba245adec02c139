"""Checks on user input before it is put into an AT command.

A user string goes inside double quotes in a command line; a quote, CR, LF or any
other control character in it would end the quoted field or the command and let
the rest run as another AT command. These checks refuse that with ValueError,
before anything reaches the UART.
Usage: apn = at_string(apn, "APN")
"""


def at_string(value, what, maxlen=255, empty=True):
    """value (str or bytes) as str, or ValueError if it could break out of a quoted
    AT argument: quotes, backslash, control characters, non-ASCII, over maxlen."""
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode()
        except UnicodeError:
            raise ValueError("%s is not ASCII text" % what)
    if not isinstance(value, str):
        raise ValueError("%s must be a str, not %s" % (what, type(value).__name__))
    if not value and not empty:
        raise ValueError("%s must not be empty" % what)
    if len(value) > maxlen:
        raise ValueError("%s is longer than %d characters" % (what, maxlen))
    for ch in value:
        c = ord(ch)
        if c < 0x20 or c > 0x7E or ch == '"' or ch == "\\":
            raise ValueError("%s must not contain quotes, backslashes or control characters: %r"
                             % (what, value))
    return value


def port_number(value, what="port"):
    """An int in 1-65535, or ValueError."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise ValueError("%s must be an int in 1-65535, not %r" % (what, value))
    return value


def payload(data):
    """bytes, bytearray, memoryview or str as a memoryview; anything else is refused
    with ValueError. A str is sent as its UTF-8 bytes, as MicroPython's own sockets
    do (its str has the buffer protocol; urequests writes header names as str)."""
    if isinstance(data, memoryview):
        return data  # as given: no new view per send
    if isinstance(data, (bytes, bytearray)):
        return memoryview(data)
    if isinstance(data, str):
        return memoryview(data.encode())
    raise ValueError("payload must be bytes, bytearray, memoryview or str, not %s"
                     % type(data).__name__)
