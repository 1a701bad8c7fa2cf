"""A store's owner for tests: ``smartfactory serve`` in a subprocess, up once its owner file is.

from owners import serving

with serving(store, cwd=tmp_path) as server:
    server.owner.url, server.port, server.process.pid
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from smartfactory.store.owner import OwnerInfo, read_owner

START_S = 60.0


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    """A running ``smartfactory serve``: its process, port and what it published."""

    process: subprocess.Popen[str]
    port: int
    owner: OwnerInfo

    @property
    def url(self) -> str:
        """Where it serves the API and the pages."""
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def serving(store: Path, cwd: Path, *args: str) -> Iterator[Server]:
    """``smartfactory serve --store STORE ARGS`` until the block ends (then Ctrl-C, as a user stops it)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smartfactory.cli.main",
            "serve",
            "--store",
            str(store),
            "--port",
            str(port),
            *args,
        ],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        deadline = time.monotonic() + START_S
        owner = read_owner(store)
        while owner is None or owner.pid != process.pid:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output = process.communicate()[0]
                raise AssertionError(f"serve published no owner file (exit {process.returncode}):\n{output}")
            time.sleep(0.05)
            owner = read_owner(store)
        yield Server(process, port, owner)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
