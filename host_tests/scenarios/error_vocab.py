"""The error vocabulary, printed one check per line so the same script's output from
MicroPython and CPython can be compared (host_tests/test_error_texts.py).

Usage:
  error_vocab.py apn <family> <pty>          a simulator that rejects APN "blocked.apn"
  error_vocab.py args <family> <pty>         any simulator: arguments of the wrong type
  error_vocab.py gone <family> <pty> <host> <port>
                                             a simulator whose port goes away at the
                                             family's send command (hangup fault), and
                                             a TCP peer at host:port
Prints "<check> <type> <args>" per check (the pty path as <pty>), then "DONE".
"""
import sys

from cellmodem.modem import Modem
from cellmodem.ports import open_serial
import cellmodem.socket as socket

PTY = [None]


def show(check, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except Exception as e:  # the type and args are the output
        # CPython names an OSError by its errno subclass (ConnectionError...); both are OSError
        name = "OSError" if isinstance(e, OSError) else type(e).__name__
        print(check, name, repr(e.args).replace(PTY[0], "<pty>"))
        return e
    print(check, "no exception")


def apn(modem):
    # the password must show nowhere: it is in no error text
    e = show("apn-refused", modem.connect, apn="blocked.apn", user="user", password="s3cr3tpw")
    print("apn-attrs", repr((e.apn, e.code, e.text, e.command)))
    print("apn-connected", modem.isconnected())
    print("apn-right", modem.connect(apn="internet") is not None)


def args(modem, family):
    written = []
    modem.at.trace = lambda d, data, t: written.append(data) if d == b">" else None
    port = modem.at.port
    show("modem-port-none", Modem, None)
    show("modem-dialect-int", Modem, port, dialect=7080)
    show("modem-dialect-unknown", Modem, port, dialect="nokia")
    show("modem-sync-timeout-str", Modem, port, sync_timeout="5")
    show("connect-timeout-str", modem.connect, apn="internet", timeout="5")
    show("connect-timeout-float", modem.connect, apn="internet", timeout=5.0)
    show("connect-timeout-negative", modem.connect, apn="internet", timeout=-1)
    show("connect-apn-int", modem.connect, apn=5)
    show("connect-apn-quote", modem.connect, apn='inter"net')
    show("connect-password-quote", modem.connect, apn="internet", password='s3cr"et')
    show("connect-password-int", modem.connect, apn="internet", password=1234)
    show("unlock-pin-int", modem.unlock, 1234)
    show("unlock-pin-letters", modem.unlock, "12a4")
    show("wait-registered-str", modem.wait_registered, "60")
    show("poll-str", modem.poll, "5")
    show("ping-timeout-float", modem.ping, "127.0.0.1", timeout=1.5)
    show("at-command-timeout-str", modem.at.command, "AT", timeout="5")
    show("at-send-data-timeout-float", modem.at.send_data, "AT+CASEND=0,1", b"x", timeout=0.5)
    s = socket.socket(modem=modem)
    show("socket-settimeout-str", s.settimeout, "5")
    show("socket-settimeout-negative", s.settimeout, -1)
    show("socket-port-str", s.connect, ("127.0.0.1", "80"))
    show("socket-port-zero", s.connect, ("127.0.0.1", 0))
    show("socket-host-int", s.connect, (127, 80))
    show("socket-send-int", s.send, 42)
    s.close()
    import cellmodem.requests as requests
    show("requests-timeout-str", requests.get, "http://127.0.0.1:1/", timeout="5", modem=modem)
    show("requests-timeout-pair", requests.get, "http://127.0.0.1:1/", timeout=(1, 2, 3),
         modem=modem)
    show("open-serial-int", open_serial, 5)
    show("open-serial-baud-str", open_serial, PTY[0], baud="115200")
    print("args-written", written)


def gone(modem, host, port):
    modem.connect(apn="internet")
    s = socket.socket(modem=modem)
    s.connect((host, port))
    show("gone-send", s.send, b"hello")  # the port goes away at the send command
    show("gone-send-again", s.send, b"hello")
    show("gone-recv", s.recv, 10)
    show("gone-signal", modem.signal)
    show("gone-at", modem.at.command, "AT")
    show("gone-poll", modem.poll, 10)
    show("gone-connect", modem.connect, apn="internet")
    show("gone-socket", socket.socket(modem=modem).connect, (host, port))
    show("gone-close", s.close)


def main(argv):
    mode, family, PTY[0] = argv[1], argv[2], argv[3]
    modem = Modem(open_serial(PTY[0]), dialect=family)
    if mode == "apn":
        apn(modem)
    elif mode == "args":
        args(modem, family)
    else:
        gone(modem, argv[4], int(argv[5]))
    print("DONE")


main(sys.argv)
