"""The store's owner: the one process holding the telemetry file for writing, and where to reach it.

DuckDB allows one writer process per file, and a read-only open fails while a writer holds it.
The process that holds the write lock (``smartfactory serve``, ``ingest``) is the store's owner:
it publishes a loopback endpoint in ``<store>/telemetry.owner.json`` (pid, URL, a bearer token
for that endpoint only) and other processes call the application's use cases through it. The
file is readable by its owner's user only, since the token grants the owner's calls.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

OWNER_FILE = "telemetry.owner.json"
OWNER_PATH = "/_owner/v1"  # where the owner's endpoint lives under its URL (api/routes/owner.py)


@dataclass(frozen=True)
class OwnerInfo:
    """What a store's owner publishes: who it is and how to call it."""

    pid: int
    url: str  # http://127.0.0.1:PORT, the owner endpoint's loopback address
    token: str  # the bearer token the owner endpoint accepts (and nothing else does)
    command: str  # what the owner process is (``smartfactory serve --port 8000``)
    started_at: str  # ISO 8601, UTC

    @property
    def alive(self) -> bool:
        """Whether the owner process still runs."""
        return pid_alive(self.pid)


def owner_path(folder: str | Path) -> Path:
    """The owner file of a store folder."""
    return Path(folder) / OWNER_FILE


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (on this machine)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - os.kill(pid, 0) would terminate it there
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # type: ignore[attr-defined]
        if not handle:
            return False
        ctypes.windll.kernel32.CloseHandle(handle)  # type: ignore[attr-defined]
        return True
    try:
        os.kill(pid, 0)
    except OSError as exc:
        # EPERM: it exists but belongs to someone else
        return exc.errno == errno.EPERM
    return True


def new_token() -> str:
    """A fresh owner token."""
    return secrets.token_urlsafe(32)


def publish_owner(folder: str | Path, url: str, command: str, token: str | None = None) -> OwnerInfo:
    """Write this process's owner file (atomically, mode 0600) and return what it says."""
    info = OwnerInfo(
        pid=os.getpid(),
        url=url.rstrip("/"),
        token=token or new_token(),
        command=command,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    path = owner_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{OWNER_FILE}.{os.getpid()}.tmp")
    # created 0600 from the start, so the token is never readable by others, not even briefly
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(asdict(info), handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return info


def withdraw_owner(folder: str | Path, pid: int | None = None) -> None:
    """Remove the owner file if it is this process's (or ``pid``'s); another owner's file stays."""
    path = owner_path(folder)
    found = _load(path)
    if found is not None and found.pid != (pid if pid is not None else os.getpid()):
        return
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def read_owner(folder: str | Path) -> OwnerInfo | None:
    """The store's live owner, or None; a file left by a process that died is removed."""
    path = owner_path(folder)
    found = _load(path)
    if found is None:
        return None
    if found.alive:
        return found
    # stale: remove it only if it is still the same file (a new owner may have replaced it meanwhile)
    if _load(path) == found:
        with contextlib.suppress(OSError):
            path.unlink()
    return None


def _load(path: Path) -> OwnerInfo | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return OwnerInfo(
            pid=int(data["pid"]),
            url=str(data["url"]),
            token=str(data["token"]),
            command=str(data.get("command", "")),
            started_at=str(data.get("started_at", "")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        # missing, unreadable or half-written by hand: no owner to call
        return None
