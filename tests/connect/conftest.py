"""Fixtures of the connector tests: a private Mosquitto and an OPC UA server in a child process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mqtt_broker import PrivateBroker, private_mosquitto
from opcua_servers import TwinProcess


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    """A running private Mosquitto (stopped at the end); the test may stop and start it."""
    with private_mosquitto(tmp_path / "mosquitto") as broker:
        yield broker


@pytest.fixture
def twin_process() -> Iterator[TwinProcess]:
    """A child-process twin server, killed after the test."""
    twin = TwinProcess()
    try:
        yield twin.start()
    finally:
        twin.kill()
