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
