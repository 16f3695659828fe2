"""The reference checks skip for a user without ../shared/sid-reference, and fail in CI.

A pytest child runs one test that needs the reference files (the real list counts), with
SID_REFERENCE_DIR unset: without SID_REQUIRE_REFERENCE it skips, naming the variable; with
SID_REQUIRE_REFERENCE=1, as .ci/run sets it, it fails with the same reason.
"""

import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
TARGET = "tests/test_data.py::test_counts_of_the_real_lists"


def _run(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("SID_REFERENCE_DIR", "SID_REQUIRE_REFERENCE")}
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", TARGET],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )


@pytest.mark.parametrize("required, outcome", [(None, "6 skipped"), ("1", "6 failed")])
def test_a_missing_reference_skips_for_users_and_fails_in_ci(required, outcome):
    result = _run(**({} if required is None else {"SID_REQUIRE_REFERENCE": required}))
    assert outcome in result.stdout, result.stdout[-3000:]
    assert "SID_REFERENCE_DIR is not set" in result.stdout
    assert result.returncode == (0 if required is None else 1)


def test_ci_requires_the_reference():
    assert "export SID_REQUIRE_REFERENCE=1" in (REPO / ".ci" / "run").read_text()
