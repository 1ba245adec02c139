"""Tests of the Yuge EC716S native HTTP and MQTT in the simulator
(tools/modemsim/yuge_http.py, tools/modemsim/yuge_mqtt.py).

Raw AT commands over a FakeUART through tools/modemsim/rawat.py (not the cellmodem
library), against REAL servers on 127.0.0.1: the http_server fixture, small raw HTTP
servers defined here, and Debian's mosquitto broker (mosquitto fixture) with a
paho-mqtt client as the other side. TLS tests use a throw-away self-signed
certificate made with the openssl command line tool.

The personality is get_personality("yuge") (tools/modemsim/yuge.py, which inherits
the two mixins); test_mixins_alone_on_the_base_class runs the mixins on the bare core
through the test-only class _T, so they do not come to depend on yuge.py unnoticed.

Manual transcripts (yuge-ec716s-cat1-at-manual-zh.txt) are replayed byte for byte
where they are deterministic: 10.1 and the SAPBR lines of 7.x/9.x (bearer), 11.3
(HTTPPARA? listing), all five 11.15 examples (GET, POST over HTTPS, HTTPS GET with
SSLCFG, HEAD, HTTPEXACTION/HTTPEXPOST/HTTPEXGET), 13.10 (MQTTMODE) and the 13.14
flows (plain, SSL without and with one-/two-way certificate set-up, the CLOSED and
+PDP DEACT cases). Addresses are adapted to the local servers: the manual's hosts
(www.baidu.com, fanyi.baidu.com, "ip 或域名") map to 127.0.0.1 through the
simulator's hosts table, and the ports and paths are those of the local servers.
Other adaptations are stated at each transcript.
"""
import queue
import random
import re
import socket
import threading
import time

import pytest

from simfixtures import LARGE_BODY, LOOPBACK, _HTTPHandler, _HTTPServer, free_port
from tools.modemsim import get_personality
from tools.modemsim.rawat import FINAL_RE
from tools.modemsim.yuge_http import YugeHTTP, pad_ip, parse_url
from tools.modemsim.yuge_mqtt import YugeMQTT, parse_packets, publish_packet

paho = pytest.importorskip("paho.mqtt.client")

NASTY = b"\r\nOK\r\n\x1a\x1b\x03\r\nERROR\r\n+MSUB: 0\r\n+HTTPACTION: 0,200,1\x00\xff"
# 11.14 `ERROR: <n>` ends a command too
FINAL = re.compile(FINAL_RE.pattern[:-2] + rb"|ERROR: \d+)$")
GBK_ZHONGGUO = "中国".encode("gbk")  # 11.15 POST example: "中国两个字占用 4 个字节"


class _T(YugeHTTP, YugeMQTT):
    """Test-only personality: the two mixins on the base simulator."""
    name = "yuge_t"
    manufacturer = "Yuge"
    model = "EC716S"
    ip = "10.169.179.213"  # the address the manual's examples show

    def banner_lines(self):
        return ["RDY"]


HOSTS = {"www.baidu.com": LOOPBACK, "fanyi.baidu.com": LOOPBACK,
         "mqtt.example.com": LOOPBACK}


@pytest.fixture
def modem(modem_factory):
    """make(**kw) -> (sim, uart, at): powered on, echo off, banner read."""
    def make(**kw):
        kw.setdefault("hosts", HOSTS)
        sim, uart, at = modem_factory(kw.pop("cls", None) or get_personality("yuge"), **kw)
        at.final_re = FINAL
        time.sleep(0.05)
        at.drain()
        assert at.cmd("ATE0")[-1] == "OK"
        at.drain()
        return sim, uart, at
    return make


# ------------------------------------------------------------------ helpers
def framed(lines):
    out = b""
    for ln in lines:
        if isinstance(ln, bytes):
            out += ln  # raw piece (payload, prompt) exactly as sent
        else:
            out += b"\r\n" + ln.encode("latin-1") + b"\r\n"
    return out


def replay(at, transcript, quiet=True):
    """Byte-exact replay. Each step is (command, expected) or (command, expected,
    data, expected2); command None only waits for `expected` (URCs). expected: list of
    lines (framed CR LF <line> CR LF) or raw bytes pieces."""
    for step in transcript:
        cmd, want = step[0], step[1]
        if cmd is not None:
            at.write(cmd + "\r")
        exp = framed(want)
        got = at.read_exact(len(exp), timeout=5)
        assert got == exp, "%s:\n got %r\nwant %r" % (cmd, got, exp)
        if len(step) > 2:
            at.write(step[2])
            exp = framed(step[3])
            got = at.read_exact(len(exp), timeout=5)
            assert got == exp, "%s data:\n got %r\nwant %r" % (cmd, got, exp)
    if quiet:
        time.sleep(0.05)
        assert at.drain() == b""


def httpread(at, cmd="AT+HTTPREAD", head=b"+HTTPREAD: "):
    """Send an HTTPREAD-like command; return the payload (length-prefixed)."""
    at.write(cmd + "\r")
    at.expect(b"\r\n" + head)
    n = int(at.read_until(b"\r\n"))
    data = at.read_exact(n)
    assert at.read_exact(6) == b"\r\nOK\r\n"
    return data


def msub(at):
    """Read one pushed `+MSUB: "<topic>",<len> byte,<payload>` -> (topic, payload)."""
    at.expect(b'+MSUB: "')
    topic = at.read_until(b'",')
    n = int(at.read_until(b" byte,"))
    data = at.read_exact(n)
    assert at.read_exact(2) == b"\r\n"
    return topic.decode("latin-1"), data


def http_open(at, url, **params):
    assert at.cmd("AT+HTTPINIT") == ["OK"]
    assert at.cmd('AT+HTTPPARA="CID",1') == ["OK"]
    assert at.cmd('AT+HTTPPARA="URL","%s"' % url) == ["OK"]
    for k, v in params.items():
        v = v if isinstance(v, int) else '"%s"' % v
        assert at.cmd('AT+HTTPPARA="%s",%s' % (k, v)) == ["OK"], k


def action(at, method, timeout=5):
    assert at.cmd("AT+HTTPACTION=%d" % method) == ["OK"]
    line = at.wait_line("+HTTPACTION", timeout=timeout)
    m, status, n = line.split(":", 1)[1].strip().split(",")
    assert int(m) == method
    return int(status), int(n)


class RawServer:
    """A TCP server on 127.0.0.1 that records each request and answers with
    `respond(request_bytes) -> bytes` (None: say nothing, keep the line open)."""

    def __init__(self, respond, early=False):
        self.respond = respond
        self.early = early  # answer at once, without reading a request
        self.requests = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        c.settimeout(5)
        buf = b""
        try:
            while not self.early and b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    break
                buf += d
            m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", buf)
            if m:
                want = buf.index(b"\r\n\r\n") + 4 + int(m.group(1))
                while len(buf) < want:
                    d = c.recv(65536)
                    if not d:
                        break
                    buf += d
        except OSError:
            pass
        self.requests.append(buf)
        out = self.respond(buf)
        if out is None:
            self.held.append(c)
            return
        try:
            c.sendall(out)
        except OSError:
            pass
        c.close()

    def close(self):
        self.stop = True
        self.sock.close()
        for c in self.held:
            c.close()


@pytest.fixture
def raw_server():
    made = []

    def make(respond, early=False):
        s = RawServer(respond, early)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


def mqtt_online(at, broker, client="yuge1", clean=1, keepalive=60):
    assert at.cmd('AT+MCONFIG="%s","",""' % client) == ["OK"]
    assert at.cmd('AT+MIPSTART="%s",%d' % broker) == ["OK"]
    assert at.wait_line("CONNECT OK") == "CONNECT OK"
    assert at.cmd("AT+MCONNECT=%d,%d" % (clean, keepalive)) == ["OK"]
    assert at.wait_line("CONNACK OK") == "CONNACK OK"


def subscribe(at, topic, qos=0):
    assert at.cmd('AT+MSUB="%s",%d' % (topic, qos)) == ["OK"]
    assert at.wait_line("SUBACK") == "SUBACK"


def mpubex(at, topic, qos, retain, data):
    at.write('AT+MPUBEX="%s",%d,%d,%d\r' % (topic, qos, retain, len(data)))
    at.expect(b"\r\n>")
    at.write(data)
    at.wait_line("OK")


# ================================================================== ch.10 / ch.11
def test_transcript_10_1_sapbr(modem):
    sim, uart, at = modem()
    ip = pad_ip(sim.ip)
    replay(at, [
        # 11.15 / 9.x: the bearer set-up every HTTP example starts with
        ('AT+SAPBR=3,1,"CONTYPE","GPRS"', ["OK"]),
        ('AT+SAPBR=3,1,"APN",""', ["OK"]),
        ("AT+SAPBR=1,1", ["OK"]),
        ("AT+SAPBR=2,1", ["+SAPBR: 1,1,%s" % ip, "OK"]),
        # the CNTP example (ch.7) spells the tag "Contype"
        ('AT+SAPBR=3,1,"Contype","GPRS"', ["OK"]),
        ('AT+SAPBR=3,1,"APN", ""', ["OK"]),  # 11.15 HEAD example: a space before ""
        ("AT+SAPBR=?", ['+SAPBR: (0-4),(1-3),"ConParamTag","ConParamValue"', "OK"]),
        ('AT+SAPBR=3,2,"APN","jscmiot"', ["OK"]),
        ("AT+SAPBR=4,2", ["+SAPBR:", "CONTYPE: GPRS", "APN: jscmiot", "PHONENUM: ",
                          "USER: ", "PWD: ", "RATE: 2", "OK"]),
        ("AT+SAPBR=2,2", ["+SAPBR: 2,3,000.000.000.000", "OK"]),
        ("AT+SAPBR=0,2", ["ERROR"]),  # not open
        ("AT+SAPBR=1,2", ["OK"]),
        ("AT+SAPBR=2,2", ["+SAPBR: 2,1,%s" % pad_ip("10.169.181.213"), "OK"]),
        ("AT+SAPBR=0,2", ["OK"]),
        ("AT+SAPBR=0,1", ["OK"]),
        ("AT+SAPBR=2,1", ["+SAPBR: 1,3,000.000.000.000", "OK"]),
        ("AT+SAPBR=1,4", ["ERROR"]),
        ('AT+SAPBR=3,1,"NOSUCH","x"', ["ERROR"]),
    ])


def test_sapbr_quoted_ip_option_and_not_registered(modem):
    sim, uart, at = modem(opts={"sapbr_ip": "quoted"})
    assert at.cmd("AT+SAPBR=2,1") == ['+SAPBR: 1,1,"%s"' % sim.ip, "OK"]
    assert at.cmd("AT+CFUN=0") == ["OK"]
    at.drain()
    assert at.cmd("AT+SAPBR=1,1") == ["ERROR"]
    assert at.cmd("AT+SAPBR=2,1") == ['+SAPBR: 1,3,"0.0.0.0"', "OK"]


def test_transcript_11_3_httppara_query(modem):
    sim, uart, at = modem()
    replay(at, [
        ("AT+HTTPINIT", ["OK"]),
        ("AT+HTTPPARA?", ["+HTTPPARA:", "CID: 1", "URL:", "UA: YCOM_MODULE",
                          "PROIP: 0.0.0.0", "PROPORT: 0", "REDIR: 0", "BREAK: 0",
                          "BREAKEND: 0", "TIMEOUT: 120", "CONTENT:", "USERDATA:", "OK"]),
        ("AT+HTTPPARA=?", ['+HTTPPARA: "HTTPParamTag","HTTPParamValue"', "OK"]),
        ("AT+HTTPINIT=?", ["OK"]),
        ("AT+HTTPTERM=?", ["OK"]),
        ("AT+HTTPACTION=?", ["+HTTPACTION: (0-2)", "OK"]),
        ("AT+HTTPDATA=?", ["+HTTPDATA: (0-3356),(1000-120000)", "OK"]),
        ("AT+HTTPREAD=?", ["+HTTPREAD: (0-3356),(1-3356)", "OK"]),
        ("AT+HTTPSSL=?", ["+HTTPSSL: (0-1)", "OK"]),
        ("AT+HTTPSSL?", ["+HTTPSSL: 0", "OK"]),
        ("AT+HTTPEXACTION=?", ["+HTTPEXACTION: (0-1)", "OK"]),
        ("AT+HTTPHEAD=?", ["OK"]),
        ("AT+HTTPTERM", ["OK"]),
    ])


def test_transcript_11_15_get(modem, http_server):
    """11.15 "HTTP GET 命令使用方法", with the manual's spellings AT+HTTPIPINIT and
    AT+HTTTPARA (http_typo_aliases), the space-less +HTTPACTION and the URC repeated
    until AT+HTTPREAD (httpaction_repeat_ms), as printed. Adapted: URL
    "www.baidu.com" -> "www.baidu.com:<port>/hello" (hosts table -> http_server), so
    the lengths are 12, not 1348/9592."""
    sim, uart, at = modem(opts={"http_typo_aliases": True, "httpaction_space": False,
                                "httpaction_repeat_ms": 40})
    port = http_server[1]
    replay(at, [
        ('AT+SAPBR=3,1,"CONTYPE","GPRS"', ["OK"]),
        ('AT+SAPBR=3,1,"APN",""', ["OK"]),
        ("AT+SAPBR=1,1", ["OK"]),
        ("AT+SAPBR=2,1", ["+SAPBR: 1,1,%s" % pad_ip(sim.ip), "OK"]),
        ("AT+HTTPIPINIT", ["OK"]),
        ('AT+HTTTPARA="CID",1', ["OK"]),
        ('AT+HTTTPARA="URL","www.baidu.com:%d/hello"' % port, ["OK"]),
        ("AT+HTTPACTION=0", ["OK", "+HTTPACTION:0,200,12", "+HTTPACTION:0,200,12",
                             "+HTTPACTION:0,200,12"]),
    ], quiet=False)
    # more repeats may be on their way while we type: tolerated before the answer
    at.write("AT+HTTPREAD\r")
    extra = at.read_until(b"\r\n+HTTPREAD: ")
    assert set(extra.split(b"\r\n")) <= {b"", b"+HTTPACTION:0,200,12"}, extra
    assert at.read_until(b"\r\n") == b"12"
    assert at.read_exact(12 + 6) == b"hello world\n\r\nOK\r\n"
    time.sleep(0.15)  # the repeats stop once the response has been read
    assert at.drain() == b""
    replay(at, [("AT+HTTPTERM", ["OK"])])


def test_typos_refused_by_default(modem):
    sim, uart, at = modem()
    assert at.cmd("AT+HTTPIPINIT") == ["ERROR"]
    assert at.cmd('AT+HTTTPARA="CID",1') == ["ERROR"]
    assert at.cmd("AT+HTTPSTATUS?") == ["ERROR"]  # SIMCom's, not in this manual


def test_transcript_11_15_post_https(modem, https_server):
    """11.15 "HTTP POST 命令使用方法" over real TLS. Adapted: https://fanyi.baidu.com ->
    https://fanyi.baidu.com:<port>/echo (a local HTTPS server that sends the body
    back), so the answer is the 4 bytes posted, not the 207751-byte page."""
    sim, uart, at = modem(opts={"httpaction_space": False})
    port = https_server[1]
    steps = [
        ('AT+SAPBR=3,1,"CONTYPE","GPRS"', ["OK"]),
        ('AT+SAPBR=3,1,"APN",""', ["OK"]),
        ("AT+SAPBR=1,1", ["OK"]),
        ("AT+SAPBR=2,1", ["+SAPBR: 1,1,%s" % pad_ip(sim.ip), "OK"]),
        ("AT+HTTPINIT", ["OK"]),
        ("AT+HTTPSSL=1", ["OK"]),
        ('AT+SSLCFG="hostname",153,"fanyi.baidu.com"', ["OK"]),  # ch.9, yuge.py
        ('AT+HTTPPARA="CID",1', ["OK"]),
        ('AT+HTTPPARA="URL","https://fanyi.baidu.com:%d/echo"' % port, ["OK"]),
        ("AT+HTTPDATA=4,100000", ["DOWNLOAD"], GBK_ZHONGGUO, ["OK"]),
        ("AT+HTTPACTION=1", ["OK", "+HTTPACTION:1,200,4"]),
        ("AT+HTTPREAD", ["+HTTPREAD: 4", GBK_ZHONGGUO, "OK"]),
        ("AT+HTTPTERM", ["OK"]),
    ]
    replay(at, steps)


def fs_steps(cert, timeout):
    """The manual's AT+FSCREATE / AT+FSWRITE lines (ch.8) with our PEM files. Only
    used where the personality has the file system commands."""
    pem = open(cert[0], "rb").read()
    key = open(cert[1], "rb").read()
    steps = []
    for name in ("ca.crt", "client.crt", "client.key"):
        steps.append(('AT+FSCREATE="%s"' % name, ["OK"]))
    for name, data in (("ca.crt", pem), ("client.crt", pem), ("client.key", key)):
        steps.append(('AT+FSWRITE="%s",0,%d,%d' % (name, len(data), timeout), [b"\r\n>"],
                      data, ["OK"]))
    return steps


def test_transcript_11_15_https_get_and_head(modem, https_server, cert):
    """11.15 "带 SSL 证书验证功能的 HTTPS 过程" (GET) and "HTTP HEAD 过程". The
    AT+FSCREATE/AT+FSWRITE lines (ch.8 file system) are replayed only where the
    personality has those commands; the AT+SSLCFG lines (ch.9, yuge.py) are taken
    as written, and the simulator verifies the server with them (seclevel 2: the
    ca.crt file, the name in the URL; the HEAD process sets nothing new, so context
    153 still verifies). The clientrandom value is the manual's, without the line
    break of the PDF copy. Adapted: both URLs are the local HTTPS server under the
    name its self-signed certificate carries (localhost), so the lengths are 21
    and 0; the HEAD example does not print the +HTTPACTION URC but it does come (we
    wait for it before AT+HTTPHEAD)."""
    sim, uart, at = modem(opts={"httpaction_space": False, "httpread_space": False,
                                "http_typo_aliases": True})
    port = https_server[1]
    ip = pad_ip(sim.ip)
    steps = []
    if sim.handler_for("+FSCREATE"):
        steps += fs_steps(cert, 10)
    steps += [
        ('AT+SAPBR=3,1,"CONTYPE","GPRS"', ["OK"]),
        ('AT+SAPBR=3,1,"APN",""', ["OK"]),
        ("AT+SAPBR=1,1", ["OK"]),
        ("AT+SAPBR=2,1", ["+SAPBR: 1,1,%s" % ip, "OK"]),
        ("AT+HTTPSSL=1", ["OK"]),
        ('AT+SSLCFG="cacert",153,"ca.crt"', ["OK"]),
        ('AT+SSLCFG="clientcert",153,"client.crt"', ["OK"]),
        ('AT+SSLCFG="clientkey",153,"client.key"', ["OK"]),
        ('AT+SSLCFG="seclevel",153,2', ["OK"]),
        ('AT+SSLCFG="ciphersuite",153,0X0035', ["OK"]),
        ('AT+SSLCFG="clientrandom",153,'
         '01B12C3141516171F19202122232425262728293031323334353637D', ["OK"]),
        ("AT+HTTPINIT", ["OK"]),
        ('AT+HTTPPARA="CID",1', ["OK"]),
        ('AT+HTTPPARA="URL","https://localhost:%d/json"' % port, ["OK"]),
        ("AT+HTTPACTION=0", ["OK", "+HTTPACTION:0,200,21"]),
        ("AT+HTTPREAD", ["+HTTPREAD:21", b'{"ok": true, "n": 42}', "OK"]),
        ("AT+HTTPTERM", ["OK"]),
        # HEAD process
        ('AT+SAPBR=3,1,"CONTYPE","GPRS"', ["OK"]),
        ('AT+SAPBR=3,1,"APN", ""', ["OK"]),
        ("AT+SAPBR=1,1", ["OK"]),
        ("AT+SAPBR=2,1", ["+SAPBR: 1,1,%s" % ip, "OK"]),
        ("AT+HTTPINIT", ["OK"]),
        ('AT+HTTTPARA="CID",1', ["OK"]),
        ('AT+HTTTPARA="URL","https://localhost:%d/hello"' % port, ["OK"]),
        ("AT+HTTPACTION=2", ["OK", "+HTTPACTION:2,200,0"]),
    ]
    replay(at, steps)
    at.write("AT+HTTPHEAD\r")
    at.expect(b"\r\n+HTTPHEAD: ")
    n = int(at.read_until(b"\r\n"))
    head = at.read_exact(n)
    assert at.read_exact(6) == b"\r\nOK\r\n"
    assert head.startswith(b"HTTP/1.1 200 ") and head.endswith(b"\r\n\r\n")
    assert b"Content-Length: 12\r\n" in head
    assert at.cmd("AT+HTTPTERM") == ["OK"]


def test_transcript_11_15_exaction_post(modem, http_server):
    """11.15 "HTTP HTTPACTION&HTTPGET&HTTPPOST 过程". Adapted: URL -> the local
    /echo, so the answer is the 10 bytes posted."""
    sim, uart, at = modem(opts={"http_typo_aliases": True})
    replay(at, [
        ('AT+SAPBR=3,1,"CONTYPE","GPRS"', ["OK"]),
        ('AT+SAPBR=3,1,"APN",""', ["OK"]),
        ("AT+SAPBR=1,1", ["OK"]),
        ("AT+SAPBR=2,1", ["+SAPBR: 1,1,%s" % pad_ip(sim.ip), "OK"]),
        ("AT+HTTPIPINIT", ["OK"]),
        ('AT+HTTTPARA="CID",1', ["OK"]),
        ('AT+HTTTPARA="URL","http://127.0.0.1:%d/echo"' % http_server[1], ["OK"]),
        ("AT+HTTPEXACTION=1,10", ["OK", "+HTTPEXPOST"]),
        ("AT+HTTPEXPOST=10,10000", [b"\r\n>"], b"0123456789",
         ["OK", "+HTTPEXPOST: 10", "+HTTPEXGET"]),
        ("AT+HTTPEXGET", ["+HTTPEXGET: 10", b"0123456789", "OK", "+HTTPEXACTION: 1,200"]),
        ("AT+HTTPTERM", ["OK"]),
    ])


def test_exaction_get_in_pieces(modem, http_server):
    sim, uart, at = modem()
    http_open(at, "http://127.0.0.1:%d/large" % http_server[1])
    assert at.cmd("AT+HTTPEXACTION=0") == ["OK"]
    at.wait_line("+HTTPEXGET")
    got = b""
    while len(got) < len(LARGE_BODY):
        got += httpread(at, "AT+HTTPEXGET=30000", b"+HTTPEXGET: ")
    assert got == LARGE_BODY
    assert at.wait_line("+HTTPEXACTION") == "+HTTPEXACTION: 0,200"
    assert at.cmd("AT+HTTPEXGET") == ["ERROR"]


def test_get_large_body_in_chunks(modem, http_server):
    sim, uart, at = modem()
    http_open(at, "http://localhost:%d/large" % http_server[1])
    assert action(at, 0) == (200, len(LARGE_BODY))
    got = b""
    while len(got) < len(LARGE_BODY):
        got += httpread(at, "AT+HTTPREAD=%d,3356" % len(got))
    assert got == LARGE_BODY
    assert httpread(at, "AT+HTTPREAD=%d,100" % len(LARGE_BODY)) == b""  # past the end
    assert httpread(at) == LARGE_BODY  # the whole body at once, again
    assert at.cmd("AT+HTTPREAD=0,3357") == ["ERROR: 12"]  # <byte_size> 1~3356 (11.7)
    assert at.cmd("AT+HTTPTERM") == ["OK"]


def test_post_binary_with_httpdata(modem, http_server):
    sim, uart, at = modem()
    body = (bytes(range(256)) * 14 + NASTY)[:3356]
    http_open(at, "http://127.0.0.1:%d/echo" % http_server[1],
              CONTENT="application/octet-stream")
    assert at.cmd("AT+HTTPDATA=%d,10000" % len(body), until="DOWNLOAD") == ["DOWNLOAD"]
    at.write(body)
    assert at.wait_line("OK") == "OK"
    assert httpread(at) == body  # 11.7: before the action HTTPREAD shows the POST data
    assert action(at, 1) == (200, len(body))
    assert httpread(at) == body
    assert at.cmd("AT+HTTPDATA=3357,10000") == ["ERROR: 13"]  # AT build: 3356 max
    assert at.cmd("AT+HTTPDATA=10,999") == ["ERROR: 12"]
    assert at.cmd("AT+HTTPDATA=0,0") == ["OK"]  # 11.4: size 0 clears, time not checked
    assert action(at, 1) == (200, 0)


def test_httpdata_timeout_keeps_what_came(modem, http_server):
    sim, uart, at = modem()
    http_open(at, "http://127.0.0.1:%d/echo" % http_server[1])
    t0 = time.monotonic()
    assert at.cmd("AT+HTTPDATA=100,1000", until="DOWNLOAD") == ["DOWNLOAD"]
    at.write(b"partial")
    assert at.wait_line("OK", timeout=3) == "OK"
    assert 0.9 < time.monotonic() - t0 < 2.5
    assert action(at, 1) == (200, 7)
    assert httpread(at) == b"partial"


def test_head_and_error_statuses(modem, http_server):
    sim, uart, at = modem()
    port = http_server[1]
    http_open(at, "http://127.0.0.1:%d/hello" % port)
    assert action(at, 2) == (200, 0)  # HEAD: <DataLen> is the data obtained: none
    assert httpread(at) == b""
    assert at.cmd('AT+HTTPPARA="URL","http://127.0.0.1:%d/status/404"' % port) == ["OK"]
    assert action(at, 0) == (404, 0)
    assert at.cmd('AT+HTTPPARA="URL","http://127.0.0.1:%d/nothing"' % port) == ["OK"]
    assert action(at, 0) == (404, 10)
    assert httpread(at) == b"not found\n"
    assert at.cmd('AT+HTTPPARA="URL","http://127.0.0.1:%d/status/503"' % port) == ["OK"]
    assert action(at, 0) == (503, 0)
    # manual 11.3 URL form "http://server/path:tcpPort"
    assert at.cmd('AT+HTTPPARA="URL","http://127.0.0.1/json:%d"' % port) == ["OK"]
    assert action(at, 0) == (200, 21)


def test_network_side_errors_6xx(modem, raw_server):
    sim, uart, at = modem()
    dead = free_port()
    http_open(at, "http://no.such.host/x")
    assert action(at, 0) == (603, 0)  # DNS error: not in the hosts table
    assert at.cmd('AT+HTTPPARA="URL","http://127.0.0.1:%d/x"' % dead) == ["OK"]
    assert action(at, 0) == (601, 0)  # refused: network error
    junk = raw_server(lambda req: b"SSH-2.0-OpenSSH_9.0\r\n\r\n")
    assert at.cmd('AT+HTTPPARA="URL","http://127.0.0.1:%d/x"' % junk.port) == ["OK"]
    assert action(at, 0) == (600, 0)  # not an HTTP PDU
    sink = raw_server(lambda req: None)
    assert at.cmd('AT+HTTPPARA="URL","http://127.0.0.1:%d/x"' % sink.port) == ["OK"]
    assert at.cmd('AT+HTTPPARA="TIMEOUT",1') == ["OK"]
    t0 = time.monotonic()
    assert action(at, 0) == (408, 0)  # our TIMEOUT ran out
    assert 0.9 < time.monotonic() - t0 < 3
    https_plain = raw_server(lambda req: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                             early=True)
    assert at.cmd("AT+HTTPSSL=1") == ["OK"]
    assert at.cmd('AT+HTTPPARA="URL","https://127.0.0.1:%d/x"' % https_plain.port) == ["OK"]
    assert action(at, 0)[0] == 605  # TLS towards a plain server: SSL set-up failed


def test_body_too_large_602(modem, http_server):
    sim, uart, at = modem(opts={"http_body_max": 100000})
    http_open(at, "http://127.0.0.1:%d/large" % http_server[1])
    assert action(at, 0) == (602, 0)


def test_request_fields_reach_the_server(modem, raw_server):
    """UA, CONTENT, USERDATA / USER_DEFINED, BREAK/BREAKEND, chunked and
    close-delimited answers, proxy, REDIR - checked on the wire."""
    sim, uart, at = modem()
    body = b"chunk-one|chunk-two"
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"a\r\nchunk-one|\r\n9\r\nchunk-two\r\n0\r\n\r\n")
    srv = raw_server(lambda req: chunked)
    http_open(at, "http://www.baidu.com:%d/p?q=1" % srv.port, UA="TestUA/1.0",
              CONTENT="application/json", BREAK=5, BREAKEND=9)
    assert at.cmd(r'AT+HTTPPARA="USERDATA","X-One: 1\r\nX-Two: 2"') == ["OK"]
    assert at.cmd('AT+HTTPPARA="USER_DEFINED","X-Three: 3"') == ["OK"]
    assert at.cmd("AT+HTTPDATA=2,5000", until="DOWNLOAD") == ["DOWNLOAD"]
    at.write(b"{}")
    at.wait_line("OK")
    assert action(at, 1) == (200, len(body))
    assert httpread(at) == body
    req = srv.requests[-1]
    head, _, sent = req.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /p?q=1 HTTP/1.1"
    assert b"Host: www.baidu.com:%d" % srv.port in lines
    for h in (b"User-Agent: TestUA/1.0", b"Content-Type: application/json",
              b"Content-Length: 2", b"Range: bytes=5-9", b"X-One: 1", b"X-Two: 2",
              b"X-Three: 3", b"Connection: close"):
        assert h in lines, (h, lines)
    assert sent == b"{}"
    # BREAKEND below BREAK: from BREAK to the end
    assert at.cmd('AT+HTTPPARA="BREAKEND",0') == ["OK"]
    srv.respond = lambda req: b"HTTP/1.0 206 Partial\r\n\r\nuntil-close"
    assert action(at, 0) == (206, 11)
    assert httpread(at) == b"until-close"
    assert b"Range: bytes=5-" in srv.requests[-1].split(b"\r\n")
    # a proxy gets the absolute URL
    proxy = raw_server(lambda req: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\npx")
    assert at.cmd('AT+HTTPPARA="PROIP","127.0.0.1"') == ["OK"]
    assert at.cmd('AT+HTTPPARA="PROPORT",%d' % proxy.port) == ["OK"]
    assert action(at, 0) == (200, 2)
    assert proxy.requests[-1].startswith(
        b"GET http://www.baidu.com:%d/p?q=1 HTTP/1.1\r\n" % srv.port)
    assert at.cmd("AT+HTTPTERM") == ["OK"]


def test_redirect_follow(modem, raw_server, http_server):
    sim, uart, at = modem()
    target = "http://127.0.0.1:%d/hello" % http_server[1]
    srv = raw_server(lambda req: b"HTTP/1.1 302 Found\r\nLocation: " + target.encode()
                     + b"\r\nContent-Length: 0\r\n\r\n")
    http_open(at, "http://127.0.0.1:%d/old" % srv.port)
    assert action(at, 0) == (302, 0)  # REDIR 0 (default): the 30x is the answer
    assert at.cmd('AT+HTTPPARA="REDIR",1') == ["OK"]
    assert action(at, 0) == (200, 12)
    assert httpread(at) == b"hello world\n"


def test_error_codes_11_14_and_plain_option(modem, http_server):
    sim, uart, at = modem()
    assert at.cmd('AT+HTTPPARA="URL","http://x/"') == ["ERROR: 0"]  # no session
    assert at.cmd("AT+HTTPTERM") == ["ERROR: 0"]
    assert at.cmd("AT+HTTPINIT") == ["OK"]
    assert at.cmd("AT+HTTPINIT") == ["ERROR: 3"]  # busy: already initialised
    assert at.cmd("AT+HTTPREAD") == ["ERROR: 1"]  # nothing to read
    assert at.cmd("AT+HTTPHEAD") == ["ERROR: 9"]  # no header
    assert at.cmd('AT+HTTPPARA="NOPE",1') == ["ERROR: 12"]
    assert at.cmd('AT+HTTPPARA="CID",4') == ["ERROR: 12"]
    assert at.cmd("AT+HTTPACTION=0") == ["ERROR: 12"]  # no URL yet
    assert at.cmd("AT+HTTPACTION=3") == ["ERROR"]  # syntax: plain ERROR
    assert at.cmd('AT+HTTPPARA="URL","http://127.0.0.1:%d/slow"' % http_server[1]) == ["OK"]
    assert at.cmd("AT+HTTPACTION=0") == ["OK"]
    assert at.cmd("AT+HTTPACTION=0") == ["ERROR: 3"]  # one at a time
    assert at.cmd("AT+HTTPREAD") == ["ERROR: 3"]
    assert at.wait_line("+HTTPACTION", timeout=3) == "+HTTPACTION: 0,200,5"
    assert at.cmd("AT+HTTPTERM") == ["OK"]

    sim2, uart2, at2 = modem(opts={"http_error_codes": False})
    assert at2.cmd("AT+HTTPTERM") == ["ERROR"]
    assert at2.cmd("AT+HTTPINIT") == ["OK"]
    assert at2.cmd("AT+HTTPINIT") == ["ERROR"]


def test_httpterm_abandons_request(modem, http_server):
    sim, uart, at = modem()
    http_open(at, "http://127.0.0.1:%d/slow" % http_server[1])
    assert at.cmd("AT+HTTPACTION=0") == ["OK"]
    assert at.cmd("AT+HTTPTERM") == ["OK"]
    time.sleep(0.7)
    assert at.drain() == b""


def test_read_forms_option_no_space(modem, http_server):
    sim, uart, at = modem(opts={"httpread_space": False, "httpaction_space": False})
    http_open(at, "http://127.0.0.1:%d/hello" % http_server[1])
    assert at.cmd("AT+HTTPACTION=0") == ["OK"]
    assert at.wait_line("+HTTPACTION") == "+HTTPACTION:0,200,12"
    assert httpread(at, "AT+HTTPREAD=6,100", b"+HTTPREAD:") == b"world\n"


def test_action_urc_inside_next_reply_hold_fault(modem, http_server):
    """hold=1: the +HTTPACTION URC is held back and comes out inside the reply of
    the next, unrelated command (between its echo and its OK)."""
    sim, uart, at = modem(faults=["hold=1"])
    http_open(at, "http://127.0.0.1:%d/hello" % http_server[1])
    assert at.cmd("AT+HTTPACTION=0") == ["OK"]
    time.sleep(0.3)
    assert at.drain() == b""  # held
    assert at.cmd("AT+CSQ") in (["+HTTPACTION: 0,200,12", "+CSQ: 20,99", "OK"],
                                ["+CSQ: 20,99", "+HTTPACTION: 0,200,12", "OK"])


def test_slow_network_delay_option(modem, http_server):
    sim, uart, at = modem(opts={"http_delay_ms": 400})
    http_open(at, "http://127.0.0.1:%d/hello" % http_server[1])
    t0 = time.monotonic()
    assert at.cmd("AT+HTTPACTION=0") == ["OK"]
    assert at.cmd("AT") == ["OK"]  # the module keeps answering meanwhile
    assert at.wait_line("+HTTPACTION") == "+HTTPACTION: 0,200,12"
    assert time.monotonic() - t0 >= 0.39


def test_network_drop_mid_request(modem, http_server):
    sim, uart, at = modem()
    http_open(at, "http://127.0.0.1:%d/slow" % http_server[1])
    assert at.cmd("AT+HTTPACTION=0") == ["OK"]
    sim.network_drop()
    lines = [at.wait_line(re.compile(r"^\+(SAPBR 1|HTTPACTION)")) for _ in range(2)]
    assert lines == ["+SAPBR 1: DEACT", "+HTTPACTION: 0,601,0"]
    time.sleep(0.6)
    assert b"+HTTPACTION" not in at.drain()  # the late answer is dropped
    assert at.cmd("AT+SAPBR=2,1") == ["+SAPBR: 1,3,000.000.000.000", "OK"]
    assert action(at, 0) == (601, 0)  # no bearer
    assert at.cmd("AT+SAPBR=1,1") == ["OK"]
    assert action(at, 0) == (200, 5)


def test_httpscont_survives_reboot(modem, http_server):
    sim, uart, at = modem()
    url = "http://127.0.0.1:%d/hello" % http_server[1]
    http_open(at, url)
    assert at.cmd("AT+HTTPSCONT?")[0] == "+HTTPSCONT: 1"
    assert at.cmd("AT+HTTPSCONT") == ["OK"]
    lines = at.cmd("AT+HTTPSCONT?")
    assert lines[:3] == ["+HTTPSCONT: 0", "CID: 1", "URL: " + url]
    sim.reboot()
    time.sleep(0.05)
    at.drain()
    at.cmd("ATE0")
    assert at.cmd("AT+HTTPINIT") == ["OK"]  # 11.12: saved values load again
    assert action(at, 0) == (200, 12)


def test_url_parsing():
    assert parse_url("www.baidu.com", False) == (False, "www.baidu.com", 80, "/")
    assert parse_url("https://h/p?x=1", False) == (True, "h", 443, "/p?x=1")
    assert parse_url("http://h:81/a/b", True) == (True, "h", 81, "/a/b")
    assert parse_url("http://server/path:8080", False) == (False, "server", 8080, "/path")
    with pytest.raises(ValueError):
        parse_url("http://:80/", False)


# ================================================================== ch.13 MQTT
def test_transcript_13_14_plain(modem, mosquitto, peers):
    """13.14 "普通流程". Adapted: the broker is the local mosquitto ("ip 或域名" ->
    mqtt.example.com through the hosts table, the fixture's port); <clientid> ->
    yuge1, user XXXX, password $$$$ as printed (mosquitto allows anonymous users).
    The example receives in cache mode without setting it: mqtt_msgset_default=1.
    The manual's own slips are straightened: the first message is the 9-byte
    "SSSSddddd" its MQTTMSGGET prints, its "+MSUB: 0" URC is shown where it arrives
    (right after that publish), the HEX publish goes to "mqtt/hex" (a paho peer
    checks it gets "123") so it does not land in the cache, and AT+MQTTMODE=0 is
    sent before the last ASCII publish (in HEX mode "SSSSddddd" is not valid)."""
    sim, uart, at = modem(opts={"mqtt_msgset_default": 1})
    peer = peers(mosquitto, subscribe=[("mqtt/hex", 0)])
    replay(at, [
        ("AT+CGREG?", ["+CGREG: 0,1", "OK"]),
        ("AT+CGATT?", ["+CGATT: 1", "OK"]),
        ("AT+MCONFIG=yuge1,XXXX,$$$$", ["OK"]),
        ('AT+MIPSTART="mqtt.example.com","%d"' % mosquitto[1], ["OK", "CONNECT OK"]),
        ("AT+MCONNECT=1,60", ["OK", "CONNACK OK"]),
        ('AT+MSUB="mqtt/topic",0', ["OK", "SUBACK"]),
        ('AT+MPUB="mqtt/topic",0,0,"SSSSddddd"', ["OK", "+MSUB: 0"]),
        ("AT+MQTTMODE=1", ["OK"]),
        ('AT+MPUB="mqtt/hex",0,0,"313233"', ["OK"]),
    ])
    assert peer.get().payload == b"123"
    replay(at, [
        ("AT+MQTTMSGGET?", ["+MQTTMSGGET: 0,VALID", "+MQTTMSGGET: 1,INVALID",
                            "+MQTTMSGGET: 2,INVALID", "+MQTTMSGGET: 3,INVALID", "OK"]),
        ("AT+MQTTMSGGET", ["+MSUB: mqtt/topic,9 byte,SSSSddddd", "OK"]),
        ("AT+MQTTMSGSET=0", ["OK"]),
        ("AT+MQTTMODE=0", ["OK"]),
        ('AT+MPUB="mqtt/topic",0,0,"SSSSddddd"',
         ["OK", '+MSUB: "mqtt/topic",9 byte,SSSSddddd']),
        ("AT+MDISCONNECT", ["OK"]),
        ("AT+MIPCLOSE", ["OK"]),
        ("AT+MQTTSTATU", ["+MQTTSTATU :0", "OK"]),
    ])


def test_transcript_13_10_mqttmode(modem, mosquitto, peers):
    sim, uart, at = modem()
    peer = peers(mosquitto, subscribe=[("test", 0)])
    mqtt_online(at, mosquitto)
    replay(at, [
        ("AT+MQTTMODE=1", ["OK"]),
        ('AT+MPUB="test",0,0,"313233"', ["OK"]),
        ("AT+MQTTMODE=0", ["OK"]),
        ('AT+MPUB="test",0,0,"123"', ["OK"]),
        ("AT+MQTTMODE?", ["+MQTTMODE: 0", "OK"]),
        ("AT+MQTTMODE=?", ["+MQTTMODE: (0,1)", "OK"]),
    ])
    assert [peer.get().payload for _ in range(2)] == [b"123", b"123"]


def test_transcript_13_14_ssl(modem, mosquitto_tls, peers, cert):
    """13.14 SSL flows against a TLS mosquitto: "SSL 不带证书验证" (AT+SSLMIPSTART in
    the plain flow), "SSL 带证书验证流程 (单向认证)" and "(双向认证)". The manual
    shows no URC after SSLMIPSTART's OK; the module sends CONNECT OK as for MIPSTART
    (13.2) and MCONNECT must wait for it, so the replay expects it. The AT+SSLCFG
    lines (ch.9, yuge.py) are taken as written, and the simulator verifies the broker
    with them (seclevel 1 and 2: the ca.crt file written with AT+FSWRITE, the name
    the broker is reached by), so the broker is "localhost", the name its
    self-signed certificate carries; seclevel 2 presents client.crt/client.key (the
    broker does not ask). AT+FSCREATE/AT+FSWRITE (ch.8) only where the personality
    has them. Adapted: <svraddr>,<port> -> the local TLS broker; <clientid> ->
    yuge-tls-N."""
    sim, uart, at = modem()
    peer = peers(mosquitto_tls, subscribe=[("mqtt/topic", 1)], tls=True)
    flows = [
        # without certificate check
        [("AT+MCONFIG=yuge-tls-1,XXXX,$$$$", ["OK"])],
        # one-way authentication
        [("AT+CGATT?", ["+CGATT: 1", "OK"])]
        + (fs_steps(cert, 15)[::3] if sim.handler_for("+FSCREATE") else [])
        + [('AT+SSLCFG="cacert",88,"ca.crt"', ["OK"]),
           ('AT+SSLCFG="seclevel",88,1', ["OK"]),
           ("AT+MCONFIG=yuge-tls-2,XXXX,$$$", ["OK"])],
        # two-way authentication
        (fs_steps(cert, 15) if sim.handler_for("+FSCREATE") else [])
        + [('AT+SSLCFG="cacert",88,"ca.crt"', ["OK"]),
           ('AT+SSLCFG="clientcert",88,"client.crt"', ["OK"]),
           ('AT+SSLCFG="clientkey",88,"client.key"', ["OK"]),
           ('AT+SSLCFG="seclevel",88,2', ["OK"]),
           ("AT+MCONFIG=yuge-tls-3,XXXX,$$$$", ["OK"])],
    ]
    for i, flow in enumerate(flows):
        ka = 360 if i == 2 else 60
        replay(at, flow + [
            ("AT+SSLMIPSTART=localhost,%d" % mosquitto_tls[1], ["OK", "CONNECT OK"]),
            ("AT+MCONNECT=1,%d" % ka, ["OK", "CONNACK OK"]),
            ('AT+MPUB="mqtt/topic",1,0,"tls %d"' % i, ["OK", "PUBACK"]),
        ])
        assert peer.get().payload == b"tls %d" % i
        if i < 2:
            replay(at, [("AT+MDISCONNECT", ["OK"]), ("AT+MIPCLOSE", ["OK"])])
    # the last session also receives
    peer.publish("mqtt/back", b"x")  # not subscribed: nothing arrives
    subscribe(at, "mqtt/back", 1)
    peer.publish("mqtt/back", b"\x00tls\r\n", qos=1)
    assert msub(at) == ("mqtt/back", b"\x00tls\r\n")
    replay(at, [("AT+MDISCONNECT", ["OK"]), ("AT+MIPCLOSE", ["OK"])])


def test_test_commands_and_queries(modem):
    sim, uart, at = modem()
    replay(at, [
        ("AT+MCONFIG=?", ["+MCONFIG: <clientid>[,<username>,<password>[,(0-2),(0,1),"
                          "<will_topic>,<will_message>]]", "OK"]),
        ("AT+MIPSTART=?", ['+MIPSTART:"(0,255).(0,255).(0,255).(0,255)",(1-65535)',
                           '+MIPSTART:"DOMAIN NAME",(1-65535)', "OK"]),
        ("AT+SSLMIPSTART=?", ['+SSLMIPSTART:"(0,255).(0,255).(0,255).(0,255)",(1-65535)',
                              '+SSLMIPSTART:"DOMAIN NAME",(1-65535)', "OK"]),
        ("AT+MCONNECT=?", ["+MCONNECT:(0-1),(1-65535)", "OK"]),
        ("AT+MPUB=?", ["+MPUB:<topic>,(0-2),(0-1),<message>", "OK"]),
        ("AT+MPUBEX=?", ["+MPUBEX:<topic>,(0-2),(0-1),<len>", "OK"]),
        ("AT+MSUB=?", ["+MSUB:<topic>,(0-2)", "OK"]),
        ("AT+MUNSUB=?", ["+MUNSUB:<topic>", "OK"]),
        ("AT+MQTTMSGGET=?", ["OK"]),
        ("AT+MQTTMSGSET=?", ["+MQTTMSGSET:(0,1)", "OK"]),
        ("AT+MQTTMSGSET?", ["+MQTTMSGSET:0", "OK"]),
        ("AT+MIPCLOSE=?", ["OK"]),
        ("AT+MDISCONNECT=?", ["OK"]),
        ("AT+MQTTSTATU=?", ["OK"]),
        ("AT+MQTTSTATU", ["+MQTTSTATU :0", "OK"]),
        # nothing connected yet
        ("AT+MCONNECT=1,60", ["ERROR"]),
        ('AT+MPUB="t",0,0,"x"', ["ERROR"]),
        ('AT+MSUB="t",0', ["ERROR"]),
        ("AT+MDISCONNECT", ["ERROR"]),
        ("AT+MIPCLOSE", ["ERROR"]),
        ("AT+MCONFIG=a,b", ["ERROR"]),
        ("AT+MQTTMSGSET=2", ["ERROR"]),
    ])


def test_publish_qos_0_1_2_and_retained(modem, mosquitto, peers):
    sim, uart, at = modem()
    peer = peers(mosquitto, subscribe=[("dev/#", 2)])
    mqtt_online(at, mosquitto)
    replay(at, [
        ('AT+MPUB="dev/q0",0,0,"zero"', ["OK"]),
        ('AT+MPUB="dev/q1",1,0,"one"', ["OK", "PUBACK"]),
        ('AT+MPUB="dev/q2",2,0,"two"', ["OK", "PUBREC", "PUBCOMP"]),
        ('AT+MPUB="dev/ret",1,1,"kept"', ["OK", "PUBACK"]),
        # 13.4 escapes: \22 " \0D CR \0A LF \5C backslash
        (r'AT+MPUB="dev/esc",0,0,"a\22b\0D\0Ac\5Cd"', ["OK"]),
    ])
    got = {}
    for _ in range(5):
        m = peer.get()
        got[m.topic] = (m.payload, m.qos)
    assert got == {"dev/q0": (b"zero", 0), "dev/q1": (b"one", 1), "dev/q2": (b"two", 2),
                   "dev/ret": (b"kept", 1), "dev/esc": (b'a"b\r\nc\\d', 0)}
    late = peers(mosquitto, client_id="late", subscribe=[("dev/ret", 0)])
    m = late.get()
    assert (m.payload, m.retain) == (b"kept", True)
    # MPUBEX with <len>: binary, qos 1
    data = bytes(range(256)) + NASTY
    mpubex(at, "dev/bin", 1, 0, data)
    assert at.wait_line("PUBACK") == "PUBACK"
    assert peer.get().payload == data


def test_receive_qos_0_1_2_retained_binary(modem, mosquitto, peers):
    sim, uart, at = modem()
    peer = peers(mosquitto)
    peer.publish("in/ret", b"retained\x00\xff", qos=1, retain=True)
    mqtt_online(at, mosquitto)
    subscribe(at, "in/#", 2)
    assert msub(at) == ("in/ret", b"retained\x00\xff")  # the broker's retained copy
    for qos in (0, 1, 2):
        payload = NASTY + bytes([qos]) * 10
        peer.publish("in/q%d" % qos, payload, qos=qos)
        assert msub(at) == ("in/q%d" % qos, payload)
    assert at.cmd('AT+MUNSUB="in/#"') == ["OK"]
    assert at.wait_line("UNSUBACK") == "UNSUBACK"
    peer.publish("in/q0", b"gone", qos=1)
    time.sleep(0.2)
    assert b"+MSUB" not in at.drain()
    assert at.cmd("AT+MQTTSTATU") == ["+MQTTSTATU :1", "OK"]


def test_cache_mode_keeps_newest_four(modem, mosquitto, peers):
    sim, uart, at = modem()
    peer = peers(mosquitto)
    mqtt_online(at, mosquitto)
    subscribe(at, "c/+", 1)
    assert at.cmd("AT+MQTTMSGSET=1") == ["OK"]
    assert at.cmd("AT+MQTTMSGSET?") == ["+MQTTMSGSET:1", "OK"]
    slots = []
    for i in range(5):
        peer.publish("c/%d" % i, b"m%d\r\n" % i, qos=1)
        slots.append(at.wait_line("+MSUB: "))
    assert slots == ["+MSUB: 0", "+MSUB: 1", "+MSUB: 2", "+MSUB: 3", "+MSUB: 0"]
    at.write("AT+MQTTMSGGET\r")
    got = at.read_until(b"\r\nOK\r\n")
    # oldest first; m0 was overwritten by m4 (13.8)
    assert got == b"".join(b"\r\n+MSUB: c/%d,4 byte,m%d\r\n\r\n" % (i, i) for i in (1, 2, 3, 4))
    assert at.cmd("AT+MQTTMSGGET?") == ["+MQTTMSGGET: %d,INVALID" % i for i in range(4)] + ["OK"]
    assert at.cmd("AT+MQTTMSGGET") == ["OK"]
    peer.publish("c/x", b"again", qos=0)
    assert at.wait_line("+MSUB: ") == "+MSUB: 0"  # slots free again: from 0


def test_mqtt_64k_round_trip(modem, mosquitto):
    """64 KiB of random bytes (every byte value, CR LF, OK, 0x1A, 0x1B, 0x03) out with
    AT+MPUBEX and back through the broker: pushed +MSUB, then cache mode."""
    sim, uart, at = modem()
    mqtt_online(at, mosquitto)
    subscribe(at, "loop", 1)
    rnd = random.Random(7)
    data = bytes(range(256)) + NASTY + bytes(rnd.getrandbits(8) for _ in range(65536))
    data = data[:65536]
    got = b""
    for i in range(0, len(data), 2384):
        mpubex(at, "loop", 0, 0, data[i:i + 2384])
        got += msub(at)[1]
    assert got == data
    assert at.cmd("AT+MQTTMSGSET=1") == ["OK"]
    for i in range(0, 3 * 2384, 2384):
        mpubex(at, "loop", 0, 0, data[i:i + 2384])
        at.wait_line("+MSUB: ")
    at.write("AT+MQTTMSGGET\r")
    back = b""
    for _ in range(3):
        at.expect(b"+MSUB: loop,")
        n = int(at.read_until(b" byte,"))
        back += at.read_exact(n)
    at.wait_line("OK")
    assert back == data[:3 * 2384]


def test_mpubex_ctrlz_and_gap_timeout(modem, mosquitto, peers):
    sim, uart, at = modem(opts={"mpubex_gap_ms": 300})
    peer = peers(mosquitto, subscribe=[("x", 0)])
    mqtt_online(at, mosquitto)
    at.write('AT+MPUBEX="x",0,0\r')
    at.expect(b"\r\n>")
    at.write(b"ab\x1bc")  # ESC is payload here: only 0x1A ends (13.5)
    time.sleep(0.2)
    at.write(b"d\x1a")
    assert at.wait_line("OK") == "OK"
    assert peer.get().payload == b"ab\x1bcd"
    t0 = time.monotonic()
    at.write('AT+MPUBEX="x",0,0\r')
    at.expect(b"\r\n>")
    for piece in (b"one ", b"two ", b"three"):  # gaps shorter than 300 ms
        at.write(piece)
        time.sleep(0.2)
    assert at.wait_line("OK") == "OK"
    # ended by 300 ms of silence after the last piece, not 300 ms after the prompt
    assert time.monotonic() - t0 > 0.65
    assert peer.get().payload == b"one two three"
    assert at.cmd('AT+MPUBEX="x",0,0,2385') == ["ERROR"]


def test_broker_kick_gives_closed(modem, mosquitto, peers):
    """13.1: two clients with one client id: the broker drops the older one. The
    module reports CLOSED and goes offline (13.14 "TCP 断链")."""
    sim, uart, at = modem()
    mqtt_online(at, mosquitto, client="same-id")
    peers(mosquitto, client_id="same-id")
    assert at.wait_line("CLOSED") == "CLOSED"
    assert at.cmd("AT+MQTTSTATU") == ["+MQTTSTATU :0", "OK"]
    assert at.cmd('AT+MPUB="t",0,0,"x"') == ["ERROR"]
    assert at.cmd("AT+MIPCLOSE") == ["ERROR"]
    mqtt_online(at, mosquitto, client="other-id")  # "后面从 MIPSTART 开始重新连接"


def test_will_on_mipclose_and_clean_disconnect(modem, mosquitto, peers):
    sim, uart, at = modem()
    peer = peers(mosquitto, subscribe=[("wills/#", 1)])
    assert at.cmd('AT+MCONFIG="w1","","",1,0,"wills/w1","gone"') == ["OK"]
    assert at.cmd('AT+MIPSTART="127.0.0.1",%d' % mosquitto[1]) == ["OK"]
    at.wait_line("CONNECT OK")
    assert at.cmd("AT+MCONNECT=1,60") == ["OK"]
    at.wait_line("CONNACK OK")
    assert at.cmd("AT+MIPCLOSE") == ["OK"]  # no DISCONNECT: the broker sends the will
    m = peer.get()
    assert (m.topic, m.payload) == ("wills/w1", b"gone")
    # with MDISCONNECT first, no will
    assert at.cmd('AT+MIPSTART="127.0.0.1",%d' % mosquitto[1]) == ["OK"]
    at.wait_line("CONNECT OK")
    assert at.cmd("AT+MQTTSTATU") == ["+MQTTSTATU :2", "OK"]  # TCP only (13.13)
    assert at.cmd("AT+MCONNECT=1,60") == ["OK"]
    at.wait_line("CONNACK OK")
    assert at.cmd("AT+MDISCONNECT") == ["OK"]
    time.sleep(0.2)
    assert at.drain() == b""  # the broker's close after DISCONNECT: no CLOSED
    assert at.cmd("AT+MIPCLOSE") == ["OK"]
    with pytest.raises(queue.Empty):
        peer.get(timeout=0.3)


def test_connect_failures(modem, mosquitto):
    sim, uart, at = modem()
    dead = free_port()
    assert at.cmd('AT+MIPSTART="127.0.0.1",%d' % dead) == ["OK"]
    assert [at.read_line(), at.read_line()] == ["STATE: TCP CLOSED", "CONNECT FAIL"]
    assert at.cmd('AT+MIPSTART="no.such.host",1883') == ["OK"]
    assert [at.read_line(), at.read_line()] == ["STATE: TCP CLOSED", "CONNECT FAIL"]
    assert at.cmd("AT+MIPSTART=127.0.0.1,%d" % mosquitto[1]) == ["OK"]
    assert at.read_line() == "CONNECT OK"
    assert at.cmd("AT+MIPSTART=127.0.0.1,%d" % mosquitto[1]) == ["OK"]
    assert at.read_line() == "ALREADY CONNECT"
    assert at.cmd("AT+MCONNECT=1,60") == ["ERROR"]  # no MCONFIG yet
    # empty client id without clean session: the broker refuses (CONNACK 2); 13.3
    # reports a bare ERROR after the OK
    assert at.cmd('AT+MCONFIG="","",""') == ["OK"]
    assert at.cmd("AT+MCONNECT=0,60") == ["OK"]
    assert at.read_line() == "ERROR"
    assert at.read_line() == "CLOSED"  # and the broker hangs up
    assert at.cmd("AT+MIPCLOSE") == ["ERROR"]
    # not registered: the PDP state in the STATE line
    assert at.cmd("AT+CFUN=0") == ["OK"]
    at.drain()
    assert at.cmd("AT+MIPSTART=127.0.0.1,%d" % mosquitto[1]) == ["OK"]
    assert [at.read_line(), at.read_line()] == ["STATE: PDP DEACT", "CONNECT FAIL"]


def test_multilink_forms(modem, mosquitto):
    """13.2 under AT+CIPMUX=1: `7, CONNECT OK` (real firmware's space), or the
    manual's `7,CONNECT OK` with mqtt_link_space off, or with the personality's
    link_space off (one switch for all link-numbered results)."""
    for opts, want in (({}, "7, CONNECT OK"), ({"mqtt_link_space": False}, "7,CONNECT OK"),
                       ({"link_space": False}, "7,CONNECT OK")):
        sim, uart, at = modem(opts=opts)
        if sim.handler_for("+CIPMUX"):
            assert at.cmd("AT+CIPMUX=1") == ["OK"]
        else:
            sim.cipmux = 1  # test-only personality: no ch.9 commands
        assert at.cmd("AT+MIPSTART=127.0.0.1,%d" % mosquitto[1]) == ["OK"]
        assert at.read_line() == want
        assert at.cmd("AT+MIPCLOSE") == ["OK"]
        assert at.cmd("AT+MIPSTART=127.0.0.1,%d" % free_port()) == ["OK"]
        assert at.read_line() == want.replace("CONNECT OK", "CONNECT FAIL")


def test_keepalive_pings_keep_the_session(modem, mosquitto, peers):
    """MCONNECT keepalive 1 s: the broker drops a silent client after 1.5 s; the
    module's PINGREQs keep it."""
    sim, uart, at = modem()
    peer = peers(mosquitto, subscribe=[("ka", 0)])
    mqtt_online(at, mosquitto, keepalive=1)
    time.sleep(2.2)
    assert at.drain() == b""  # no CLOSED
    assert at.cmd('AT+MPUB="ka",0,0,"alive"') == ["OK"]
    assert peer.get().payload == b"alive"


def test_network_drop_and_reboot(modem, mosquitto):
    """13.14 "如果模块出现上下文去激活的主动上报": +PDP DEACT (yuge.py prints it), the
    MQTT link goes (CLOSED) and so does bearer 1 (+SAPBR 1: DEACT, 10.1). The
    manual's next line, AT+CIPSHUT, belongs to ch.9 and is not replayed here."""
    sim, uart, at = modem()
    mqtt_online(at, mosquitto)
    sim.network_drop()
    replay(at, [(None, ["+PDP DEACT", "CLOSED", "+SAPBR 1: DEACT"]),
                ("AT+MQTTSTATU", ["+MQTTSTATU :0", "OK"])])
    # 13.14: after +PDP DEACT MQTT needs a PDP context again
    assert at.cmd("AT+MIPSTART=127.0.0.1,%d" % mosquitto[1]) == ["OK"]
    assert [at.read_line(), at.read_line()] == ["STATE: PDP DEACT", "CONNECT FAIL"]
    assert at.cmd("AT+SAPBR=1,1") == ["OK"]
    mqtt_online(at, mosquitto, client="yuge2")
    # a reboot takes the connection without a CLOSED URC (the module restarts)
    sim.reboot()
    time.sleep(0.1)
    assert b"CLOSED" not in at.drain()
    at.cmd("ATE0")
    assert at.cmd("AT+MQTTSTATU") == ["+MQTTSTATU :0", "OK"]


def test_msub_urc_inside_next_reply_hold_fault(modem, mosquitto, peers):
    sim, uart, at = modem()
    peer = peers(mosquitto)
    mqtt_online(at, mosquitto)
    subscribe(at, "h", 0)
    sim.faults.hold = 1.0
    peer.publish("h", b"held", qos=1)
    time.sleep(0.3)
    assert at.drain() == b""
    lines = at.cmd("AT")
    assert lines == ['+MSUB: "h",4 byte,held', "OK"]


def test_packet_codec():
    pkt = publish_packet(b"a/b", b"x" * 200, 1, True, pid=7)
    buf = bytearray(pkt + b"\xd0")
    assert parse_packets(buf) == [(3, 0x03, b"\x00\x03a/b\x00\x07" + b"x" * 200)]
    assert buf == b"\xd0"  # an incomplete packet stays
    buf += b"\x00"
    assert parse_packets(buf) == [(13, 0, b"")]


def test_mixins_alone_on_the_base_class(modem, http_server, mosquitto, peers):
    """YugeHTTP + YugeMQTT on the bare ModemSim (no yuge.py): bearer, GET, POST,
    publish and receive, drop."""
    sim, uart, at = modem(cls=_T)
    assert type(sim) is _T
    assert at.cmd("AT+SAPBR=2,1") == ["+SAPBR: 1,1,010.169.179.213", "OK"]
    http_open(at, "http://www.baidu.com:%d/hello" % http_server[1])
    assert action(at, 0) == (200, 12)
    assert httpread(at) == b"hello world\n"
    peer = peers(mosquitto, subscribe=[("alone", 1)])
    mqtt_online(at, mosquitto)
    subscribe(at, "alone", 1)
    assert at.cmd('AT+MPUB="alone",1,0,"solo"') == ["OK"]
    assert peer.get().payload == b"solo"
    assert msub(at) == ("alone", b"solo")
    sim.network_drop()
    lines = {at.wait_line(re.compile("^(CLOSED|\\+SAPBR)")) for _ in range(2)}
    assert lines == {"CLOSED", "+SAPBR 1: DEACT"}
    assert at.cmd("AT+SAPBR=2,1") == ["+SAPBR: 1,3,000.000.000.000", "OK"]
    assert at.cmd("AT+SAPBR=1,1") == ["OK"]
    assert action(at, 0) == (200, 12)


def test_drop_fault_kills_http_and_mqtt(modem, http_server, mosquitto):
    """drop=MS fault: the network takes the default bearer MS ms after it came up;
    the request under way ends in 601, the MQTT link in CLOSED."""
    sim, uart, at = modem(faults=["drop=600"])
    mqtt_online(at, mosquitto)
    http_open(at, "http://127.0.0.1:%d/slow" % http_server[1])
    assert at.cmd("AT+HTTPACTION=0") == ["OK"]
    want = {"CLOSED", "+SAPBR 1: DEACT", "+HTTPACTION: 0,601,0"}
    got = set()
    while not want <= got:
        got.add(at.read_line(timeout=3))
    assert at.cmd("AT+MQTTSTATU") == ["+MQTTSTATU :0", "OK"]


def test_mipstart_result_inside_next_reply(modem, mosquitto):
    """With the personality's connect_result_in_reply, CONNECT OK comes out inside
    the reply of the next, unrelated command, as CIPSTART's result does."""
    sim, uart, at = modem(opts={"connect_result_in_reply": True, "mqtt_connect_ms": 50})
    assert at.cmd("AT+MIPSTART=127.0.0.1,%d" % mosquitto[1]) == ["OK"]
    time.sleep(0.2)
    assert at.drain() == b""
    at.final_re = re.compile(rb"^OK$")  # rawat takes CONNECT... for a final result
    assert at.cmd("AT+CSQ") in (["CONNECT OK", "+CSQ: 20,99", "OK"],
                                ["+CSQ: 20,99", "CONNECT OK", "OK"])
