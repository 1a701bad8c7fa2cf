"""Failed log-ins per user name and per address in a sliding window, kept in memory."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class LoginLimiter:
    """Refuses log-ins for a name or an address after ``limit`` failures within ``window_s``."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def retry_after(self, username: str, address: str | None) -> float:
        """Seconds until a log-in may be tried again (0 when it may be tried now)."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in self._keys(username, address):
                times = self._prune(key, now)
                if len(times) >= self.limit:
                    wait = max(wait, times[0] + self.window_s - now)
        return wait

    def failed(self, username: str, address: str | None) -> None:
        """Count a failed log-in against the name and the address."""
        now = time.monotonic()
        with self._lock:
            for key in self._keys(username, address):
                self._prune(key, now).append(now)

    def succeeded(self, username: str) -> None:
        """Forget the name's failures (the address's stay: one address guessing many names)."""
        with self._lock:
            self._failures.pop(f"user:{username.lower()}", None)

    def _keys(self, username: str, address: str | None) -> list[str]:
        keys = [f"user:{username.lower()}"]
        if address:
            keys.append(f"addr:{address}")
        return keys

    def _prune(self, key: str, now: float) -> deque[float]:
        times = self._failures[key]
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times
