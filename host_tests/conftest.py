"""pytest set-up: lib/ and the repository root on sys.path, shared fixtures."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for p in (os.path.join(ROOT, "lib"), ROOT, os.path.join(ROOT, "host_tests", "scenarios")):
    if p not in sys.path:
        sys.path.insert(0, p)

pytest_plugins = ["simfixtures", "tlsfixtures"]

import pytest  # noqa: E402

from tools import families  # noqa: E402


@pytest.fixture(params=families.NAMES)
def family(request):
    """A family name from the registry (tools/families.py): a test that takes `family`
    runs once for each (its facts: families.get(family), its dialect class:
    families.dialect(family)). A test for some families only parametrizes it itself:
    @pytest.mark.parametrize("family", families.names(push=True))."""
    return request.param
