"""TCP client: connect to a server, send a request, print the answer line by line.

The answer ends when the server closes the connection, or after IDLE_S seconds
without a line. A failure says what went wrong by its errno name (ECONNREFUSED:
nothing listens there, EHOSTUNREACH: the name did not resolve, ETIMEDOUT, ...) with
the module's own result, and the script exits with status 1.

On a board: set APN, HOST, PORT and REQUEST below, then
    python -m tools.deploy --board <board> --example tcp_client.py --port <usb port>
copies it as main.py with the board file, whose pins, power key and baud bring
the modem up (boards/README.md).
On a PC, with boards/unix.py as the board file:
    python -m tools.deploy --board unix --example tcp_client.py
    micropython build/unix/main.py <tty> <host> <port> [<request line>]
(the request line is sent with CR LF after it).
"""
import errno
import sys

import board  # the board file (boards/, copied as board.py): pins, power key, baud
import cellmodem.socket as socket

APN = "internet"
HOST, PORT = "example.com", 80
REQUEST = b"HEAD / HTTP/1.0\r\nHost: example.com\r\n\r\n"
IDLE_S = 10  # the answer is over after this long without a line
MAX_LINES = 100


def errname(e):
    """"ECONNREFUSED" for an OSError carrying that errno (the number if unknown)."""
    code = e.args[0] if e.args else None
    names = getattr(errno, "errorcode", {})
    return names.get(code, "errno %s" % code)


def talk(host, port, request):
    """Send request to host:port and print the answer lines; the number of lines."""
    s = socket.socket()
    s.settimeout(IDLE_S)
    try:
        addr = socket.getaddrinfo(host, port)[0][-1]
        print("connecting to %s:%d (%s)" % (host, port, addr[0]))
        s.connect(addr)
        s.write(request)
        print("sent %d bytes" % len(request))
        n = 0
        while n < MAX_LINES:
            try:
                line = s.readline()
            except OSError as e:
                if e.args[0] != errno.ETIMEDOUT:
                    raise
                print("(no line for %d s: done)" % IDLE_S)
                break
            if not line:
                print("(connection closed by the server)")
                break
            n += 1
            print("line %d: %r" % (n, line))
        return n
    finally:
        s.close()


def main():
    global HOST, PORT, REQUEST
    if len(sys.argv) > 3:
        HOST, PORT = sys.argv[2], int(sys.argv[3])
    if len(sys.argv) > 4:
        REQUEST = sys.argv[4].encode() + b"\r\n"
    modem = board.modem()
    print("IP address:", modem.connect(apn=APN))
    try:
        n = talk(HOST, PORT, REQUEST)
    except OSError as e:
        print("FAILED: %s: %s" % (errname(e), e))
        modem.disconnect()
        sys.exit(1)
    modem.disconnect()
    print("received %d lines" % n)


main()
