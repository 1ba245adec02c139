"""Command line: run a simulated modem on a pseudo terminal.

    python -m tools.modemsim --dialect sim7080 --pty [-v] [--baud 115200]
    python -m tools.modemsim --dialect quectel --reject-apn blocked.apn --sim locked --pin 4321
    python -m tools.modemsim --dialect sim7600 --fault hangup=+CIPSEND   # the port dies mid-send
    python -m tools.modemsim --dialect sim7000 --quirks real,scale=0.01 --seed 3
"""
import argparse
import signal
import sys
import threading

from . import PERSONALITIES, PersonalityError, get_personality
from .core import Faults, parse_quirks

QUIRKS_HELP = """real modules' quirks (--quirks, comma separated; see core.parse_quirks):
  real[=P]   each quirk of the personality on with probability P (default 0.5),
             chosen from --seed (or seed=N); all: every one; NAME / -NAME: that one
             on / off; scale=F: multiplies the real-world times they use (boot 3 s,
             the manual's open limit + 0.5 s, voltage warnings every 60 s)
  quirks of every personality: boot_stagger, boot_cpin_error, boot_lost_cmds,
             stale_answers, short_payload, late_fail, power_warnings
  sim7080 / sim7000: caopen_fail_no_ok; sim7600: netopen_bare_error, cgev;
  quectel: cgev; yuge: sapbr_quoted, call_ready, no_tls, cgev
  --list-quirks prints the settings each one turns on for --dialect.
"""


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m tools.modemsim",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Simulated cellular modem speaking AT commands on a pseudo terminal. "
                    "Sockets it opens are real but stay on 127.0.0.0/8.",
        epilog="fault knobs (--fault, repeatable):\n" + Faults.__doc__.split("\n", 2)[2]
               + "\n" + QUIRKS_HELP)
    p.add_argument("--dialect", default="sim7080",
                   help="modem personality: %s (default sim7080)" % ", ".join(sorted(PERSONALITIES)))
    p.add_argument("--pty", action="store_true",
                   help="serve on a new pseudo terminal and print its path (the only "
                        "transport of the CLI; implied)")
    p.add_argument("--baud", type=int, default=None,
                   help="pace both directions at this baud rate, 10 bits per byte "
                        "(default: unpaced)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the random generator behind every fault (default 0)")
    p.add_argument("--fault", action="append", default=[], metavar="KNOB=VALUE",
                   help="enable a fault, e.g. chunk=1-8, urc=0.2, reboot=5 (see below)")
    p.add_argument("--hosts", action="append", default=[], metavar="NAME=IP",
                   help="host name table entry; IP must be in 127.0.0.0/8 "
                        "(localhost=127.0.0.1 is always there)")
    p.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                   help="personality option (quirks), e.g. carecv_form=manual for sim7080")
    p.add_argument("--quirks", default=None, metavar="SPEC",
                   help="real modules' behaviours beyond the manuals, e.g. real, "
                        "real=0.3,scale=0.01, all, boot_stagger,cgev (see below); "
                        "options given with --opt win")
    p.add_argument("--list-quirks", action="store_true",
                   help="print the quirks of --dialect and what each sets, then exit")
    p.add_argument("--sim", choices=("ready", "locked", "absent"), default="ready",
                   help="SIM card state: ready, locked (needs AT+CPIN=\"<pin>\"), absent")
    p.add_argument("--pin", default="1234", help="PIN of a locked SIM (default 1234)")
    p.add_argument("--reject-apn", action="append", default=[], metavar="APN",
                   help="an APN the network refuses (repeatable): activating a data "
                        "context with it fails the family's way (sim7080 +APP PDP: "
                        "DEACTIVE, sim7600 +NETOPEN: 1, quectel ERROR and QIGETERROR "
                        "561, yuge AT+CIICR ERROR)")
    p.add_argument("--reg-delay-ms", type=int, default=2000,
                   help="time from power-on to network registration (default 2000)")
    p.add_argument("--boot-ms", type=int, default=0,
                   help="time from power-on (and each reboot) until the module answers "
                        "and prints its banner (default 0)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="log every line in both directions to stderr")
    return p


def _opt_value(v):
    if v.lower() in ("true", "yes", "on"):
        return True
    if v.lower() in ("false", "no", "off"):
        return False
    try:
        return int(v)
    except ValueError:
        return v


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        cls = get_personality(args.dialect)
    except PersonalityError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    if args.list_quirks:
        for name, settings in sorted(cls.quirk_names().items()):
            print("%-20s %s" % (name, ", ".join(
                "%s=%s" % (k, v.value(cls, 1.0) if hasattr(v, "value") else v)
                for k, v in sorted(settings.items()))))
        return 0
    hosts = {}
    for h in args.hosts:
        name, _, ip = h.partition("=")
        hosts[name] = ip
    opts = {}
    for o in args.opt:
        k, _, v = o.partition("=")
        opts[k] = _opt_value(v)
    try:
        faults = Faults(args.fault)
        sim = cls(seed=args.seed, faults=faults, hosts=hosts, baud=args.baud, sim=args.sim,
                  pin=args.pin, reg_delay_ms=args.reg_delay_ms,
                  boot_ms=args.boot_ms, verbose=args.verbose,
                  opts=opts, reject_apns=args.reject_apn, quirks=args.quirks)
    except ValueError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    if args.quirks:
        print("modemsim: quirks on: %s" % (", ".join(sim.quirks) or "none"),
              file=sys.stderr, flush=True)
    path = sim.open_pty()
    print(path, flush=True)
    print("modemsim: %s on %s (Ctrl-C to stop)" % (args.dialect, path), file=sys.stderr,
          flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    try:
        while not stop.wait(0.1):
            if sim.hung_up:  # the hangup fault took the port away: nothing left to serve
                print("modemsim: the port went away (hangup fault)", file=sys.stderr,
                      flush=True)
                break
    except KeyboardInterrupt:
        pass
    sim.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
