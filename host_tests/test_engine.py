"""The engine's behaviour on CPython: every case of scenarios/engine_cases.py.

The same cases run in real MicroPython in test_micropython.py.
"""
import pytest

import engine_cases


@pytest.mark.parametrize("case", engine_cases.CASES)
def test_engine_case_on_cpython(case):
    getattr(engine_cases, case)()
