"""python -m tools.fuzz --minutes N [--target engine|mqtt|http|all] [--random] [--replay FILE]

Runs each chosen target for its share of N minutes, one after the other, in a child
process: under atheris (coverage-guided, libFuzzer's output with cov:/exec/s figures)
when it is importable, else under the plain-Python mutation driver (--random forces
it). New corpus entries atheris finds go to build/fuzz/<target>/corpus (the seed
corpus in tools/fuzz/corpus/<target> is only read); crashes to build/fuzz/<target>/.
The exit status is 1 if any target crashed.
"""
import argparse
import os
import shutil
import subprocess
import sys

from tools.fuzz.common import CORPUS, CRASHES, ROOT

TARGETS = ("engine", "mqtt", "http")


def have_atheris():
    try:
        import atheris  # noqa: F401
        return True
    except ImportError:
        return False


def run_target(target, seconds, use_atheris):
    mod = "tools.fuzz.fuzz_" + target
    out = os.path.join(CRASHES, target)
    os.makedirs(out, exist_ok=True)
    if use_atheris:
        work = os.path.join(out, "corpus")
        os.makedirs(work, exist_ok=True)
        for f in os.listdir(os.path.join(CORPUS, target)):
            shutil.copy(os.path.join(CORPUS, target, f), work)
        # the target saves each distinct crash (input and traceback) to
        # build/fuzz/<target>/ and keeps going, so one bug does not hide the next
        cmd = [sys.executable, "-m", mod, work, "-max_total_time=%d" % seconds,
               "-max_len=4096", "-timeout=10", "-rss_limit_mb=2048",
               "-artifact_prefix=%s/" % out, "-print_final_stats=1"]
    else:
        cmd = [sys.executable, "-m", mod, "--random", str(seconds)]
    print("== %s: %s" % (target, " ".join(cmd)), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


def main():
    ap = argparse.ArgumentParser(prog="python -m tools.fuzz", description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=1.0, help="total time over all targets")
    ap.add_argument("--target", default="all", choices=TARGETS + ("all",))
    ap.add_argument("--random", action="store_true", help="the plain driver even with atheris")
    ap.add_argument("--replay", metavar="FILE", help="run one input of --target and exit")
    a = ap.parse_args()
    targets = TARGETS if a.target == "all" else (a.target,)
    if a.replay:
        import importlib
        mod = importlib.import_module("tools.fuzz.fuzz_" + targets[0])
        with open(a.replay, "rb") as f:
            mod.one_input(f.read())
        print("no crash")
        return 0
    use = have_atheris() and not a.random
    if not use:
        print("atheris is not installed: using the plain-Python mutation driver", flush=True)
    each = max(1, int(a.minutes * 60 / len(targets)))
    bad = 0
    for t in targets:
        bad |= run_target(t, each, use) != 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
