"""tools.frozenheap's measurement in the real micropython binary.

The tool's build (MicroPython from source, with and without cellmodem frozen) needs a
MicroPython checkout and minutes, so it is not run here; its measurement is the same
whatever the binary, and runs here in the project's own micropython: the same modules
from .mpy files and from a ROMFS image of them (vfs.VfsRom), each in a fresh
interpreter. Heap, not time.
"""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mpy import LIB, compile_tree, tool  # noqa: E402
from tools import frozenheap  # noqa: E402

MODULES = ["cellmodem.errors", "cellmodem.line", "cellmodem.engine"]


def test_each_import_is_measured_from_mpy_files_and_from_a_romfs_image(tmp_path):
    mpylib = str(tmp_path / "mpylib")
    compile_tree(LIB, mpylib)
    image = str(tmp_path / "cellmodem.romfs")
    subprocess.run([tool("mpremote"), "romfs", "--no-mpy", "--output", image, "build", mpylib],
                   check=True, capture_output=True)
    binary = tool("micropython")
    total, per = frozenheap.run((binary, mpylib + ":.frozen", "-"), MODULES, str(tmp_path))
    assert [m for m, _ in per] == MODULES and sum(n for _, n in per) == total
    assert all(n > 0 for _, n in per), per
    in_place, per_rom = frozenheap.run((binary, ".frozen", image), MODULES, str(tmp_path))
    assert [m for m, _ in per_rom] == MODULES and sum(n for _, n in per_rom) == in_place
    # executed in place: the bytecode stays in the image, so less of it is on the heap
    assert 0 < in_place < total, (in_place, total)
    # a fresh interpreter each time: the same figures again
    assert frozenheap.run((binary, ".frozen", image), MODULES, str(tmp_path))[0] == in_place


def test_a_module_that_is_not_there_fails_the_run_with_its_error(tmp_path):
    mpylib = str(tmp_path / "mpylib")
    compile_tree(LIB, mpylib)
    with pytest.raises(RuntimeError, match="no module named 'cellmodem.nosuch'"):
        frozenheap.run((tool("micropython"), mpylib + ":.frozen", "-"),
                       ["cellmodem.errors", "cellmodem.nosuch"], str(tmp_path))


def test_the_32_bit_estimate_scales_frozen_as_the_mpy_figures_scale():
    res = {"micropython": "v", "stacks": {"socket": {"frozen": 20480, "mpy": 61440,
                                                     "romfs": 40960}}}
    wasm = {"stacks": {"socket": {"mpy": 51200, "romfs": 30720}}}
    lines = frozenheap.markdown(res, wasm)
    assert "| socket | 20.0 | 60.0 | 40.0 | 0.33 |" in lines
    # 20 KiB frozen * 50 / 60: 16.7 KiB, beside the socket stack's target from .mpy
    assert "| socket | 16.7 | <= 40 from mpy |" in lines
