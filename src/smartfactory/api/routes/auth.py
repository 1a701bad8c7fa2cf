"""API routes: who am I (and the CSRF token a browser session must send)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from smartfactory.api.auth.deps import Viewer
from smartfactory.api.problems import responses
from smartfactory.app.roles import Role

router = APIRouter(tags=["auth"])


class Me(BaseModel):
    """The signed-in user."""

    username: str
    role: Role
    display_name: str | None = None
    csrf_token: str | None = Field(
        None, description="for a browser session: send it as X-CSRF-Token on POST, PUT, PATCH, DELETE"
    )


@router.get("/me", response_model=Me, responses=responses(401))
def me(principal: Viewer) -> Me:
    """The user this request is signed in as."""
    return Me(
        username=principal.username,
        role=principal.role,
        display_name=principal.display_name,
        csrf_token=principal.csrf_token,
    )
