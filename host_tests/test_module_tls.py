"""Module TLS in real MicroPython, on every family that has it (sim7080:
AT+CASSLCFG and the CAOPEN results, C1802; yuge: AT+CIPSSL/AT+SSLCFG 9.6/9.7 and
AT+SSLMIPSTART 13.2; quectel: AT+QSSL* and AT+QFUPL, sim7600: AT+CCH* and
AT+CCERTDOWN, from the families' public SSL and FILE application notes): the certificates are uploaded through the library, the module
does the handshake, and the simulator terminates real TLS (Python's ssl on its real
TCP connection, the server verified with the uploaded CA, the uploaded client
certificate presented).

Real parts: the throwaway PKI, TLS echo servers (good, expired), mosquitto's
mutual-TLS listener and a paho-mqtt peer (host_tests/tlsfixtures.py). The scenario
is scenarios/module_tls.py on a pty. The CPython-level behaviour of each family is in
test_sim7080_tls.py, test_yuge_tls.py, test_quectel_tls.py and
test_sim7600_tls.py.
"""
import errno
import os
import time

import pytest

from mpy import SCENARIOS, run_micropython
from simfixtures import LOOPBACK
from tools.modemsim import get_personality

FAMILIES = ["sim7080", "yuge", "quectel", "sim7600"]
HOSTS = {"localhost": LOOPBACK}
# what a refused server certificate looks like to the application, per family
YUGE_FAIL = ("TLS handshake failed: AT+CIPSTART: 0, CONNECT FAIL (or no connection: "
             "the module does not say which)")  # 9.9: no result of its own for TLS
QUECTEL_FAIL = ("TLS handshake failed: +QSSLOPEN: 0,-1 (the server's certificate refused, "
                "or no common version or cipher)")
REFUSED = {
    ("sim7080", "expired"): "TLS handshake failed: +CAOPEN: 0,24 (certificate's time expired)",
    ("sim7080", "wrongname"): "TLS handshake failed: +CAOPEN: 0,25 (certificate's common "
                              "name does not match)",
    ("yuge", "expired"): YUGE_FAIL,
    ("yuge", "wrongname"): YUGE_FAIL,
    # users' logs: +QSSLOPEN: <id>,-1, the same for every refusal
    ("quectel", "expired"): QUECTEL_FAIL,
    ("quectel", "wrongname"): QUECTEL_FAIL,
    ("sim7600", "expired"): "TLS handshake failed: +CCHOPEN: 0,15 (Handshake error)",
    ("sim7600", "wrongname"): "TLS handshake failed: +CCHOPEN: 0,15 (Handshake error)",
}


@pytest.fixture
def pty_sim():
    made = []

    def make(family):
        sim = get_personality(family)(seed=5, hosts=HOSTS)
        made.append(sim)
        return sim.open_pty()
    yield make
    for sim in made:
        sim.close()


def mp(family, mode, tty, *args, timeout=300):
    p = run_micropython([os.path.join(SCENARIOS, "module_tls.py"), family, mode, tty]
                        + [str(a) for a in args], timeout=timeout)
    return p, "exit %d\n--- stdout\n%s--- stderr\n%s" % (p.returncode, p.stdout, p.stderr)


def answer_reversed(peer):
    """The peer sends every message on mpy/up back on mpy/down, reversed, QoS 1."""
    peer.subscribe("mpy/up", qos=1)
    peer.on_message(lambda t, p, q: peer.publish("mpy/down", p[::-1], qos=1)
                    if t == "mpy/up" else None)


@pytest.mark.parametrize("family", FAMILIES)
def test_256_kib_echo_with_the_server_verified(family, pty_sim, pki, tls_echo):
    t0 = time.monotonic()
    port = tls_echo("good")
    p, out = mp(family, "echo", pty_sim(family), "localhost", port, 256 * 1024, pki.ca_file)
    assert p.returncode == 0 and "MODULE TLS ECHO OK 262144" in p.stdout, out
    srv = tls_echo.server(port)
    assert srv.handshakes == 1 and srv.echoed == 256 * 1024  # all of it through TLS
    print("%s module TLS 256 KiB echo (MicroPython, pty): %s ms in the scenario, %.1f s "
          "in all" % (family, p.stdout.split()[-1], time.monotonic() - t0))


@pytest.mark.parametrize("family", FAMILIES)
def test_mutual_tls_echo_with_der_files(family, pty_sim, pki, tls_echo, tmp_path):
    files = []
    for name, data in (("ca.der", pki.ca_der), ("client.der", pki.client_cert_der),
                       ("client-key.der", pki.client_key_der)):
        (tmp_path / name).write_bytes(data)
        files.append(str(tmp_path / name))
    port = tls_echo("good", require_client=True)
    p, out = mp(family, "echo", pty_sim(family), "localhost", port, 16 * 1024, *files)
    assert p.returncode == 0 and "MODULE TLS ECHO OK 16384" in p.stdout, out
    assert tls_echo.server(port).echoed == 16 * 1024


@pytest.mark.parametrize("family, kind", sorted(REFUSED))
def test_an_expired_or_wrong_name_server_is_refused_with_the_modules_result(
        family, kind, pty_sim, pki, tls_echo):
    port = tls_echo(kind)
    p, out = mp(family, "refuse", pty_sim(family), "localhost", port, pki.ca_file)
    assert p.returncode == 0, out
    assert "REFUSED %d %s" % (errno.ECONNABORTED, REFUSED[family, kind]) in p.stdout, out
    assert tls_echo.server(port).echoed == 0


@pytest.mark.parametrize("family", FAMILIES)
def test_mqtt_over_module_tls_to_the_mutual_tls_listener_qos1_both_ways(
        family, pty_sim, pki, mosquitto_mtls, tls_peer):
    peer = tls_peer(mosquitto_mtls.port_mtls)
    answer_reversed(peer)
    p, out = mp(family, "mqtt", pty_sim(family), "localhost", mosquitto_mtls.port_mtls, 5,
                pki.ca_file, pki.client_cert_file, pki.client_key_file)
    assert p.returncode == 0 and "MODULE TLS MQTT OK 5" in p.stdout, out
    assert len(peer.wait_messages(5)) >= 5


def test_yuge_native_mqtt_over_sslmipstart_to_the_mutual_tls_listener(
        pty_sim, pki, mosquitto_mtls, tls_peer):
    peer = tls_peer(mosquitto_mtls.port_mtls)
    answer_reversed(peer)
    p, out = mp("yuge", "native", pty_sim("yuge"), "localhost", mosquitto_mtls.port_mtls, 5,
                pki.ca_file, pki.client_cert_file, pki.client_key_file)
    assert p.returncode == 0 and "MODULE TLS MQTT OK 5" in p.stdout, out
    assert len(peer.wait_messages(5)) >= 5
