"""Where a transfer allocates, per function: one transfer through the simulator at
921600 baud in the real micropython binary, with the named functions wrapped
(tools/bench/mp/allocprof.py says how). BENCHMARKS.md section 3 has the totals.

Usage: python -m tools.bench.allocprof sim7080 buffered down d.sock_fetch
       python -m tools.bench.allocprof quectel buffered up s.send eng._match_final
"""
import sys

from tools.bench.__main__ import KIB, SourceSink, build, mp_run, sim_pty


def profile(dialect, mode, direction, specs, nbytes=240 * KIB, rxbuf=8 * KIB):
    """{spec: (calls, bytes allocated in them)} for one transfer (build() first);
    rxbuf: the socket's receive ring, bytes."""
    srv = SourceSink()
    sim, pty = sim_pty(dialect, 921600)
    try:
        p = mp_run("allocprof", [pty, dialect, mode, "127.0.0.1", srv.port, direction,
                                 nbytes, rxbuf] + list(specs))
    finally:
        sim.close()
        srv.close()
    rows = [l.split()[1:] for l in p.stdout.splitlines() if l.startswith("PROF ")]
    if not rows:
        raise RuntimeError(p.stdout[-2000:] + p.stderr[-2000:])
    return {spec: (int(calls), int(nbytes)) for spec, calls, nbytes in rows}


def main(argv):
    if len(argv) < 4:
        raise SystemExit(__doc__)
    build()
    for spec, (calls, nbytes) in profile(argv[0], argv[1], argv[2], argv[3:]).items():
        print("%-24s %6d calls %8d bytes %7.1f per call" % (spec, calls, nbytes,
                                                          nbytes / calls if calls else 0))


if __name__ == "__main__":
    main(sys.argv[1:])
