"""The fault soak, short: `python -m tools.soak --seconds 60` (quectel, push mode) in
real MicroPython against the simulator, faults of every kind injected, and the pass
criteria read back from the bench/soak.json it writes."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_short_soak_meets_the_pass_criteria(tmp_path, mosquitto):
    # (the mosquitto fixture makes sure the broker is installed; the soak starts its own)
    p = subprocess.run([sys.executable, "-m", "tools.soak", "--seconds", "60", "--seed", "3",
                        "--dialect", "quectel", "--mode", "push", "--out", str(tmp_path), "--md"],
                       cwd=ROOT, capture_output=True, text=True, timeout=200)
    out = p.stdout + p.stderr
    path = tmp_path / "bench" / "soak.json"
    assert path.exists(), out
    res = json.loads(path.read_text())
    a = res["app"]
    assert a, out
    assert (tmp_path / "bench" / "soak.md").read_text().startswith("## Fault soak")
    # every kind of fault was injected, and the knobs fired
    from tools.soak import KINDS
    for kind in KINDS + ["chunk split", "noise URC", "delayed result"]:
        assert res["faults"][kind] >= 1, (kind, res["faults"], res["fault_log"])
    assert a["recoveries"] >= 3, out
    # every stream ran (how much it did in 60 s depends on the machine's load, so no
    # volume is asked for: the criteria below hold for whatever was sent)
    assert a["tcp_verified"] > 0 and a["mqtt_sent"] > 0 and a["http_ok"] > 0, out
    # the pass criteria
    assert a["tcp_corrupted"] == 0 and a["tcp_verified"] == a["tcp_high"], out
    assert res["echo_server"]["corrupt"] == 0, out
    assert res["mqtt_peer"]["lost_up"] == 0 and a["mqtt_refused"] == 0, out
    assert a["mqtt_down_missing_count"] == 0 and a["mqtt_end"] == res["mqtt_peer"]["published_to_app"], out
    assert a["escaped"] == {}, "\n".join(res["escaped_output"])
    assert abs(a["heap_after"] - a["heap_before"]) <= 1024, (a["heap_before"], a["heap_after"])
    assert res["passed"] and p.returncode == 0, out
