"""API routes: users (admins only): list, add, remove, change role, set password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from smartfactory.api.auth.deps import Admin, WorkspaceDep
from smartfactory.api.problems import responses
from smartfactory.app import users as service
from smartfactory.app.users import NewUser, PasswordChange, RoleChange, UserInfo

router = APIRouter(tags=["users"])

Username = Annotated[str, Path(description="the user's name", max_length=200)]


@router.get("/users", response_model=list[UserInfo], responses=responses(401, 403))
def list_users(_principal: Admin, workspace: WorkspaceDep) -> list[UserInfo]:
    """Every user, by name."""
    return service.list_users(workspace)


@router.post("/users", status_code=201, response_model=UserInfo, responses=responses(401, 403, 409, 422))
def add_user(new: NewUser, _principal: Admin, workspace: WorkspaceDep) -> UserInfo:
    """Add a user."""
    return service.add_user(workspace, new)


@router.delete("/users/{username}", status_code=204, responses=responses(401, 403, 404, 409))
def remove_user(username: Username, _principal: Admin, workspace: WorkspaceDep) -> Response:
    """Remove a user with their sessions and API tokens (never the only admin)."""
    service.remove_user(workspace, username)
    return Response(status_code=204)


@router.put("/users/{username}/role", response_model=UserInfo, responses=responses(401, 403, 404, 409, 422))
def set_role(username: Username, change: RoleChange, _principal: Admin, workspace: WorkspaceDep) -> UserInfo:
    """Give a user another role (never demote the only admin); it applies to their next request."""
    return service.set_role(workspace, username, change.role)


@router.put("/users/{username}/password", status_code=204, responses=responses(401, 403, 404, 422))
def set_password(
    username: Username, change: PasswordChange, _principal: Admin, workspace: WorkspaceDep
) -> Response:
    """Set a user's password; it signs them out of every browser (API tokens stay valid)."""
    service.set_password(workspace, username, change.password)
    return Response(status_code=204)
