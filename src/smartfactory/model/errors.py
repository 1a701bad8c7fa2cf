"""The errors a user can cause and fix, each class declaring how every front end answers it.

``UserError`` and its subclasses carry what went wrong (``summary``) and where (``problems``);
the class says how it is answered: the HTTP status and problem type of the API's problem
document, its English title (translated where it is shown) and the CLI's exit code. Code that
raises one knows nothing of HTTP; ``web/app.py`` and ``cli/main.py`` read the class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


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
    """An error the user caused and can fix; the CLI prints it without a traceback.

    Without a subclass: a request the app refuses as it stands (a bad request, in HTTP's words).
    """

    # how the front ends answer it (class attributes, not fields: a subclass declares its own);
    # ``title`` is an English message id, translated where it is shown
    status: ClassVar[int] = 400
    problem_type: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Request not allowed"
    exit_code: ClassVar[int] = 1

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


class InvalidInput(UserError):
    """A value the user gave is not allowed: each problem names the field and what it allows."""

    status: ClassVar[int] = 422
    problem_type: ClassVar[str] = "invalid-input"
    title: ClassVar[str] = "Invalid request"


class NotFound(UserError):
    """What the user named does not exist."""

    status: ClassVar[int] = 404
    problem_type: ClassVar[str] = "not-found"
    title: ClassVar[str] = "Not found"


class Conflict(UserError):
    """The request conflicts with what is stored (already done, taken, another plant's)."""

    status: ClassVar[int] = 409
    problem_type: ClassVar[str] = "conflict"
    title: ClassVar[str] = "Conflict"


class PlantFileError(InvalidInput):
    """A plant file that cannot be loaded: every problem in it, listed at once."""

    problem_type: ClassVar[str] = "invalid-plant-file"
    title: ClassVar[str] = "Invalid plant file"


class StoreLockedError(UserError):
    """The store is held by another process (the telemetry file's writer, a busy registry): try later."""

    status: ClassVar[int] = 503
    problem_type: ClassVar[str] = "store-busy"
    title: ClassVar[str] = "The store is busy"
