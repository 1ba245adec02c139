"""Module TLS on the Quectel QI family: certificates stored with AT+QFUPL, SSL
contexts set with AT+QSSLCFG, connections through AT+QSSLOPEN/QSSLSEND/QSSLRECV and
+QSSLURC, as the family's SSL and FILE application notes describe them publicly.

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
from tlsfixtures import tls_socket
from tools.modemsim.quectel_ssl import checksum
from tools.modemsim.tlsclient import TLSSock

HOSTS = {"localhost": LOOPBACK, "wrong.example": LOOPBACK}


@pytest.fixture
def quectel(connected_modem):
    """make(rx_mode=None) -> (sim, modem, log) on the in-process simulator."""
    def make(**kw):
        return connected_modem("quectel", HOSTS, **kw)
    return make


def store_all(m, pki):
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    tls.cert_upload(m, "dev.crt", pki.client_cert_der, "cert")
    tls.cert_upload(m, "dev.key", pki.client_key_der, "key")


# ---------------------------------------------------------------- certificates
def test_upload_replaces_lists_and_deletes_through_the_file_commands(quectel, pki):
    sim, m, log = quectel()
    since = len(log.getvalue())
    store_all(m, pki)
    assert sim.ufs["ca.pem"] == pki.ca_pem  # PEM, whatever form was given
    assert sim.ufs["dev.crt"].startswith(b"-----BEGIN CERTIFICATE-----\n")
    assert tls.der(sim.ufs["dev.key"]) == pki.client_key_der
    n = len(pki.ca_pem)
    # a name in use is refused by AT+QFUPL (407), so it is deleted first; the first
    # time there is nothing to delete (405), which is no failure
    assert sim_commands(log, since)[:2] == ['AT+QFDEL="ca.pem"', 'AT+QFUPL="ca.pem",%d,10' % n]
    tls.cert_upload(m, "ca.pem", pki.ca_der, "ca")  # safe to repeat
    assert tls.der(sim.ufs["ca.pem"]) == pki.ca_der
    assert sorted(tls.cert_list(m)) == ["ca.pem", "dev.crt", "dev.key"]
    tls.cert_delete(m, "dev.key")
    assert sorted(tls.cert_list(m)) == ["ca.pem", "dev.crt"]
    with pytest.raises(OSError) as e:
        tls.cert_delete(m, "dev.key")
    assert e.value.args[0] == errno.ENOENT and "dev.key" in str(e.value)
    assert "405" in str(e.value)  # the module's own code


def test_key_bytes_never_reach_the_trace(quectel, pki):
    sim, m, log = quectel()
    seen = []
    m.at.trace = lambda d, b, ms: seen.append((d, bytes(b)))
    tls.cert_upload(m, "dev.key", pki.client_key_pem, "key")
    tls.cert_upload(m, "dev2.key", pki.client_key_der, "key")
    m.at.trace = None
    out = b"".join(b for d, b in seen if d == b">")
    body = b"".join(pki.client_key_pem.split(b"\n")[1:-2])
    for i in range(0, len(body) - 16, 16):
        assert body[i:i + 16] not in out.replace(b"\r", b"").replace(b"\n", b"")
    assert pki.client_key_der[8:40] not in out
    assert b'AT+QFUPL="dev.key"' in out and out.count(b"***") == 2
    assert sim.ufs["dev.key"] == pki.client_key_pem


def test_bad_names_are_refused_before_the_uart(quectel, pki):
    sim, m, log = quectel()
    since = len(log.getvalue())
    for bad in ('ca".pem', "ca\r\nAT+QPOWD=0", ""):
        with pytest.raises(ValueError):
            tls.cert_upload(m, bad, pki.ca_pem, "ca")
        with pytest.raises(ValueError):
            tls.ModuleTLS(ca=bad)
    # a client certificate with the server unverified: the family's seclevel 2 is
    # "server and client", so it is refused before anything is sent
    with pytest.raises(ValueError):
        msocket.socket(modem=m).connect(("localhost", 443), tls=tls.ModuleTLS(
            cert="dev.crt", key="dev.key", verify=False))
    assert sim_commands(log, since) == [] and m.links == {}


# ---------------------------------------------------------------- connections
@pytest.mark.parametrize("rx_mode", ["buffered", "push"])
def test_128_kib_echo_with_the_server_verified(quectel, pki, tls_echo, rx_mode):
    sim, m, log = quectel(rx_mode=rx_mode)
    port = tls_echo("good")
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    since = len(log.getvalue())
    data = os.urandom(128 * 1024)
    s = tls_socket(m, port, tls.ModuleTLS(ca="ca.pem"))
    link = sim.links[0]
    assert isinstance(link.conn.sock, TLSSock) and link.ssl == 0
    assert link.conn.sock.cipher()[1] == "TLSv1.2"
    assert echo_through(s, data) == data
    s.close()
    assert sim.links == {} and m.links == {}
    srv = tls_echo.server(port)
    assert srv.handshakes == 1 and srv.echoed == len(data)
    cmds = sim_commands(log, since)
    mode = 1 if rx_mode == "push" else 0
    assert cmds[:7] == [
        'AT+QSSLCFG="sslversion",0,3', 'AT+QSSLCFG="ciphersuite",0,0XFFFF',
        'AT+QSSLCFG="seclevel",0,1', 'AT+QSSLCFG="cacert",0,"ca.pem"',
        'AT+QSSLCFG="ignorelocaltime",0,0', 'AT+QSSLCFG="sni",0,1',
        'AT+QSSLOPEN=1,0,0,"localhost",%d,%d' % (port, mode)]
    assert any(c.startswith("AT+QSSLSEND=0,") for c in cmds)
    assert any(c.startswith("AT+QSSLRECV=0,") for c in cmds) == (rx_mode == "buffered")
    assert cmds[-1] == "AT+QSSLCLOSE=0" and not any(c.startswith("AT+QI") for c in cmds)


def test_mutual_tls_echo_and_refused_without_the_client_certificate(quectel, pki, tls_echo):
    sim, m, log = quectel()
    port = tls_echo("good", require_client=True)
    store_all(m, pki)
    s = tls_socket(m, port, tls.ModuleTLS(ca="ca.pem", cert="dev.crt", key="dev.key"))
    assert echo_through(s, b"mutual" * 1000) == b"mutual" * 1000
    s.close()
    assert sim.sslcfg[0]["seclevel"] == "2" and sim.sslcfg[0]["clientkey"] == "dev.key"
    s = msocket.socket(modem=m)
    s.settimeout(30)
    with pytest.raises(OSError) as e:
        s.connect(("localhost", port), tls=tls.ModuleTLS(ca="ca.pem"))
    assert e.value.args[0] == errno.ECONNABORTED and "+QSSLOPEN: 0,-1" in str(e.value)
    assert m.links == {} and sim.links == {}


@pytest.mark.parametrize("kind, host", [("expired", "localhost"), ("wrongname", "localhost"),
                                        ("good", "wrong.example")])
def test_a_refused_server_is_the_handshake_failure_code(quectel, pki, tls_echo, kind, host):
    sim, m, log = quectel()
    port = tls_echo(kind)
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    s = msocket.socket(modem=m)
    s.settimeout(30)
    with pytest.raises(OSError) as e:
        s.connect((host, port), tls=tls.ModuleTLS(ca="ca.pem"))
    assert e.value.args[0] == errno.ECONNABORTED
    assert str(e.value.args[1]).startswith("TLS handshake failed: +QSSLOPEN: 0,-1")
    assert m.links == {} and sim.links == {}
    s.connect((host, port), tls=tls.ModuleTLS(verify=False))  # unverified, by name only
    assert sim.sslcfg[0]["seclevel"] == "0"
    s.close()


def test_a_server_the_ca_does_not_sign_and_a_missing_ca_file_are_refused(quectel, pki,
                                                                         tls_echo):
    sim, m, log = quectel()
    port = tls_echo("good")
    tls.cert_upload(m, "other.pem", pki.other_ca_pem, "ca")
    for ca in ("other.pem", "never.pem"):
        s = msocket.socket(modem=m)
        s.settimeout(30)
        with pytest.raises(OSError) as e:
            s.connect(("localhost", port), tls=tls.ModuleTLS(ca=ca))
        assert e.value.args[0] == errno.ECONNABORTED and "+QSSLOPEN: 0,-1" in str(e.value)


def test_plain_and_tls_connections_share_the_connect_ids(quectel, pki, tls_echo, tcp_echo):
    sim, m, log = quectel()
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    plain = msocket.socket(modem=m)
    plain.settimeout(10)
    plain.connect(("localhost", tcp_echo[1]))  # connectID 0
    s = tls_socket(m, tls_echo("good"), tls.ModuleTLS(ca="ca.pem"))  # 1, SSL context 1
    assert sim.links[1].ssl == 1 and sim.links[0].ssl is None
    assert echo_through(s, b"secret") == b"secret"
    assert echo_through(plain, b"plain") == b"plain"
    s.close()
    since = len(log.getvalue())
    again = msocket.socket(modem=m)
    again.settimeout(10)
    again.connect(("localhost", tcp_echo[1]))  # id 1 again, now plain
    assert echo_through(again, b"plain on 1") == b"plain on 1"
    again.close()
    plain.close()
    cmds = sim_commands(log, since)
    assert cmds[0].startswith('AT+QIOPEN=1,1,"TCP"') and "AT+QICLOSE=1" in cmds


def test_the_servers_close_is_seen_through_qsslurc(quectel, pki, tls_echo):
    sim, m, log = quectel()
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    s = tls_socket(m, tls_echo("good"), tls.ModuleTLS(ca="ca.pem"))
    s.send(b"bye")
    assert s.recv(3) == b"bye"
    sim.links[0].conn.sock.raw.shutdown(2)  # the connection ends under the module
    assert s.recv(10) == b""  # +QSSLURC: "closed",0 -> EOF
    assert '+QSSLURC: "closed",0' in log.getvalue()
    s.close()


def test_udp_with_module_tls_is_refused_before_the_uart(quectel):
    sim, m, log = quectel()
    since = len(log.getvalue())
    s = msocket.socket(msocket.AF_INET, msocket.SOCK_DGRAM, modem=m)
    with pytest.raises(OSError) as e:
        s.connect(("localhost", 4433), tls=tls.ModuleTLS(verify=False))
    assert e.value.args[0] == errno.EOPNOTSUPP
    assert sim_commands(log, since) == []


# ---------------------------------------------------------------- the simulator's commands
def test_simulator_file_and_ssl_commands_answer_as_the_family(modem_factory, pki):
    sim, uart, at = modem_factory("quectel")
    at.ok("AT+CMEE=1")
    at.cmd('AT+QFUPL="a.pem",5,1', until="CONNECT")
    at.write(b"abc")  # too few within the time: 421, nothing stored
    assert at.read_line(timeout=5) == "+CME ERROR: 421" and "a.pem" not in sim.ufs
    at.cmd('AT+QFUPL="a.pem",5,5', until="CONNECT")
    at.write(b"ab\r\nc")
    assert at.read_line(timeout=3) == "+QFUPL: 5,%x" % checksum(b"ab\r\nc")
    assert at.read_line(timeout=3) == "OK" and sim.ufs["a.pem"] == b"ab\r\nc"
    assert checksum(b"\x01\x02\x03") == 0x0102 ^ 0x0300
    assert at.cmd('AT+QFUPL="a.pem",5,5')[-1] == "+CME ERROR: 407"  # in use
    assert at.ok('AT+QFLST="*"') == ['+QFLST: "a.pem",5']
    at.ok('AT+QFDEL="a.pem"')
    assert at.cmd('AT+QFDEL="a.pem"')[-1] == "+CME ERROR: 405"
    at.ok('AT+QSSLCFG="ciphersuite",2,0XFFFF')
    assert at.cmd('AT+QSSLCFG="ciphersuite",2,"0XFFFF"')[-1] == "ERROR"  # users' logs
    assert at.ok('AT+QSSLCFG="seclevel",2') == ['+QSSLCFG: "seclevel",2,0']
    assert at.ok('AT+QSSLCFG="cacert",2') == ['+QSSLCFG: "cacert",2,""']
    assert at.cmd('AT+QSSLCFG="seclevel",6,1')[-1] == "ERROR"
    assert at.cmd('AT+QSSLSEND=3,5')[-1] == "ERROR"  # no such client
