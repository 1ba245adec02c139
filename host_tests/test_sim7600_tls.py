"""Module TLS on the SIM7600/A7600 family: certificates stored with AT+CCERTDOWN, SSL
contexts set with AT+CSSLCFG, sessions through the AT+CCH* SSL service (manual
receive: +CCHEVENT, AT+CCHRECV), as the family's SSL application notes describe
them publicly.

Real parts: the throwaway PKI (tlsfixtures.pki), TLS echo servers with good,
wrong-name and expired certificates (tls_echo), and the simulator's real TLS client
(tools/modemsim/tlsclient.py), which verifies the server with the CA uploaded through
AT commands. The library runs in CPython (in-process simulator); real MicroPython:
test_module_tls.py.
"""
import errno
import os

import pytest

import cellmodem.socket as msocket
from cellmodem import tls
from simfixtures import LOOPBACK, echo_through, sim_commands
from tlsfixtures import tls_refused, tls_socket
from tools.modemsim.tlsclient import TLSSock

HOSTS = {"localhost": LOOPBACK, "wrong.example": LOOPBACK}


@pytest.fixture
def sim7600(connected_modem):
    """make(rx_mode=None) -> (sim, modem, log) on the in-process simulator."""
    def make(**kw):
        return connected_modem("sim7600", HOSTS, **kw)
    return make


def store_all(m, pki, ext=".pem"):
    tls.cert_upload(m, "ca" + ext, pki.ca_pem, "ca")
    tls.cert_upload(m, "dev" + ext, pki.client_cert_der, "cert")
    tls.cert_upload(m, "key" + ext, pki.client_key_der, "key")


# ---------------------------------------------------------------- certificates
def test_upload_in_the_form_the_name_says_list_and_delete(sim7600, pki):
    sim, m, log = sim7600()
    since = len(log.getvalue())
    store_all(m, pki)
    assert sim_commands(log, since)[0] == 'AT+CCERTDOWN="ca.pem",%d' % len(pki.ca_pem)
    assert sim.certs["ca.pem"] == pki.ca_pem
    assert sim.certs["dev.pem"].startswith(b"-----BEGIN CERTIFICATE-----\n")
    tls.cert_upload(m, "ca.der", pki.ca_pem, "ca")  # .der: stored as DER
    assert sim.certs["ca.der"] == pki.ca_der
    tls.cert_upload(m, "ca.pem", pki.ca_der, "ca")  # safe to repeat: replaced
    assert sim.certs["ca.pem"] == pki.ca_pem
    assert sorted(tls.cert_list(m)) == ["ca.der", "ca.pem", "dev.pem", "key.pem"]
    tls.cert_delete(m, "ca.der")
    with pytest.raises(OSError) as e:
        tls.cert_delete(m, "ca.der")
    assert e.value.args[0] == errno.ENOENT and "ca.der" in str(e.value)
    assert sorted(tls.cert_list(m)) == ["ca.pem", "dev.pem", "key.pem"]


def test_names_the_module_cannot_take_are_refused_before_the_uart(sim7600, pki):
    sim, m, log = sim7600()
    since = len(log.getvalue())
    for bad in ("ca.crt", "ca", 'ca".pem', "ca.pem\r\nAT+CPOF"):
        with pytest.raises(ValueError):
            tls.cert_upload(m, bad, pki.ca_pem, "ca")
    with pytest.raises(ValueError):
        tls.cert_upload(m, "big.pem", b"-----BEGIN CERTIFICATE-----\n" + b"A" * 10300, "ca")
    assert sim_commands(log, since) == []


def test_key_bytes_never_reach_the_trace(sim7600, pki):
    sim, m, log = sim7600()
    seen = []
    m.at.trace = lambda d, b, ms: seen.append((d, bytes(b)))
    tls.cert_upload(m, "key.pem", pki.client_key_pem, "key")
    tls.cert_upload(m, "key.der", pki.client_key_pem, "key")
    m.at.trace = None
    out = b"".join(b for d, b in seen if d == b">")
    body = b"".join(pki.client_key_pem.split(b"\n")[1:-2])
    for i in range(0, len(body) - 16, 16):
        assert body[i:i + 16] not in out.replace(b"\r", b"").replace(b"\n", b"")
    assert tls.der(pki.client_key_pem)[8:40] not in out
    assert b'AT+CCERTDOWN="key.pem"' in out and out.count(b"***") == 2


# ---------------------------------------------------------------- sessions
@pytest.mark.parametrize("rx_mode", ["buffered", "push"])
def test_128_kib_echo_with_the_server_verified(sim7600, pki, tls_echo, rx_mode):
    # the SSL service receives by AT+CCHRECV in either receive mode of the session
    sim, m, log = sim7600(rx_mode=rx_mode)
    port = tls_echo("good")
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    since = len(log.getvalue())
    data = os.urandom(128 * 1024)
    s = tls_socket(m, port, tls.ModuleTLS(ca="ca.pem"))
    sess = sim.sessions[0]
    assert isinstance(sess.conn.sock, TLSSock) and sess.conn.sock.cipher()[1] == "TLSv1.2"
    assert 14 in m.links  # session 0 is link id 14, apart from the CIPOPEN links
    assert echo_through(s, data) == data
    s.close()
    assert sim.sessions == {} and m.links == {}
    srv = tls_echo.server(port)
    assert srv.handshakes == 1 and srv.echoed == len(data)
    cmds = sim_commands(log, since)
    assert cmds[:10] == [
        "AT+CCHSET=1,1", "AT+CCHSTART",
        'AT+CSSLCFG="sslversion",0,3', 'AT+CSSLCFG="authmode",0,1',
        'AT+CSSLCFG="ignorelocaltime",0,0', 'AT+CSSLCFG="cacert",0,"ca.pem"',
        'AT+CSSLCFG="enableSNI",0,1', "AT+CCHSSLCFG=0,0",
        'AT+CCHOPEN=0,"localhost",%d,2' % port, "AT+CCHSEND=0,%d" % min(len(data), 1460)]
    assert any(c.startswith("AT+CCHRECV=0,") for c in cmds)
    assert cmds[-1] == "AT+CCHCLOSE=0" and not any(c.startswith("AT+CIP") for c in cmds)
    # the service is started once per module session
    s = tls_socket(m, port, tls.ModuleTLS(ca="ca.pem"))
    s.close()
    assert sim_commands(log, since).count("AT+CCHSTART") == 1


def test_two_sessions_at_once_and_a_third_is_enomem(sim7600, pki, tls_echo, tcp_echo):
    sim, m, log = sim7600()
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    port = tls_echo("good")
    plain = msocket.socket(modem=m)
    plain.settimeout(10)
    plain.connect(("localhost", tcp_echo[1]))  # CIPOPEN link 0 beside the sessions
    a = tls_socket(m, port, tls.ModuleTLS(ca="ca.pem"))
    b = tls_socket(m, port, tls.ModuleTLS(ca="ca.pem"))
    assert sorted(m.links) == [0, 14, 15] and sorted(sim.sessions) == [0, 1]
    assert echo_through(b, b"second") == b"second"
    assert echo_through(a, b"first") == b"first"
    assert echo_through(plain, b"plain") == b"plain"
    e = tls_refused(m, port, tls.ModuleTLS(ca="ca.pem"))
    assert e.args[0] == errno.ENOMEM
    a.close()
    b.close()
    plain.close()


def test_mutual_tls_echo_and_client_certificate_without_server_check(sim7600, pki, tls_echo):
    sim, m, log = sim7600()
    port = tls_echo("good", require_client=True)
    store_all(m, pki, ".der")
    s = tls_socket(m, port, tls.ModuleTLS(ca="ca.der", cert="dev.der", key="key.der"))
    assert echo_through(s, b"mutual" * 1000) == b"mutual" * 1000
    s.close()
    assert sim.cssl[0]["authmode"] == "2"
    # authmode 3: the client certificate presented, the server not checked
    s = tls_socket(m, port, tls.ModuleTLS(cert="dev.der", key="key.der", verify=False))
    assert echo_through(s, b"unchecked") == b"unchecked"
    s.close()
    assert sim.cssl[0]["authmode"] == "3"
    e = tls_refused(m, port, tls.ModuleTLS(ca="ca.der"))  # the server wants a certificate
    assert e.args[0] == errno.ECONNABORTED
    assert str(e.args[1]) == "TLS handshake failed: +CCHOPEN: 0,15 (Handshake error)"
    assert m.links == {} and sim.sessions == {}


@pytest.mark.parametrize("kind, host", [("expired", "localhost"), ("wrongname", "localhost"),
                                        ("good", "wrong.example")])
def test_a_refused_server_is_the_handshake_error(sim7600, pki, tls_echo, kind, host):
    sim, m, log = sim7600()
    port = tls_echo(kind)
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    e = tls_refused(m, port, tls.ModuleTLS(ca="ca.pem"), host)
    assert e.args[0] == errno.ECONNABORTED and "+CCHOPEN: 0,15 (Handshake error)" in str(e)
    assert m.links == {} and sim.sessions == {}
    s = tls_socket(m, port, tls.ModuleTLS(verify=False), host)  # unverified, by name only
    assert sim.cssl[0]["authmode"] == "0"
    s.close()


def test_a_missing_ca_file_and_a_server_the_ca_does_not_sign(sim7600, pki, tls_echo):
    sim, m, log = sim7600()
    port = tls_echo("good")
    e = tls_refused(m, port, tls.ModuleTLS(ca="never.pem"))
    assert e.args[0] == errno.ECONNABORTED and "(Not set certificates)" in str(e)
    tls.cert_upload(m, "other.pem", pki.other_ca_pem, "ca")
    e = tls_refused(m, port, tls.ModuleTLS(ca="other.pem"))
    assert "+CCHOPEN: 0,15" in str(e)


def test_the_servers_close_is_eof_after_the_data(sim7600, pki, tls_echo):
    sim, m, log = sim7600()
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    s = tls_socket(m, tls_echo("good"), tls.ModuleTLS(ca="ca.pem"))
    s.send(b"last words")
    assert s.recv(10) == b"last words"
    sim.sessions[0].conn.sock.raw.shutdown(2)
    assert s.recv(10) == b""
    assert "+CCH_PEER_CLOSED: 0" in log.getvalue()
    s.close()
    assert sim.sessions == {}


def test_a_service_left_started_is_stopped_and_started_again(sim7600, pki, tls_echo):
    # the board restarted, the module did not: AT+CCHSET and AT+CCHSTART answer ERROR
    sim, m, log = sim7600()
    m.at.command("AT+CCHSTART")
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    since = len(log.getvalue())
    s = tls_socket(m, tls_echo("good"), tls.ModuleTLS(ca="ca.pem"))
    assert echo_through(s, b"again") == b"again"
    s.close()
    assert sim_commands(log, since)[:4] == ["AT+CCHSET=1,1", "AT+CCHSTOP", "AT+CCHSET=1,1",
                                            "AT+CCHSTART"]


def test_udp_with_module_tls_is_refused_before_the_uart(sim7600):
    sim, m, log = sim7600()
    since = len(log.getvalue())
    s = msocket.socket(msocket.AF_INET, msocket.SOCK_DGRAM, modem=m)
    with pytest.raises(OSError) as e:
        s.connect(("localhost", 4433), tls=tls.ModuleTLS(verify=False))
    assert e.value.args[0] == errno.EOPNOTSUPP
    assert sim_commands(log, since) == []


# ---------------------------------------------------------------- the simulator's commands
def test_simulator_ssl_commands_answer_as_the_family(modem_factory):
    sim, uart, at = modem_factory("sim7600")
    assert at.cmd('AT+CCERTDOWN="a.crt",5')[-1] == "ERROR"  # .pem or .der only
    at.cmd('AT+CCERTDOWN="a.pem",5', until=b">")
    at.write(b"ab\r\nc")
    assert at.read_line(timeout=3) == "OK" and sim.certs["a.pem"] == b"ab\r\nc"
    assert at.ok("AT+CCERTLIST") == ['+CCERTLIST: "a.pem"']
    at.ok('AT+CCERTDELE="a.pem"')
    assert at.cmd('AT+CCERTDELE="a.pem"')[-1] == "ERROR"
    assert at.cmd('AT+CSSLCFG="authmode",0,4')[-1] == "ERROR"
    assert at.cmd('AT+CSSLCFG="cacert",0,ca.pem')[-1] == "ERROR"  # a name is quoted
    assert at.cmd('AT+CCHOPEN=0,"localhost",443,2')[-1] == "ERROR"  # not started
    assert at.cmd("AT+CCHRECV=0,100")[-1] == "ERROR"  # recv_mode 0: pushed, no reads
    at.ok("AT+CCHSET=1,1")
    at.ok("AT+CCHSTART")
    assert at.read_line(timeout=3) == "+CCHSTART: 0"
    assert at.cmd("AT+CCHSET=0,0")[-1] == "ERROR"  # only before AT+CCHSTART
    assert at.cmd("AT+CCHSTART")[-1] == "ERROR"
    assert at.cmd("AT+CCHCLOSE=1")[-1] == "ERROR"  # nothing open
