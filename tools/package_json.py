"""Write package.json for `mpremote mip install github:<owner>/<repo>` from lib/.

Every module under lib/cellmodem is listed except test-only ones. Run it after
adding a module: python -m tools.package_json (a test checks it is current).
"""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# fakeuart: for tests; tlsbio: CPython's TLS adapter, never imported on MicroPython
TEST_ONLY = ("cellmodem/fakeuart.py", "cellmodem/tlsbio.py")
LICENSE = "MIT"  # LICENSE; manifest.py's metadata() names the same (test_packaging checks)


def render():
    from lib.cellmodem import __version__  # noqa: plain attribute, no side effects

    urls = []
    for base, dirs, files in os.walk(os.path.join(ROOT, "lib", "cellmodem")):
        dirs.sort()
        for f in sorted(files):
            rel = os.path.relpath(os.path.join(base, f), os.path.join(ROOT, "lib")).replace(os.sep, "/")
            if f.endswith(".py") and rel not in TEST_ONLY:
                urls.append([rel, "lib/" + rel])  # mip resolves these relative to package.json
    return json.dumps({"urls": urls, "version": __version__, "license": LICENSE},
                      indent=2) + "\n"


if __name__ == "__main__":
    with open(os.path.join(ROOT, "package.json"), "w") as f:
        f.write(render())
