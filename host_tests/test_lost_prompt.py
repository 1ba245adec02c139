"""A pushed payload cut short must not eat the next command's prompt or reply: every
case of scenarios/lost_prompt.py on CPython and in the real micropython binary."""
import pytest

import lost_prompt
from mpy import run_cases


@pytest.mark.parametrize("case", lost_prompt.CASES)
def test_lost_prompt_case_on_cpython(case):
    getattr(lost_prompt, case)()


@pytest.fixture(scope="module")
def on_micropython():
    return run_cases("lost_prompt")


@pytest.mark.parametrize("case", lost_prompt.CASES)
def test_lost_prompt_case_on_micropython(on_micropython, case):
    assert on_micropython.get(case) == "PASS", on_micropython.get(case)
