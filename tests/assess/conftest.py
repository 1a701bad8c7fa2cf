"""Fixtures of the assessment tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from answers_helpers import mini_library
from smartfactory.assess.framework import Library


@pytest.fixture
def library(tmp_path: Path) -> Library:
    """The mini frameworks of ``answers_helpers`` (and the shipped metrics.toml) in a temporary folder."""
    return mini_library(tmp_path / "frameworks")
