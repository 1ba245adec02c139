"""What a sensor that reports every 15 minutes and deep-sleeps between costs on the
modem's UART: AT commands and bytes per wake, the first wake (a full bring-up)
against the later ones (cellmodem.resume: the module kept its context), and the
module's own wakes per reporting interval from the PSM timers the network granted.

Each wake is what examples/gps_tracker.py and host_tests/scenarios/sleepy_sensor.py
do: a new Modem on the same module (the board restarted), resume.resume(), an MQTT
client that takes its broker session up again (clean_session=False), one QoS 1
reading, resume.state() kept for the next wake. The library runs in CPython on the
in-process simulator (the same code a board runs); Debian's mosquitto is the broker.
Time is not simulated: the interval only enters the module-wake figure.

Usage: python -m tools.sensorcycle [--wakes 8] [--family quectel] [--md]
"""
import argparse
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for p in (ROOT, os.path.join(ROOT, "host_tests"), os.path.join(ROOT, "lib")):
    if p not in sys.path:
        sys.path.insert(0, p)

from cellmodem.fakeuart import FakeUART  # noqa: E402
from cellmodem.modem import Modem  # noqa: E402
from cellmodem.mqtt import MQTTClient  # noqa: E402
from cellmodem import psm, resume  # noqa: E402
from simfixtures import LOOPBACK  # noqa: E402
from tools import families  # noqa: E402
from tools.modemsim import get_personality  # noqa: E402
from tools.soak import start_mosquitto  # noqa: E402

INTERVAL = 15 * 60  # s between reports
TAU, ACTIVE = 3600, 60  # the PSM timers asked for (s)


class CountingUART(FakeUART):
    """The fake UART, counting what the host read (all of it: the sync included)."""

    received = 0

    def readinto(self, buf, nbytes=None):
        n = super().readinto(buf, nbytes)
        if n:
            self.received += n
        return n


def one_wake(uart, family, port, saved, n):
    """One wake; (resumed, granted PSM timers or None, commands, bytes out, bytes in,
    the state to keep)."""
    t0, r0 = len(uart.tx), uart.received
    modem = Modem(uart, dialect=family)  # AT, ATE0, AT+CMEE=2
    resumed = resume.resume(modem, saved, apn="internet")
    granted = None
    if not resumed and modem.dialect.POWER.get("psm"):
        psm.request(modem, tau=TAU, active=ACTIVE)  # once, on the first wake
        granted = psm.granted(modem)
    c = MQTTClient("sensor-" + family, "broker", port, keepalive=1200, modem=modem)
    c.connect(clean_session=False)
    c.publish("sensors/" + family, b"reading %d" % n, qos=1)
    sent = bytes(uart.tx[t0:])
    # command lines: what starts a CR-ended line with AT (payloads follow a prompt
    # and are counted as bytes only)
    cmds = sum(1 for line in sent.split(b"\r") if line.startswith(b"AT"))
    return resumed, granted, cmds, len(sent), uart.received - r0, resume.state(modem)


def run(family, port, wakes):
    uart = CountingUART()
    sim = get_personality(family)(seed=11, hosts={"broker": LOOPBACK})
    try:
        sim.attach(uart)
        rows = []
        saved = None
        granted = None
        for n in range(wakes + 1):
            resumed, g, cmds, out_b, in_b, saved = one_wake(uart, family, port, saved, n)
            granted = g or granted
            rows.append((resumed, cmds, out_b, in_b))
        return rows, granted
    finally:
        sim.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wakes", type=int, default=8, help="resumed wakes after the first")
    ap.add_argument("--family", action="append", help="only these (default: every one)")
    ap.add_argument("--md", action="store_true", help="print the BENCHMARKS.md table")
    a = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="sensorcycle-")
    proc, port, log = start_mosquitto(work)
    out = []
    try:
        for fam in a.family or families.NAMES:
            rows, granted = run(fam, port, a.wakes)
            full = rows[0]
            later = rows[1:]
            if full[0] or not all(r[0] for r in later):
                raise SystemExit("%s: wake kinds %r (the first full, the rest resumed)"
                                 % (fam, [r[0] for r in rows]))
            cmds = sorted(r[1] for r in later)[len(later) // 2]
            out_b = sorted(r[2] for r in later)[len(later) // 2]
            in_b = sorted(r[3] for r in later)[len(later) // 2]
            if granted:
                tau, active = granted
                # the report's own wake, plus a periodic TAU wherever one falls due
                wakes = "%.2f (TAU %d s, active %d s)" % (1 + INTERVAL / tau, tau, active)
            else:
                wakes = "no PSM: stays registered (paging cycles)"
            out.append((fam, full[1], full[2] + full[3], cmds, out_b + in_b, wakes))
    finally:
        proc.kill()
        proc.wait(5)
        log.close()
        shutil.rmtree(work, ignore_errors=True)
    if a.md:
        print("| family | first wake: commands / UART bytes | each later wake (median of %d):"
              " commands / UART bytes | module wakes per 15-min interval |" % a.wakes)
        print("|---|---|---|---|")
    for fam, c1, b1, c, b, w in out:
        if a.md:
            print("| %s | %d / %d | %d / %d | %s |" % (fam, c1, b1, c, b, w))
        else:
            print("%-8s first wake %2d commands %5d B; later %2d commands %5d B; "
                  "module wakes per interval: %s" % (fam, c1, b1, c, b, w))


if __name__ == "__main__":
    main()
