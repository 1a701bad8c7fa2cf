"""The use cases' rejections of a request field, as the errors of ``smartfactory.model.errors``.

Each error class declares how it is answered (HTTP status, problem type, title, exit code), and
``web/app.py`` and ``cli/main.py`` read that in one place; a use case only picks the class.
"""

from __future__ import annotations

from smartfactory.model.errors import Conflict, InvalidInput, NotFound, Problem

REQUEST = "request"  # the source of a problem in what a request sent; its location is query.X, body.X


def field_problem(field: str, message: str) -> Problem:
    """A problem of one field of a request, named by where it is (``query.start``, ``body.username``)."""
    return Problem(REQUEST, field, message)


def invalid(field: str, message: str) -> InvalidInput:
    """A rejection of one field, the message also the summary."""
    return InvalidInput(message, [field_problem(field, message)])


def not_found(field: str, message: str) -> NotFound:
    """Nothing is at what one field names, the message also the summary."""
    return NotFound(message, [field_problem(field, message)])


def conflict(field: str, message: str) -> Conflict:
    """What one field names conflicts with what is stored, the message also the summary."""
    return Conflict(message, [field_problem(field, message)])
