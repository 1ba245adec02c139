"""The packages a board installs by need, read from packages/*/manifest.py, and the
package.json files `mpremote mip install` reads, written from them.

Each directory of packages/ is one package in micropython-lib's manifest format
(metadata(), require() of the packages it needs, package("cellmodem", files=...) of
its files in lib/): the core `cellmodem`, one per family, one per feature, and
`cellmodem-host` (serial ports, the REPL passthrough, the fake UART: never on a board
unless asked). They share the `cellmodem` namespace, as micropython-lib's lora
packages share `lora`.

mip resolves a dependency only by name in an index or by an absolute URL, not relative
to the package.json that names it, so each packages/<name>/package.json lists the files
of its package and of every package it requires (its "urls", relative to itself) and
installs alone from a checkout, a web server or GitHub. The root package.json lists
every package but cellmodem-host. Run it after changing a manifest or adding a module:
python -m tools.package_json (a test checks the files are current).
"""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES_DIR = os.path.join(ROOT, "packages")
CORE = "cellmodem"
HOST = "cellmodem-host"  # host-only tools: no board gets them unless asked
# CPython-only modules MicroPython never imports, so no package has them: CPython's TLS
# adapter (ssl.MemoryBIO) and compat's CPython shims
NOT_PACKAGED = ("cellmodem/tlsbio.py", "cellmodem/_cpython.py")
LICENSE = "MIT"  # LICENSE; every manifest's metadata() names the same (test_packaging checks)

# Imports inside a function that reach a package the importing one does not require: each
# runs only for a feature whose package the application installs to use it (test_packaging
# checks every other import is required; tools.deploy names those not chosen).
OPTIONAL = {
    ("cellmodem-aio", "cellmodem/datamode.py"): "AsyncDataSocket: data mode's async face",
    ("cellmodem-aio", "cellmodem/mqtt.py"): "AsyncMQTTClient: MQTT's async face",
    ("cellmodem-aio", "cellmodem/requests.py"): "arequest: HTTP's async face",
    ("cellmodem-aio", "cellmodem/tls.py"): "an AsyncSocket wrapped in TLS (ssl=)",
    ("cellmodem-gnss", "cellmodem/aio.py"): "gnss.afix: GNSS's async face",
    ("cellmodem-mqtt", "cellmodem/tls.py"): "MQTTClient(ssl=...): a context made with cellmodem.tls",
    ("cellmodem-requests", "cellmodem/tls.py"): "https:// addresses",
    ("cellmodem-sim7080", "cellmodem/tls.py"): "module TLS certificates given as PEM or files",
    ("cellmodem-yuge", "cellmodem/tls.py"): "module TLS certificates given as PEM or files",
    ("cellmodem-quectel", "cellmodem/tls.py"): "module TLS certificates given as PEM or files",
    ("cellmodem-sim7600", "cellmodem/tls.py"): "module TLS certificates given as PEM or files",
    ("cellmodem-httpbase", "cellmodem/tls.py"): "_httprare: a redirect to an https:// address",
}
# The same, reached only from the imported package itself (or CPython): nothing to choose
INTERNAL = {
    ("cellmodem-tls", "cellmodem/tlsbio.py"): "CPython only (ssl.MemoryBIO); MicroPython's ssl "
                                               "wraps the socket itself",
    ("cellmodem", "cellmodem/_cpython.py"): "CPython only: compat's const, ticks and Store; "
                                            "MicroPython has them built in",
    ("cellmodem-httpbase", "cellmodem/requests.py"): "_httprare's async request and redirects: "
                                                     "called by cellmodem.requests only",
    ("cellmodem-mqttbase", "cellmodem/mqtt.py"): "_mqttrare's reconnect and friends: called by "
                                                 "cellmodem.mqtt only",
}


def optional_missing(chosen, pkgs=None):
    """[(package, module file, why)] of OPTIONAL that chosen (package names, with what
    they require) would import only when asked to, and does not have."""
    have = set(files(chosen, pkgs))
    return [(n, f, why) for (n, f), why in sorted(OPTIONAL.items())
            if n in chosen and f not in have]


def read_manifest(path):
    """The parts of a manifest.py that matter here: {"metadata": {...}, "requires": [...],
    "files": ["cellmodem/...py"]}. Runs it with micropython's manifest functions stood
    in for (metadata, require, package, add_library), as the freezing tool would."""
    out = {"metadata": {}, "requires": [], "files": [], "libraries": {}}

    def metadata(**kw):
        out["metadata"].update(kw)

    def require(name, library=None, **kw):
        out["requires"].append(name)

    def add_library(name, path, prepend=False):
        out["libraries"][name] = path

    def package(package_path, files=None, base_path=".", opt=None):
        base = os.path.normpath(os.path.join(os.path.dirname(path), base_path))
        if files is None:
            raise ValueError("%s: name the files of package(%r)" % (path, package_path))
        for f in files:
            rel = package_path + "/" + f
            if not os.path.isfile(os.path.join(base, rel)):
                raise ValueError("%s: no file %s in %s" % (path, rel, base))
            out["files"].append(rel)

    with open(path) as f:
        exec(f.read(), {"metadata": metadata, "require": require, "package": package,
                        "add_library": add_library})
    return out


def packages():
    """{name: read_manifest(packages/<name>/manifest.py)}, the core first."""
    names = sorted(d for d in os.listdir(PACKAGES_DIR)
                   if os.path.isfile(os.path.join(PACKAGES_DIR, d, "manifest.py")))
    names.remove(CORE)
    return {n: read_manifest(os.path.join(PACKAGES_DIR, n, "manifest.py"))
            for n in [CORE] + names}


def closure(names, pkgs=None):
    """names and every package they require, each after what it requires."""
    pkgs = pkgs or packages()
    done = []

    def visit(n, path):
        if n not in pkgs:
            raise ValueError("no package %s (known: %s)" % (n, ", ".join(pkgs)))
        if n in path:
            raise ValueError("packages require each other: %s" % " -> ".join(path + (n,)))
        if n not in done:
            for r in pkgs[n]["requires"]:
                visit(r, path + (n,))
            done.append(n)

    for n in names:
        visit(n, ())
    return done


def files(names, pkgs=None):
    """The files (cellmodem/...py) of names and what they require, in install order:
    top-level modules first, then each subpackage, each sorted."""
    pkgs = pkgs or packages()
    found = {f for n in closure(names, pkgs) for f in pkgs[n]["files"]}
    return sorted(found, key=lambda f: (f.count("/"), f))


def board_packages(pkgs=None):
    """Every package but the host tools: what the root manifest and package.json hold."""
    return [n for n in (pkgs or packages()) if n != HOST]


def _json(urls):
    from lib.cellmodem import __version__  # noqa: plain attribute, no side effects
    return json.dumps({"urls": urls, "version": __version__, "license": LICENSE},
                      indent=2) + "\n"


def render(pkgs=None):
    """The root package.json: every package a board can use (mip resolves the urls
    relative to this file)."""
    return _json([[f, "lib/" + f] for f in files(board_packages(pkgs), pkgs)])


def render_package(name, pkgs=None):
    """packages/<name>/package.json: its files and those of what it requires."""
    return _json([[f, "../../lib/" + f] for f in files([name], pkgs)])


def outputs():
    """{path: text} of every package.json this writes."""
    pkgs = packages()
    out = {os.path.join(ROOT, "package.json"): render(pkgs)}
    for name in pkgs:
        out[os.path.join(PACKAGES_DIR, name, "package.json")] = render_package(name, pkgs)
    return out


if __name__ == "__main__":
    for path, text in outputs().items():
        with open(path, "w") as f:
            f.write(text)
