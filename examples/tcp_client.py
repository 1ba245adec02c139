"""TCP client: connect to a server, send a request, print the answer line by line.

The answer ends when the server closes the connection, or after IDLE_S seconds
without a line. A failure says what went wrong by its errno name (ECONNREFUSED:
nothing listens there, EHOSTUNREACH: the name did not resolve, ETIMEDOUT, ...) with
the module's own result, and the script exits with status 1.

On a board: set the UART pins, APN, HOST, PORT and REQUEST below; copy lib/cellmodem
and this file (as main.py).
On unix: micropython examples/tcp_client.py <tty> <host> <port> [<request line>]
(the request line is sent with CR LF after it).
"""
import errno
import sys

from cellmodem.modem import Modem
import cellmodem.socket as socket

APN = "internet"
HOST, PORT = "example.com", 80
REQUEST = b"HEAD / HTTP/1.0\r\nHost: example.com\r\n\r\n"
IDLE_S = 10  # the answer is over after this long without a line
MAX_LINES = 100


def open_port():
    if len(sys.argv) > 1:  # unix: a serial device or the simulator's pty
        from cellmodem.ports import open_serial
        return open_serial(sys.argv[1])
    from machine import UART  # a board: adjust the pins to your wiring
    return UART(1, 115200, tx=17, rx=18, rxbuf=2048)


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
    modem = Modem(open_port())
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
