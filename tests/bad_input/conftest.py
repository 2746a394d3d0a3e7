"""Bad-input suite: shared helpers, and a count of the malformed inputs that were refused.

Every test here feeds one malformed input (to preflight, to a role's argument spec or to a
module) and asserts that the run failed, that the message names the field, and that nothing
changed. The terminal summary reports how many such cases passed: ``bad input: N cases refused``.

Helpers live in bad_input_support.py and tests/platform_helpers.py, never here: every
directory's conftest.py is imported under the one name ``conftest``.
"""

from __future__ import annotations


import pytest

MARKER = "refused"
_refused: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: one malformed input that must be refused before any change")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and MARKER in report.keywords:
        _refused.append(report.nodeid)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _refused:
        terminalreporter.write_sep("-", f"bad input: {len(_refused)} cases refused")
