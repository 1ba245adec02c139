"""What the fuzz targets share: reading choices out of the fuzz input, cutting a
stream into chunks, and a driver that runs a target under atheris or, without it,
under a seeded mutation loop in plain Python.

Usage (in a target module):
    def one_input(data): ...
    if __name__ == "__main__": main("engine", one_input)
"""
import os
import random
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(ROOT, "lib")
CORPUS = os.path.join(ROOT, "tools", "fuzz", "corpus")
CRASHES = os.path.join(ROOT, "build", "fuzz")

for _p in (LIB, ROOT):
    if _p not in sys.path:
        sys.path.insert(0, _p)


class Input:
    """Choices taken from the front of the fuzz input; the rest is the stream."""

    def __init__(self, data):
        self.data = bytes(data)
        self.i = 0

    def byte(self):
        if self.i >= len(self.data):
            return 0
        self.i += 1
        return self.data[self.i - 1]

    def rest(self):
        out = self.data[self.i:]
        self.i = len(self.data)
        return out


def cut(data, seed):
    """data cut into pieces of 1..64 bytes chosen by seed (0: one piece)."""
    if not seed:
        return [data] if data else []
    rnd = random.Random(seed)
    out = []
    i = 0
    while i < len(data):
        k = rnd.randint(1, 64 if seed & 1 else 8)
        out.append(data[i:i + k])
        i += k
    return out


def corpus_files(target):
    d = os.path.join(CORPUS, target)
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, f) for f in os.listdir(d))


def _save_crash(target, data, tb):
    d = os.path.join(CRASHES, target)
    os.makedirs(d, exist_ok=True)
    import hashlib
    name = os.path.join(d, "crash-" + hashlib.sha1(data).hexdigest()[:16])
    with open(name, "wb") as f:
        f.write(data)
    with open(name + ".txt", "w") as f:
        f.write("input: %r\n\n%s" % (data, tb))
    return name


def _mutate(rnd, data, pool):
    """One random edit of data: flip, insert, delete, splice, duplicate, interesting
    bytes (line ends, digits, quotes, prompt)."""
    data = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(8)
        n = len(data)
        if op == 0 and n:
            data[rnd.randrange(n)] ^= 1 << rnd.randrange(8)
        elif op == 1:
            data[rnd.randint(0, n):rnd.randint(0, n)] = bytes([rnd.randrange(256)])
        elif op == 2 and n:
            i = rnd.randrange(n)
            del data[i:i + rnd.randint(1, 16)]
        elif op == 3 and pool:
            other = rnd.choice(pool)
            if other:
                i = rnd.randrange(len(other))
                j = rnd.randint(i, len(other))
                k = rnd.randint(0, n)
                data[k:k] = other[i:j]
        elif op == 4 and n:
            i = rnd.randrange(n)
            j = rnd.randint(i, min(n, i + 32))
            data[j:j] = data[i:j] * rnd.randint(1, 8)
        elif op == 5:
            tok = rnd.choice((b"\r\n", b"\r", b"\n", b"OK", b"ERROR", b",", b"\"", b"> ",
                              b"+CME ERROR: ", b"9999999999", b"-1", b"0", b"\xff",
                              b"\x80" * 4, b"2147483648", b"1460"))
            k = rnd.randint(0, n)
            data[k:k] = tok
        elif op == 6 and n > 1:
            i = rnd.randrange(n)
            data[i] = rnd.choice(b"0123456789,\r\n\":+ ")
        elif op == 7 and n:
            data = data[:rnd.randint(0, n)]
    return bytes(data[:8192])


def random_driver(target, one_input, seconds, seed=1):
    """Plain-Python fallback: mutate the corpus, run, save and print crashes.
    Returns (executions, crashes)."""
    rnd = random.Random(seed)
    pool = []
    for path in corpus_files(target):
        with open(path, "rb") as f:
            pool.append(f.read())
    if not pool:
        pool = [b""]
    end = time.monotonic() + seconds
    execs = crashes = 0
    seen = set()
    for data in list(pool):  # the corpus itself first
        execs += 1
        crashes += _run(target, one_input, data, seen)
    last = time.monotonic()
    while time.monotonic() < end:
        data = _mutate(rnd, rnd.choice(pool), pool)
        execs += 1
        found = _run(target, one_input, data, seen)
        crashes += found
        if found or rnd.random() < 0.002:
            pool.append(data)  # keep some variety (no coverage feedback here)
            if len(pool) > 2000:
                pool.pop(rnd.randrange(len(pool)))
        if time.monotonic() - last > 10:
            last = time.monotonic()
            print("#%d %s execs, %d crashes" % (execs, target, crashes), flush=True)
    return execs, crashes


def _run(target, one_input, data, seen):
    try:
        one_input(data)
        return 0
    except Exception:
        tb = traceback.format_exc()
        # one report per place and kind: the innermost frame and the exception type
        frames = [l for l in tb.splitlines() if l.startswith("  File")]
        key = (frames[-1] if frames else "") + "|" + tb.strip().splitlines()[-1].split(":")[0]
        if key in seen:
            return 0
        seen.add(key)
        name = _save_crash(target, data, tb)
        print("CRASH (%s) input=%r\n%s" % (name, data, tb), flush=True)
        return 1


def keep_going(target, one_input):
    """one_input wrapped so that a crash is saved and printed once per kind (place
    and exception type) and the fuzzer goes on: one known bug does not stop the
    search for the next. The counts are printed when the process ends."""
    import atexit
    seen = set()
    counts = {"execs": 0, "crashing": 0}

    def wrapped(data):
        counts["execs"] += 1
        if _run(target, one_input, data, seen):
            counts["crashing"] += 1

    def report():
        print("DONE %s: %d execs, %d distinct crashes" % (target, counts["execs"], len(seen)),
              flush=True)
    atexit.register(report)
    return wrapped


def main(target, one_input):
    """Entry point of a target module: `python -m tools.fuzz.fuzz_<target> [atheris args]`
    under atheris, or `--random SECONDS` for the plain driver."""
    args = sys.argv[1:]
    if args[:1] == ["--random"]:
        execs, crashes = random_driver(target, one_input, float(args[1]))
        print("DONE %s random driver: %d execs, %d distinct crashes" % (target, execs, crashes))
        return
    import atheris
    # coverage for the library's code (and whatever else is loaded): every function
    # imported so far gets atheris' edge counters
    atheris.instrument_all()
    atheris.Setup([sys.argv[0]] + args, keep_going(target, one_input))
    atheris.Fuzz()
