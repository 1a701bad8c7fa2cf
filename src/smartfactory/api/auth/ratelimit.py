"""Failed log-ins per user name and per address in a sliding window, kept in memory."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_KEYS = 100_000  # names and addresses tracked at once; beyond, the oldest are dropped


class LoginLimiter:
    """Refuses log-ins for a name or an address after ``limit`` failures within ``window_s``.

    Only keys with failures inside the window are kept, and at most ``max_keys`` of them, so
    guessing many made-up names cannot grow the server's memory without bound.
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self.clock = clock  # tests pass their own, to move time without sleeping
        # insertion order = order of each key's first failure still in the window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, username: str, address: str | None) -> float:
        """Seconds until a log-in may be tried again (0 when it may be tried now)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in self._keys(username, address):
                times = self._prune(key, now)
                if len(times) >= self.limit:
                    wait = max(wait, times[0] + self.window_s - now)
        return wait

    def failed(self, username: str, address: str | None) -> None:
        """Count a failed log-in against the name and the address."""
        now = self.clock()
        with self._lock:
            for key in self._keys(username, address):
                times = self._prune(key, now)
                times.append(now)
                self._failures[key] = times
            while len(self._failures) > self.max_keys:
                del self._failures[next(iter(self._failures))]

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
        """The key's failures inside the window; a key left with none is forgotten."""
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times
