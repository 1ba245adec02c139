"""Fetch a package's source distribution from the package index pip uses and unpack
it, for tests that run third-party MicroPython code unchanged.

pip refuses micropython-umqtt.simple and micropython-urequests (their sdists have
no setup.py), so the sdist's address comes from the index's simple API (PEP 503:
a page per project whose links carry #sha256=). Which index: the one pip is
configured with (PIP_INDEX_URL, pip.conf: `pip config list`), then the extra
indexes, then pip's own default - nothing here names a registry host. Downloads are
cached in host_tests/.cache (not in git).
Usage: root = sdist("micropython-urequests", "0.9.1")   # the unpacked directory
"""
import hashlib
import os
import re
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request

CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache")


def pip_indexes():
    """Index URLs in the order pip consults them: index-url (configured, or pip's
    default), then each extra-index-url."""
    p = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True,
                       text=True, check=True)
    conf = {}
    for line in p.stdout.splitlines():  # "global.index-url='...'", ":env:.index-url='...'"
        key, _, value = line.partition("=")
        section, _, name = key.rpartition(".")
        # pip's precedence: the environment, then a command's section, then [global]
        rank = {":env:": 3, "download": 2, "install": 2, "global": 1}.get(section, 0)
        if rank >= conf.get(name, (0, None))[0]:
            conf[name] = (rank, value.strip().strip("'\""))
    conf = {k: v for k, (_, v) in conf.items()}
    main = conf.get("index-url")
    if not main:
        from pip._internal.models.index import PyPI  # pip's default index
        main = PyPI.simple_url
    extra = conf.get("extra-index-url", "").split()
    return [main] + extra


def _find(name, version):
    """(url, sha256) of name==version's sdist on the first index that has it."""
    project = re.sub(r"[-_.]+", "-", name).lower()  # PEP 503 normalized name
    wanted = re.compile(r"%s-%s\.(tar\.gz|zip)$" % (re.escape(project).replace(r"\-", "[-_.]"),
                                                   re.escape(version)), re.I)
    tried = []
    for index in pip_indexes():
        page = index.rstrip("/") + "/" + project + "/"
        if page.startswith("file:"):  # a local mirror: a directory per project, as pip reads it
            page += "index.html"
        try:
            with urllib.request.urlopen(page, timeout=60) as r:
                html = r.read().decode("utf-8", "replace")
        except OSError as e:
            tried.append("%s (%s)" % (page, e))
            continue
        for href in re.findall(r'href="([^"]+)"', html):
            url, _, frag = urllib.parse.urljoin(page, href.replace("&amp;", "&")).partition("#")
            fname = urllib.parse.unquote(url.rsplit("/", 1)[-1])
            if wanted.match(fname) and frag.startswith("sha256="):
                return url, frag[7:]
        tried.append(page + " (no sdist of %s)" % version)
    raise RuntimeError("%s %s: no sdist on pip's indexes: %s" % (name, version, "; ".join(tried)))


def sdist(name, version):
    """Path of the unpacked sdist of name==version (downloaded once, sha256 checked)."""
    os.makedirs(CACHE, exist_ok=True)
    root = os.path.join(CACHE, "%s-%s" % (name, version))
    if os.path.isdir(root):
        return root
    url, digest = _find(name, version)
    with urllib.request.urlopen(url, timeout=120) as r:
        blob = r.read()
    if hashlib.sha256(blob).hexdigest() != digest:
        raise RuntimeError("sha256 mismatch for %s" % url)
    tmp = root + ".part"
    archive = tmp + ".tar.gz"
    with open(archive, "wb") as f:
        f.write(blob)
    with tarfile.open(archive) as t:
        top = t.getnames()[0].split("/")[0]
        t.extractall(tmp, filter="data")
    os.rename(os.path.join(tmp, top), root)
    os.rmdir(tmp)
    os.remove(archive)
    return root
