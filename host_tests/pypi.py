"""Fetch a package's source distribution from PyPI and unpack it, for tests that run
third-party MicroPython code unchanged.

pip refuses micropython-umqtt.simple and micropython-urequests (their sdists have
no setup.py), so the sdist URL comes from the registry's JSON API
(https://pypi.org/pypi/<name>/json, its "releases"). Downloads are cached in
host_tests/.cache (not in git).
Usage: root = sdist("micropython-urequests", "0.9.1")   # the unpacked directory
"""
import hashlib
import json
import os
import tarfile
import urllib.request

CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache")
INDEX = "https://pypi.org/pypi/%s/json"


def sdist(name, version):
    """Path of the unpacked sdist of name==version (downloaded once, sha256 checked)."""
    os.makedirs(CACHE, exist_ok=True)
    root = os.path.join(CACHE, "%s-%s" % (name, version))
    if os.path.isdir(root):
        return root
    with urllib.request.urlopen(INDEX % name, timeout=60) as r:
        meta = json.load(r)
    files = [u for u in meta["releases"].get(version, []) if u["packagetype"] == "sdist"]
    if not files:
        raise RuntimeError("%s %s has no sdist on PyPI" % (name, version))
    url = files[0]["url"]
    with urllib.request.urlopen(url, timeout=120) as r:
        blob = r.read()
    if hashlib.sha256(blob).hexdigest() != files[0]["digests"]["sha256"]:
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
