"""Errors of the use cases, which every front end maps in one place (HTTP status, exit code)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FieldProblem(BaseModel):
    """One field that was rejected, and what it allows."""

    field: str = Field(description="where: a dotted path of the request (query.start, body.answers.X)")
    message: str = Field(description="what is wrong and what is allowed, in the user's language")
