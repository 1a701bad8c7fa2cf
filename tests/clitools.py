"""Running the ``smartfactory`` command as a user runs it: in a subprocess, judged by its exit code and output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLANT = ROOT / "examples" / "plants" / "discrete_machining.toml"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``smartfactory ARGS`` in ``cwd`` (so a default store never lands in the repository)."""
    return subprocess.run(
        [sys.executable, "-m", "smartfactory.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        timeout=300,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """The result, after checking that the command exited 0."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """Exit 1 with exactly one line on stderr, ``error: ...``, and no traceback."""
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]
