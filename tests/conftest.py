"""Shared test setup: tests import helper modules (plants, services) from this folder."""

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
# some test modules still import shared pieces from test modules in other folders
for folder in sorted(p for p in HERE.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
    sys.path.append(str(folder))
