"""Import heap on a 32-bit MicroPython: MicroPython's own WebAssembly port under node.

The unix micropython binary is 64-bit, so its heap figures are not a board's. The npm
package @micropython/micropython-webassembly-pyscript (pinned in package.json here,
installed into node_modules here by `make test` / `make bench`, or by install() when
missing) is the same MicroPython with 4-byte pointers, as on ESP32 and RP2040; it loads
.mpy v6.3 files and mounts a ROMFS image. run.mjs imports modules in a fresh
interpreter each time and takes gc.mem_alloc() after gc.collect() around each import.

measure() compiles lib/ with mpy-cross, builds a ROMFS image of the same .mpy files
with `mpremote romfs build`, and returns the figures (bytes) per module and per stack,
from the .mpy files and from ROMFS (executed in place). markdown() renders them for
BENCHMARKS.md; host_tests/test_wasm_heap.py holds budgets on them.

Usage: python -m tools.wasmheap [--json]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if os.path.join(ROOT, "host_tests") not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, "host_tests"))

from mpy import compile_tree, tool  # noqa: E402
from tools import families  # noqa: E402

PACKAGE = "@micropython/micropython-webassembly-pyscript"
KIB = 1024
FAMILIES = list(families.NAMES)  # every family in the registry (tools/families.py)
SOURCES = ["mpy", "romfs"]


def pinned_version():
    with open(os.path.join(HERE, "package.json")) as f:
        return json.load(f)["dependencies"][PACKAGE]


def install():
    """npm ci here unless node_modules already holds the pinned version (make test does
    the same first; this covers a test or the bench run straight from a clean clone)."""
    installed = os.path.join(HERE, "node_modules", *PACKAGE.split("/"), "package.json")
    if os.path.exists(installed):
        with open(installed) as f:
            if json.load(f)["version"] == pinned_version():
                return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE,
                   check=True, capture_output=True, text=True, timeout=600)
    open(os.path.join(HERE, "node_modules", ".installed"), "w").close()  # the Makefile's stamp


def module_order(family):
    """The per-module run: (label, modules imported for it), each after the ones before."""
    return [("engine + at", ["cellmodem.engine", "cellmodem.at"]),
            ("modem", ["cellmodem.modem"]),
            ("dialects." + family, ["cellmodem.dialects." + family]),
            ("socket", ["cellmodem.socket"]),
            ("mqtt", ["cellmodem.mqtt"]),
            ("requests", ["cellmodem.requests"])]


def stacks():
    """{stack name: modules imported, in this order}; each runs in a fresh interpreter."""
    socket = ["cellmodem.modem", "cellmodem.dialects.sim7080", "cellmodem.socket"]
    out = {"socket": socket, "mqtt sensor": socket + ["cellmodem.mqtt"]}
    for family in FAMILIES:
        out["whole/" + family] = ["cellmodem.modem", "cellmodem.dialects." + family,
                                  "cellmodem.socket", "cellmodem.mqtt", "cellmodem.requests"]
    return out


def build(work, extra=(), lib=None):
    """Compile lib (default: lib/; and each extra source tree) into work/mpy and build
    work/romfs.img from lib's .mpy files (mpremote romfs build --no-mpy: the same files)."""
    mpy = os.path.join(work, "mpy")
    shutil.rmtree(mpy, ignore_errors=True)
    compile_tree(lib or os.path.join(ROOT, "lib"), os.path.join(mpy, "lib"))
    rom_src = os.path.join(work, "romfs")
    shutil.rmtree(rom_src, ignore_errors=True)
    shutil.copytree(os.path.join(mpy, "lib"), os.path.join(rom_src, "lib"))
    for src in extra:
        compile_tree(src, os.path.join(mpy, "lib"))
    image = os.path.join(work, "romfs.img")
    subprocess.run([tool("mpremote"), "romfs", "--no-mpy", "--output", image, "build", rom_src],
                   check=True, capture_output=True, text=True, timeout=300)
    return os.path.join(mpy, "lib"), image


def node_run(mpy, image, runs):
    """run.mjs over runs [(source, modules)]; (MicroPython version, [[(name, bytes)]])."""
    install()
    job = {"mpy": mpy, "romfs": image,
           "runs": [{"source": s, "modules": list(m)} for s, m in runs]}
    p = subprocess.run(["node", os.path.join(HERE, "run.mjs")], input=json.dumps(job),
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("wasm MicroPython failed:\n" + p.stdout[-2000:] + p.stderr[-4000:])
    out = json.loads(p.stdout)
    # sys.version is "3.4.0; MicroPython v1.29.0-6.<commit> on <date>"
    return out["version"].split("; ")[-1], [[tuple(m) for m in r["modules"]] for r in out["runs"]]


def measure(work=None, peers=None, lib=None):
    """Figures in bytes: {"micropython", "package", "modules": {family: {source: [[label,
    bytes]]}}, "stacks": {stack: {source: bytes}}, "peers": {name: bytes}}.
    peers: {label: (source tree, module)} imported alone from .mpy, for scale (a stub
    usocket/socket module stands in for the network they import, outside the figure).
    lib: another copy of lib/ to measure (an older commit's, say)."""
    own = work is None
    work = work or tempfile.mkdtemp(prefix="cellmodem-wasmheap-")
    try:
        extra = [src for src, _ in (peers or {}).values()]
        if peers:
            stub = os.path.join(work, "stub")
            os.makedirs(stub, exist_ok=True)
            for name in ("usocket.py", "socket.py"):
                with open(os.path.join(stub, name), "w") as f:
                    f.write("# a stand-in: the peers import it at the top\n")
            extra.append(stub)
        mpy, image = build(work, extra, lib)
        runs, keys = [], []
        for family in FAMILIES:
            order = [m for _, mods in module_order(family) for m in mods]
            for source in SOURCES:
                runs.append((source, order))
                keys.append(("modules", family, source))
        for name, mods in stacks().items():
            for source in SOURCES:
                runs.append((source, mods))
                keys.append(("stacks", name, source))
        for label, (_, module) in (peers or {}).items():
            runs.append(("mpy", ["usocket", "socket", module]))
            keys.append(("peers", label, None))
        version, results = node_run(mpy, image, runs)
        res = {"micropython": version, "package": "%s %s" % (PACKAGE, pinned_version()),
               "modules": {}, "stacks": {}, "peers": {}}
        for (kind, name, source), rows in zip(keys, results):
            got = dict(rows)
            if kind == "modules":
                res["modules"].setdefault(name, {})[source] = [
                    [label, sum(got[m] for m in mods)] for label, mods in module_order(name)]
            elif kind == "stacks":
                res["stacks"].setdefault(name, {})[source] = sum(got.values())
            else:
                res["peers"][name] = rows[-1][1]
        return res
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def kib(n):
    return "%.1f" % (n / KIB)


# Issue 20's targets (KiB) for (stack, source): shown beside the figures in BENCHMARKS.md;
# host_tests/test_wasm_heap.py holds regression budgets next to them.
TARGET_KIB = {("socket", "mpy"): 40, ("mqtt sensor", "mpy"): 52}
TARGET_KIB.update({("whole/" + f, "mpy"): 72 for f in FAMILIES})
TARGET_KIB.update({("whole/" + f, "romfs"): 36 for f in FAMILIES})


def markdown(res):
    """BENCHMARKS.md lines for the figures of measure()."""
    st = res["stacks"]

    def cell(stack, source):
        names = ["whole/" + f for f in FAMILIES] if stack == "whole" else [stack]
        n = " / ".join(kib(st[s][source]) for s in names)
        t = TARGET_KIB.get((names[0], source))
        if t is None:
            return n + " KiB"
        met = all(st[s][source] <= TARGET_KIB[(s, source)] * KIB for s in names)
        return "%s KiB (target <= %d: %s)" % (n, t, "met" if met else "**not met**")

    ea = {s: res["modules"]["sim7080"][s][0][1] for s in SOURCES}
    L = ["### 32-bit MicroPython (wasm32)", "",
         "The same import heap on MicroPython's own WebAssembly port (%s; %s) under node: "
         "4-byte pointers, as on ESP32 and RP2040. gc.mem_alloc() after gc.collect() around "
         "each import, in a fresh interpreter for each row, from the `.mpy` files of lib/ "
         "(mpy-cross) and from a ROMFS image of the same files (`mpremote romfs build`, "
         "executed in place). Targets from issue 20. `python -m tools.wasmheap` prints "
         "these; host_tests/test_wasm_heap.py holds budgets on them."
         % (res["package"], res["micropython"]), "",
         "| import (after gc.collect, in this order) | from .mpy files | from ROMFS (executed in place) |",
         "|---|---|---|",
         "| socket stack: modem, dialects.sim7080, socket | %s | %s |"
         % (cell("socket", "mpy"), cell("socket", "romfs")),
         "| MQTT sensor stack: the socket stack, then mqtt | %s | %s |"
         % (cell("mqtt sensor", "mpy"), cell("mqtt sensor", "romfs")),
         "| whole stack: modem, dialects.X, socket, mqtt, requests (%s) | %s | %s |"
         % (" / ".join(FAMILIES), cell("whole", "mpy"), cell("whole", "romfs")),
         "| engine + at alone | %s KiB | %s KiB |" % (kib(ea["mpy"]), kib(ea["romfs"]))]
    if res.get("peers"):
        L.append("| for scale: %s | %s KiB | - |" % (
            " / ".join(res["peers"]), " / ".join(kib(n) for n in res["peers"].values())))
    L += ["", "Per module, KiB from .mpy / from ROMFS (each after the ones before it, in this "
          "order):", "",
          "| module | " + " | ".join(FAMILIES) + " |", "|---" * (len(FAMILIES) + 1) + "|"]
    for i, (label, _) in enumerate(module_order("X")):
        cells = []
        for f in FAMILIES:
            m = res["modules"][f]
            cells.append("%s / %s" % (kib(m["mpy"][i][1]), kib(m["romfs"][i][1])))
        L.append("| %s | %s |" % (label, " | ".join(cells)))
    L.append("")
    return L


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="the raw figures (bytes) as JSON")
    args = ap.parse_args()
    res = measure()
    print(json.dumps(res, indent=1) if args.json else "\n".join(markdown(res)))
