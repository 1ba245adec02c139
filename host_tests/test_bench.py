"""The benchmark harness still runs (a smoke run of its quick mode on a few figures);
it reports numbers, it does not judge them (BENCHMARKS.md does, from `make bench`)."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_quick_run_writes_both_files_with_real_figures(tmp_path):
    p = subprocess.run([sys.executable, "-m", "tools.bench", "--quick", "--only",
                        "size,heap,ceiling,tls", "--out", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    res = json.loads((tmp_path / "bench" / "results.json").read_text())
    md = (tmp_path / "BENCHMARKS.md").read_text()
    assert res["size"]["stack"]["sim7080"] > 10000
    assert all(v["total"] > 10000 for v in res["heap"].values())
    assert res["ceiling"]["parse"]["sim7600/push"]["bps"]["median"] > 0
    hs = res["tls"]["handshake"]["sim7080/921600/rsa"]
    assert hs["ms"]["median"] > 0 and hs["cipher"]
    assert res["tls"]["goodput"]["quectel/host/down/115200"]["of_plain"] > 0  # a figure, not a verdict
    for section in ("## Targets", "## 2. Heap", "## 4. Code size", "parser's own ceiling",
                    "## 6. TLS"):
        assert section in md
