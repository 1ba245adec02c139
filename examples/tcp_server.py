"""TCP server: listen on a port, accept one client and echo what it sends until it closes.

Only families whose module has a TCP server (modem.dialect.SERVER) can do this; on
another the script says so and exits normally. A client reaches the module at the
IP address printed, which needs an APN giving a reachable address (many operators'
default APNs hand out private addresses behind a NAT that lets nothing in).

On a board: set APN and PORT below, then
    python -m tools.deploy --board <board> --example tcp_server.py --port <usb port>
copies it as main.py with the board file, whose pins, power key and baud bring
the modem up (boards/README.md).
On a PC, with boards/unix.py as the board file:
    python -m tools.deploy --board unix --example tcp_server.py
    micropython build/unix/main.py <tty> [port [accept_timeout_s]]
"""
import errno
import sys

import board  # the board file (boards/, copied as board.py): pins, power key, baud
import cellmodem.socket as socket

APN = "internet"
PORT = 5000
ACCEPT_S = 600  # give up when no client comes within this long
IDLE_S = 60  # close a client silent for this long


def errname(e):
    """"ETIMEDOUT" for an OSError carrying that errno (the number if unknown)."""
    code = e.args[0] if e.args else None
    return getattr(errno, "errorcode", {}).get(code, "errno %s" % code)


def echo(conn):
    """Send back everything conn receives until the client closes; (bytes, pieces)."""
    buf = bytearray(512)
    total = pieces = 0
    conn.settimeout(IDLE_S)
    while True:
        try:
            n = conn.recv_into(buf)
        except OSError as e:
            if e.args[0] != errno.ETIMEDOUT:
                raise
            print("client silent for %d s: closing" % IDLE_S)
            break
        if not n:
            print("client closed the connection")
            break
        conn.sendall(memoryview(buf)[:n])
        total += n
        pieces += 1
    return total, pieces


def serve(ip):
    srv = socket.socket()
    try:
        srv.bind(("0.0.0.0", PORT))
        srv.listen(1)
        print("listening on %s:%d" % (ip, PORT))
        srv.settimeout(ACCEPT_S)
        conn, addr = srv.accept()
        # some modules report the client's address without its port (0 here)
        print("client from %s" % ("%s:%d" % addr if addr[1] else addr[0]))
        try:
            total, pieces = echo(conn)
        finally:
            conn.close()
        print("echoed %d bytes in %d pieces" % (total, pieces))
    finally:
        srv.close()


def main():
    global PORT, ACCEPT_S
    if len(sys.argv) > 2:
        PORT = int(sys.argv[2])
    if len(sys.argv) > 3:
        ACCEPT_S = float(sys.argv[3])
    modem = board.modem()
    if not modem.dialect.SERVER:
        print("the %s family has no TCP server: nothing to do" % modem.dialect.NAME)
        return
    ip = modem.connect(apn=APN)
    print("IP address:", ip)
    try:
        serve(ip)
    except OSError as e:
        print("FAILED: %s: %s" % (errname(e), e))
        modem.disconnect()
        sys.exit(1)
    modem.disconnect()


main()
