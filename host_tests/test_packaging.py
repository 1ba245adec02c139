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
