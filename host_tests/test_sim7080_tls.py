"""Module TLS on the SIM7080 family: the module does the handshake with certificates
stored in its file system (AT+CFS*, AT+CSSLCFG, AT+CASSLCFG, AT+CAOPEN results 24-27).

Real parts: the throwaway PKI (tlsfixtures.pki), TLS echo servers with good,
wrong-name and expired certificates (tls_echo), and the simulator's real TLS client
(tools/modemsim/tlsclient.py: Python's ssl on its real TCP connection, the server
verified with the CA uploaded through AT commands). The library runs in CPython
(in-process simulator); real MicroPython: test_module_tls.py.
"""
import errno
import os
import time

import pytest

import cellmodem.socket as msocket
from cellmodem import tls
from cellmodem.errors import ATError
from simfixtures import LOOPBACK, echo_through, sim_commands
from tlsfixtures import tls_socket
from tools.modemsim.tlsclient import TLSSock

# other.example: a name no fixture certificate carries (for an expired certificate
# that is also for another name); wrong.example: the name the wrongname one carries
HOSTS = {"localhost": LOOPBACK, "other.example": LOOPBACK, "wrong.example": LOOPBACK}


@pytest.fixture
def sim7080(connected_modem):
    """make(dialect="sim7080") -> (sim, modem, log): connected, on the in-process
    simulator with its command log on."""
    return lambda dialect="sim7080": connected_modem(dialect, HOSTS)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def store_all(m, pki):
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    tls.cert_upload(m, "dev.crt", pki.client_cert_der, "cert")
    tls.cert_upload(m, "dev.key", pki.client_key_der, "key")


# ---------------------------------------------------------------- certificates
def test_upload_repeat_list_and_delete(sim7080, pki):
    sim, m, log = sim7080()
    store_all(m, pki)
    # stored as PEM in /customer/ (index 3), whatever form was given
    assert sim.files[(3, "ca.pem")] == pki.ca_pem
    assert sim.files[(3, "dev.crt")].startswith(b"-----BEGIN CERTIFICATE-----\n")
    assert tls.der(sim.files[(3, "dev.key")]) == pki.client_key_der
    # a DER key's PEM label says what it is (the fixture's DER is SEC1, as openssl
    # 3.0's pkey -outform DER writes it for EC; PKCS#8 is "PRIVATE KEY")
    label = b"PRIVATE KEY" if pki.client_key_der[5:6] == b"\x30" else b"EC PRIVATE KEY"
    assert sim.files[(3, "dev.key")].startswith(b"-----BEGIN " + label + b"-----\n")
    pkcs8 = tls.der(pki.client_key_pem)
    tls.cert_upload(m, "p8.key", pkcs8, "key")
    assert sim.files[(3, "p8.key")].startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert tls.der(sim.files[(3, "p8.key")]) == pkcs8
    tls.cert_delete(m, "p8.key")
    assert "ca.pem" in sim.ssl_ca  # a CA is converted at upload (CONVERT 2)
    # safe to repeat: the same name is overwritten (CA given as DER this time)
    since = len(log.getvalue())
    tls.cert_upload(m, "ca.pem", pki.ca_der, "ca")
    tls.cert_upload(m, "dev.key", pki.client_key_pem, "key")
    cmds = sim_commands(log, since)
    assert cmds[:3] == ["AT+CFSINIT", 'AT+CFSWFILE=3,"ca.pem",0,%d,10000'
                        % len(sim.files[(3, "ca.pem")]), "AT+CFSTERM"]
    assert 'AT+CSSLCFG="CONVERT",2,"ca.pem"' in cmds
    assert tls.der(sim.files[(3, "ca.pem")]) == pki.ca_der
    assert sorted(tls.cert_list(m)) == ["ca.pem", "dev.crt", "dev.key"]
    tls.cert_delete(m, "dev.key")
    assert sorted(tls.cert_list(m)) == ["ca.pem", "dev.crt"]
    assert (3, "dev.key") not in sim.files
    with pytest.raises(OSError) as e:
        tls.cert_delete(m, "dev.key")
    assert e.value.args[0] == errno.ENOENT and "dev.key" in str(e.value)
    assert not sim.cfs_open  # AT+CFSTERM after every use, the failed delete too


def test_cert_list_finds_only_what_the_module_holds(sim7080, pki):
    # CFS has no listing: the names this session knows, asked one by one
    sim, m, log = sim7080()
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    del sim.files[(3, "ca.pem")]  # gone behind the library's back
    assert tls.cert_list(m) == []


def test_key_bytes_never_reach_the_trace(sim7080, pki):
    sim, m, log = sim7080()
    seen = []
    m.at.trace = lambda d, b, ms: seen.append((d, bytes(b)))
    tls.cert_upload(m, "dev.key", pki.client_key_pem, "key")
    tls.cert_upload(m, "dev2.key", pki.client_key_der, "key")  # as PEM made from DER
    tls.cert_upload(m, "dev3.key", tls.der(pki.client_key_pem), "key")  # PKCS#8 DER
    tls.cert_upload(m, "dev.crt", pki.client_cert_pem, "cert")
    m.at.trace = None
    out = b"".join(b for d, b in seen if d == b">")
    body = b"".join(pki.client_key_pem.split(b"\n")[1:-2])  # the base64 lines
    for i in range(0, len(body) - 16, 16):
        assert body[i:i + 16] not in out.replace(b"\r", b"").replace(b"\n", b"")
    assert pki.client_key_der[8:40] not in out
    assert tls.der(pki.client_key_pem)[8:40] not in out
    assert b'AT+CFSWFILE=3,"dev.key"' in out and out.count(b"***") == 4
    assert (3, "dev.key") in sim.files  # it was written all the same
    # the trace works as before after the upload
    n = len(seen)
    m.at.trace = lambda d, b, ms: seen.append((d, bytes(b)))
    m.at.command("AT")
    assert (b">", b"AT\r") in seen[n:]


def test_bad_uploads_are_refused_before_the_uart(sim7080, pki):
    sim, m, log = sim7080()
    since = len(log.getvalue())
    with pytest.raises(ValueError):
        tls.cert_upload(m, "big.pem", b"-----BEGIN CERTIFICATE-----\n" + b"A" * 10300, "ca")
    with pytest.raises(ValueError):
        tls.cert_upload(m, "../x.pem", pki.ca_pem, "ca")  # a name, not a path
    with pytest.raises(ValueError):
        tls.cert_upload(m, "ca.pem", pki.ca_pem, "root")
    assert sim_commands(log, since) == []


def test_a_file_that_is_no_certificate_is_refused_by_convert_and_frees_the_buffer(sim7080):
    sim, m, log = sim7080()
    with pytest.raises(ATError) as e:
        tls.cert_upload(m, "junk.pem", b"not a certificate at all", "ca")
    assert 'CONVERT",2,"junk.pem"' in str(e.value)
    assert not sim.cfs_open


def test_a_file_buffer_left_held_is_freed_and_the_upload_works(sim7080, pki):
    sim, m, log = sim7080()
    m.at.command("AT+CFSINIT")  # a session cut off before its AT+CFSTERM
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    assert sim.files[(3, "ca.pem")] == pki.ca_pem and not sim.cfs_open


# ---------------------------------------------------------------- connections
def test_256_kib_echo_through_module_tls_with_the_server_verified(sim7080, pki, tls_echo):
    sim, m, log = sim7080()
    port = tls_echo("good")
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    since = len(log.getvalue())
    data = os.urandom(256 * 1024)
    t0 = time.monotonic()
    s = tls_socket(m, port, tls.ModuleTLS(ca="ca.pem"))
    link = sim.links[0]
    assert isinstance(link.conn.sock, TLSSock)  # a real TLS connection in the simulator
    assert link.conn.sock.cipher()[1] == "TLSv1.2"
    assert echo_through(s, data) == data
    s.close()
    srv = tls_echo.server(port)
    assert srv.handshakes == 1 and srv.echoed == len(data)
    print("module TLS 256 KiB echo (CPython, in-process): %.2f s" % (time.monotonic() - t0))
    assert sim_commands(log, since)[:6] == [
        'AT+CSSLCFG="SSLVERSION",0,3', 'AT+CSSLCFG="SNI",0,"localhost"',
        'AT+CASSLCFG=0,"SSL",1', 'AT+CASSLCFG=0,"CRINDEX",0',
        'AT+CASSLCFG=0,"CACERT","ca.pem"', 'AT+CAOPEN=0,0,"TCP","localhost",%d' % port]


def test_mutual_tls_echo(sim7080, pki, tls_echo):
    sim, m, log = sim7080()
    port = tls_echo("good", require_client=True)
    store_all(m, pki)
    spec = tls.ModuleTLS(ca="ca.pem", cert="dev.crt", key="dev.key")
    data = os.urandom(32 * 1024)
    for _ in range(2):  # the pair is converted once (CONVERT 1), used twice
        s = tls_socket(m, port, spec)
        assert echo_through(s, data) == data
        s.close()
    assert sim_commands(log).count('AT+CSSLCFG="CONVERT",1,"dev.crt","dev.key"') == 1
    # without the client certificate the server refuses the handshake: 27
    s = msocket.socket(modem=m)
    s.settimeout(30)
    with pytest.raises(OSError) as e:
        s.connect(("localhost", port), tls=tls.ModuleTLS(ca="ca.pem"))
    assert e.value.args[0] == errno.ECONNABORTED and "+CAOPEN: 0,27" in str(e.value)
    assert 'AT+CASSLCFG=0,"CLIENTCERT",""' in sim_commands(log)  # not left from before


@pytest.mark.parametrize("kind, code, words", [
    ("expired", 24, "certificate's time expired"),
    ("wrongname", 25, "certificate's common name does not match"),
])
def test_a_refused_server_certificate_is_the_manuals_result(sim7080, pki, tls_echo, kind,
                                                             code, words):
    sim, m, log = sim7080()
    port = tls_echo(kind)
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    s = msocket.socket(modem=m)
    s.settimeout(30)
    with pytest.raises(OSError) as e:
        s.connect(("localhost", port), tls=tls.ModuleTLS(ca="ca.pem"))
    assert e.value.args[0] == errno.ECONNABORTED
    assert str(e.value.args[1]) == "TLS handshake failed: +CAOPEN: 0,%d (%s)" % (code, words)
    assert m.links == {} and sim.links == {}  # nothing left open on either side
    s.connect(("localhost", port), tls=tls.ModuleTLS(verify=False))  # by name only
    s.close()


def test_an_expired_certificate_for_another_name_is_26(sim7080, pki, tls_echo):
    sim, m, log = sim7080()
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    s = msocket.socket(modem=m)
    s.settimeout(30)
    with pytest.raises(OSError) as e:
        s.connect(("other.example", tls_echo("expired")), tls=tls.ModuleTLS(ca="ca.pem"))
    assert e.value.args[0] == errno.ECONNABORTED
    assert str(e.value.args[1]) == ("TLS handshake failed: +CAOPEN: 0,26 (certificate's "
                                    "common name does not match and time expired)")
    # the name is the one the module connects to: the wrongname server is right for it
    s = tls_socket(m, tls_echo("wrongname"), tls.ModuleTLS(ca="ca.pem"), "wrong.example")
    assert echo_through(s, b"right name") == b"right name"
    s.close()


def test_a_server_the_ca_does_not_sign_is_refused(sim7080, pki, tls_echo):
    sim, m, log = sim7080()
    port = tls_echo("good")
    tls.cert_upload(m, "other.pem", pki.other_ca_pem, "ca")
    s = msocket.socket(modem=m)
    s.settimeout(30)
    with pytest.raises(OSError) as e:
        s.connect(("localhost", port), tls=tls.ModuleTLS(ca="other.pem"))
    assert e.value.args[0] == errno.ECONNABORTED
    assert "TLS handshake failed: +CAOPEN: 0,27 (connect failed)" in str(e.value)
    assert m.links == {} and sim.links == {}


def test_a_plain_connection_after_tls_turns_ssl_off(sim7080, pki, tls_echo, tcp_echo):
    sim, m, log = sim7080()
    tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca")
    s = tls_socket(m, tls_echo("good"), tls.ModuleTLS(ca="ca.pem"))
    s.close()
    since = len(log.getvalue())
    s = msocket.socket(modem=m)
    s.settimeout(10)
    s.connect(("localhost", tcp_echo[1]))  # the same cid 0, now plain
    assert echo_through(s, b"plain again") == b"plain again"
    s.close()
    assert sim_commands(log, since)[0] == 'AT+CASSLCFG=0,"SSL",0'
    since = len(log.getvalue())
    s = msocket.socket(modem=m)
    s.settimeout(10)
    s.connect(("localhost", tcp_echo[1]))  # already off: nothing more
    s.close()
    assert not [c for c in sim_commands(log, since) if "SSL" in c]


def test_an_unconverted_ca_name_is_refused_by_the_module(sim7080):
    sim, m, log = sim7080()
    s = msocket.socket(modem=m)
    with pytest.raises(OSError) as e:
        s.connect(("localhost", 443), tls=tls.ModuleTLS(ca="never.pem"))
    assert "+CAOPEN: 0,4 (parameter invalid)" in str(e.value)


# ---------------------------------------------------------------- the simulator's commands
def test_simulator_file_system_and_convert_answer_as_the_family(modem_factory, pki):
    sim, uart, at = modem_factory("sim7080")
    assert at.cmd('AT+CFSWFILE=3,"a.pem",0,5,1000')[-1] == "ERROR"  # no CFSINIT
    at.ok("AT+CFSINIT")
    assert at.cmd("AT+CFSINIT")[-1] == "ERROR"  # the buffer is taken
    # exactly <size> bytes after DOWNLOAD; too few within <time>: ERROR, nothing stored
    at.cmd('AT+CFSWFILE=3,"a.pem",0,5,200', until="DOWNLOAD")
    at.write(b"abc")
    assert at.read_line(timeout=3) == "ERROR" and (3, "a.pem") not in sim.files
    at.cmd('AT+CFSWFILE=3,"a.pem",0,5,1000', until="DOWNLOAD")
    at.write(b"ab\r\nc")
    assert at.read_line(timeout=3) == "OK" and sim.files[(3, "a.pem")] == b"ab\r\nc"
    assert at.ok('AT+CFSGFIS=3,"a.pem"') == ["+CFSGFIS: 5"]
    assert at.cmd('AT+CFSWFILE=3,"a.pem",0,10241,1000')[-1] == "ERROR"
    at.ok("AT+CFSTERM")
    assert at.cmd('AT+CSSLCFG="CONVERT",2,"a.pem"')[-1] == "ERROR"  # not a certificate
    assert at.cmd('AT+CSSLCFG="CONVERT",2,"none.pem"')[-1] == "ERROR"  # no such file
    sim.files[(3, "c.pem")] = pki.client_cert_pem
    sim.files[(3, "k.pem")] = pki.client_key_pem
    sim.files[(3, "ca.pem")] = pki.ca_pem
    at.ok('AT+CSSLCFG="CONVERT",2,"ca.pem"')
    at.ok('AT+CSSLCFG="CONVERT",1,"c.pem","k.pem"')
    assert at.cmd('AT+CSSLCFG="CONVERT",1,"c.pem","ca.pem"')[-1] == "ERROR"  # no key
    at.ok("AT+CFSINIT")
    at.ok('AT+CFSDFILE=3,"k.pem"')
    assert at.cmd('AT+CFSDFILE=3,"k.pem"')[-1] == "ERROR"
    assert at.cmd('AT+CFSGFIS=3,"k.pem"')[-1] == "ERROR"
    at.ok("AT+CFSTERM")
    assert "c.pem" not in sim.ssl_client  # made from a deleted file: gone too


# ---------------------------------------------------------------- other families
@pytest.mark.parametrize("dialect", ["sim800"])
def test_families_without_module_tls_name_host_tls(sim7080, pki, dialect):
    sim, m, log = sim7080(dialect)
    since = len(log.getvalue())
    for call in (lambda: tls.cert_upload(m, "ca.pem", pki.ca_pem, "ca"),
                 lambda: tls.cert_list(m), lambda: tls.cert_delete(m, "ca.pem"),
                 lambda: msocket.socket(modem=m).connect(
                     (LOOPBACK, 443), tls=tls.ModuleTLS(ca="ca.pem"))):
        with pytest.raises(OSError) as e:
            call()
        assert e.value.args[0] == errno.EOPNOTSUPP and "host TLS" in str(e.value)
    assert sim_commands(log, since) == []
