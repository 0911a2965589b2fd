"""`sqlgate bench` without the bench extra: one line naming it, no traceback."""

from __future__ import annotations

import subprocess
import sys

from bench.extra import EXTRA_MODULES, missing

# A module set to None in sys.modules cannot be imported (ModuleNotFoundError) and find_spec
# reports it absent: the interpreter behaves as if the package were not installed.
SIMULATE = """
import sys
sys.modules[{name!r}] = None
from sqlgate.cli import main
sys.exit(main(["bench", "concurrency", "--no-progress"]))
"""


def test_the_dev_install_has_the_extra() -> None:
    assert missing() == []


def test_missing_extra_module_says_which_extra_in_one_line() -> None:
    for name in EXTRA_MODULES:
        proc = subprocess.run(
            [sys.executable, "-c", SIMULATE.format(name=name)],
            capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 1
        assert proc.stdout == ""
        lines = proc.stderr.strip().splitlines()
        assert lines == [
            f"sqlgate bench needs the bench extra: pip install 'sqlgate[bench]' (missing: {name})"
        ]
