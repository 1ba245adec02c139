"""Real modules' forms beyond the manuals (issue 19), in real MicroPython.

Run: micropython real_forms.py <tty> <case> [<host> <port> [<extra>]]
  connect        bring-up only (e.g. SIM7600's bare ERROR to AT+NETOPEN): "IP <ip>"
  open_fails     then one TCP open that the module refuses: "OPEN FAILED <errno> <text>";
                 <extra> <command>:<manual ms> scales a manual limit down (the library
                 adds its margin)
  held           <extra> is an AT command run first behind the library's back (it
                 leaves the module a link the library does not know); then a TCP open
                 and a 4-byte echo: "ECHO OK"
  accept         listen on <port>: "LISTENING"; the test connects; "PEER <ip> <port>"
                 from accept(), "NAME <ip> <port>" from getpeername(), a 4-byte echo
  udp2           <extra> is the receive mode: two datagrams to <host>:<port> (a UDP
                 echo), "SENT", then waits for a line on stdin (the test lets both
                 echoes reach the module first); "DGRAM <data> <ip> <port>" per recvfrom
Ends with "DONE".
"""
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
import cellmodem.socket as socket

argv = sys.argv
tty, case = argv[1], argv[2]
extra = argv[5] if len(argv) > 5 else None
modem = Modem(open_serial(tty), sock_rxbuf=1024)  # small: each socket takes one ring
print("IP", modem.connect(apn="internet", rx_mode=extra if case == "udp2" else None))


def addr():
    return socket.getaddrinfo(argv[3], int(argv[4]))[0][-1]


def echo(s, data):
    s.write(data)
    got = s.read(len(data))
    if got != data:
        raise AssertionError("echo %r" % got)


if case == "open_fails":
    if extra:
        from cellmodem.timeouts import late
        name, ms = extra.split(":")
        modem.at.timeouts[name] = late(int(ms))
    s = socket.socket()
    try:
        s.connect(addr())
        print("CONNECTED")
    except OSError as e:
        print("OPEN FAILED", e.args[0], e.args[1] if len(e.args) > 1 else "")
    s.close()
elif case == "held":
    modem.at.command(extra)
    modem.at.poll(500)  # its result comes as a URC
    s = socket.socket()
    s.settimeout(30)
    s.connect(addr())
    echo(s, b"mine")
    s.close()
    print("ECHO OK")
elif case == "accept":
    srv = socket.socket()
    srv.bind(("0.0.0.0", int(argv[4])))
    srv.listen(1)
    srv.settimeout(30)
    print("LISTENING")
    c, peer = srv.accept()
    print("PEER", peer[0], peer[1])
    name = c.getpeername()
    print("NAME", name[0], name[1])
    c.settimeout(30)
    data = c.read(4)
    c.write(data)
    c.close()
    srv.close()
elif case == "udp2":
    import time
    a = socket.getaddrinfo(argv[3], int(argv[4]), 0, socket.SOCK_DGRAM)[0][-1]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(30)
    s.sendto(b"first", a)
    s.sendto(b"second!", a)
    print("SENT")
    sys.stdin.readline()
    link = s._link
    t0 = time.ticks_ms()
    # pushed: both datagrams in the ring (2 length bytes each) before the first read;
    # buffered: the test saw both in the module
    while extra == "push" and link.ring.count < 5 + 7 + 4:
        if time.ticks_diff(time.ticks_ms(), t0) > 30000:  # liveness only
            raise AssertionError("the pushed datagrams did not come")
        modem.at.poll(20)
    for _ in range(2):
        data, frm = s.recvfrom(100)
        print("DGRAM", data.decode(), frm[0], frm[1])
    s.close()
print("DONE")
