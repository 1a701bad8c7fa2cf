"""Errors as RFC 9457 problem details (application/problem+json).

A ``UserError`` declares its status, problem type and title (``smartfactory.model.errors``);
``ApiProblem.of`` renders it, its ``problems`` as ``errors[]``. ``ApiProblem`` itself is left
for what only HTTP knows: sign-in, roles, a body too large or of the wrong media type.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from smartfactory.app.i18n import gettext as _
from smartfactory.model.errors import Problem, UserError

__all__ = [
    "PROBLEM_JSON",
    "PROBLEM_TYPES",
    "ApiProblem",
    "FieldProblem",
    "ProblemDetails",
    "field_problem",
    "problems_in_schema",
    "responses",
    "type_uri",
]

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPES = "/problems/"  # a problem type's URI reference: this, then the error class's problem_type


def type_uri(problem_type: str) -> str:
    """The ``type`` of a problem document for an error class's ``problem_type`` (``invalid-input``)."""
    return PROBLEM_TYPES + problem_type


class FieldProblem(BaseModel):
    """One field that was rejected, and what it allows."""

    field: str = Field(description="where: a dotted path of the request (query.start, body.answers.X)")
    message: str = Field(description="what is wrong and what is allowed, in the user's language")
    line: int | None = Field(None, description="the line of the uploaded file, when known")
    code: str | None = Field(
        None,
        description="what is wrong, for clients to tell problems apart (answer.not_yes_no, "
        "answer.out_of_range, …; see assess/data/answer_problems.toml), when the problem has one",
    )


def field_problem(problem: Problem) -> FieldProblem:
    """A problem of a user error as an entry of ``errors[]``: where it is, the line first when known."""
    message = problem.message
    if problem.line is not None:
        message = _("line {line}: {message}").format(line=problem.line, message=message)
    code = getattr(problem, "code", None) or None
    where = problem.location or problem.source
    return FieldProblem(field=where, message=message, line=problem.line, code=code)


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, with the rejected fields when the request was invalid."""

    type: str = Field(
        "about:blank",
        description="the kind of problem: /problems/ and the error's type (invalid-input, not-found, "
        "conflict, bad-request, invalid-plant-file, store-busy, …), or about:blank when the status "
        "says it all",
    )
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)


class ApiProblem(Exception):
    """A problem document to answer with: a ``UserError``'s (``of``), or one only HTTP knows."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        errors: list[FieldProblem] | None = None,
        type: str = "about:blank",  # the member's name in RFC 9457
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.type = type

    @classmethod
    def of(cls, error: UserError) -> ApiProblem:
        """The problem document a user error's class declares, its title in the user's language."""
        return cls(
            error.status,
            _(error.title),
            error.summary,
            [field_problem(p) for p in error.problems],
            type=type_uri(error.problem_type),
        )

    def document(self, instance: str | None = None) -> dict[str, Any]:
        """The JSON body."""
        return ProblemDetails(
            type=self.type,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
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


def problems_in_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with every error response as it is sent: problem details.

    FastAPI documents its own validation error as ``application/json`` ``HTTPValidationError`` and
    puts a ``responses=`` model under ``application/json``; the app answers every error, a
    validation error included, as ``application/problem+json`` with ``ProblemDetails``, so the
    document says so (and clients and schemathesis check the bodies against it).
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in (
        ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}").get("$defs", {}).items()
    ):
        components.setdefault(name, definition)
    components.setdefault(
        "ProblemDetails",
        {
            k: v
            for k, v in ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}").items()
            if k != "$defs"
        },
    )
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            responses_ = operation.setdefault("responses", {})
            for status, response in responses_.items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = dict(problem)
                    if int(status) == 422:
                        response["description"] = _DESCRIPTIONS[422]
            if operation.get("requestBody") is not None:
                # a body that cannot be read (not UTF-8, not JSON) is answered 422 too
                responses_.setdefault("422", {"description": _DESCRIPTIONS[422], "content": dict(problem)})
    for unused in ("HTTPValidationError", "ValidationError"):
        if not _referenced(schema, f"#/components/schemas/{unused}"):
            components.pop(unused, None)
    return schema


def _referenced(schema: dict[str, Any], ref: str) -> bool:
    import json

    return f'"{ref}"' in json.dumps(schema.get("paths", {}))
