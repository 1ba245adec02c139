"""pytest set-up: lib/ and the repository root on sys.path, shared fixtures."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for p in (os.path.join(ROOT, "lib"), ROOT, os.path.join(ROOT, "host_tests", "scenarios")):
    if p not in sys.path:
        sys.path.insert(0, p)

pytest_plugins = ["simfixtures", "tlsfixtures"]
