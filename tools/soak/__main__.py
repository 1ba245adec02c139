"""python -m tools.soak --minutes N [--seconds N] [--seed S] [--dialect D] [--mode M]
[--quirks SPEC] [--simlog FILE] [--out DIR] [--md]: the fault soak (see tools/soak/__init__.py). Exit status 0 when
every pass criterion is met, 1 when not."""
import argparse
import sys

from tools.soak import DATA_COMMANDS, ROOT, human, run, write


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.soak", description=__doc__.split(":")[0])
    ap.add_argument("--minutes", type=float, default=10,
                    help="how long the application runs under faults (default 10)")
    ap.add_argument("--seconds", type=int, default=None, help="the same in seconds (wins)")
    ap.add_argument("--seed", type=int, default=1, help="seed of every random choice (default 1)")
    ap.add_argument("--dialect", default="quectel", choices=sorted(DATA_COMMANDS),
                    help="simulator personality and library dialect (default quectel)")
    ap.add_argument("--mode", default=None, choices=("push", "buffered"),
                    help="receive mode (default: push where the family has it)")
    ap.add_argument("--quirks", default=None,
                    help="the simulator's real-module quirks, as its --quirks: real (each "
                         "on with probability 0.5, chosen by --seed), all, NAME,..., "
                         "-NAME, scale=F (default: none)")
    ap.add_argument("--simlog", default=None,
                    help="write the simulator's log (commands, replies, URCs, faults) here")
    ap.add_argument("--heap", default="320k",
                    help="MicroPython heap size (default 320k: the 64-bit binary holds about "
                         "210 KiB of library, application and buffers, and a fragmented heap "
                         "refused a 1 KiB block at 256k)")
    ap.add_argument("--out", default=None,
                    help="write bench/soak.json (and bench/soak.md) under this directory "
                         "(default: the repository)")
    ap.add_argument("--md", action="store_true", help="also write bench/soak.md")
    args = ap.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else int(round(args.minutes * 60))
    mode = args.mode or ("push" if "push" in DATA_COMMANDS[args.dialect] else "buffered")
    if mode not in DATA_COMMANDS[args.dialect]:
        ap.error("%s has no %s mode" % (args.dialect, mode))
    res = run(seconds, seed=args.seed, dialect=args.dialect, mode=mode, heap=args.heap,
              quirks=args.quirks, simlog=args.simlog)
    print(human(res))
    for p in write(res, args.out or ROOT, md=args.md):
        print("wrote", p)
    return 0 if res["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
