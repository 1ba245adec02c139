"""The package files a user installs from are in step with lib/."""
import os

from tools import package_json

ROOT = package_json.ROOT


def test_package_json_lists_every_library_module():
    with open(os.path.join(ROOT, "package.json")) as f:
        assert f.read() == package_json.render(), "run: python -m tools.package_json"


def test_manifest_freezes_the_library_package():
    with open(os.path.join(ROOT, "manifest.py")) as f:
        text = f.read()
    assert 'package("cellmodem", base_path="lib"' in text


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


def test_every_library_module_but_the_test_only_ones_is_in_package_json():
    import json
    with open(os.path.join(ROOT, "package.json")) as f:
        listed = {dest for dest, _ in json.load(f)["urls"]}
    lib = os.path.join(ROOT, "lib")
    on_disk = {os.path.relpath(os.path.join(base, f), lib).replace(os.sep, "/")
               for base, _, files in os.walk(os.path.join(lib, "cellmodem"))
               for f in files if f.endswith(".py")}
    assert listed == on_disk - set(package_json.TEST_ONLY)
    assert "cellmodem/_names.py" in listed  # what `from cellmodem import Modem` loads


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


def installed_imports(files, tmp_path):
    """Write the installed /lib into tmp_path and import the library from it in the real
    micropython binary; its output."""
    from mpy import run_micropython
    for path, data in files.items():
        dest = tmp_path / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    p = run_micropython(["-c", "from cellmodem import Modem; import cellmodem.socket, "
                         "cellmodem.mqtt, cellmodem.requests, cellmodem.aio; print('ok', Modem)"],
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


def test_mip_install_from_a_web_address_puts_every_module_on_the_board(tmp_path):
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
        files = mip_install("http://127.0.0.1:%d/package.json" % srv.server_address[1])
    finally:
        srv.shutdown()
        srv.server_close()
    assert files == expected_files()
    assert installed_imports(files, tmp_path).startswith("ok <class 'Modem'>")
