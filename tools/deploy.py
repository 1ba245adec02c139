"""Compile lib/ for a board and copy it there with mpremote.

lib/cellmodem/*.py is compiled with mpy-cross for the board's architecture into
build/<arch>/lib/, then copied to the board's /lib, with a board file as
/board.py and an example as /main.py (both as source, so pins stay editable).

Usage:
    python -m tools.deploy --board esp32 --example mqtt_sensor.py --port /dev/ttyUSB0
    python -m tools.deploy --board rp2 --dry-run          # what would be copied, and how
    python -m tools.deploy --arch armv7emsp --board-file boards/esp32_generic.py
"""
import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "host_tests"))

from mpy import tool  # noqa: E402

# --board name -> (mpy-cross -march, board file)
BOARDS = {
    "esp32": ("xtensawin", "esp32_generic.py"),
    "esp32s3": ("xtensawin", "esp32_generic.py"),
    "lilygo_t_sim7080g_s3": ("xtensawin", "lilygo_t_sim7080g_s3.py"),
    "lilygo_t_a7670": ("xtensawin", "lilygo_t_a7670.py"),
    "esp8266": ("xtensa", "esp32_generic.py"),
    "rp2": ("armv6m", "rp2_pico.py"),
    "rp2_pico": ("armv6m", "rp2_pico.py"),
    "unix": ("x64", "unix.py"),
}
ARCHES = ("x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
          "xtensa", "xtensawin", "rv32imc", "rv64imc")
TEST_ONLY = ("cellmodem/fakeuart.py",)


def build(arch, out):
    """Compile lib/ into out/lib with mpy-cross -march=arch; returns [(local, remote)].
    (host_tests/mpy.py's compile_tree has no -march, so this walks lib/ itself.)"""
    src = os.path.join(ROOT, "lib")
    done = []
    for base, dirs, names in os.walk(src):
        dirs.sort()
        for f in sorted(names):
            rel = os.path.relpath(os.path.join(base, f), src).replace(os.sep, "/")
            if not f.endswith(".py") or rel in TEST_ONLY:
                continue
            mpy = os.path.join(out, "lib", rel[:-3] + ".mpy")
            os.makedirs(os.path.dirname(mpy), exist_ok=True)
            subprocess.run([tool("mpy-cross"), "-march=" + arch, "-o", mpy, os.path.join(base, f)],
                           check=True, capture_output=True, text=True)
            done.append((mpy, "lib/" + rel[:-3] + ".mpy"))
    return done


def plan(files, board_file, example):
    """[(local, remote)] -> the directories to create and the files to copy."""
    files = list(files)
    if board_file:
        files.append((board_file, "board.py"))
    if example:
        files.append((example, "main.py"))
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


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.deploy", description=__doc__.split("\n")[0])
    ap.add_argument("--board", choices=sorted(BOARDS), help="sets --arch and --board-file")
    ap.add_argument("--arch", choices=ARCHES, help="mpy-cross -march (default: from --board)")
    ap.add_argument("--board-file", help="copied as board.py (default: from --board)")
    ap.add_argument("--example", help="a file in examples/ (or a path), copied as main.py")
    ap.add_argument("--port", default="auto", help="mpremote device (default: auto)")
    ap.add_argument("--build", help="build directory (default: build/<arch>)")
    ap.add_argument("--dry-run", action="store_true",
                    help="compile, then list the files and mpremote commands without running them")
    a = ap.parse_args(argv)
    arch = a.arch or (BOARDS[a.board][0] if a.board else None)
    if not arch:
        ap.error("give --board or --arch")
    board_file = a.board_file or (os.path.join(ROOT, "boards", BOARDS[a.board][1]) if a.board else None)
    example = a.example
    if example and not os.path.exists(example):
        example = os.path.join(ROOT, "examples", example)
    for path in (board_file, example):
        if path and not os.path.exists(path):
            ap.error("no such file: %s" % path)
    out = a.build or os.path.join(ROOT, "build", arch)
    print("compiling lib/ for %s into %s" % (arch, os.path.relpath(out, ROOT)))
    dirs, files = plan(build(arch, out), board_file, example)
    cmds = commands(a.port, dirs, files)
    total = sum(os.path.getsize(l) for l, _ in files)
    print("%d files, %d bytes:" % (len(files), total))
    for local, remote in files:
        print("  %-40s -> :%s" % (os.path.relpath(local, ROOT), remote))
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
