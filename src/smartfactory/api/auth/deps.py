"""FastAPI dependencies: who is asking, whether their role allows it, and the CSRF check."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from smartfactory.app.roles import Role
from smartfactory.app.sessions import Principal, session_principal, token_principal
from smartfactory.app.workspace import Workspace

SESSION_COOKIE = "sf_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_SAFE = {"GET", "HEAD", "OPTIONS"}


class SignInRequired(Exception):
    """No valid session or token: pages redirect to the log-in page, the API asks to sign in."""

    def __init__(self, page: bool) -> None:
        super().__init__("sign in first")
        self.page = page


class NotAllowed(Exception):
    """Signed in, but the role is below what the route needs."""

    def __init__(self, principal: Principal, needed: Role, page: bool) -> None:
        super().__init__(f"{principal.username} is {principal.role.value}; this needs {needed.value}")
        self.principal = principal
        self.needed = needed
        self.page = page


class CsrfRejected(Exception):
    """An unsafe request from a browser session without the session's CSRF token."""

    def __init__(self, page: bool) -> None:
        super().__init__("missing or wrong CSRF token")
        self.page = page


def workspace_of(request: Request) -> Workspace:
    """The workspace the app was created with."""
    workspace: Workspace = request.app.state.workspace
    return workspace


WorkspaceDep = Annotated[Workspace, Depends(workspace_of)]


def principal_of(request: Request) -> Principal | None:
    """The signed-in principal of this request (bearer token first, then the cookie), or None."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    registry = workspace_of(request).registry
    found: Principal | None = None
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        found = token_principal(registry, credentials.strip())
    elif cookie := request.cookies.get(SESSION_COOKIE):
        found = session_principal(registry, cookie)
    request.state.principal = found
    return found


async def _check_csrf(request: Request, principal: Principal, page: bool) -> None:
    if request.method in _SAFE or not principal.by_cookie:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # Starlette keeps it, so the route still reads its fields
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = principal.csrf_token or ""
    if not sent or not secrets.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRejected(page)


def _require(role: Role, page: bool) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        principal = principal_of(request)
        if principal is None:
            raise SignInRequired(page)
        if not principal.role.allows(role):
            raise NotAllowed(principal, role, page)
        await _check_csrf(request, principal, page)
        return principal

    dependency.__name__ = f"require_{role.value}_{'page' if page else 'api'}"
    # the authorisation tests read what each route needs from here
    dependency.required_role = role  # type: ignore[attr-defined]
    return dependency


def require_api(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency of an API route: a principal with at least ``role`` (else SignInRequired, NotAllowed)."""
    return _API[role]


def require_page(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency of a page: a principal with at least ``role`` (the log-in page, or NotAllowed)."""
    return _PAGE[role]


# one dependency object per role, so FastAPI caches it once per request
_API = {r: _require(r, page=False) for r in Role}
_PAGE = {r: _require(r, page=True) for r in Role}

# the signed-in principal as a parameter type, one per role: API routes, then pages
Viewer = Annotated[Principal, Depends(require_api(Role.viewer))]
Engineer = Annotated[Principal, Depends(require_api(Role.engineer))]
Admin = Annotated[Principal, Depends(require_api(Role.admin))]
ViewerPage = Annotated[Principal, Depends(require_page(Role.viewer))]
EngineerPage = Annotated[Principal, Depends(require_page(Role.engineer))]
AdminPage = Annotated[Principal, Depends(require_page(Role.admin))]
