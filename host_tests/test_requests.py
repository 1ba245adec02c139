"""cellmodem.requests through the simulator on every dialect, against a real HTTP/1.1
server on loopback (host_tests/httpserver.py) that also misbehaves on purpose.

Each test is one behaviour of the HTTP contract (issue #6): bodies fixed, chunked and
until-close, redirects, a 2 MiB download streamed in a fixed buffer, timeouts,
truncated and malformed responses (each a clear exception, never a truncated success),
keep-alive reuse of one modem socket, and bad input refused before the UART.
"""
import errno
import hashlib
import io
import json
import os
import subprocess

import pytest

import cellmodem.requests as requests
import cellmodem.socket as msocket
from cellmodem.fakeuart import FakeUART
from cellmodem.httpbase import HTTPError, IncompleteRead, TooManyRedirects
from cellmodem.modem import Modem
from httpserver import BIG, BIG_SHA256, HTTPTestServer
from mpy import LIB, SCENARIOS, compile_tree, run_example, run_micropython, tool
from simfixtures import LOOPBACK
from tools.modemsim import get_personality
from tools import families

DIALECTS = list(families.NAMES)  # every family in the registry (tools/families.py)
MP_HEAP = "184k"  # smallest that passed on this 64-bit binary: 128k-136k once; 164k after the https hooks, 176k after module TLS, the error vocabulary and issue 19 (168k failed for three families), so 184k with a margin
OPEN_COMMAND = {f.name: f.open for f in families.FAMILIES}  # the registry's open command


@pytest.fixture(scope="module")
def server():
    s = HTTPTestServer()
    yield s
    s.close()


@pytest.fixture(scope="module", params=DIALECTS)
def net(request, server):
    """(dialect, sim, modem, base url): one connected modem per dialect for the module;
    the simulator logs every command (sim.log_text)."""
    log = io.StringIO()
    uart = FakeUART()
    sim = get_personality(request.param)(seed=3, hosts={"web.example": LOOPBACK},
                                         verbose=True, log=log)
    sim.attach(uart)
    modem = Modem(uart, dialect=request.param)
    modem.connect(apn="internet")
    sim.log_text = log
    yield request.param, sim, modem, "http://web.example:%d" % server.port
    msocket.use(None)
    sim.close()


def opens(net):
    dialect, sim = net[0], net[1]
    return sum(1 for line in sim.log_text.getvalue().splitlines()
               if "-> '" + OPEN_COMMAND[dialect] in line)


def test_get_text_with_headers(net):
    r = requests.get(net[3] + "/hello", modem=net[2])
    assert (r.status_code, r.reason, r.text) == (200, "OK", "hello world\n")
    assert r.headers["content-type"] == r.headers["Content-Type"] == "text/plain"


def test_get_json(net):
    assert requests.get(net[3] + "/json", modem=net[2]).json() == {"ok": True, "n": 42}


def test_chunked_body_is_decoded_and_trailers_skipped(net):
    r = requests.get(net[3] + "/chunked", modem=net[2])
    assert r.content == b"chunk one|chunk two|last"


def test_body_until_close_of_an_http_1_0_answer(net):
    assert requests.get(net[3] + "/until-close", modem=net[2]).text == "until the end"


def test_head_has_headers_and_no_body(net):
    r = requests.head(net[3] + "/hello", modem=net[2])
    assert r.status_code == 200 and r.headers["content-length"] == "12" and r.content == b""


def test_post_bytes_and_json_are_echoed(net):
    r = requests.post(net[3] + "/echo", data=bytes(range(256)), modem=net[2])
    assert r.content == bytes(range(256)) and r.headers["x-method"] == "POST"
    r = requests.post(net[3] + "/echo", json={"a": [1, 2]}, modem=net[2])
    assert r.json() == {"a": [1, 2]} and r.headers["content-type"] == "application/json"


def test_put_patch_delete(net):
    for method in ("PUT", "PATCH", "DELETE"):
        r = requests.request(method, net[3] + "/echo", data=b"x", modem=net[2])
        assert r.headers["x-method"] == method


def test_streaming_upload_from_a_generator_is_chunked(net):
    pieces = (bytes([i]) * 700 for i in range(10))
    r = requests.post(net[3] + "/echo", data=pieces, modem=net[2])
    assert r.content == b"".join(bytes([i]) * 700 for i in range(10))


def test_streaming_upload_from_a_file_has_its_length(net, tmp_path):
    p = tmp_path / "up.bin"
    p.write_bytes(os.urandom(5000))
    with open(p, "rb") as f:
        r = requests.post(net[3] + "/echo", data=f, modem=net[2])
    assert r.content == p.read_bytes()


def test_params_are_url_encoded_and_headers_sent(net, server):
    r = requests.get(net[3] + "/headers", params={"q": "a b&c", "n": 5},
                     headers={"X-Token": "t1"}, modem=net[2])
    assert r.json()["x-token"] == "t1"
    assert server.requests[-1][1] == "/headers?q=a%20b%26c&n=5"


def test_basic_auth(net):
    assert requests.get(net[3] + "/auth", modem=net[2]).status_code == 401
    assert requests.get(net[3] + "/auth", auth=("user", "pass"), modem=net[2]).status_code == 200


def test_status_codes_and_raise_for_status(net):
    r = requests.get(net[3] + "/status/404", modem=net[2])
    assert r.status_code == 404
    with pytest.raises(HTTPError):
        r.raise_for_status()
    assert requests.get(net[3] + "/status/204", modem=net[2]).content == b""


def test_redirects_are_followed(net):
    r = requests.get(net[3] + "/redirect/3", modem=net[2])
    assert (r.status_code, r.text) == (200, "landed") and r.url.endswith("/redirect/0")
    assert requests.get(net[3] + "/absolute", modem=net[2]).text == "hello world\n"


def test_303_turns_post_into_get_and_307_keeps_the_body(net):
    r = requests.post(net[3] + "/see-other", data=b"form", modem=net[2])
    assert r.text == "hello world\n"
    r = requests.post(net[3] + "/temporary", data=b"kept", modem=net[2])
    assert r.content == b"kept" and r.headers["x-method"] == "POST"


def test_redirect_loop_raises_too_many_redirects(net):
    with pytest.raises(TooManyRedirects):
        requests.get(net[3] + "/loop", modem=net[2])


def test_redirects_off_returns_the_redirect(net):
    r = requests.get(net[3] + "/redirect/1", allow_redirects=False, modem=net[2])
    assert r.status_code == 302 and r.headers["location"] == "/redirect/0"


def test_2_mib_download_streams_through_a_fixed_buffer(net):
    for path in ("/big", "/big-chunked"):
        h = hashlib.sha256()
        n = 0
        with requests.get(net[3] + path, stream=True, modem=net[2]) as r:
            buf = bytearray(1024)
            while True:
                k = r.readinto(buf)
                if not k:
                    break
                h.update(buf[:k])
                n += k
        assert (n, h.hexdigest()) == (len(BIG), BIG_SHA256), path


def test_save_writes_the_body_to_a_file(net, tmp_path):
    r = requests.get(net[3] + "/chunked", stream=True, modem=net[2])
    assert r.save(str(tmp_path / "out")) == 24
    assert (tmp_path / "out").read_bytes() == b"chunk one|chunk two|last"


def test_iter_content_gives_pieces_of_the_chunk_size(net):
    r = requests.get(net[3] + "/hello", stream=True, modem=net[2])
    assert list(r.iter_content(5)) == [b"hello", b" worl", b"d\n"]


def test_session_reuses_one_modem_socket_for_consecutive_requests(net, server):
    before_opens, before_accepted = opens(net), server.accepted
    with requests.Session(modem=net[2]) as s:
        assert s.get(net[3] + "/hello").text == "hello world\n"
        assert s.get(net[3] + "/json").json()["n"] == 42
        assert s.post(net[3] + "/echo", data=b"third").content == b"third"
    assert s.opened == 1
    assert opens(net) - before_opens == 1  # one AT open command in the simulator's log
    assert server.accepted - before_accepted == 1


def test_session_reconnects_when_the_server_closed_the_kept_connection(net):
    with requests.Session(modem=net[2]) as s:
        s.get(net[3] + "/hello")
        s._pool.sock._link.eof = True  # the server's FIN arrived while idle
        assert s.get(net[3] + "/hello").text == "hello world\n"
        assert s.opened == 2


def test_one_shot_requests_close_their_socket(net):
    r = requests.get(net[3] + "/hello", modem=net[2])
    assert r.raw.done and r.raw._conn is None
    assert not net[2].links  # the module's link was closed


def test_slow_answer_past_the_timeout_is_etimedout(net):
    with pytest.raises(OSError) as e:
        requests.get(net[3] + "/slow", timeout=0.5, modem=net[2])
    assert e.value.args[0] == errno.ETIMEDOUT


def test_pause_between_body_pieces_past_the_timeout_is_etimedout(net):
    r = requests.get(net[3] + "/slow-body", timeout=0.7, stream=True, modem=net[2])
    with pytest.raises(OSError) as e:
        r.content
    assert e.value.args[0] == errno.ETIMEDOUT


def test_slow_body_within_the_timeout_arrives(net):
    assert requests.get(net[3] + "/slow-body", timeout=3, modem=net[2]).content == b"abc"


def test_connection_dropped_mid_body_is_incomplete_read_not_success(net):
    with pytest.raises(IncompleteRead) as e:
        requests.get(net[3] + "/drop", modem=net[2])
    assert "500 of 1000" in str(e.value)
    with pytest.raises(IncompleteRead):
        requests.get(net[3] + "/drop-chunked", modem=net[2])


@pytest.mark.parametrize("path,words", [("/bad-status", "status line"),
                                        ("/bad-header", "header line"),
                                        ("/long-header", "longer than"),
                                        ("/bad-length", "Content-Length"),
                                        ("/bad-chunk", "chunk size")])
def test_malformed_responses_raise_http_error(net, path, words):
    with pytest.raises(HTTPError) as e:
        requests.get(net[3] + path, modem=net[2])
    assert words in str(e.value)


def test_unknown_host_and_refused_port_are_oserrors(net):
    with pytest.raises(OSError):
        requests.get("http://nowhere.example/", modem=net[2])
    with pytest.raises(OSError) as e:
        requests.get("http://127.0.0.1:1/", modem=net[2])
    assert e.value.args[0] == errno.ECONNREFUSED


@pytest.mark.parametrize("call", [
    lambda u, m: requests.get(u + "/hello\r\nX: y", modem=m),
    lambda u, m: requests.get(u.replace("http", "ftp") + "/", modem=m),
    lambda u, m: requests.get(u + "/hello", headers={"X-A": "1\r\nInjected: yes"}, modem=m),
    lambda u, m: requests.get(u + "/hello", headers={"Bad:Name": "v"}, modem=m),
    lambda u, m: requests.get("http://bad\"host/", modem=m),
    lambda u, m: requests.get("http://:80/", modem=m),
    lambda u, m: requests.get("http://h:99999/", modem=m),
    lambda u, m: requests.request("GE T", u + "/", modem=m),
], ids=["crlf-in-url", "scheme", "crlf-in-header", "colon-in-name", "quote-in-host",
        "no-host", "bad-port", "bad-method"])
def test_bad_input_is_refused_before_anything_reaches_the_uart(net, call):
    uart = net[2].at.port
    before = uart.written() if hasattr(uart, "written") else None
    sent = net[1].log_text.getvalue().count("-> '")
    with pytest.raises(ValueError):
        call(net[3], net[2])
    assert net[1].log_text.getvalue().count("-> '") == sent
    if before is not None:
        assert uart.written() == before


def test_https_without_a_ca_is_refused_before_anything_is_sent(net):
    sent = net[1].log_text.getvalue().count("-> '")
    with pytest.raises(ValueError) as e:
        requests.get("https://web.example:%d/" % int(net[3].rsplit(":", 1)[1]), modem=net[2])
    assert "verify=False" in str(e.value)
    assert net[1].log_text.getvalue().count("-> '") == sent


def test_json_helper_and_micropython_lib_style_use(net):
    # micropython-lib: r = requests.get(url); r.json(); r.close()
    r = requests.get(net[3] + "/json", modem=net[2])
    data = r.json()
    r.close()
    assert json.dumps(data, sort_keys=True) == '{"n": 42, "ok": true}'


# ---------------------------------------------------------------- real MicroPython
@pytest.fixture(scope="module")
def mpy_tree(tmp_path_factory):
    out = tmp_path_factory.mktemp("mpy")
    compile_tree(LIB, str(out))
    subprocess.run([tool("mpy-cross"), "-o", str(out / "http_download.mpy"),
                    os.path.join(SCENARIOS, "http_download.py")], check=True)
    return str(out)


@pytest.fixture
def pty_sim():
    sims = []

    def make(dialect):
        sim = get_personality(dialect)(seed=4, hosts={"web.example": LOOPBACK})
        sims.append(sim)
        return sim.open_pty()
    yield make
    for sim in sims:
        sim.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_2_mib_download_in_micropython_from_mpy_in_a_bounded_heap(mpy_tree, server, pty_sim,
                                                                  dialect):
    """Issue #6 asks for 64k; on this 64-bit unix port the smallest heap that passed
    was 128k (sim7080, quectel) and 136k (sim7600, yuge): the library's code takes
    most of it (peak after a collection: about 98-105 KiB); the download itself adds
    nothing as it goes (the peak is reached before the first 64 KiB)."""
    p = run_micropython(["-m", "http_download", pty_sim(dialect), dialect,
                         "http://web.example:%d/big" % server.port], path=(mpy_tree,),
                        heapsize=MP_HEAP, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    line = next(l for l in p.stdout.splitlines() if l.startswith("DOWNLOAD"))
    _, n, digest, peak = line.split()
    print(dialect, line)
    assert (int(n), digest) == (len(BIG), BIG_SHA256)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_examples_http_get_and_post_json_run_in_micropython(server, pty_sim, dialect, tmp_path):
    base = "http://web.example:%d" % server.port
    out = tmp_path / "chunked.bin"
    p = run_example("http_get.py", pty_sim(dialect), base + "/hello", base + "/chunked", out,
                    timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "status 200 OK type text/plain" in p.stdout and "hello world" in p.stdout
    assert out.read_bytes() == b"chunk one|chunk two|last"
    p = run_example("http_post_json.py", pty_sim(dialect), base + "/echo", 3, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("-> 200") == 3 and "'n': 2" in p.stdout
    assert "connections opened: 1" in p.stdout
