"""Which functions get their call frame from the heap: MicroPython's fun_bc_call
(py/objfun.c) keeps a frame on the C stack only up to VM_MAX_STATE_ON_STACK, 11
machine words; a function whose state (locals plus its value stack, plus three words
per nested try: mp_exc_stack_t in py/bc.h) is larger takes it from the heap on every
call and frees it on return: a gc_alloc and a gc_free per call, and the allocator's
first-fit search for the block (BENCHMARKS.md, the parser ceiling). The state size is read from each
function's prelude in the .mpy files (format 6), the same on 32- and 64-bit ports.

Usage: python -m tools.bench.frames build/lib/cellmodem/engine.mpy ...
       (make mpy writes build/lib; every function over the limit is listed; names
       MicroPython stores by number are looked up among the def names in lib/)
"""
import os
import re
import subprocess
import sys
import tempfile

LIMIT_WORDS = 11  # VM_MAX_STATE_ON_STACK = 11 * sizeof(mp_uint_t)
_OBJ_NO_DATA = 4  # persistent object kinds 0-4 (fun table, None, False, True, ...) carry no data
_OBJ_STR, _OBJ_BYTES, _OBJ_TUPLE = 5, 6, 10


def _uint(b, i):
    v = 0
    while True:
        c = b[i]
        i += 1
        v = (v << 7) | (c & 0x7F)
        if not c & 0x80:
            return v, i


def functions(data):
    """[(name, n_state, n_exc_stack)] for every bytecode function in an .mpy (v6)."""
    if data[:2] != b"M\x06":
        raise ValueError("not a version 6 .mpy file")
    i = 4
    n_qstr, i = _uint(data, i)
    n_obj, i = _uint(data, i)
    names = []
    for _ in range(n_qstr):
        v, i = _uint(data, i)
        if v & 1:  # a static qstr, by number: not one of our names
            names.append("<qstr %d>" % (v >> 1))
        else:
            names.append(data[i:i + (v >> 1)].decode())
            i += (v >> 1) + 1

    def skip_obj(i):
        kind = data[i]
        i += 1
        if kind <= _OBJ_NO_DATA:
            return i
        n, i = _uint(data, i)
        if kind == _OBJ_TUPLE:
            for _ in range(n):
                i = skip_obj(i)
            return i
        return i + n + (1 if kind in (_OBJ_STR, _OBJ_BYTES) else 0)

    for _ in range(n_obj):
        i = skip_obj(i)
    out = []

    def raw_code(i):
        kind_len, i = _uint(data, i)
        code = data[i:i + (kind_len >> 3)]
        i += kind_len >> 3
        if kind_len & 3 == 0:  # bytecode: the prelude's signature (py/bc.h)
            z = code[0]
            j = 1
            n_state = (z >> 3) & 0xF
            n_exc = (z >> 2) & 1
            n = 0
            while z & 0x80:
                z = code[j]
                j += 1
                n_state |= (z & 0x30) << (2 * n)
                n_exc |= (z & 0x02) << n
                n += 1
            z = code[j]  # the size of the info and cell sections
            j += 1
            while z & 0x80:
                z = code[j]
                j += 1
            q, j = _uint(code, j)  # the function's name, first in its info section
            out.append((names[q] if q < len(names) else "<qstr %d>" % q, n_state + 1, n_exc))
        if kind_len & 4:
            n, i = _uint(data, i)
            for _ in range(n):
                i = raw_code(i)
        return i

    raw_code(i)
    return out


def static_names(sources):
    """{static qstr number: name} for the function names defined in sources (.py
    files): MicroPython's own names (write, readinto, ...) are stored in an .mpy by
    number; a probe that defines each name, compiled with mpy-cross, shows which."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "host_tests"))
    from mpy import tool
    names = set()
    for path in sources:
        with open(path) as f:
            names.update(re.findall(r"^\s*def (\w+)", f.read(), re.M))
    names = sorted(names)
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "probe.py")
        with open(src, "w") as f:
            f.writelines("def %s():\n    pass\n" % n for n in names)
        subprocess.run([tool("mpy-cross"), src, "-o", src + ".mpy"], check=True)
        with open(src + ".mpy", "rb") as f:
            found = [n for n, _, _ in functions(f.read())][1:]  # [0] is the module
    return {int(q[6:-1]): n for q, n in zip(found, names) if q.startswith("<qstr ")}


def on_heap(n_state, n_exc):
    """Whether a call takes its frame from the heap (an exception stack entry is 3 words)."""
    return n_state + 3 * n_exc > LIMIT_WORDS


def main(paths):
    if not paths:
        raise SystemExit(__doc__)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib")
    static = static_names(os.path.join(b, f) for b, _, fs in os.walk(root) for f in fs
                          if f.endswith(".py"))
    for path in paths:
        with open(path, "rb") as f:
            for name, n_state, n_exc in functions(f.read()):
                if name.startswith("<qstr "):
                    name = static.get(int(name[6:-1]), name)
                if on_heap(n_state, n_exc):
                    print("%-40s %-24s %2d words of state, %d try levels"
                          % (path, name, n_state, n_exc))


if __name__ == "__main__":
    main(sys.argv[1:])
