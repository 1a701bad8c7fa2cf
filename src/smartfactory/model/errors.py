"""The one exception type for mistakes a user can make, with where and what is allowed."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a user's input: where it is and what is allowed."""

    source: str
    location: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
        if self.location:
            where += f" [{self.location}]"
        return f"{where}: {self.message}"


@dataclass
class UserError(Exception):
    """An error the user caused and can fix; the CLI prints it without a traceback."""

    summary: str
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.summary)

    def __str__(self) -> str:
        if not self.problems:
            return self.summary
        lines = [f"{self.summary} ({len(self.problems)} problem(s)):"]
        lines.extend(f"  - {p}" for p in self.problems)
        return "\n".join(lines)


class PlantFileError(UserError):
    """A plant file that cannot be loaded: every problem in it, listed at once."""


class StoreLockedError(UserError):
    """The telemetry store is already open for writing by another process."""
