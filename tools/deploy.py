"""Put an example on a board so that it runs after reset: lib/, the board file, the example.

The packages of packages/ the board needs (default: every one but the host tools;
--family and --features: the core, that family and those features, and the packages
of what the board file and the example import are checked to be among them) are
compiled with mpy-cross for the board's architecture into build/<arch>/lib/ and
copied to the board's /lib with mpremote, or with --romfs built into a ROMFS image
(mpremote romfs build) that mpremote romfs deploy writes to the board's ROMFS
partition, where MicroPython imports them in place (/rom/lib); the board file goes
to /board.py and the example to /main.py (both as source, so pins and settings stay
editable), and what the board file imports from boards/ (_board, the code the board
files share) is compiled into /lib too. Everything else an example imports (asyncio,
hashlib, ...) must be in the firmware: the listing names it. --file adds data files
(a CA certificate). --dry-run lists exactly what the board gets, with no board attached.

--board unix lays the same files out in a directory on this machine instead
(--dest, default build/unix: the modules next to main.py, the unix port's first
path entry) to run with the micropython binary:
    python -m tools.deploy --board unix --example status_report.py
    micropython build/unix/main.py /dev/ttyUSB2        # or the simulator's pty

Usage:
    python -m tools.deploy --board esp32 --example mqtt_sensor.py --port /dev/ttyUSB0
    python -m tools.deploy --board esp32 --family sim7080 --features mqtt --example mqtt_sensor.py --romfs
    python -m tools.deploy --board rp2 --example status_report.py --dry-run
    python -m tools.deploy --board esp32 --example https_get.py --file ca.pem
    python -m tools.deploy --arch armv7emsp --board-file boards/esp32_generic.py
"""
import argparse
import ast
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "host_tests"))

from mpy import tool  # noqa: E402
from tools import package_json  # noqa: E402

BOARDS_DIR = os.path.join(ROOT, "boards")
# --board name -> (mpy-cross -march, board file); "unix" is this machine (see --dest)
BOARDS = {
    "esp32": ("xtensawin", "esp32_generic.py"),
    "esp32s3": ("xtensawin", "esp32_generic.py"),
    "lilygo_t_sim7080g_s3": ("xtensawin", "lilygo_t_sim7080g_s3.py"),
    "lilygo_t_a7670": ("xtensawin", "lilygo_t_a7670.py"),
    "rp2": ("armv6m", "rp2_pico.py"),
    "rp2_pico": ("armv6m", "rp2_pico.py"),
    "unix": ("host", "unix.py"),
}
ARCHES = ("x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
          "xtensa", "xtensawin", "rv32imc", "rv64imc", "host")


def compile_py(arch, src, mpy, name):
    """mpy-cross -march=arch src -> mpy, unless mpy is newer than src and mpy-cross;
    name is the source name the board sees (cellmodem/modem.py): -s keeps this
    machine's path out of the .mpy, where it would be each module's __file__ and
    traceback name, a string on the board's heap."""
    cross = tool("mpy-cross")
    if os.path.exists(mpy) and os.path.getmtime(mpy) >= max(os.path.getmtime(src),
                                                            os.path.getmtime(cross)):
        return
    os.makedirs(os.path.dirname(mpy), exist_ok=True)
    subprocess.run([cross, "-march=" + arch, "-s", name, "-o", mpy, src], check=True,
                   capture_output=True, text=True)


def build(arch, out, files):
    """Compile files (cellmodem/...py, under lib/) into out/lib with mpy-cross
    -march=arch; returns [(local, remote)] with remote paths under lib/."""
    done = []
    for rel in files:
        mpy = os.path.join(out, "lib", rel[:-3] + ".mpy")
        compile_py(arch, os.path.join(ROOT, "lib", rel), mpy, rel.replace(os.sep, "/"))
        done.append((mpy, "lib/" + rel[:-3] + ".mpy"))
    return done


def imports(path):
    """Top-level module names path imports (anywhere in it), and the dotted ones
    (with the library's submodules `from cellmodem import tls` names)."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            if node.module.split(".")[0] == "cellmodem":
                names.update(node.module + "." + a.name for a in node.names
                             if _lib_file(node.module + "." + a.name))
    return names


def _lib_file(name):
    """The file of lib/ that module name is (cellmodem/x.py or its __init__.py), or None."""
    rel = "/".join(name.split("."))
    for f in (rel + ".py", rel + "/__init__.py"):
        if os.path.isfile(os.path.join(ROOT, "lib", f)):
            return f
    return None


def _in_lib(name):
    return _lib_file(name) is not None


def families():
    """The family names --family takes: the dialects lib/ has (cellmodem.dialects.NAMES)."""
    from lib.cellmodem.dialects import NAMES  # noqa: plain tuple, no side effects
    return list(NAMES)


def features(pkgs):
    """The feature names --features takes: every package but the core and the families,
    without the cellmodem- prefix."""
    fam = {"cellmodem-" + f for f in families()}
    return [n[len("cellmodem-"):] for n in pkgs if n != package_json.CORE and n not in fam]


def choose(family, feature, uses, pkgs):
    """The packages to install: every one but the host tools if neither family nor
    feature is given, else the core, the families and the features (lists of names);
    the host tools too where uses (the cellmodem modules the board file and the example
    import) has cellmodem.ports, as on --board unix. ValueError for an unknown name, or
    for a module in uses that the packages chosen lack (naming the feature to add)."""
    host = any(m.split(".")[:2] == ["cellmodem", "ports"] for m in uses)
    if not family and not feature:
        chosen = package_json.board_packages(pkgs)
    else:
        if not family:
            raise ValueError("--features needs --family (one of %s)" % ", ".join(families()))
        for f in family:
            if f not in families():
                raise ValueError("unknown family %r; known: %s" % (f, ", ".join(families())))
        for f in feature:
            if f not in features(pkgs):
                raise ValueError("unknown feature %r; known: %s" % (f, ", ".join(features(pkgs))))
        chosen = [package_json.CORE] + ["cellmodem-" + f for f in family + feature]
    if host and package_json.HOST not in chosen:
        chosen.append(package_json.HOST)
    have = set(package_json.files(chosen, pkgs))
    owner = {f: n for n, p in pkgs.items() for f in p["files"]}
    for m in uses:
        f = _lib_file(m)
        if f and f not in have:
            n = owner[f][len("cellmodem-"):]
            raise ValueError("%s is imported but not chosen: add %s %s" % (
                m, "--family" if n in families() else "--features", n))
    return package_json.closure(chosen, pkgs)


def needs(board_file, example):
    """What the board file and the example import, sorted into: modules of boards/
    the board needs besides board.py itself, modules the firmware must have, and the
    cellmodem names they import.
    ValueError for a cellmodem module that lib/ does not have."""
    extra, firmware, uses = [], set(), set()
    todo = [p for p in (board_file, example) if p]
    seen = set()
    while todo:
        path = todo.pop()
        for name in sorted(imports(path)):
            top = name.split(".")[0]
            if top == "cellmodem":
                uses.add(name)
                if not _in_lib(name):
                    raise ValueError("%s imports %s, which lib/ does not have" % (path, name))
            elif top == "board":
                if not board_file:
                    raise ValueError("%s imports board: give --board or --board-file" % path)
            elif os.path.exists(os.path.join(BOARDS_DIR, top + ".py")):
                if top not in seen:
                    seen.add(top)
                    extra.append(os.path.join(BOARDS_DIR, top + ".py"))
                    todo.append(extra[-1])
            else:
                firmware.add(top)
    return extra, sorted(firmware), sorted(uses)


def romfs_image(out, files):
    """Lay files [(local .mpy, remote under lib/)] out in out/romfs (only these) and
    build out/cellmodem.romfs from it with `mpremote romfs build` (--no-mpy: they are
    compiled for the board already); (image path, [(local, path in the image)])."""
    stage = os.path.join(out, "romfs")
    shutil.rmtree(stage, ignore_errors=True)
    for local, remote in files:
        os.makedirs(os.path.dirname(os.path.join(stage, remote)), exist_ok=True)
        shutil.copyfile(local, os.path.join(stage, remote))
    image = os.path.join(out, "cellmodem.romfs")
    cmd = [tool("mpremote"), "romfs", "--no-mpy", "--output", image, "build", stage]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError("mpremote romfs build failed:\n" + p.stdout + p.stderr)
    return image, list(files)


def plan(files, board_file, example, extra=(), data=()):
    """[(local, remote)] of lib -> the directories to create and every file to copy:
    lib, then board.py, the example as main.py and data files [(local, remote)]."""
    files = list(files) + list(extra)
    if board_file:
        files.append((board_file, "board.py"))
    if example:
        files.append((example, "main.py"))
    files += list(data)
    dirs = []
    for _, remote in files:
        parts = remote.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in dirs:
                dirs.append(d)
    return dirs, files


def commands(port, dirs, files):
    """The mpremote command lines: one that creates the directories (existing ones
    are kept), then one per destination directory copying its files."""
    base = ["mpremote", "connect", port]
    mk = "import os\nfor d in %r:\n    try:\n        os.mkdir(d)\n    except OSError:\n        pass" % (dirs,)
    cmds = [base + ["exec", mk]] if dirs else []
    by_dir = {}
    for local, remote in files:
        by_dir.setdefault(remote.rsplit("/", 1)[0] if "/" in remote else "", []).append((local, remote))
    for d in sorted(by_dir):
        cmd = list(base)
        for local, remote in by_dir[d]:
            if len(cmd) > len(base):
                cmd.append("+")
            cmd += ["fs", "cp", local, ":" + remote]
        cmds.append(cmd)
    return cmds


def _shown(path):
    rel = os.path.relpath(path, ROOT)
    return path if rel.startswith("..") else rel


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.deploy", description=__doc__.split("\n")[0])
    ap.add_argument("--board", choices=sorted(BOARDS), help="sets --arch and --board-file")
    ap.add_argument("--arch", choices=ARCHES, help="mpy-cross -march (default: from --board)")
    ap.add_argument("--board-file", help="copied as board.py (default: from --board)")
    ap.add_argument("--example", help="a file in examples/ (or a path), copied as main.py")
    ap.add_argument("--file", action="append", default=[], metavar="LOCAL[:REMOTE]",
                    help="a data file to copy too (default REMOTE: its name), e.g. a CA certificate")
    ap.add_argument("--port", default="auto", help="mpremote device (default: auto)")
    ap.add_argument("--dest", help="--board unix: the directory to lay the files out in "
                                   "(default: build/unix)")
    ap.add_argument("--build", help="build directory (default: build/<arch>)")
    ap.add_argument("--family", help="only this modem family (a comma list for several): %s"
                    % ", ".join(families()))
    ap.add_argument("--features", default="", help="with --family, only these features (a comma "
                    "list): %s" % ", ".join(features(package_json.packages())))
    ap.add_argument("--romfs", action="store_true", help="put the library in the board's ROMFS "
                    "partition (mpremote romfs build, then romfs deploy): imported in place")
    ap.add_argument("--partition", type=int, default=0, help="--romfs: the ROMFS partition "
                    "(default 0)")
    ap.add_argument("--dry-run", action="store_true",
                    help="compile, then list the files and where they go, without a board")
    a = ap.parse_args(argv)
    arch = a.arch or (BOARDS[a.board][0] if a.board else None)
    if not arch:
        ap.error("give --board or --arch")
    local = a.board == "unix"
    if a.dest and not local:
        ap.error("--dest is for --board unix (a board gets its files over --port)")
    if a.romfs and local:
        ap.error("--romfs is for a board's ROMFS partition, not --board unix")
    board_file = a.board_file or (os.path.join(BOARDS_DIR, BOARDS[a.board][1]) if a.board else None)
    example = a.example
    if example and not os.path.exists(example):
        example = os.path.join(ROOT, "examples", example)
    data = []
    for spec in a.file:
        path, _, remote = spec.partition(":") if not os.path.exists(spec) else (spec, "", "")
        data.append((os.path.abspath(path), remote or os.path.basename(path)))
    for path in [board_file, example] + [d[0] for d in data]:
        if path and not os.path.exists(path):
            ap.error("no such file: %s" % path)
    pkgs = package_json.packages()
    try:
        extra, firmware, uses = needs(board_file, example)
        chosen = choose([f for f in (a.family or "").split(",") if f],
                        [f for f in a.features.split(",") if f], uses, pkgs)
    except ValueError as e:
        ap.error(str(e))
    out = a.build or os.path.join(ROOT, "build", arch)
    print("packages: %s" % ", ".join(chosen))
    for name, f, why in package_json.optional_missing(chosen, pkgs):
        owner = [n for n, p in pkgs.items() if f in p["files"]][0]
        print("  without --features %s, %s lacks: %s" % (owner[len("cellmodem-"):], name, why))
    print("compiling them for %s into %s" % (arch, _shown(out)))
    lib = build(arch, out, package_json.files(chosen, pkgs))
    shared = []
    for path in extra:
        mpy = os.path.join(out, "lib", os.path.basename(path)[:-3] + ".mpy")
        compile_py(arch, path, mpy, os.path.basename(path))
        shared.append((mpy, "lib/" + os.path.basename(mpy)))
    if local:  # the unix port: the script's directory comes first on sys.path, not /lib
        lib = [(l, r[4:]) for l, r in lib]
        shared = [(l, r[4:]) for l, r in shared]
    image = None
    if a.romfs:  # the library in the image, the board file, example and data as files
        image, rom = romfs_image(out, lib + shared)
        print("ROMFS image %s, %d bytes, %d files (built here: %s):"
              % (_shown(image), os.path.getsize(image), len(rom),
                 " ".join(["mpremote", "romfs", "--no-mpy", "--output", _shown(image), "build",
                           _shown(os.path.join(out, "romfs"))])))
        for src, remote in rom:
            print("  %-40s -> %s" % (_shown(src), "/rom/" + remote))
        lib, shared = [], []
    dirs, files = plan(lib, board_file, example, shared, data)
    dest = os.path.abspath(a.dest or os.path.join(ROOT, "build", "unix")) if local else None
    total = sum(os.path.getsize(l) for l, _ in files)
    print("%d files, %d bytes:" % (len(files), total))
    for src, remote in files:
        print("  %-40s -> %s" % (_shown(src), os.path.join(_shown(dest), remote) if local
                                  else ":" + remote))
    if firmware:
        print("from the firmware: %s" % ", ".join(firmware))
    if local:
        try:
            exe = _shown(tool("micropython"))
        except RuntimeError:
            exe = "micropython"
        run = "%s %s <tty> ..." % (exe, os.path.join(_shown(dest), "main.py"))
        if a.dry_run:
            print("then: " + run)
            return 0
        for src, remote in files:
            target = os.path.join(dest, remote)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(src, target)
        print("done: %d files in %s; run it: %s" % (len(files), _shown(dest), run))
        return 0
    cmds = commands(a.port, dirs, files)
    if image:
        cmds.insert(0, ["mpremote", "connect", a.port, "romfs", "--partition", str(a.partition),
                        "deploy", _shown(image)])
    if a.dry_run:
        print("mpremote commands:")
        for cmd in cmds:
            print("  " + subprocess.list2cmdline(cmd).replace("\n", "\\n"))
        return 0
    mpremote = tool("mpremote")
    copied = 0
    for i, cmd in enumerate(cmds, 1):
        n = cmd.count("cp")
        print("[%d/%d] %s" % (i, len(cmds), "mkdir " + " ".join(dirs) if cmd[3] == "exec"
                              else "writing the ROMFS image" if cmd[3] == "romfs"
                              else "copying %d file(s), %d of %d done" % (n, copied, len(files))))
        sys.stdout.flush()
        p = subprocess.run([mpremote] + cmd[1:])
        if p.returncode:
            print("mpremote failed (exit %d); is the board on %s?" % (p.returncode, a.port))
            return p.returncode
        copied += n
    print("done: %d files on the board; reset it to run main.py" % copied)
    return 0


if __name__ == "__main__":
    sys.exit(main())
