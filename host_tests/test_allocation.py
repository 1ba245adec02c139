"""Allocation budgets on the send path (issue 20; BENCHMARKS.md section 3): a stream's
send of a 1460-byte piece allocates one memoryview (the slice of the caller's view to
the family's send limit, 32 bytes on the 64-bit unix port) and nothing per command,
result wait or final line. Bytes allocated are counted, not time, so the figure does
not depend on how fast the machine is. (The receive path allocates per UART read, so
its figure depends on how the bytes arrive: BENCHMARKS.md reports it, no test.)"""
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
