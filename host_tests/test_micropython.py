"""The same engine cases in the real micropython binary, from source and from .mpy
files built by mpy-cross; a whole session under a 50 KiB heap. A case failing
there fails here."""
import os
import shutil

import pytest

import engine_cases
from mpy import LIB, SCENARIOS, compile_tree, run_cases, run_micropython


@pytest.fixture(scope="module")
def from_source():
    return run_cases("engine_cases")


@pytest.fixture(scope="module")
def mpy_lib(tmp_path_factory):
    out = tmp_path_factory.mktemp("mpylib")
    compile_tree(LIB, str(out))
    return str(out)


@pytest.fixture(scope="module")
def from_mpy(mpy_lib):
    return run_cases("engine_cases", path=(mpy_lib, SCENARIOS))


@pytest.mark.parametrize("case", engine_cases.CASES)
def test_engine_case_in_micropython(from_source, case):
    assert from_source.get(case) == "PASS", from_source.get(case, "not run")


def test_a_whole_session_runs_in_a_51k_heap(tmp_path):
    # A board loads the library as .mpy (or frozen); so does this run. Each module's
    # source name and __file__ are qstrs on the heap, as long as their paths: compiled
    # with fixed names (-s cellmodem/...) and run from the directory holding them, the
    # heap needed is the same wherever the checkout and pytest's tmp_path are (with
    # full paths this failed once pytest's tmp directory numbers reached 3 digits).
    # Smallest heap that passes on the 64-bit unix port, run this way: 48k before
    # issue 18, 50k since - AT's failed-port handling and time-argument checks add
    # 0.6 KB of import heap, and the 1 KiB blocks the session allocates then need
    # the next step (MemoryError at 49k). 51k since issue 19 item 2/8 (boot lines and
    # supply URCs, connect() through a restart: +1.8 KB of import heap; 50k failed).
    # 52k since the engine checks a pushed payload's next line too (issue 19 item 3:
    # +0.1 KiB of engine code on wasm32, and the session's 1 KiB blocks no longer fit
    # at 51k; 50k and 51k failed). 54k since the receive path's functions keep their
    # call frames on the C stack (issue 20: six functions more, +0.6 KiB of engine and
    # AT code on wasm32; 53k failed with MemoryError on a 1055-byte block). 52k since
    # a raw payload reaches its sink as (buffer, offset, count), no memoryview slice
    # per piece (issue 20; 51k fails with MemoryError on a 1055-byte block). 51k since
    # compat's CPython shims moved to cellmodem._cpython, which MicroPython never loads
    # (50k fails with MemoryError on a 1024-byte block).
    compile_tree(LIB, str(tmp_path))  # -s cellmodem/...: the fixed names
    # run as a module: a script's own directory would go first on sys.path, as an
    # absolute path, and the modules' __file__ with it
    shutil.copy(os.path.join(SCENARIOS, "small_heap.py"), str(tmp_path))
    p = run_micropython(["-m", "small_heap"], path=(".",), heapsize="51k", cwd=str(tmp_path))
    assert p.returncode == 0 and "SMALL HEAP OK" in p.stdout, p.stdout + p.stderr


@pytest.mark.parametrize("case", engine_cases.CASES)
def test_engine_case_from_mpy_files(from_mpy, case):
    assert from_mpy.get(case) == "PASS", from_mpy.get(case, "not run")


def test_every_lib_file_compiles_with_mpy_cross(tmp_path):
    compiled = compile_tree(LIB, str(tmp_path))
    assert "cellmodem/engine.py" in compiled
    for rel in compiled:
        assert os.path.getsize(os.path.join(tmp_path, rel[:-3] + ".mpy")) > 0


def test_parsing_lines_allocates_nothing_in_micropython():
    p = run_micropython([os.path.join(SCENARIOS, "alloc_lines.py")])
    assert p.returncode == 0, p.stdout + p.stderr
    assert "bytes per line: 0" in p.stdout, p.stdout
