"""Errors as RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

PROBLEM_JSON = "application/problem+json"


class FieldProblem(BaseModel):
    """One field that was rejected, and what it allows."""

    field: str = Field(description="where: a dotted path of the request (query.start, body.answers.X)")
    message: str = Field(description="what is wrong and what is allowed, in the user's language")


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, with the rejected fields when the request was invalid."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)


class ApiProblem(Exception):
    """Raised by routes and services' callers to answer with a problem document."""

    def __init__(
        self, status: int, title: str, detail: str | None = None, errors: list[FieldProblem] | None = None
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []

    def document(self, instance: str | None = None) -> dict[str, Any]:
        """The JSON body."""
        return ProblemDetails(
            title=self.title, status=self.status, detail=self.detail, instance=instance, errors=self.errors
        ).model_dump(exclude_none=True)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries declaring problem documents for these statuses."""
    return {
        status: {
            "model": ProblemDetails,
            "content": {PROBLEM_JSON: {}},
            "description": _DESCRIPTIONS.get(status, "problem"),
        }
        for status in statuses
    }


_DESCRIPTIONS = {
    400: "the request is not allowed (problem details)",
    401: "not signed in (problem details)",
    403: "the role does not allow this (problem details)",
    404: "no such thing (problem details)",
    409: "conflicts with what is stored (problem details)",
    422: "a field is invalid (problem details with the fields)",
    429: "too many attempts (problem details)",
    503: "the store is busy or unavailable (problem details)",
}
