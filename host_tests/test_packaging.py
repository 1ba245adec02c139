"""The package files a user installs from are in step with lib/: the root manifest and
package.json (everything a board can use) and the packages a board installs by need
(packages/*/manifest.py and package.json)."""
import os

import pytest

from tools import package_json

ROOT = package_json.ROOT


def test_package_json_lists_every_library_module():
    with open(os.path.join(ROOT, "package.json")) as f:
        assert f.read() == package_json.render(), "run: python -m tools.package_json"


def test_ci_runs_exactly_the_readme_test_command():
    with open(os.path.join(ROOT, ".ci", "run")) as f:
        last = [l for l in f.read().splitlines() if l.strip() and not l.startswith(("#", "set ", "cd "))][-1]
    with open(os.path.join(ROOT, "README.md")) as f:
        assert last in f.read()
    assert last == "make test"


def test_package_json_and_manifest_name_the_license_of_the_license_file():
    import json
    import re
    with open(os.path.join(ROOT, "package.json")) as f:
        pkg = json.load(f)
    with open(os.path.join(ROOT, "manifest.py")) as f:
        manifest = f.read()
    with open(os.path.join(ROOT, "LICENSE")) as f:
        assert f.readline().strip() == "MIT License"
    m = re.search(r'metadata\([^)]*license="([^"]+)"', manifest)
    assert m and m.group(1) == pkg["license"] == package_json.LICENSE == "MIT"


def test_the_root_package_json_lists_every_module_but_the_host_tools():
    import json
    with open(os.path.join(ROOT, "package.json")) as f:
        listed = {dest for dest, _ in json.load(f)["urls"]}
    lib = os.path.join(ROOT, "lib")
    on_disk = {os.path.relpath(os.path.join(base, f), lib).replace(os.sep, "/")
               for base, _, files in os.walk(os.path.join(lib, "cellmodem"))
               for f in files if f.endswith(".py")}
    host = set(package_json.packages()[package_json.HOST]["files"])
    assert listed == on_disk - host - set(package_json.NOT_PACKAGED)
    assert "cellmodem/_names.py" in listed  # what `from cellmodem import Modem` loads
    assert "cellmodem/ports.py" in host and "cellmodem/ports.py" not in listed


class StandInBoard:
    """What mpremote's mip needs of a board (its transport): files kept in a dict."""

    def __init__(self):
        self.files = {}

    def fs_exists(self, path):
        return path in self.files or any(f.startswith(path + "/") for f in self.files)

    def fs_mkdir(self, path):
        pass

    def fs_writefile(self, path, data, progress_callback=None):
        self.files[path] = data


def mip_install(package):
    """mpremote's own `mip install package` onto a stand-in board; {path: bytes}."""
    from mpremote import mip
    board = StandInBoard()
    mip._install_package(board, package, "https://micropython.org/pi/v2", "/lib", None, False)
    return board.files


EVERYTHING = "import cellmodem.socket, cellmodem.mqtt, cellmodem.requests, cellmodem.aio"


def installed_imports(files, tmp_path, imports=EVERYTHING):
    """Write the installed /lib into tmp_path and import the library from it in the real
    micropython binary; its output."""
    from mpy import run_micropython
    for path, data in files.items():
        dest = tmp_path / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    p = run_micropython(["-c", "from cellmodem import Modem; %s; print('ok', Modem)" % imports],
                        path=[str(tmp_path / "lib")])
    return p.stdout + p.stderr


def expected_files():
    import json
    with open(os.path.join(ROOT, "package.json")) as f:
        return {"/lib/" + dest: open(os.path.join(ROOT, src), "rb").read()
                for dest, src in json.load(f)["urls"]}


def test_mip_install_from_the_checkout_puts_every_module_on_the_board(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)  # README: run from the repository's root
    files = mip_install("package.json")
    assert files == expected_files()
    assert installed_imports(files, tmp_path).startswith("ok <class 'Modem'>")


def mip_install_from_a_web_server(path):
    """mip_install of http://<a local server of the checkout>/path."""
    import functools
    import http.server
    import threading
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                          functools.partial(Quiet, directory=ROOT))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        return mip_install("http://127.0.0.1:%d/%s" % (srv.server_address[1], path))
    finally:
        srv.shutdown()
        srv.server_close()


def test_mip_install_from_a_web_address_puts_every_module_on_the_board(tmp_path):
    files = mip_install_from_a_web_server("package.json")
    assert files == expected_files()
    assert installed_imports(files, tmp_path).startswith("ok <class 'Modem'>")


# -- the packages a board installs by need (packages/*/manifest.py) --

PKGS = package_json.packages()


def test_every_package_json_is_written_from_the_manifests():
    for path, text in package_json.outputs().items():
        with open(path) as f:
            assert f.read() == text, "run: python -m tools.package_json (%s)" % path


def test_every_library_module_is_in_exactly_one_package():
    owner = {}
    for name, pkg in PKGS.items():
        for f in pkg["files"]:
            assert f not in owner, "%s is in %s and %s" % (f, owner[f], name)
            owner[f] = name
    lib = os.path.join(ROOT, "lib")
    on_disk = {os.path.relpath(os.path.join(base, f), lib).replace(os.sep, "/")
               for base, _, files in os.walk(os.path.join(lib, "cellmodem"))
               for f in files if f.endswith(".py")}
    missing = on_disk - set(package_json.NOT_PACKAGED) - set(owner)
    assert not missing, "add each to the manifest.py of its package in packages/: %s" % missing
    assert set(owner) == on_disk - set(package_json.NOT_PACKAGED)
    assert owner["cellmodem/ports.py"] == owner["cellmodem/fakeuart.py"] == \
        owner["cellmodem/passthrough.py"] == package_json.HOST


def test_every_package_shares_the_cellmodem_namespace_and_names_its_version_and_license():
    from lib.cellmodem import __version__
    for name, pkg in PKGS.items():
        assert name == "cellmodem" or name.startswith("cellmodem-")
        assert all(f.startswith("cellmodem/") for f in pkg["files"]), name
        assert pkg["metadata"]["version"] == __version__, name
        assert pkg["metadata"]["license"] == package_json.LICENSE, name
        assert pkg["metadata"]["description"], name


def test_the_root_manifest_requires_every_package_but_the_host_tools():
    root = package_json.read_manifest(os.path.join(ROOT, "manifest.py"))
    assert root["libraries"] == {"cellmodem": "packages"}
    assert sorted(package_json.closure(root["requires"])) == sorted(package_json.board_packages())
    assert package_json.HOST not in root["requires"]


def test_a_package_json_lists_its_package_and_everything_it_requires():
    import json
    with open(os.path.join(ROOT, "packages", "cellmodem-mqtt", "package.json")) as f:
        urls = json.load(f)["urls"]
    listed = [dest for dest, _ in urls]
    assert listed == package_json.files(["cellmodem", "cellmodem-mqttbase", "cellmodem-mqtt"])
    assert "cellmodem/mqtt.py" in listed and "cellmodem/engine.py" in listed
    assert "cellmodem/requests.py" not in listed and "cellmodem/dialects/sim7080.py" not in listed
    for dest, src in urls:  # relative to the package.json: mip resolves them so
        assert src == "../../lib/" + dest


def _imports(path):
    """(top-level imports, imports inside functions) of a file: module names."""
    import ast
    with open(path) as f:
        tree = ast.parse(f.read())
    found = ([], [])

    def visit(node, lazy):
        for ch in ast.iter_child_nodes(node):
            inner = lazy or isinstance(ch, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(ch, ast.Import):
                found[inner].extend(a.name for a in ch.names)
            elif isinstance(ch, ast.ImportFrom) and ch.module and not ch.level:
                found[inner].append(ch.module)
                found[inner].extend(ch.module + "." + a.name for a in ch.names)
            visit(ch, inner)

    visit(tree, False)
    return found


def _module_of(name):
    """The library file a dotted name is (cellmodem/x.py or cellmodem/x/__init__.py), or None."""
    base = os.path.join(ROOT, "lib", *name.split("."))
    for path, rel in ((base + ".py", name.replace(".", "/") + ".py"),
                      (os.path.join(base, "__init__.py"), name.replace(".", "/") + "/__init__.py")):
        if os.path.isfile(path):
            return rel
    return None


def test_every_import_inside_a_function_is_in_the_package_s_requirements_or_an_optional_feature():
    unexplained = []
    explained = {**package_json.OPTIONAL, **package_json.INTERNAL}
    for name, pkg in PKGS.items():
        have = set(package_json.files([name]))
        for f in pkg["files"]:
            for imp in _imports(os.path.join(ROOT, "lib", f))[1]:
                target = _module_of(imp) if imp.startswith("cellmodem") else None
                if target and target not in have and (name, target) not in explained:
                    unexplained.append("%s: %s imports %s (%s)" % (name, f, imp, target))
    assert not unexplained, "\n".join(unexplained)
    for (name, target) in explained:  # each entry is still needed
        assert target not in package_json.files([name]), (name, target)


def _modules(pkg):
    return [f[:-3].replace("/", ".").replace(".__init__", "") for f in pkg["files"]]


def _import_with_only(files, modules, tmp_path):
    """Import modules in the real micropython binary with only files (cellmodem/...py)
    on its path (and the binary's frozen modules); its output."""
    from mpy import run_micropython
    import shutil
    lib = tmp_path / "lib"
    shutil.rmtree(lib, ignore_errors=True)
    for f in files:
        (lib / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(ROOT, "lib", f), lib / f)
    code = ("import sys\nfor m in %r:\n    try:\n        __import__(m)\n"
            "    except ImportError as e:\n        print('FAIL', m, e)\nprint('done')" % (modules,))
    p = run_micropython(["-c", code], path=[str(lib)])
    return p.stdout + p.stderr


BOARD_SIDE = [n for n in PKGS if n != package_json.HOST]


@pytest.mark.parametrize("name", list(PKGS))
def test_each_package_imports_in_micropython_with_only_the_packages_it_requires(name, tmp_path):
    out = _import_with_only(package_json.files([name]), _modules(PKGS[name]), tmp_path)
    assert out.strip() == "done", out


# Requirements no import at load time shows: MicroPython imports cellmodem.native.yuge_fs
# without native/__init__.py (a directory is a namespace package there).
AT_RUN_TIME = {
    ("cellmodem-yuge-services", "cellmodem-yuge"): "the services talk to a Yuge module, whose "
    "dialect Modem loads, and yuge_http/yuge_mqtt import native.yuge_tls for ssl=",
}


@pytest.mark.parametrize("name", [n for n in PKGS if PKGS[n]["requires"]])
def test_each_package_needs_every_package_it_requires(name, tmp_path):
    for dropped in PKGS[name]["requires"]:
        others = [r for r in PKGS[name]["requires"] if r != dropped]
        kept = set(package_json.files(others)) if others else set()
        gone = [f for f in package_json.files([dropped]) if f not in kept]
        files = [f for f in package_json.files([name]) if f not in gone]
        out = _import_with_only(files, _modules(PKGS[name]), tmp_path)
        if (name, dropped) in AT_RUN_TIME:
            assert out.strip() == "done", out
        else:
            assert "FAIL" in out, "%s imports without %s:\n%s" % (name, dropped, out)


def test_mip_install_of_a_family_and_a_feature_puts_only_their_files_on_the_board(monkeypatch,
                                                                                   tmp_path):
    monkeypatch.chdir(ROOT)
    files = mip_install("packages/cellmodem-sim7080/package.json")
    files.update(mip_install("packages/cellmodem-mqtt/package.json"))
    want = package_json.files(["cellmodem-sim7080", "cellmodem-mqtt"])
    assert sorted(files) == sorted("/lib/" + f for f in want)
    for path, data in files.items():
        with open(os.path.join(ROOT, "lib", path[5:]), "rb") as f:
            assert data == f.read(), path
    for absent in ("requests.py", "aio.py", "ports.py", "fakeuart.py", "dialects/yuge.py"):
        assert "/lib/cellmodem/" + absent not in files
    out = installed_imports(files, tmp_path, "import cellmodem.dialects.sim7080, cellmodem.mqtt")
    assert out.startswith("ok <class 'Modem'>"), out


def test_mip_install_of_one_package_from_a_web_address_fetches_the_files_it_lists(tmp_path):
    # its urls climb out of packages/<name>/ (../../lib/...): the server resolves them
    files = mip_install_from_a_web_server("packages/cellmodem-requests/package.json")
    assert sorted(files) == sorted("/lib/" + f for f in package_json.files(["cellmodem-requests"]))
    out = installed_imports(files, tmp_path, "import cellmodem.requests")
    assert out.startswith("ok <class 'Modem'>"), out
