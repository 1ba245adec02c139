"""Benchmarks in real MicroPython (unix port) against the modem simulator on a pty.

Writes BENCHMARKS.md (tables with the date, MicroPython version, dialect and
settings; each figure the median of several runs with min and max) and
bench/results.json. Figures: goodput against the UART limit, the parser's own
ceiling against a plain pty copy, import heap (also on the 32-bit wasm MicroPython,
tools.wasmheap; frozen into a unix build with --only frozen, tools.frozenheap),
allocation per KiB and per URC, code size, and our MQTT and HTTP clients
beside umqtt.simple and urequests from PyPI.

Usage: python -m tools.bench [--runs 3] [--quick] [--only goodput,datamode,ceiling,heap,wasm,alloc,size,peers,tls]
       python -m tools.bench --only frozen,wasm --micropython-src ~/micropython --merge
(`make bench` does this after installing what it needs.)
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for p in (ROOT, os.path.join(ROOT, "host_tests"), os.path.join(ROOT, "lib")):
    if p not in sys.path:
        sys.path.insert(0, p)

from mpy import compile_tree, tool  # noqa: E402
from tools.bench.servers import SourceSink  # noqa: E402
from tools import families  # noqa: E402
from tools.modemsim import get_personality  # noqa: E402

BUILD = os.path.join(ROOT, "build", "bench")
MP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mp")
DIALECTS = list(families.NAMES)  # every family in the registry (tools/families.py)
BAUDS = [115200, 921600]
KIB = 1024
STACK = ["cellmodem.compat", "cellmodem.errors", "cellmodem.line", "cellmodem.timeouts",
         "cellmodem.engine", "cellmodem.at", "cellmodem.validate", "cellmodem.ports",
         "cellmodem.dialects", "cellmodem.dialects.base", "cellmodem.modem",
         "cellmodem.sockets", "cellmodem.socket", "cellmodem.mqttbase", "cellmodem.mqtt",
         "cellmodem.httpbase", "cellmodem.requests"]


def modes_of(dialect):
    from cellmodem.dialects import load
    return list(load(dialect).RX_MODES)


# ---------------------------------------------------------------- running MicroPython
def mp_run(script, args, heap="4m", timeout=600, frozen=False):
    # frozen: also the modules frozen into the binary (ssl is one: micropython-lib's
    # ssl.py over the tls module); off for the other figures, as they were measured
    env = dict(os.environ, MICROPYPATH=BUILD + (":.frozen" if frozen else ""))
    cmd = [tool("micropython"), "-X", "heapsize=%s" % heap, "-m", script] + [str(a) for a in args]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    return p


def fields(p, key):
    for line in p.stdout.splitlines():
        if line.startswith(key + " "):
            return line.split()[1:]
    raise RuntimeError("no %s line from MicroPython:\n%s%s" % (key, p.stdout[-2000:], p.stderr[-2000:]))


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": len(values)}


def build():
    shutil.rmtree(BUILD, ignore_errors=True)
    compile_tree(os.path.join(ROOT, "lib"), BUILD)
    compile_tree(MP_DIR, BUILD)
    from pypi import sdist
    compile_tree(sdist("micropython-umqtt-simple", "1.3.4"), BUILD)
    compile_tree(sdist("micropython-urequests", "0.9.1"), BUILD)


def mp_version():
    code = ("import sys; v = sys.implementation.version; "
            "print('%d.%d.%d' % v[:3] + ('-' + v[3] if len(v) > 3 and v[3] else ''), "
            "'(' + sys.version.split('; ')[1] + ')')")
    p = subprocess.run([tool("micropython"), "-c", code], capture_output=True, text=True)
    return p.stdout.strip()


def sim_pty(dialect, baud=None, **kw):
    sim = get_personality(dialect)(seed=1, baud=baud, **kw)
    return sim, sim.open_pty()


# ---------------------------------------------------------------- figures
def code_size():
    rows = {}
    for base, _, files in os.walk(os.path.join(BUILD, "cellmodem")):
        for f in files:
            if f.endswith(".mpy"):
                path = os.path.join(base, f)
                rows[os.path.relpath(path, BUILD)] = os.path.getsize(path)
    per_dialect = {}
    for d in DIALECTS:
        names = [m.replace(".", "/") for m in STACK + ["cellmodem.dialects." + d]]
        total = 0
        for n in names:
            key = n + ".mpy" if n + ".mpy" in rows else n + "/__init__.mpy"
            total += rows[key]
        per_dialect[d] = total + rows["cellmodem/__init__.mpy"]
    return {"modules": dict(sorted(rows.items())), "stack": per_dialect,
            "all": sum(rows.values())}


def import_heap():
    out = {}
    for d in DIALECTS:
        p = mp_run("imports", STACK + ["cellmodem.dialects." + d])
        out[d] = {"total": int(fields(p, "IMPORT")[0]),
                  "modules": {l.split()[1]: int(l.split()[2]) for l in p.stdout.splitlines()
                              if l.startswith("MODULE ")}}
    return out


def wasm_heap():
    """Import heap on the 32-bit wasm MicroPython (tools.wasmheap), per module and per
    stack from .mpy and ROMFS; umqtt.simple and urequests from .mpy for scale."""
    from pypi import sdist
    from tools import wasmheap
    peers = {"umqtt.simple 1.3.4": (sdist("micropython-umqtt-simple", "1.3.4"), "umqtt.simple"),
             "urequests 0.9.1": (sdist("micropython-urequests", "0.9.1"), "urequests")}
    return wasmheap.measure(os.path.join(ROOT, "build", "wasmheap"), peers=peers)


def goodput_once(dialect, mode, direction, baud, nbytes, alloc=False):
    srv = SourceSink()
    sim, pty = sim_pty(dialect, baud)
    try:
        args = [pty, dialect, mode, "127.0.0.1", srv.port, direction, nbytes]
        p = mp_run("goodput", args + (["alloc"] if alloc else []))
        n, ms, urcs = (int(x) for x in fields(p, "GOODPUT"))
        if n != nbytes:
            raise RuntimeError("transfer short: %d of %d" % (n, nbytes))
        res = {"bps": n * 1000.0 / max(ms, 1), "ms": ms, "urcs": urcs}
        if alloc:
            a, measured, u = (int(x) for x in fields(p, "ALLOC"))
            res.update(alloc=a, measured=measured, alloc_urcs=u)
        return res
    finally:
        sim.close()
        srv.close()


def goodput(runs, nbytes, workers, data_mode=False):
    """Paced goodput per dialect, receive mode (or data mode), direction and baud."""
    jobs = [(d, m, direction, baud) for d in DIALECTS
            for m in (["data"] if data_mode else modes_of(d))
            for direction in ("down", "up") for baud in BAUDS]
    results = {}

    def one(job):
        vals = []
        for _ in range(runs):
            try:
                vals.append(goodput_once(*job, nbytes)["bps"])
            except Exception as e:  # recorded as a failed run, figures from the rest
                print("  run failed %s: %s" % (job, str(e).splitlines()[0]), file=sys.stderr)
        return job, vals
    with ThreadPoolExecutor(workers) as ex:  # paced runs mostly wait on the line
        for job, vals in ex.map(one, jobs):
            d, m, direction, baud = job
            st = stats(vals)
            limit = baud / 10.0
            results["%s/%s/%s/%d" % job] = {
                "dialect": d, "mode": m, "direction": direction, "baud": baud,
                "limit_bps": limit, "goodput_bps": st,
                "ratio": None if st is None else {k: st[k] / limit for k in ("median", "min", "max")}}
            print("  goodput %-8s %-8s %-4s %6d: %s" % (d, m, direction, baud,
                  "failed" if st is None else "%.0f B/s (%.1f %%)" % (st["median"], 100 * st["median"] / limit)))
    return results


def pty_copy(nbytes):
    """MicroPython reading a pty that CPython fills as fast as it can (bytes/s)."""
    import pty as ptymod
    import tty
    master, slave = ptymod.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    data = bytes(i * 7 & 255 for i in range(65536))

    def write():
        left = nbytes
        time.sleep(0.3)
        while left > 0:
            k = min(left, len(data))
            os.write(master, data[:k])
            left -= k
    t = threading.Thread(target=write, daemon=True)
    t.start()
    try:
        p = mp_run("ptycopy", [path, nbytes])
        n, us = (int(x) for x in fields(p, "COPY"))
    finally:
        t.join(10)
        os.close(master)
        os.close(slave)
    return n * 1e6 / max(us, 1)


def ceiling(runs, nbytes):
    """The parser's own rate (a modem in memory that costs nothing, parse_ceiling.py)
    against MicroPython copying bytes from a pty with nothing but readinto; and, for
    context, the unpaced end-to-end rate through the simulator (a Python process)."""
    copy = stats([pty_copy(8 * 1024 * KIB) for _ in range(runs)])
    out = {"pty_copy_bps": copy, "parse": {}, "unpaced": {}}
    for d in DIALECTS:
        for m in modes_of(d):
            vals = []
            for _ in range(runs):
                p = mp_run("parse_ceiling", [d, m, nbytes], heap="8m")
                n, us = (int(x) for x in fields(p, "PARSE"))
                vals.append(n * 1e6 / max(us, 1))
            st = stats(vals)
            out["parse"]["%s/%s" % (d, m)] = {"bps": st, "ratio": st["median"] / copy["median"]}
            print("  parse %-8s %-8s %.0f B/s = %.1f %% of pty copy (%.0f B/s)"
                  % (d, m, st["median"], 100 * st["median"] / copy["median"], copy["median"]))
        # buffered only: unpaced, a module pushing data outruns any reader and the
        # receive ring overflows (ENOBUFS); on a real line the baud rate paces it
        vals = [goodput_once(d, "buffered", "down", None, nbytes)["bps"] for _ in range(runs)]
        st = stats(vals)
        out["unpaced"]["%s/buffered" % d] = {"goodput_bps": st}
        print("  unpaced through the simulator %-8s %.0f B/s" % (d, st["median"]))
    return out


def allocation(nbytes):
    out = {}
    for d in DIALECTS:
        for m in modes_of(d):
            for direction in ("down", "up"):
                r = goodput_once(d, m, direction, 921600, nbytes, alloc=True)
                kib = r["measured"] / KIB
                out["%s/%s/%s" % (d, m, direction)] = {
                    "bytes": r["alloc"], "payload": r["measured"], "per_kib": r["alloc"] / kib,
                    "urcs": r["alloc_urcs"],
                    "per_urc": r["alloc"] / r["alloc_urcs"] if r["alloc_urcs"] else None}
                print("  alloc %-8s %-8s %-4s %d bytes over %d KiB (%.1f B/KiB), %d URCs"
                      % (d, m, direction, r["alloc"], kib, r["alloc"] / kib, r["alloc_urcs"]))
    return out


def min_heap(run, lo=32, hi=512, step=8):
    """Smallest -X heapsize (KiB, a multiple of step) for which run(heap) is True."""
    if not run("%dk" % hi):
        return None
    lo_ok = None
    a, b = lo // step, hi // step
    while a < b:
        mid = (a + b) // 2
        if run("%dk" % (mid * step)):
            b = mid
        else:
            a = mid + 1
    lo_ok = a * step
    return lo_ok


def peers(runs):
    from simfixtures import MOSQUITTO
    from httpserver import HTTPTestServer, BIG, BIG_SHA256
    import tempfile
    out = {"mqtt": {}, "http": {}}
    # mosquitto on a free port
    import socket as pysock
    s = pysock.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    d = tempfile.mkdtemp()
    with open(os.path.join(d, "m.conf"), "w") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\n" % port)
    exe = MOSQUITTO if os.path.exists(MOSQUITTO) else shutil.which("mosquitto")
    broker = subprocess.Popen([exe, "-c", os.path.join(d, "m.conf")], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    web = HTTPTestServer()
    time.sleep(0.5)
    try:
        for client in ("cellmodem", "umqtt"):
            def mqtt(heap, client=client):
                sim, pty = sim_pty("sim7080")
                try:
                    return mp_run("mqtt_rate", [pty, "sim7080", "127.0.0.1", port, client, 200],
                                  heap=heap)
                finally:
                    sim.close()
            rates, imp, peak = [], None, None
            for _ in range(runs):
                p = mqtt("4m")
                n, ms = (int(x) for x in fields(p, "RATE"))
                rates.append(n * 1000.0 / max(ms, 1))
                imp = int(fields(p, "CLIENT_IMPORT")[0])
                peak = int(fields(p, "PEAK")[0])
            smallest = min_heap(lambda h: mqtt(h).returncode == 0)
            out["mqtt"][client] = {"import": imp, "msgs_per_s": stats(rates), "peak": peak,
                                   "min_heap_k": smallest}
            print("  mqtt %-9s import %d B, %.0f msg/s, peak %d B, smallest heap %sk"
                  % (client, imp, stats(rates)["median"], peak, smallest))
        url = "http://127.0.0.1:%d/big" % web.port
        for client in ("cellmodem", "urequests"):
            def http(heap, client=client):
                sim, pty = sim_pty("sim7080")
                try:
                    p = mp_run("http_dl", [pty, "sim7080", url, client, len(BIG)], heap=heap)
                    ok = p.returncode == 0 and BIG_SHA256 in p.stdout
                    return p, ok
                finally:
                    sim.close()
            p, ok = http("4m")
            imp = int(fields(p, "CLIENT_IMPORT")[0])
            peak = int(fields(p, "PEAK")[0])
            _, ok64 = http("64k")
            smallest = min_heap(lambda h: http(h)[1])
            out["http"][client] = {"import": imp, "peak": peak, "completes_64k": ok64,
                                   "min_heap_k": smallest, "sha256_ok": ok}
            print("  http %-9s import %d B, peak %d B, 2 MiB in 64k: %s, smallest heap %sk"
                  % (client, imp, peak, ok64, smallest))
    finally:
        broker.kill()
        web.close()
        shutil.rmtree(d, ignore_errors=True)
    return out


# ---------------------------------------------------------------- TLS
TLS_KEYS = {"rsa": "RSA-2048", "ec": "EC P-256"}
MODULE_TLS = families.names(tls=True)  # families with module TLS (the others refuse it by name)
MEM_POINTS = ("start", "connected", "handshake", "transfer", "closed")
# What a board pays: mbedTLS's record buffers as MicroPython's ports configure them
# (looked up in micropython/micropython at 1c3c201, August 2026, and ESP-IDF's Kconfig).
BOARD_TLS = [
    {"port": "rp2 (and other bare-metal ports)", "in": 16384, "out": 4096, "heap": "MicroPython heap",
     "source": "extmod/mbedtls/mbedtls_config_common.h: MBEDTLS_SSL_IN_CONTENT_LEN "
               "(MBEDTLS_SSL_MAX_CONTENT_LEN = 16384), MBEDTLS_SSL_OUT_CONTENT_LEN 4096; "
               "ports/rp2/mbedtls/mbedtls_config_port.h sets MICROPY_MBEDTLS_CONFIG_BARE_METAL, "
               "so MBEDTLS_PLATFORM_STD_CALLOC is m_tracked_calloc (py/malloc.c: "
               "m_malloc_maybe, the GC heap)"},
    {"port": "esp32", "in": 16384, "out": 4096, "heap": "ESP-IDF heap (not the MicroPython heap)",
     "source": "ports/esp32/boards/sdkconfig.base: CONFIG_MBEDTLS_ASYMMETRIC_CONTENT_LEN=y "
               "with ESP-IDF's defaults (components/mbedtls/Kconfig: "
               "CONFIG_MBEDTLS_SSL_IN_CONTENT_LEN 16384, CONFIG_MBEDTLS_SSL_OUT_CONTENT_LEN "
               "4096), CONFIG_MBEDTLS_DEFAULT_MEM_ALLOC=y (internal RAM or PSRAM by malloc)"},
]


def make_pki(d, key):
    """A throwaway CA and a server certificate it signs (CN localhost, SAN localhost
    and 127.0.0.1) in directory d, with the openssl command line tool. key: "rsa"
    (RSA-2048) or "ec" (EC P-256). Returns (ca file, server cert file, server key file)."""
    exe = shutil.which("openssl")
    if not exe:
        raise RuntimeError("the openssl command line tool is needed for the TLS figures")
    new = ["-newkey", "rsa:2048"] if key == "rsa" else [
        "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    f = {n: os.path.join(d, "%s-%s" % (key, n)) for n in ("ca.pem", "ca.key", "srv.pem",
                                                          "srv.key", "srv.csr", "ext")}
    with open(f["ext"], "w") as fh:
        fh.write("basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for cmd in (
            ["req", "-x509"] + new + ["-nodes", "-keyout", f["ca.key"], "-out", f["ca.pem"],
                                      "-days", "2", "-subj", "/CN=cellmodem bench CA",
                                      "-addext", "basicConstraints=critical,CA:TRUE",
                                      "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ["req"] + new + ["-nodes", "-keyout", f["srv.key"], "-out", f["srv.csr"],
                             "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", f["srv.csr"], "-CA", f["ca.pem"], "-CAkey", f["ca.key"],
             "-CAcreateserial", "-out", f["srv.pem"], "-days", "2", "-extfile", f["ext"]]):
        p = subprocess.run([exe] + cmd, capture_output=True, text=True, timeout=60)
        if p.returncode:
            raise RuntimeError("openssl %s: %s" % (cmd[0], p.stderr[-500:]))
    return f["ca.pem"], f["srv.pem"], f["srv.key"]


def tls_server(pki):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki[1], pki[2])
    return SourceSink(tls=ctx)


def tls_once(dialect, kind, direction, baud, nbytes, pki):
    """One run of tls_goodput.py: {"bps", "handshake_ms", "cipher", "mem"} or
    {"unsupported": text} when module TLS is refused."""
    srv = tls_server(pki) if kind != "plain" else SourceSink()
    sim, pty = sim_pty(dialect, baud)
    try:
        p = mp_run("tls_goodput", [pty, dialect, "127.0.0.1", srv.port, kind, direction,
                                   nbytes, pki[0], "localhost"], timeout=300, frozen=True)
        for line in p.stdout.splitlines():
            if line.startswith("UNSUPPORTED "):
                return {"unsupported": line.split(" ", 1)[1]}
        if p.returncode:
            raise RuntimeError("exit %d: %s" % (p.returncode, (p.stdout + p.stderr)[-600:]))
        n, ms, urcs = (int(x) for x in fields(p, "GOODPUT"))
        if n != nbytes:
            raise RuntimeError("transfer short: %d of %d" % (n, nbytes))
        res = {"bps": n * 1000.0 / max(ms, 1), "ms": ms}
        if kind != "plain":
            hs = fields(p, "HANDSHAKE")
            res.update(handshake_ms=int(hs[0]), cipher=" ".join(hs[1:]))
        res["mem"] = {l.split()[1]: [int(x) for x in l.split()[2:]] for l in p.stdout.splitlines()
                      if l.startswith("MEM ")}
        return res
    finally:
        sim.close()
        srv.close()


def tls_figures(runs, nbytes, workers, quick=False):
    """Host-TLS handshake time and memory (one run at a time: the handshake is CPU
    work and parallel runs would share the CPUs), then paced goodput of plain TCP,
    host TLS and module TLS over the same line, ratios to plain TCP of this run."""
    import tempfile
    d = tempfile.mkdtemp(prefix="bench-tls-")
    out = {"keys": TLS_KEYS, "bytes": nbytes, "runs": runs,
           "date": datetime.date.today().isoformat(), "handshake": {}, "goodput": {},
           "board": BOARD_TLS}
    try:
        pki = {k: make_pki(d, k) for k in TLS_KEYS}
        keys = ["rsa"] if quick else list(TLS_KEYS)
        for dialect in DIALECTS:
            for baud in BAUDS:
                for key in keys:
                    got = []
                    for _ in range(runs):
                        try:
                            got.append(tls_once(dialect, "host", "down", baud, 16 * KIB, pki[key]))
                        except Exception as e:
                            print("  run failed %s: %s" % ((dialect, baud, key), str(e).splitlines()[0]),
                                  file=sys.stderr)
                    mem = {}
                    for a, b in (("connected", "handshake"), ("start", "handshake"),
                                 ("connected", "transfer"), ("connected", "closed")):
                        for i, what in enumerate(("gc", "rss_kb", "anon_kb")):
                            mem["%s_%s_%s" % (what, a, b)] = stats(
                                [r["mem"][b][i] - r["mem"][a][i] for r in got])
                    r = {"dialect": dialect, "baud": baud, "key": TLS_KEYS[key],
                         "ms": stats([r["handshake_ms"] for r in got]),
                         "cipher": got[0]["cipher"] if got else None, "memory": mem}
                    out["handshake"]["%s/%d/%s" % (dialect, baud, key)] = r
                    print("  tls handshake %-8s %6d %-8s %s ms, %s; Python heap %s B, "
                          "RSS +%s kB (anon +%s kB)" % (
                              dialect, baud, TLS_KEYS[key], rng(r["ms"]), r["cipher"],
                              rng(mem["gc_connected_handshake"]),
                              rng(mem["rss_kb_connected_handshake"]),
                              rng(mem["anon_kb_connected_handshake"])))
        jobs = [(dlt, kind, direction, baud) for dlt in DIALECTS
                for kind in ["plain", "host"] + (["module"] if dlt in MODULE_TLS else [])
                for direction in ("down", "up") for baud in BAUDS]
        unsupported = {}

        def one(job):
            vals, why = [], None
            for _ in range(runs):
                if job[0] in unsupported and job[1] == "module":
                    why = unsupported[job[0]]
                    break
                try:
                    r = tls_once(*job, nbytes, pki["rsa"])
                except Exception as e:  # recorded as a failed run, figures from the rest
                    print("  run failed %s: %s" % (job, str(e).splitlines()[0]), file=sys.stderr)
                    continue
                if "unsupported" in r:
                    why = unsupported[job[0]] = r["unsupported"]
                    break
                vals.append(r["bps"])
            return job, vals, why
        with ThreadPoolExecutor(workers) as ex:  # paced runs mostly wait on the line
            done = list(ex.map(one, jobs))
        for job, vals, why in done:
            dlt, kind, direction, baud = job
            out["goodput"]["%s/%s/%s/%d" % job] = {
                "dialect": dlt, "tls": kind, "direction": direction, "baud": baud,
                "limit_bps": baud / 10.0, "goodput_bps": stats(vals), "unsupported": why}
        for k, r in out["goodput"].items():
            plain = out["goodput"]["%s/plain/%s/%d" % (r["dialect"], r["direction"], r["baud"])]
            st, ps = r["goodput_bps"], plain["goodput_bps"]
            r["of_plain"] = None if st is None or ps is None else st["median"] / ps["median"]
            print("  tls goodput %-8s %-6s %-4s %6d: %s" % (
                r["dialect"], r["tls"], r["direction"], r["baud"],
                "module TLS refused: %s" % r["unsupported"] if r["unsupported"] else
                "failed" if st is None else "%.0f B/s (%.1f %% of plain TCP)" % (
                    st["median"], 100 * r["of_plain"])))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return out


# ---------------------------------------------------------------- report
def pct(x):
    return "%.1f %%" % (100 * x)


def rng(st, fmt="%.0f", scale=1.0):
    if st is None:
        return "failed"
    return (fmt + " (" + fmt + "-" + fmt + ")") % (st["median"] * scale, st["min"] * scale,
                                                   st["max"] * scale)


def report(res):
    m = res["meta"]
    L = ["# Benchmarks", "",
         "Written by `python -m tools.bench` (`make bench`) on %s; MicroPython %s, "
         "run as the unix port against the modem simulator (tools/modemsim) on a pty, "
         "from `.mpy` files built with mpy-cross. Machine: %s. Each figure is the median "
         "of %d runs with min-max in brackets; raw figures in `bench/results.json`."
         % (m["date"], m["micropython"], m["machine"], m["runs"]), ""]
    t = res.get("targets")
    if t:
        L += ["## Targets (issue #7)", "", "| target | figure | met |", "|---|---|---|"]
        for row in t:
            L.append("| %s | %s | %s |" % (row["target"], row["figure"], "yes" if row["met"] else "**no**"))
        L.append("")
    g = res.get("goodput")
    if g:
        L += ["## 1. Goodput against the line rate", "",
              "256 KiB (%d bytes) over TCP through a loopback source/sink server; the "
              "simulator paces both directions at the baud rate (10 bits a byte), so the "
              "UART limit is baud/10 bytes/s. Payload bytes/s and the ratio to that limit."
              % m["goodput_bytes"], "",
              "| dialect | receive mode | direction | baud | goodput B/s | of the UART limit |",
              "|---|---|---|---|---|---|"]
        for k, r in g.items():
            L.append("| %s | %s | %s | %d | %s | %s |" % (
                r["dialect"], r["mode"], r["direction"], r["baud"], rng(r["goodput_bps"]),
                "failed" if r["ratio"] is None else "%s (%s-%s)" % (
                    pct(r["ratio"]["median"]), pct(r["ratio"]["min"]), pct(r["ratio"]["max"]))))
        L.append("")
    dm = res.get("datamode")
    if dm:
        L += ["### Transparent (data) mode", "",
              "The same transfers through a `cellmodem.datamode.DataSocket`: the UART "
              "carries the connection's bytes with no AT framing (SIM7080 AT+CASWITCH, "
              "SIM7600 AT+CIPMODE=1, Quectel access mode 2, Yuge AT+CIPMODE=1).", "",
              "| dialect | direction | baud | goodput B/s | of the UART limit |",
              "|---|---|---|---|---|"]
        for k, r in dm.items():
            L.append("| %s | %s | %d | %s | %s |" % (
                r["dialect"], r["direction"], r["baud"], rng(r["goodput_bps"]),
                "failed" if r["ratio"] is None else "%s (%s-%s)" % (
                    pct(r["ratio"]["median"]), pct(r["ratio"]["min"]), pct(r["ratio"]["max"]))))
        L.append("")
    c = res.get("ceiling")
    if c:
        L += ["### Unpaced: the parser's own ceiling", "",
              "The library (engine, dialect, ring, `recv_into`) reading %d KiB from a "
              "modem that costs nothing: a port in memory that answers each pull or pushes "
              "each piece at once (`tools/bench/mp/parse_ceiling.py`), against the same "
              "MicroPython copying from a pty with nothing but readinto: %s B/s. The last "
              "column is the unpaced download end to end through the simulator, whose own "
              "Python code is the limit there." % (m["goodput_bytes"] // KIB, rng(c["pty_copy_bps"])), "",
              "| dialect/mode | parse B/s | of the plain pty copy | through the simulator B/s |",
              "|---|---|---|---|"]
        for k, r in c["parse"].items():
            u = c["unpaced"].get(k)
            L.append("| %s | %s | %s | %s |" % (k, rng(r["bps"]), pct(r["ratio"]),
                                               rng(u["goodput_bps"]) if u else "-"))
        L.append("")
    h = res.get("heap")
    if h:
        L += ["## 2. Heap", "",
              "Bytes allocated by importing the whole stack (engine, one dialect, sockets, "
              "MQTT, HTTP) from `.mpy`, after gc.collect(), on this 64-bit unix port "
              "(objects there are larger than on a 32-bit board).", "",
              "| dialect | import heap |", "|---|---|"]
        for d, r in h.items():
            L.append("| %s | %d |" % (d, r["total"]))
        L += ["", "Per module (sim7080 stack, each after the ones before it):", "",
              "| module | heap |", "|---|---|"]
        for mod, n in h["sim7080"]["modules"].items():
            L.append("| %s | %d |" % (mod, n))
        L.append("")
    p = res.get("peers")
    if p:
        L += ["Peak heap (most in use after a collection) during an MQTT session (200 QoS 1 "
              "publishes) and a 2 MiB HTTP download, sim7080, and the smallest `-X heapsize` "
              "each passes in: see section 5.", ""]
    if res.get("wasm"):
        from tools import wasmheap
        L += ([] if h else ["## 2. Heap", ""]) + wasmheap.markdown(res["wasm"])
    if res.get("frozen"):
        from tools import frozenheap
        L += frozenheap.markdown(res["frozen"], res.get("wasm"))
    a = res.get("alloc")
    if a:
        L += ["## 3. Allocation per payload", "",
              "At 921600 baud, gc disabled after the first 16 KiB: bytes allocated while the rest "
              "of the transfer went through `recv_into` (down) or `send` of a memoryview "
              "(up), per KiB and per URC dispatched in that window.", "",
              "| dialect/mode/direction | allocated | payload | B/KiB | URCs | B/URC |",
              "|---|---|---|---|---|---|"]
        for k, r in a.items():
            L.append("| %s | %d | %d | %.1f | %d | %s |" % (
                k, r["bytes"], r["payload"], r["per_kib"], r["urcs"],
                "-" if r["per_urc"] is None else "%.1f" % r["per_urc"]))
        L.append("")
    s = res.get("size")
    if s:
        L += ["## 4. Code size", "", "`.mpy` bytes per module (mpy-cross, default options):", "",
              "| module | bytes |", "|---|---|"]
        for mod, n in s["modules"].items():
            L.append("| %s | %d |" % (mod, n))
        L += ["", "| whole stack with | .mpy bytes |", "|---|---|"]
        for d, n in s["stack"].items():
            L.append("| %s | %d |" % (d, n))
        L += ["| every module in lib/ | %d |" % s["all"], ""]
    if p:
        L += ["## 5. Beside the peers", "",
              "In the same MicroPython process over the same simulated sim7080, our "
              "sockets underneath both: umqtt.simple 1.3.4 and urequests 0.9.1 from PyPI, "
              "unchanged.", "",
              "| MQTT client | import heap | QoS 1 msg/s | peak heap | smallest heap |",
              "|---|---|---|---|---|"]
        for cl, r in p["mqtt"].items():
            L.append("| %s | %d | %s | %d | %sk |" % (cl, r["import"], rng(r["msgs_per_s"]),
                                                    r["peak"], r["min_heap_k"]))
        L += ["", "| HTTP client | import heap | 2 MiB in a 64 KiB heap | peak heap | smallest heap |",
              "|---|---|---|---|---|"]
        for cl, r in p["http"].items():
            L.append("| %s | %d | %s | %d | %sk |" % (cl, r["import"],
                     "completes" if r["completes_64k"] else "no", r["peak"], r["min_heap_k"]))
        L.append("")
    tl = res.get("tls")
    if tl:
        L += tls_report(tl)
    if res.get("soak_md"):
        L += res["soak_md"] + [""]
    if res.get("notes"):
        L += ["## Notes", ""] + res["notes"] + [""]
    return "\n".join(L)


def tls_report(tl):
    hs = tl["handshake"]
    ciphers = sorted(set(r["cipher"] for r in hs.values() if r["cipher"]))
    L = ["## 6. TLS", "",
         "Measured on %s, each figure the median of %d runs (min-max in brackets). A "
         "throwaway CA and a server certificate it signs (CN and SAN localhost, SAN "
         "127.0.0.1), made with the openssl command line tool for each benchmark run, "
         "server key %s; the loopback source/sink server of section 1 behind CPython's ssl "
         "(negotiated: %s). The client is the "
         "library in MicroPython (`tools/bench/mp/tls_goodput.py`) over the simulator on "
         "a pty paced at the baud rate, buffered receive mode, server verified against "
         "the CA and the name localhost." % (
             tl["date"], tl["runs"], " and ".join(sorted(set(r["key"] for r in hs.values()))),
             ", ".join(ciphers) or "-"), "",
         "### Host-TLS handshake and a session's memory", "",
         "Handshake: from the connected TCP socket to the end of `tls.wrap()` (mbedTLS's "
         "handshake over the modem's socket, one run at a time). Memory, read by the "
         "MicroPython process itself around the handshake: the Python heap "
         "(`gc.mem_alloc()` after `gc.collect()`), and the process's resident memory "
         "(VmRSS, and RssAnon without the binary's pages, from `/proc/self/status`). "
         "On the unix port mbedTLS allocates with the C allocator, so its context and "
         "record buffers are not in the Python heap figure; the VmRSS growth counts only "
         "pages first touched during the handshake (malloc reuses pages already resident "
         "and calloc leaves fresh pages untouched), a lower bound. The last column "
         "is VmRSS from before `tls.context()` (CA parsed, random generator seeded; the "
         "TCP connect too) to the end of the handshake.", "",
         "| dialect | baud | server key | handshake ms | Python heap B | VmRSS kB | RssAnon kB "
         "| VmRSS kB with the context |", "|---|---|---|---|---|---|---|---|"]
    for k, r in hs.items():
        m = r["memory"]
        L.append("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
            r["dialect"], r["baud"], r["key"], rng(r["ms"]), rng(m["gc_connected_handshake"]),
            rng(m["rss_kb_connected_handshake"]), rng(m["anon_kb_connected_handshake"]),
            rng(m["rss_kb_start_handshake"])))
    L += ["", "What a board pays instead: mbedTLS's record buffers, one of each per TLS "
          "connection, allocated when the socket is wrapped (plus mbedTLS's record "
          "overhead on each, and during the handshake the certificates and bignum "
          "temporaries), as MicroPython's ports configure them:", "",
          "| port | MBEDTLS_SSL_IN_CONTENT_LEN | MBEDTLS_SSL_OUT_CONTENT_LEN | taken from | source |",
          "|---|---|---|---|---|"]
    for b in tl["board"]:
        L.append("| %s | %d | %d | %s | %s |" % (b["port"], b["in"], b["out"], b["heap"],
                                                 b["source"]))
    L += ["", "So an rp2 board needs more than 20 KiB of free MicroPython heap for each TLS "
          "connection (16384 + 4096 bytes of record content, each buffer one block, plus "
          "the overhead and what the handshake holds, not measured on a board here) on top "
          "of the library's own; an ESP32 takes it from the ESP-IDF heap and leaves the "
          "MicroPython heap alone.", "",
          "### Goodput with TLS", "",
          "%d KiB (%d bytes) each way through the same TLS source/sink server (the server "
          "key RSA-2048); plain TCP measured in the same benchmark run over the same "
          "path, and the TLS figures as a share of it. Module TLS (the module does TLS, "
          "the CA stored on it with `tls.cert_upload`, `connect(addr, tls=ModuleTLS(...))`) "
          "where the family has it. Module TLS puts no TLS bytes on the UART (records, "
          "handshake and the module's own work stay on the network side), so at the UART "
          "it runs as plain TCP does, within the run-to-run spread (shares a little over "
          "100 %% are that spread); what a real module adds is its handshake time at "
          "open and its TLS stack's speed on the air side, which the simulator (Python's "
          "ssl on a fast host) does not show." % (tl["bytes"] // KIB, tl["bytes"]), "",
          "| dialect | TLS | direction | baud | goodput B/s | of the UART limit | of plain TCP |",
          "|---|---|---|---|---|---|---|"]
    names = {"plain": "none (plain TCP)", "host": "host", "module": "module"}
    refused = {}
    for k, r in tl["goodput"].items():
        st = r["goodput_bps"]
        if r["unsupported"]:
            refused[r["dialect"]] = r["unsupported"]
            L.append("| %s | %s | %s | %d | not available (below) | - | - |" % (
                r["dialect"], names[r["tls"]], r["direction"], r["baud"]))
            continue
        L.append("| %s | %s | %s | %d | %s | %s | %s |" % (
            r["dialect"], names[r["tls"]], r["direction"], r["baud"], rng(st),
            "failed" if st is None else pct(st["median"] / r["limit_bps"]),
            "-" if r["tls"] == "plain" or r["of_plain"] is None else pct(r["of_plain"])))
    L.append("")
    if refused:
        L += ["Module TLS was refused in this run (the library's answer to "
              "`connect(addr, tls=ModuleTLS(...))` or `tls.cert_upload`, errno and text): "
              + "; ".join("%s: `%s`" % kv for kv in sorted(refused.items())) + ".", ""]
    return L


def targets(res):
    rows = []
    g = res.get("goodput")
    if g:
        best = {}
        for r in g.values():
            if r["ratio"] is None:
                continue
            key = (r["dialect"], r["direction"], r["baud"])
            v = r["ratio"]["median"]
            best[key] = max(best.get(key, 0), v)
            if r["mode"] == "buffered":
                rows.append({"target": "buffered goodput >= 85 %% (%s %s %d)" % key,
                             "figure": pct(v), "met": v >= 0.85})
        for key, v in sorted(best.items()):
            rows.append({"target": "best-mode goodput >= 95 %% (%s %s %d)" % key,
                         "figure": pct(v), "met": v >= 0.95})
    dm = res.get("datamode")
    if dm:
        for r in dm.values():
            if r["baud"] == 921600:
                v = r["ratio"]["median"] if r["ratio"] else 0
                rows.append({"target": "data-mode goodput >= 98 %% (%s %s 921600)" % (
                    r["dialect"], r["direction"]), "figure": pct(v) if r["ratio"] else "failed",
                    "met": v >= 0.98})
    c = res.get("ceiling")
    if c:
        for k, r in c["parse"].items():
            rows.append({"target": "unpaced parsing >= 50 %% of a plain pty copy (%s)" % k,
                         "figure": pct(r["ratio"]), "met": r["ratio"] >= 0.5})
    a = res.get("alloc")
    if a:
        for k, r in a.items():
            rows.append({"target": "0 B/KiB and 0 B/URC in steady state (%s)" % k,
                         "figure": "%.1f B/KiB" % r["per_kib"], "met": r["bytes"] == 0})
    h = res.get("heap")
    if h:
        worst = max(r["total"] for r in h.values())
        rows.append({"target": "import heap of the whole stack <= 24 KiB",
                     "figure": "%d-%d bytes" % (min(r["total"] for r in h.values()), worst),
                     "met": worst <= 24 * KIB})
    s = res.get("size")
    if s:
        worst = max(s["stack"].values())
        rows.append({"target": "whole stack <= 40 KiB of .mpy",
                     "figure": "%d-%d bytes" % (min(s["stack"].values()), worst),
                     "met": worst <= 40 * KIB})
    p = res.get("peers")
    if p:
        ours, theirs = p["mqtt"]["cellmodem"], p["mqtt"]["umqtt"]
        rows.append({"target": "MQTT msg/s ahead of umqtt.simple",
                     "figure": "%.0f vs %.0f" % (ours["msgs_per_s"]["median"], theirs["msgs_per_s"]["median"]),
                     "met": ours["msgs_per_s"]["median"] > theirs["msgs_per_s"]["median"]})
        rows.append({"target": "2 MiB HTTP download completes in a 64 KiB heap",
                     "figure": "smallest heap %sk (urequests %sk)" % (
                         p["http"]["cellmodem"]["min_heap_k"], p["http"]["urequests"]["min_heap_k"]),
                     "met": p["http"]["cellmodem"]["completes_64k"]})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="32 KiB transfers, 1 run: a smoke test")
    ap.add_argument("--only", default="goodput,datamode,ceiling,heap,wasm,alloc,size,peers,tls")
    ap.add_argument("--workers", type=int, default=4, help="paced goodput runs at once")
    ap.add_argument("--out", default=ROOT, help="where BENCHMARKS.md and bench/ go")
    ap.add_argument("--micropython-src", help="a MicroPython source tree: --only frozen "
                    "builds it with cellmodem frozen (tools.frozenheap; not in the default set)")
    ap.add_argument("--merge", action="store_true",
                    help="keep the other figures of the existing bench/results.json")
    args = ap.parse_args()
    runs = 1 if args.quick else args.runs
    nbytes = 32 * KIB if args.quick else 256 * KIB
    only = set(args.only.split(","))
    print("building .mpy into", BUILD)
    build()
    res = {}
    old = os.path.join(args.out, "bench", "results.json")
    if args.merge and os.path.exists(old):
        with open(old) as f:
            res = json.load(f)
    res["meta"] = {"date": datetime.date.today().isoformat(), "micropython": mp_version(),
                   "machine": "%s, %d CPUs" % (platform.machine(), os.cpu_count()),
                   "runs": runs, "goodput_bytes": nbytes}
    if "size" in only:
        res["size"] = code_size()
    if "heap" in only:
        print("import heap")
        res["heap"] = import_heap()
    if "wasm" in only:
        print("import heap on the 32-bit wasm MicroPython")
        res["wasm"] = wasm_heap()
    if "frozen" in only:
        if not args.micropython_src:
            ap.error("--only frozen needs --micropython-src")
        from tools import frozenheap
        print("import heap frozen into a unix build of", args.micropython_src)
        res["frozen"] = frozenheap.measure(args.micropython_src)
    if "alloc" in only:
        print("allocation per payload")
        res["alloc"] = allocation(max(nbytes, 128 * KIB))
    if "ceiling" in only:
        print("unpaced ceiling")
        res["ceiling"] = ceiling(runs, nbytes)
    if "peers" in only:
        print("beside umqtt.simple and urequests")
        res["peers"] = peers(runs)
    if "goodput" in only:
        print("goodput (paced)")
        res["goodput"] = goodput(runs, nbytes, args.workers)
    if "datamode" in only:
        print("data mode goodput (paced)")
        res["datamode"] = goodput(runs, nbytes, args.workers, data_mode=True)
    if "tls" in only:
        print("TLS (paced)")
        res["tls"] = tls_figures(runs, 8 * KIB if args.quick else 64 * KIB, args.workers,
                                 quick=args.quick)
    res["targets"] = targets(res)
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "NOTES.md")
    if os.path.exists(notes):
        with open(notes) as f:
            res["notes"] = f.read().strip().splitlines()
    res.pop("soak_md", None)
    for extra in ("soak.md", "fuzz.md"):  # python -m tools.soak --md; the fuzz run's figures
        path = os.path.join(args.out, "bench", extra)
        if os.path.exists(path):
            with open(path) as f:
                res.setdefault("soak_md", []).extend(f.read().strip().splitlines() + [""])
    os.makedirs(os.path.join(args.out, "bench"), exist_ok=True)
    with open(os.path.join(args.out, "bench", "results.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    with open(os.path.join(args.out, "BENCHMARKS.md"), "w") as f:
        f.write(report(res) + "\n")
    print("wrote BENCHMARKS.md and bench/results.json")


if __name__ == "__main__":
    main()
