"""Errors as RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from smartfactory.app.errors import FieldProblem

__all__ = ["PROBLEM_JSON", "ApiProblem", "FieldProblem", "ProblemDetails", "problems_in_schema", "responses"]

PROBLEM_JSON = "application/problem+json"


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


def problems_in_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with every error response as it is sent: problem details.

    FastAPI documents its own 422 as ``application/json`` ``HTTPValidationError`` and puts a
    ``responses=`` model under ``application/json``; the app answers every error, 422 included,
    as ``application/problem+json`` with ``ProblemDetails``, so the document says so (and
    clients and schemathesis check the bodies against it).
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
