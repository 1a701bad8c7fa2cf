"""A base for what holds a database open: a ``with`` block closes it."""

from __future__ import annotations

from typing import Self


class Closing:
    """Closed at the end of a ``with`` block; a subclass says in ``close`` what it releases."""

    def close(self) -> None:
        """Release what is held; the object cannot be used afterwards."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        """The object itself, closed when the block ends."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close, whether or not the block raised (an exception goes on)."""
        self.close()
