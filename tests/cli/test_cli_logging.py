"""Logging is configured once, by ``smartfactory``'s -v and -q: -q hides info and progress, -v shows debug."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smartfactory.cli import logs

ROOT = Path(__file__).resolve().parents[2]
PLANT = ROOT / "examples" / "plants" / "discrete_machining.toml"
# a cheap command: an hour of the example plant
SIMULATE = ["simulate", "--plant", str(PLANT), "--days", "0.04", "--seed", "1"]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``smartfactory ARGS`` as a user does; it must succeed."""
    result = subprocess.run(
        [sys.executable, "-m", "smartfactory.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_info_by_default_none_with_q_and_debug_with_v(tmp_path: Path) -> None:
    plain = cli(*SIMULATE, "--store", str(tmp_path / "a"), cwd=tmp_path)
    assert "INFO smartfactory.simulate.run: simulating" in plain.stderr
    assert "DEBUG" not in plain.stderr
    assert "simulating suzhou-housing ━" in plain.stdout  # the progress bar

    quiet = cli("-q", *SIMULATE, "--store", str(tmp_path / "b"), cwd=tmp_path)
    assert "INFO" not in quiet.stderr and "simulating" not in quiet.stderr
    assert "simulating suzhou-housing" not in quiet.stdout  # no progress bar
    assert "newly stored" in quiet.stdout  # the command's own output stays

    verbose = cli("-v", *SIMULATE, "--store", str(tmp_path / "c"), cwd=tmp_path)
    assert "DEBUG smartfactory.simulate.run: simulated" in verbose.stderr


def test_json_output_stays_clean_on_stdout(tmp_path: Path) -> None:
    result = cli("-v", *SIMULATE, "--store", str(tmp_path / "s"), "--json", cwd=tmp_path)
    assert result.stdout.lstrip().startswith("{") and "DEBUG" not in result.stdout


@pytest.fixture
def restore_logging() -> object:
    root = logging.getLogger()
    ours = logging.getLogger("smartfactory")
    saved = (root.level, list(root.handlers), ours.level)
    yield None
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    ours.setLevel(saved[2])
    logs.configure(0, False)
    root.handlers[:] = saved[1]


def test_configuring_again_replaces_the_last_setup(restore_logging: object) -> None:
    logs.configure(1, False)
    logs.configure(0, True)
    root = logging.getLogger()
    assert len([h for h in root.handlers if h.get_name() == "smartfactory-cli"]) == 1
    assert logging.getLogger("smartfactory").getEffectiveLevel() == logging.WARNING
    assert not logs.progress_shown()
    logs.configure(2, False)
    assert root.level == logging.DEBUG and logs.progress_shown()
