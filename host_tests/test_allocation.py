"""Allocation budgets on the send and receive paths (issue 20; BENCHMARKS.md section
3): a stream's send of a 1460-byte piece allocates one memoryview (the slice of the caller's view to
the family's send limit, 32 bytes on the 64-bit unix port) and nothing per command,
result wait or final line; a download allocates nothing per piece, however its bytes
arrive. Bytes allocated are counted, not time, so the figure does not depend on how
fast the machine is."""
import pytest

from tools import families
from tools.bench import allocprof
from tools.bench.__main__ import build

PER_SEND = 48  # bytes per send call, on average: the slice's 32 and room for a stray URC


@pytest.fixture(scope="module")
def built():
    build()


@pytest.mark.parametrize("dialect", list(families.NAMES))
def test_a_stream_of_sends_allocates_one_slice_per_send(built, dialect):
    calls, nbytes = allocprof.profile(dialect, "buffered", "up", ["s.send"],
                                      nbytes=96 * 1024)["s.send"]
    assert calls > 40
    assert nbytes <= PER_SEND * calls, "%d bytes in %d sends" % (nbytes, calls)


RING = 8192  # the receive ring of a buffered download: the module holds what it has not read
# A pushed download has no flow control: a ring smaller than the download overflows
# (ENOBUFS) whenever the reader falls behind the line, as on a busy machine (a CI run:
# yuge push). A ring larger than the whole download never does, however slow the host.
PUSH_RING = 128 * 1024


@pytest.mark.parametrize("dialect,mode", families.modes())
def test_a_download_allocates_nothing_per_piece(built, dialect, mode):
    # A piece of payload goes from the engine's buffer to the sink as (buffer, offset,
    # count) and into and out of the ring through its stream: no memoryview slice per
    # UART read or per recv_into (120-190 B/KiB before). Counted where the payload's
    # bytes move (the engine's raw part, the ring's read), so how the bytes arrive
    # does not change the figure: the one view left is a read that wraps the ring, at
    # most once per turn of it.
    nbytes = 96 * 1024
    ring = RING if mode == "buffered" else PUSH_RING
    got = allocprof.profile(dialect, mode, "down", ["eng._raw", "r.readinto"], nbytes=nbytes,
                            rxbuf=ring)
    raw_calls, raw_bytes = got["eng._raw"]
    read_calls, read_bytes = got["r.readinto"]
    assert raw_calls > 20 and read_calls > 20
    assert raw_bytes == 0, "%d bytes in %d raw pieces" % (raw_bytes, raw_calls)
    assert read_bytes <= 32 * (nbytes // ring + 2), "%d bytes in %d ring reads" % (
        read_bytes, read_calls)


def test_the_frame_reader_finds_which_functions_take_their_frame_from_the_heap(tmp_path):
    # tools.bench.frames reads n_state from each function's prelude in an .mpy: a
    # function with twelve locals is over the 11 words fun_bc_call keeps on the C
    # stack, a one-argument one is not, and a name MicroPython stores by number
    # (write) is found again
    import subprocess
    from mpy import tool
    from tools.bench import frames
    src = tmp_path / "probe.py"
    src.write_text("def small(a):\n    return a\n\n\n"
                   "def write(a, b, c, d, e, f, g, h, i, j, k, l):\n"
                   "    return a + b + c + d + e + f + g + h + i + j + k + l\n\n\n"
                   "def guarded(a):\n    try:\n        return a()\n    except ValueError:\n"
                   "        return None\n")
    subprocess.run([tool("mpy-cross"), str(src), "-o", str(src) + ".mpy"], check=True)
    got = frames.functions((tmp_path / "probe.py.mpy").read_bytes())
    by_name = {}
    static = frames.static_names([str(src)])
    for name, n_state, n_exc in got[1:]:
        if name.startswith("<qstr "):
            name = static[int(name[6:-1])]
        by_name[name] = (n_state, n_exc)
    assert set(by_name) == {"small", "write", "guarded"}
    assert by_name["write"][0] >= 12 and frames.on_heap(*by_name["write"])
    assert not frames.on_heap(*by_name["small"])
    assert by_name["guarded"][1] == 1 and by_name["small"][1] == 0


# The functions every piece of received payload runs through (parse_ceiling, callgrind:
# several calls each per 1460 bytes). Each keeps its call frame on the C stack; one
# over 11 words would take a gc_alloc and gc_free per call, and the allocator's search
# for those blocks was what made the buffered parse 11-16 % slower in issue 20's first
# version (BENCHMARKS.md notes). The functions with a try (AT.write, Dialect.pull,
# socket._pull, Engine._call) cannot fit: a try costs 7 words alone.
HOT = {
    "engine": {"process", "_raw", "_next", "_inline_at", "_dispatch", "_for_command",
               "_match_final", "rx_window", "rx_commit", "_take", "_finish"},
    "at": {"poll", "_read", "_pump", "timeout_for", "_finish"},
    "sockets": {"write", "readinto", "read_into", "free", "room", "sink"},
}


@pytest.mark.parametrize("module", sorted(HOT))
def test_the_receive_path_keeps_its_call_frames_on_the_c_stack(tmp_path, module):
    import os
    import subprocess
    from mpy import tool
    from tools.bench import frames
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "lib", "cellmodem", module + ".py")
    out = str(tmp_path / (module + ".mpy"))
    subprocess.run([tool("mpy-cross"), src, "-o", out], check=True)
    static = frames.static_names([src])
    seen = {}
    with open(out, "rb") as f:
        for name, n_state, n_exc in frames.functions(f.read()):
            if name.startswith("<qstr "):
                name = static.get(int(name[6:-1]), name)
            if name in HOT[module]:
                seen.setdefault(name, []).append((n_state, n_exc))
    assert set(seen) == HOT[module]  # every one is still there, under its name
    heavy = {n: v for n, v in seen.items() if any(frames.on_heap(*s) for s in v)}
    assert not heavy, "frames from the heap: %r (words of state, try levels)" % heavy
