"""No user string becomes an AT command (issue 9, "Security").

Every public entry point that takes a string and could reach the UART is tried with
each injection string below, on every dialect where the entry point is the same
code, against the simulator with its log on. A string that would go inside an AT
command must be refused with ValueError before anything reaches the UART; a string
that travels as counted payload (MQTT packets over a socket, HTTP over a socket,
a native HTTP body) may be sent, but only as payload. Either way the simulator must
never parse a command the library did not mean: none holding the injected
AT+CFUN=0, none that is a fragment cut off by an injected CR, LF, NUL, Ctrl-Z or ESC.
"""
import io
import socket as pysocket
import threading

import pytest

import cellmodem.socket as msocket
import cellmodem.requests as requests
from cellmodem.datamode import DataSocket
from cellmodem.fakeuart import FakeUART
from cellmodem.modem import Modem
from cellmodem.mqtt import MQTTClient
from cellmodem.sms import SMS
from cellmodem.tls import ModuleTLS, cert_delete, cert_upload
from simfixtures import LOOPBACK, sim_commands
from tools.modemsim import get_personality
from tools import families

DIALECTS = list(families.NAMES)  # every family in the registry (tools/families.py)
INJECTIONS = [
    'x"\r\nAT+CFUN=0\r\n',
    'x"\rAT+CFUN=0\r',
    'x\nAT+CFUN=0\n',
    'x\x00AT+CFUN=0',
    'x\x1aAT+CFUN=0\r',
    'x\x1bAT+CFUN=0\r',
    'x",1\r\nAT+CFUN=0',
    'x\\"\r\nAT+CFUN=0',
    "x" * 600 + "\r\nAT+CFUN=0\r\n",
    "caf\u00e9\r\nAT+CFUN=0",
    b'x"\r\nAT+CFUN=0\r\n',
]
IDS = ["quote-crlf", "quote-cr", "lf", "nul", "ctrl-z", "esc", "quote-comma", "backslash",
       "overlong", "non-ascii", "bytes"]


class Sink:
    """A TCP server on loopback that accepts and reads everything, answering nothing."""

    def __init__(self):
        self.srv = pysocket.socket()
        self.srv.bind((LOOPBACK, 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._drain, args=(c,), daemon=True).start()

    def _drain(self, c):
        try:
            while c.recv(4096):
                pass
        except OSError:
            pass
        c.close()


@pytest.fixture(scope="module")
def sink():
    s = Sink()
    yield s
    s.srv.close()


def connected(dialect):
    """(dialect, sim, modem, log): a connected modem; the simulator logs each command."""
    log = io.StringIO()
    uart = FakeUART()
    sim = get_personality(dialect)(seed=3, hosts={"sink.example": LOOPBACK},
                                   verbose=True, log=log)
    sim.attach(uart)
    modem = Modem(uart, dialect=dialect)
    modem.connect(apn="internet")
    return dialect, sim, modem, log


@pytest.fixture(scope="module", params=DIALECTS)
def net(request, sink):
    n = connected(request.param)
    yield n
    msocket.use(None)
    n[1].close()


@pytest.fixture(scope="module")
def yuge_net(sink):
    n = connected("yuge")
    yield n
    msocket.use(None)
    n[1].close()


def join(prefix, text):
    """prefix + text, as bytes when text is bytes (a bytes URL is tried as such)."""
    return prefix.encode() + text if isinstance(text, bytes) else prefix + text


def attempt(net, call, must_refuse):
    """Run call(modem); check what reached the simulator. must_refuse: the string
    goes inside an AT command, so ValueError with nothing sent is the only answer."""
    dialect, sim, modem, log = net
    modem.at.poll(50)  # URCs of earlier cases out of the way
    since = len(log.getvalue())
    error = None
    try:
        call(modem)
    except Exception as e:  # noqa: BLE001 - what it raises is checked below
        error = e
    sent = sim_commands(log, since)
    if must_refuse:
        assert isinstance(error, ValueError), "not refused: %r, sent %r" % (error, sent)
        assert sent == [], "refused after sending %r" % sent
    for cmd in sent:
        assert "CFUN" not in cmd.upper(), "injected command reached the modem: %r" % cmd
        assert cmd[:2].upper() == "AT", "a fragment reached the modem as a command: %r" % cmd
    return error


# ---- strings that go inside AT commands: ValueError, nothing sent ----

AT_ENTRY_POINTS = {
    "connect-apn": lambda m, s: m.connect(apn=s),
    "connect-user": lambda m, s: m.connect(apn="internet", user=s, password="p"),
    "connect-password": lambda m, s: m.connect(apn="internet", user="u", password=s),
    "unlock-pin": lambda m, s: m.unlock(s),
    "resolve-host": lambda m, s: m.resolve(s),
    "getaddrinfo-host": lambda m, s: msocket.getaddrinfo(s, 80),
    "socket-connect-host": lambda m, s: _connect_socket(m, s),
    "datasocket-connect-host": lambda m, s: DataSocket(m).connect((s, 80)),
    # module TLS: certificate file names (every family: refused before the family is
    # even asked whether it has module TLS)
    "cert-upload-name": lambda m, s: cert_upload(m, s, b"-----BEGIN CERTIFICATE-----\n", "ca"),
    "cert-delete-name": lambda m, s: cert_delete(m, s),
    "moduletls-ca": lambda m, s: _connect_socket(m, "sink.example", ModuleTLS(ca=s)),
    "moduletls-cert": lambda m, s: _connect_socket(
        m, "sink.example", ModuleTLS(ca="ca.pem", cert=s, key="k.pem")),
    "moduletls-key": lambda m, s: _connect_socket(
        m, "sink.example", ModuleTLS(ca="ca.pem", cert="c.pem", key=s)),
    "sms-number": lambda m, s: SMS(m).send(s, "hi"),
}


def _connect_socket(m, host, tls=None):
    s = msocket.socket(modem=m)
    try:
        s.settimeout(2)
        s.connect((host, 80), tls=tls)
    finally:
        s.close()


@pytest.mark.parametrize("text", INJECTIONS, ids=IDS)
@pytest.mark.parametrize("entry", sorted(AT_ENTRY_POINTS))
def test_string_for_an_at_command_is_refused_before_the_uart(net, entry, text):
    attempt(net, lambda m: AT_ENTRY_POINTS[entry](m, text), must_refuse=True)


@pytest.mark.parametrize("text", INJECTIONS, ids=IDS)
def test_sms_text_goes_only_as_the_message_after_the_prompt(net, text):
    # text the GSM alphabet holds goes as typed, any other (CR, LF, NUL, ...) as UCS2
    # hex; Ctrl-Z and ESC (they would end or cancel it) and overlong text are refused
    err = attempt(net, lambda m: SMS(m).send("+491701234567", text), must_refuse=False)
    assert err is None or isinstance(err, (ValueError, TypeError)), repr(err)


@pytest.mark.parametrize("text", INJECTIONS, ids=IDS)
def test_a_long_sms_text_goes_only_as_hex_pdus(net, text):
    # over one message: PDU mode, the text hex-encoded inside each part's SMS-SUBMIT
    long = (text if isinstance(text, str) else text.decode("latin-1")) + " filler" * 30
    err = attempt(net, lambda m: SMS(m).send("+491701234567", long), must_refuse=False)
    assert err is None or isinstance(err, ValueError), repr(err)  # Ctrl-Z/ESC refused


@pytest.mark.parametrize("text", INJECTIONS, ids=IDS)
def test_a_damaged_resume_state_never_reaches_the_uart(net, text):
    # every field of a state file holding the string: a full bring-up at worst
    from cellmodem import resume
    for field in range(1, 5):
        parts = [b"cm1", net[0].encode(), b"buffered", b"10.0.0.1", b""]
        parts[field] = text if isinstance(text, bytes) else text.encode("utf-8")
        err = attempt(net, lambda m: resume.resume(m, b"|".join(parts), apn="internet"),
                      must_refuse=False)
        assert err is None, repr(err)


@pytest.mark.parametrize("text", INJECTIONS, ids=IDS)
def test_ping_host_is_refused_before_the_uart(net, text):
    # sim7080 has no ping command (README table): EOPNOTSUPP, nothing sent either way
    e = attempt(net, lambda m: m.ping(text, timeout=1000), must_refuse=net[0] != "sim7080")
    assert net[0] != "sim7080" or isinstance(e, (OSError, ValueError))


def test_the_check_sees_an_injection_written_straight_to_the_at_channel(net):
    # the log check itself: a string put into a command unchecked is caught
    with pytest.raises(AssertionError, match="CFUN|fragment"):
        attempt(net, lambda m: m.at.command('AT+CGDCONT=1,"IP","x"\r\nAT+CFUN=0'),
                must_refuse=False)
    net[2].at.command("AT+CFUN=1")  # the simulator obeyed it: undo


# ---- strings that travel as counted payload: never a command ----

def _mqtt(m, sink, **kw):
    args = dict(client_id="c1", server="sink.example", port=sink.port, modem=m,
                reconnect=False, timeout=300)
    will = kw.pop("will", None)
    topic = kw.pop("topic", None)
    args.update(kw)
    c = MQTTClient(**args)
    if will is not None:
        c.set_last_will(will, will)
    try:
        c.connect()  # the sink never answers: CONNACK times out after the packet went
        if topic is not None:
            c.publish(topic, topic)
    finally:
        c.disconnect()


MQTT_CASES = {
    "client-id": lambda m, k, s: _mqtt(m, k, client_id=s),
    "server": lambda m, k, s: _mqtt(m, k, server=s),
    "user": lambda m, k, s: _mqtt(m, k, user=s),
    "password": lambda m, k, s: _mqtt(m, k, user="u", password=s),
    "will": lambda m, k, s: _mqtt(m, k, will=s),
}


@pytest.mark.parametrize("text", INJECTIONS, ids=IDS)
@pytest.mark.parametrize("field", sorted(MQTT_CASES))
def test_mqtt_string_never_reaches_the_uart_as_a_command(net, sink, field, text):
    attempt(net, lambda m: MQTT_CASES[field](m, sink, text), must_refuse=False)


@pytest.mark.parametrize("text", INJECTIONS, ids=IDS)
def test_mqtt_topic_never_reaches_the_uart_as_a_command(net, sink, text):
    def publish(m):
        c = MQTTClient("c1", "sink.example", port=sink.port, modem=m, reconnect=False,
                       timeout=300)
        c.publish(text, text)  # not connected: refused or ENOTCONN, nothing sent
    attempt(net, publish, must_refuse=False)


HTTP_CASES = {
    "url-host": lambda m, k, s: requests.get(join("http://", s), modem=m, timeout=1),
    "url-path": lambda m, k, s: requests.get(join("http://sink.example:%d/" % k.port, s),
                                             modem=m, timeout=1),
    "header-value": lambda m, k, s: requests.get("http://sink.example:%d/" % k.port,
                                                 headers={"X-A": s}, modem=m, timeout=1),
    "header-name": lambda m, k, s: requests.get("http://sink.example:%d/" % k.port,
                                                headers={s: "v"}, modem=m, timeout=1),
    "body": lambda m, k, s: requests.post("http://sink.example:%d/" % k.port, data=s,
                                          modem=m, timeout=1),
}


@pytest.mark.parametrize("text", INJECTIONS, ids=IDS)
@pytest.mark.parametrize("field", sorted(HTTP_CASES))
def test_http_string_never_reaches_the_uart_as_a_command(net, sink, field, text):
    attempt(net, lambda m: HTTP_CASES[field](m, sink, text), must_refuse=False)


def test_data_mode_payload_never_reaches_the_uart_as_a_command(net, sink):
    # every injection string written as data in transparent mode: it is the peer's
    # (the module took no command while the session ran, "+++" and ATO aside)
    def session(m):
        s = DataSocket(m)
        s.connect(("sink.example", sink.port))
        try:
            for text in INJECTIONS:
                s.write(text)
        finally:
            s.close()
    attempt(net, session, must_refuse=False)


# ---- the Yuge module's own clients and services: strings in AT+M*, AT+HTTP*, ... ----

def _native_mqtt(m, **kw):
    from cellmodem.native.yuge_mqtt import MQTTClient as YMQTT
    args = dict(client_id="c1", server="sink.example", modem=m, timeout=300)
    will = kw.pop("will", None)
    topic = kw.pop("topic", None)
    args.update(kw)
    c = YMQTT(**args)
    if will is not None:
        c.set_last_will(will, b"bye")
    if topic is not None:
        c.publish(topic, b"x")  # not connected: refused before anything else


def _native_http(m, url="http://sink.example/", **kw):
    from cellmodem.native import yuge_http
    return yuge_http.request("POST" if "data" in kw else "GET", url, modem=m, timeout=1, **kw)


NATIVE_CASES = {
    "mqtt-client-id": lambda m, s: _native_mqtt(m, client_id=s),
    "mqtt-server": lambda m, s: _native_mqtt(m, server=s),
    "mqtt-user": lambda m, s: _native_mqtt(m, user=s),
    "mqtt-password": lambda m, s: _native_mqtt(m, user="u", password=s),
    "mqtt-will": lambda m, s: _native_mqtt(m, will=s),
    "mqtt-topic": lambda m, s: _native_mqtt(m, topic=s),
    "http-url": lambda m, s: _native_http(m, url=join("http://sink.example/", s)),
    "http-header": lambda m, s: _native_http(m, headers={"X-A": s}),
    "http-user-agent": lambda m, s: _native_http(m, headers={"User-Agent": s}),
    "fs-create": lambda m, s: _fs(m).create(s),
    "fs-mkdir": lambda m, s: _fs(m).mkdir(s),
    "fs-rmdir": lambda m, s: _fs(m).rmdir(s),
    "fs-remove": lambda m, s: _fs(m).remove(s),
    "fs-listdir": lambda m, s: _fs(m).listdir(s),
    "fs-size": lambda m, s: _fs(m).size(s),
    "fs-write": lambda m, s: _fs(m).write(s, b"x"),
    "fs-read": lambda m, s: _fs(m).read(s),
    "fs-open": lambda m, s: _fs(m).open(s),
    "ftp-server": lambda m, s: _ftp(m, host=s),
    "ftp-user": lambda m, s: _ftp(m, user=s),
    "ftp-password": lambda m, s: _ftp(m, password=s),
    "ftp-get-remote": lambda m, s: _ftp(m).get(s, bytearray(10)),
    "ftp-put-remote": lambda m, s: _ftp(m).put(s, b"x"),
    "ftp-list-path": lambda m, s: _ftp(m).list(s),
    "ftp-size": lambda m, s: _ftp(m).size(s),
    "ftp-delete": lambda m, s: _ftp(m).delete(s),
    "ftp-mkdir": lambda m, s: _ftp(m).mkdir(s),
    "ftp-rmdir": lambda m, s: _ftp(m).rmdir(s),
    "ftp-get-to-fs-name": lambda m, s: _ftp(m).get_to_fs("/x", s),
    "ftp-put-from-fs-path": lambda m, s: _ftp(m).put_from_fs(s, "/x"),
    "ntp-server": lambda m, s: _svc().ntp_sync(s, modem=m, rtc=False),
    "ping-host": lambda m, s: _svc().ping(s, count=1, modem=m),
    "heartbeat-text": lambda m, s: _svc().heartbeat_text(0, s, modem=m),
}


def _fs(m):
    from cellmodem.native.yuge_fs import FS
    return FS(m)


def _ftp(m, host="sink.example", user="u", password="p"):
    from cellmodem.native.yuge_ftp import FTP
    return FTP(host, 21, user, password, modem=m)


def _svc():
    from cellmodem.native import yuge_services
    return yuge_services


@pytest.mark.parametrize("text", INJECTIONS, ids=IDS)
@pytest.mark.parametrize("field", sorted(NATIVE_CASES))
def test_yuge_native_string_is_refused_before_the_uart(yuge_net, field, text):
    attempt(yuge_net, lambda m: NATIVE_CASES[field](m, text), must_refuse=True)


@pytest.mark.parametrize("text", INJECTIONS, ids=IDS)
def test_yuge_native_http_body_goes_only_as_counted_payload(yuge_net, text):
    attempt(yuge_net, lambda m: _native_http(m, data=text), must_refuse=False)
