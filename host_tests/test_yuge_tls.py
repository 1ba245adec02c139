"""Module TLS on the Yuge family: the module does the handshake with certificates
stored in its file system (manual ch.8 AT+FS*, 9.6 AT+CIPSSL, 9.7 AT+SSLCFG, 13.2
AT+SSLMIPSTART with SSL context 88 as 13.14 sets it).

Real parts: the throwaway PKI (tlsfixtures.pki), TLS echo servers with good,
wrong-name and expired certificates (tls_echo), mosquitto with a mutual-TLS listener
and a paho TLS peer (mosquitto_mtls, tls_peer), and the simulator's real TLS client
(Python's ssl on the real TCP connection, configured from AT+SSLCFG, the server
verified with the CA file uploaded through AT+FSWRITE). The library runs in CPython
(in-process simulator); real MicroPython: test_module_tls.py.
"""
import errno
import os
import time

import pytest

import cellmodem.socket as msocket
from cellmodem import tls
from cellmodem.native.yuge_mqtt import MQTTClient
from simfixtures import LOOPBACK, echo_through, sim_commands
from tlsfixtures import tls_refused, tls_socket
from tools.modemsim.tlsclient import TLSSock

# other.example: a name no fixture certificate carries; wrong.example: the name the
# wrongname certificate carries
HOSTS = {"localhost": LOOPBACK, "other.example": LOOPBACK, "wrong.example": LOOPBACK}
FAIL = "TLS handshake failed: AT+CIPSTART: 0, CONNECT FAIL (or no connection: the " \
       "module does not say which)"


@pytest.fixture
def yuge(connected_modem):
    """make(rx_mode=None, sock_rxbuf=4096) -> (sim, modem, log): connected, on the
    in-process simulator with its command log on."""
    return lambda rx_mode=None, sock_rxbuf=4096: connected_modem("yuge", HOSTS, rx_mode,
                                                                 sock_rxbuf)


def store_all(m, pki):
    tls.cert_upload(m, "ca.crt", pki.ca_pem, "ca")
    tls.cert_upload(m, "client.crt", pki.client_cert_der, "cert")
    tls.cert_upload(m, "client.key", pki.client_key_der, "key")


# ---------------------------------------------------------------- certificates
def test_upload_repeat_list_and_delete(yuge, pki):
    sim, m, log = yuge()
    since = len(log.getvalue())
    store_all(m, pki)
    n = len(pki.ca_pem)
    # 13.14's files and commands: FSCREATE, FSWRITE mode 0 (an old file deleted first)
    assert sim_commands(log, since)[:3] == ['AT+FSDEL="ca.crt"', 'AT+FSCREATE="ca.crt"',
                                    'AT+FSWRITE="ca.crt",0,%d,10' % n]
    fs = sim.fs.entries
    assert fs["C:/ca.crt"] == pki.ca_pem  # PEM as given
    assert fs["C:/client.crt"].startswith(b"-----BEGIN CERTIFICATE-----\n")
    assert tls.der(bytes(fs["C:/client.crt"])) == pki.client_cert_der
    # a DER key's PEM label says what it is: PKCS#8 "PRIVATE KEY", SEC1 (what openssl
    # 3.0's pkey -outform DER writes for EC) "EC PRIVATE KEY"
    label = b"PRIVATE KEY" if pki.client_key_der[5:6] == b"\x30" else b"EC PRIVATE KEY"
    assert fs["C:/client.key"].startswith(b"-----BEGIN " + label + b"-----\n")
    assert tls.der(bytes(fs["C:/client.key"])) == pki.client_key_der
    pkcs8 = tls.der(pki.client_key_pem)
    tls.cert_upload(m, "p8.key", pkcs8, "key")
    assert fs["C:/p8.key"].startswith(b"-----BEGIN PRIVATE KEY-----\n")
    tls.cert_delete(m, "p8.key")
    # safe to repeat: the same name is replaced (a shorter file leaves no old tail)
    tls.cert_upload(m, "ca.crt", pki.ca_der, "ca")
    assert tls.der(bytes(fs["C:/ca.crt"])) == pki.ca_der
    tls.cert_upload(m, "ca.crt", pki.ca_pem, "ca")
    assert fs["C:/ca.crt"] == pki.ca_pem
    assert sorted(tls.cert_list(m)) == ["ca.crt", "client.crt", "client.key"]  # not USER\
    tls.cert_delete(m, "client.key")
    assert sorted(tls.cert_list(m)) == ["ca.crt", "client.crt"]
    assert "C:/client.key" not in fs
    with pytest.raises(OSError) as e:
        tls.cert_delete(m, "client.key")
    assert e.value.args[0] == errno.ENOENT and "client.key" in str(e.value)


def test_key_bytes_never_reach_the_trace(yuge, pki):
    sim, m, log = yuge()
    seen = []
    m.at.trace = lambda d, b, ms: seen.append((d, bytes(b)))
    tls.cert_upload(m, "client.key", pki.client_key_pem, "key")
    tls.cert_upload(m, "k2.key", pki.client_key_der, "key")  # as PEM made from DER
    tls.cert_upload(m, "client.crt", pki.client_cert_pem, "cert")
    m.at.trace = None
    both = b"".join(b for d, b in seen).replace(b"\r", b"").replace(b"\n", b"")
    body = b"".join(pki.client_key_pem.split(b"\n")[1:-2])  # the base64 lines
    for i in range(0, len(body) - 16, 8):
        assert body[i:i + 16] not in both
    assert pki.client_key_der[8:40] not in both
    out = b"".join(b for d, b in seen if d == b">")
    assert b'AT+FSWRITE="client.key",0,' in out and out.count(b"***") == 3
    assert tls.der(bytes(sim.fs.entries["C:/client.key"])) == tls.der(pki.client_key_pem)
    # the trace works as before after the upload
    n = len(seen)
    m.at.trace = lambda d, b, ms: seen.append((d, bytes(b)))
    m.at.command("AT")
    assert (b">", b"AT\r") in seen[n:]


def test_bad_uploads_are_refused_before_the_uart(yuge, pki):
    sim, m, log = yuge()
    since = len(log.getvalue())
    with pytest.raises(ValueError):
        tls.cert_upload(m, "big.crt", b"-----BEGIN CERTIFICATE-----\n" + b"A" * 10300, "ca")
    for name in ("/ca.crt", "D:ca.crt", "certs/ca.crt", 'a"b', "ca\r\nAT+CFUN=0", ""):
        with pytest.raises(ValueError):
            tls.cert_upload(m, name, pki.ca_pem, "ca")
    with pytest.raises(ValueError):
        tls.cert_upload(m, "ca.crt", pki.ca_pem, "root")
    with pytest.raises(ValueError):  # a client certificate needs verification (seclevel 2)
        msocket.socket(modem=m).connect(("localhost", 443), tls=tls.ModuleTLS(
            cert="client.crt", key="client.key", verify=False))
    with pytest.raises(OSError) as e:  # no DTLS
        msocket.socket(msocket.AF_INET, msocket.SOCK_DGRAM, modem=m).connect(
            ("localhost", 443), tls=tls.ModuleTLS(ca="ca.crt"))
    assert e.value.args[0] == errno.EOPNOTSUPP
    assert sim_commands(log, since) == []


# ---------------------------------------------------------------- connections
@pytest.mark.parametrize("rx_mode", ["buffered", "push"])
def test_256_kib_echo_through_module_tls_with_the_server_verified(yuge, pki, tls_echo,
                                                                   rx_mode):
    sim, m, log = yuge(rx_mode, sock_rxbuf=8192)
    port = tls_echo("good")
    tls.cert_upload(m, "ca.crt", pki.ca_pem, "ca")
    since = len(log.getvalue())
    data = os.urandom(256 * 1024)
    t0 = time.monotonic()
    s = tls_socket(m, port, tls.ModuleTLS(ca="ca.crt"))
    assert sim_commands(log, since) == [
        'AT+SSLCFG="sslversion",0,3', 'AT+SSLCFG="seclevel",0,1',
        'AT+SSLCFG="cacert",0,"ca.crt"', 'AT+SSLCFG="hostname",0,"localhost"',
        "AT+CIPSSL=1", 'AT+CIPSTART=0,"TCP","localhost",%d' % port]
    ts = sim.links[0].conn.sock
    assert isinstance(ts, TLSSock)  # a real TLS connection in the simulator
    assert ts.cipher()[1] == "TLSv1.2" and ts.obj.server_hostname == "localhost"  # SNI
    assert echo_through(s, data) == data
    s.close()
    srv = tls_echo.server(port)
    assert srv.handshakes == 1 and srv.echoed == len(data)
    print("yuge module TLS 256 KiB echo (CPython, in-process, %s): %.2f s"
          % (rx_mode, time.monotonic() - t0))


def test_mutual_tls_echo(yuge, pki, tls_echo):
    sim, m, log = yuge()
    port = tls_echo("good", require_client=True)
    store_all(m, pki)
    since = len(log.getvalue())
    spec = tls.ModuleTLS(ca="ca.crt", cert="client.crt", key="client.key")
    data = os.urandom(32 * 1024)
    s = tls_socket(m, port, spec)
    assert echo_through(s, data) == data
    s.close()
    assert sim_commands(log, since)[:6] == [
        'AT+SSLCFG="sslversion",0,3', 'AT+SSLCFG="seclevel",0,2',
        'AT+SSLCFG="cacert",0,"ca.crt"', 'AT+SSLCFG="clientcert",0,"client.crt"',
        'AT+SSLCFG="clientkey",0,"client.key"', 'AT+SSLCFG="hostname",0,"localhost"']
    srv = tls_echo.server(port)
    assert srv.handshakes == 1 and srv.echoed == len(data)
    # seclevel 1 presents no client certificate: the server refuses the handshake
    e = tls_refused(m, port, tls.ModuleTLS(ca="ca.crt"))
    assert e.args[0] == errno.ECONNABORTED and e.args[1] == FAIL
    srv.wait_outcomes(2)
    assert len(srv.handshake_errors) == 1 and m.links == {}


@pytest.mark.parametrize("kind, host, ca, why", [
    ("expired", "localhost", "ca", "has expired"),
    ("wrongname", "localhost", "ca", "is not for localhost"),
    ("good", "localhost", "other_ca", "unable to get local issuer certificate"),
])
def test_a_refused_server_is_connect_fail_as_econnaborted(yuge, pki, tls_echo, kind, host,
                                                          ca, why):
    sim, m, log = yuge()
    port = tls_echo(kind)
    tls.cert_upload(m, "ca.crt", getattr(pki, ca + "_pem"), "ca")
    e = tls_refused(m, port, tls.ModuleTLS(ca="ca.crt"), host)
    assert e.args[0] == errno.ECONNABORTED and e.args[1] == FAIL
    assert why in log.getvalue()  # the simulator's log says which check failed
    assert m.links == {} and not [k for k, v in sim.links.items() if v.conn is not None]
    if kind != "good":  # unverified by name only: then it connects
        s = tls_socket(m, port, tls.ModuleTLS(verify=False), host)
        assert echo_through(s, b"unverified") == b"unverified"
        s.close()
        assert 'AT+SSLCFG="seclevel",0,0' in sim_commands(log)


def test_the_name_checked_is_the_hostname_and_sni_off_checks_the_address(yuge, pki,
                                                                          tls_echo):
    sim, m, log = yuge()
    tls.cert_upload(m, "ca.crt", pki.ca_pem, "ca")
    # the wrongname server is right for the name it carries
    s = tls_socket(m, tls_echo("wrongname"), tls.ModuleTLS(ca="ca.crt"), "wrong.example")
    assert echo_through(s, b"right name") == b"right name"
    s.close()
    # sni=False: no hostname (erased), the address is checked (IP:127.0.0.1 SAN)
    since = len(log.getvalue())
    s = tls_socket(m, tls_echo("good"), tls.ModuleTLS(ca="ca.crt", sni=False), LOOPBACK)
    assert sim.links[0].conn.sock.obj.server_hostname is None
    assert echo_through(s, b"by address") == b"by address"
    s.close()
    assert 'AT+SSLCFG="hostname",0,""' in sim_commands(log, since)
    e = tls_refused(m, tls_echo("good"), tls.ModuleTLS(ca="ca.crt", sni=False), "other.example")
    assert e.args[0] == errno.ECONNABORTED


def test_a_missing_ca_file_fails_the_connection(yuge, tls_echo):
    sim, m, log = yuge()
    e = tls_refused(m, tls_echo("good"), tls.ModuleTLS(ca="never.crt"))
    assert e.args[0] == errno.ECONNABORTED and "no such file" in log.getvalue()


def test_a_plain_connection_after_tls_turns_cipssl_off(yuge, pki, tls_echo, tcp_echo):
    sim, m, log = yuge()
    tls.cert_upload(m, "ca.crt", pki.ca_pem, "ca")
    s = tls_socket(m, tls_echo("good"), tls.ModuleTLS(ca="ca.crt"))
    assert sim.cipssl == 1
    since = len(log.getvalue())
    p = msocket.socket(modem=m)  # link 1, plain, while link 0 keeps its TLS
    p.settimeout(10)
    p.connect(("localhost", tcp_echo[1]))
    assert sim_commands(log, since) == ["AT+CIPSSL=0", 'AT+CIPSTART=1,"TCP","localhost",%d'
                                % tcp_echo[1]]
    assert not isinstance(sim.links[1].conn.sock, TLSSock)
    assert echo_through(p, b"plain again") == b"plain again"
    assert echo_through(s, b"still tls") == b"still tls"
    p.close()
    s.close()
    since = len(log.getvalue())
    p = msocket.socket(modem=m)
    p.settimeout(10)
    p.connect(("localhost", tcp_echo[1]))  # already off: nothing more
    p.close()
    assert not [c for c in sim_commands(log, since) if "SSL" in c]


def test_activate_turns_cipssl_off(yuge):
    sim, m, log = yuge()
    assert "AT+CIPSSL=0" in sim_commands(log) and sim.cipssl == 0


# ---------------------------------------------------------------- native MQTT (13.2, 13.14)
def mqtt_client(m, port, spec, cid="yuge-tls"):
    c = MQTTClient(cid, "localhost", port, ssl=spec, keepalive=60, modem=m, timeout=20000)
    got = []
    c.set_callback(lambda t, msg: got.append((t, msg)))
    return c, got


def test_native_mqtt_mutual_tls_qos1_both_ways(yuge, pki, mosquitto_mtls, tls_peer):
    sim, m, log = yuge()
    store_all(m, pki)
    peer = tls_peer(mosquitto_mtls.port_mtls)
    peer.subscribe("yuge/up", qos=1)
    spec = tls.ModuleTLS(ca="ca.crt", cert="client.crt", key="client.key")
    c, got = mqtt_client(m, mosquitto_mtls.port_mtls, spec)
    since = len(log.getvalue())
    c.connect()
    cmds = sim_commands(log, since)
    i = cmds.index('AT+SSLCFG="sslversion",88,3')
    assert cmds[i:i + 7] == [
        'AT+SSLCFG="sslversion",88,3', 'AT+SSLCFG="seclevel",88,2',
        'AT+SSLCFG="cacert",88,"ca.crt"', 'AT+SSLCFG="clientcert",88,"client.crt"',
        'AT+SSLCFG="clientkey",88,"client.key"', 'AT+SSLCFG="hostname",88,"localhost"',
        'AT+SSLMIPSTART="localhost",%d' % mosquitto_mtls.port_mtls]
    assert isinstance(sim.mq.sock, __import__("tools.modemsim.yuge_mqtt",
                                              fromlist=["TLSPipe"]).TLSPipe)
    c.subscribe("yuge/down", qos=1)
    for i in range(5):
        c.publish("yuge/up", b"up %d \x00\xff\r\n" % i, qos=1)
    ups = peer.wait_messages(5)
    assert [(t, p, q) for t, p, q in ups] == [("yuge/up", b"up %d \x00\xff\r\n" % i, 1)
                                              for i in range(5)]
    for i in range(5):
        peer.publish("yuge/down", b"down %d" % i, qos=1)
    deadline = time.monotonic() + 30
    while len(got) < 5:
        assert time.monotonic() < deadline, got
        c.wait_msg()
    assert got == [(b"yuge/down", b"down %d" % i) for i in range(5)]
    c.disconnect()


def test_native_mqtt_tls_refusals(yuge, pki, mosquitto_mtls):
    sim, m, log = yuge()
    store_all(m, pki)
    # no client certificate at the listener that requires one
    c, got = mqtt_client(m, mosquitto_mtls.port_mtls, tls.ModuleTLS(ca="ca.crt"))
    with pytest.raises(OSError) as e:
        c.connect()
    assert e.value.args[0] == errno.ECONNABORTED
    # 13.2 under AT+CIPMUX=1: "7, CONNECT FAIL" (single link: "STATE: <s>" first)
    assert str(e.value.args[1]) == ('TLS handshake failed: AT+SSLMIPSTART="localhost",%d: '
                                    'CONNECT FAIL (or no connection: the module does not '
                                    'say which)' % mosquitto_mtls.port_mtls)
    # a broker the CA does not sign (the module verifies per context 88)
    tls.cert_upload(m, "other.crt", pki.other_ca_pem, "ca")
    c, got = mqtt_client(m, mosquitto_mtls.port_tls, tls.ModuleTLS(ca="other.crt"))
    with pytest.raises(OSError) as e:
        c.connect()
    assert e.value.args[0] == errno.ECONNABORTED
    assert "unable to get local issuer certificate" in log.getvalue()
    # the right CA at the server-auth listener: connects, no client certificate
    c, got = mqtt_client(m, mosquitto_mtls.port_tls, tls.ModuleTLS(ca="ca.crt"))
    c.connect()
    c.publish("yuge/x", b"1", qos=1)
    c.disconnect()


def test_native_mqtt_ssl_true_leaves_context_88_to_the_application(yuge, pki,
                                                                     mosquitto_mtls):
    sim, m, log = yuge()
    store_all(m, pki)
    # 13.14 by hand: the application sets context 88, the client only SSLMIPSTARTs
    for cmd in ('AT+SSLCFG="cacert",88,"ca.crt"', 'AT+SSLCFG="seclevel",88,1'):
        m.at.command(cmd)
    since = len(log.getvalue())
    c, got = mqtt_client(m, mosquitto_mtls.port_tls, True)
    c.connect()
    c.publish("yuge/x", b"1", qos=1)
    c.disconnect()
    assert not [x for x in sim_commands(log, since) if "SSLCFG" in x]
    m.at.command('AT+SSLCFG="seclevel",88,2')  # now the broker without a certificate
    m.at.command('AT+SSLCFG="clientcert",88,"nothere.crt"')
    with pytest.raises(OSError) as e:
        c.connect()
    assert e.value.args[0] == errno.ECONNABORTED


@pytest.mark.parametrize("bad", [
    'x"\r\nAT+CFUN=0\r\n', 'x"\rAT+CFUN=0\r', 'x\nAT+CFUN=0\n', 'x\x00AT+CFUN=0',
    'x\x1aAT+CFUN=0\r', 'x\x1bAT+CFUN=0\r', 'x",1\r\nAT+CFUN=0', 'x\\"\r\nAT+CFUN=0',
    "x" * 600 + "\r\nAT+CFUN=0\r\n", "caf\u00e9\r\nAT+CFUN=0", b'x"\r\nAT+CFUN=0\r\n'])
def test_native_mqtt_module_tls_names_and_server_with_injections_are_refused(yuge, bad):
    sim, m, log = yuge()
    since = len(log.getvalue())
    for kw in ({"ca": bad}, {"ca": "ca.crt", "cert": bad, "key": "k.key"},
               {"ca": "ca.crt", "cert": "c.crt", "key": bad}):
        with pytest.raises((ValueError, TypeError)):
            MQTTClient("dev", "localhost", 8883, ssl=tls.ModuleTLS(**kw), modem=m)
    with pytest.raises((ValueError, TypeError)):
        MQTTClient("dev", bad, 8883, ssl=tls.ModuleTLS(ca="ca.crt"), modem=m)
    assert sim_commands(log, since) == []
    assert "CFUN=0" not in log.getvalue()


def test_native_mqtt_ssl_must_be_a_module_tls_true_or_false(yuge):
    sim, m, log = yuge()
    since = len(log.getvalue())
    for bad in ("yes", {"cert_reqs": 2}, 1, object()):
        with pytest.raises(ValueError, match="ModuleTLS"):
            MQTTClient("dev", "localhost", ssl=bad, modem=m)
    with pytest.raises(ValueError, match="seclevel 2"):
        MQTTClient("dev", "localhost", ssl=tls.ModuleTLS(cert="c.crt", key="k.key",
                                                           verify=False), modem=m)
    c = MQTTClient("dev", "localhost", ssl=tls.ModuleTLS(ca="ca.crt"), modem=m)
    assert c.port == 8883
    assert sim_commands(log, since) == []


# ---------------------------------------------------------------- the simulator's commands
def test_simulator_cipssl_and_sslmipstart_verify_per_sslcfg(modem_factory, pki, mosquitto_mtls):
    sim, uart, at = modem_factory("yuge")
    at.read_line(timeout=10)  # RDY
    at.read_line(timeout=10)  # +CPIN: READY
    assert at.ok("AT+CIPSSL?") == ["+CIPSSL: 0"]
    at.ok("AT+CIPSSL=1")
    assert at.ok("AT+CIPSSL?") == ["+CIPSSL: 1"]
    assert at.cmd("AT+CIPSSL=2")[-1] == "ERROR"
    sim.fs.entries["C:/ca.crt"] = bytearray(pki.other_ca_pem)
    at.ok('AT+SSLCFG="cacert",88,"ca.crt"')
    at.ok('AT+SSLCFG="seclevel",88,1')
    assert at.ok('AT+SSLCFG="seclevel",88') == ['+SSLCFG: "seclevel",88,1']
    at.ok('AT+MCONFIG="simtls","",""')
    at.ok('AT+SSLMIPSTART="localhost",%d' % mosquitto_mtls.port_tls)
    assert at.read_line(timeout=10) == "STATE: TCP CLOSED"
    assert at.read_line(timeout=10) == "CONNECT FAIL"
    sim.fs.entries["C:/ca.crt"] = bytearray(pki.ca_pem)
    at.ok('AT+SSLMIPSTART="localhost",%d' % mosquitto_mtls.port_tls)
    assert at.read_line(timeout=10) == "CONNECT OK"
