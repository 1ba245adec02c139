"""Import heap with cellmodem frozen into the firmware, beside .mpy files and ROMFS, on
one MicroPython build made from a MicroPython source tree.

Freezing (manifest.py, FROZEN_MANIFEST) puts the bytecode and every name of the library
into the firmware's flash; what stays on the heap at import is the function, class and
module objects. This builds the unix port twice from the same source, with and
without cellmodem frozen (the standard variant, without the parts that need git
submodules: ssl, btree), compiles lib/ with that tree's mpy-cross, builds a ROMFS image
of those .mpy files (`mpremote romfs build`), and imports each stack of
tools.wasmheap.stacks() in a fresh interpreter each way: frozen, from .mpy files and
from the ROMFS image (mounted with vfs.VfsRom, executed in place). gc.mem_alloc() after
gc.collect() around the imports gives the heap. The unix port is 64-bit: objects there
are about twice a 32-bit board's, so the figures are an upper bound for a board.

Not part of the test run: it needs a MicroPython source tree (git clone
https://github.com/micropython/micropython) and a C compiler, and takes minutes.

Usage: python -m tools.frozenheap --src ~/micropython [--work build/frozenheap] [--json]
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LIB = os.path.join(ROOT, "lib")
if os.path.join(ROOT, "host_tests") not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, "host_tests"))

from mpy import tool  # noqa: E402
from tools import wasmheap  # noqa: E402

KIB = 1024
MODES = ["frozen", "mpy", "romfs"]
# make options for both builds: the standard variant without what needs a submodule
MAKE = ["VARIANT=standard", "MICROPY_PY_BTREE=0", "MICROPY_PY_SSL=0", "MICROPY_SSL_AXTLS=0",
        "MICROPY_SSL_MBEDTLS=0"]

# Runs inside MicroPython: argv[1] names a file listing the modules (a file, as the unix
# port interns every argv string; one over 255 bytes stops it), argv[2] is the ROMFS
# image or "-". Everything is set up before the first reading; between readings only
# the import and the collection run.
_SCRIPT = """\
import gc, sys
def main():
    f = open(sys.argv[1])
    mods = f.read().split()
    f.close()
    sys.path.pop(0)  # the script's own directory
    if sys.argv[2] != "-":
        import vfs
        f = open(sys.argv[2], "rb")
        img = f.read()
        f.close()
        vfs.mount(vfs.VfsRom(img), "/rom")
        sys.path.insert(0, "/rom")
    res = [0] * len(mods)
    gc.collect()
    a0 = a = gc.mem_alloc()
    for i in range(len(mods)):
        __import__(mods[i])
        gc.collect()
        b = gc.mem_alloc()
        res[i] = b - a
        a = b
    for i in range(len(mods)):
        print("DELTA", mods[i], res[i])
    print("TOTAL", a - a0)
main()
"""


def _run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError("%s failed:\n%s%s" % (" ".join(cmd), p.stdout[-3000:], p.stderr[-3000:]))
    return p.stdout


def build(src, work, jobs=None):
    """Build mpy-cross and the two unix binaries from src into work; compile lib/ into
    work/mpylib and build work/cellmodem.romfs. Returns {mode: (binary, MICROPYPATH,
    romfs image or "-")}."""
    src = os.path.abspath(src)
    work = os.path.abspath(work)
    os.makedirs(work, exist_ok=True)
    j = "-j%d" % (jobs or os.cpu_count() or 1)
    base = os.path.join(work, "manifest_base.py")
    with open(base, "w") as f:
        f.write('include("$(MPY_DIR)/extmod/asyncio")\n')
    frozen = os.path.join(work, "manifest_frozen.py")
    with open(frozen, "w") as f:
        f.write('include(%r)\npackage("cellmodem", base_path=%r)\n' % (base, LIB))
    opts = list(MAKE)
    if not os.path.exists(os.path.join(src, "lib", "micropython-lib", "README.md")):
        # py/manifest.mk insists on the micropython-lib submodule, which neither
        # manifest here uses: a stand-in directory with its README satisfies it
        stand_in = os.path.join(work, "no-micropython-lib")
        os.makedirs(stand_in, exist_ok=True)
        open(os.path.join(stand_in, "README.md"), "w").close()
        opts.append("MPY_LIB_DIR=" + stand_in)
    _run(["make", "-C", os.path.join(src, "mpy-cross"), j])
    cross = os.path.join(src, "mpy-cross", "build", "mpy-cross")
    unix = os.path.join(src, "ports", "unix")
    bins = {}
    for name, manifest in (("base", base), ("frozen", frozen)):
        out = os.path.join(work, "build-" + name)
        _run(["make", "-C", unix, j, "BUILD=" + out, "PROG=micropython",
              "FROZEN_MANIFEST=" + manifest] + opts)
        bins[name] = os.path.join(out, "micropython")
    mpylib = os.path.join(work, "mpylib")
    for top, _, files in os.walk(os.path.join(LIB, "cellmodem")):
        for name in files:
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(top, name), LIB)
                dst = os.path.join(mpylib, rel[:-3] + ".mpy")
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                _run([cross, "-s", rel, "-o", dst, os.path.join(top, name)])
    image = os.path.join(work, "cellmodem.romfs")
    _run([tool("mpremote"), "romfs", "--no-mpy", "--output", image, "build", mpylib])
    return {"frozen": (bins["frozen"], ".frozen", "-"),
            "mpy": (bins["base"], mpylib + ":.frozen", "-"),
            "romfs": (bins["base"], ".frozen", image)}


def run(how, modules, work):
    """Import heap (bytes) of modules, in this order, in a fresh interpreter, one mode of
    build()'s: (total, [(module, bytes)])."""
    binary, path, image = how
    script = os.path.join(work, "measure.py")
    with open(script, "w") as f:
        f.write(_SCRIPT)
    listing = os.path.join(work, "modules.txt")
    with open(listing, "w") as f:
        f.write("\n".join(modules) + "\n")
    out = _run([binary, "-X", "heapsize=4M", script, listing, image],
               env=dict(os.environ, MICROPYPATH=path), cwd=work)
    per = [(w[1], int(w[2])) for w in (line.split() for line in out.splitlines())
           if w and w[0] == "DELTA"]
    total = [int(line.split()[1]) for line in out.splitlines() if line.startswith("TOTAL")]
    return total[0], per


def measure(src, work=None, jobs=None):
    """Build (build()) and measure every stack of tools.wasmheap.stacks() each way:
    {"micropython": version, "stacks": {stack: {mode: bytes}}}."""
    work = work or os.path.join(ROOT, "build", "frozenheap")
    modes = build(src, work, jobs)
    version = _run([modes["mpy"][0], "-c", "import sys; print(sys.version)"]).strip()
    stacks = {}
    for name, modules in wasmheap.stacks().items():
        stacks[name] = {m: run(modes[m], modules, work)[0] for m in MODES}
    return {"micropython": version, "stacks": stacks}


def markdown(res, wasm=None):
    """BENCHMARKS.md lines for measure()'s figures; wasm: tools.wasmheap.measure()'s, for
    the 32-bit estimate."""
    st = res["stacks"]
    L = ["### Frozen into the firmware (64-bit unix build)", "",
         "The same stacks on the unix port built from MicroPython's source (%s) twice, with "
         "and without cellmodem frozen (`FROZEN_MANIFEST`), each stack in a fresh "
         "interpreter: frozen, from the `.mpy` files of lib/ and from a ROMFS image of them. "
         "`python -m tools.frozenheap --src <micropython checkout>` builds and prints these "
         "(minutes; not part of the test run). KiB:" % res["micropython"], "",
         "| stack | frozen | from .mpy | from ROMFS | frozen / .mpy |", "|---|---|---|---|---|"]
    for name, r in st.items():
        L.append("| %s | %s | %s | %s | %.2f |" % (
            name, _kib(r["frozen"]), _kib(r["mpy"]), _kib(r["romfs"]), r["frozen"] / r["mpy"]))
    if wasm:
        L += ["", "On a 32-bit board, scaled as the .mpy figures scale (wasm32 / this build): "
              "an upper estimate, since bytecode, the same size on both, is part of a .mpy "
              "import and not of a frozen one, whose objects are mostly pointers:", "",
              "| stack | frozen, 32-bit estimate (KiB) | issue 20's targets (KiB) |",
              "|---|---|---|"]
        for name, r in st.items():
            w = wasm["stacks"][name]["mpy"]
            t = ", ".join("<= %d from %s" % (wasmheap.TARGET_KIB[(name, m)], m)
                          for m in ("mpy", "romfs") if (name, m) in wasmheap.TARGET_KIB)
            L.append("| %s | %s | %s |" % (name, _kib(r["frozen"] * w / r["mpy"]), t or "-"))
    L.append("")
    return L


def _kib(n):
    return "%.1f" % (n / KIB)


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", required=True, help="a MicroPython source tree (git checkout)")
    ap.add_argument("--work", help="where the builds go (default build/frozenheap)")
    ap.add_argument("--jobs", type=int, help="make -j (default: the CPU count)")
    ap.add_argument("--json", action="store_true", help="the raw figures (bytes) as JSON")
    args = ap.parse_args()
    res = measure(args.src, args.work, args.jobs)
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        print("\n".join(markdown(res, wasmheap.measure(os.path.join(ROOT, "build", "wasmheap")))))


if __name__ == "__main__":
    main()
