"""Log-in, log-out and the language switch."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from smartfactory.api.auth.deps import SESSION_COOKIE, ViewerPage, principal_of, workspace_of
from smartfactory.app.accounts import authenticate
from smartfactory.app.i18n import gettext as _
from smartfactory.app.sessions import end_session, start_session
from smartfactory.web.templating import render

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Only a path on this site, so the log-in page cannot bounce to another one."""
    if not target:
        return "/"
    parts = urlsplit(target)
    # browsers read a backslash as a slash, so "/\\evil.example" would leave the site
    unsafe = "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target)
    if unsafe or parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    """The log-in form."""
    if principal_of(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", title=_("Sign in"), next=safe_next(next), error=None, username="")  # type: ignore[no-any-return]


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password (rate-limited per name and address) and start a session."""
    workspace = workspace_of(request)
    address = request.client.host if request.client else None
    limiter = request.app.state.login_limiter
    wait = limiter.retry_after(username, address)
    if wait > 0:
        error = _("Too many failed attempts; try again in {seconds} seconds.").format(seconds=int(wait) + 1)
        response: Response = render(
            request,
            "login.html",
            status_code=429,
            title=_("Sign in"),
            next=safe_next(next),
            error=error,
            username=username,
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    user = authenticate(workspace.registry, username, password)
    if user is None:
        limiter.failed(username, address)
        return render(  # type: ignore[no-any-return]
            request, "login.html", status_code=401, title=_("Sign in"), next=safe_next(next),
            error=_("Wrong user name or password."), username=username,
        )  # fmt: skip
    limiter.succeeded(username)
    # the app's settings, not the shared workspace's: tests run several apps over one workspace
    settings = request.app.state.settings
    token, _csrf = start_session(workspace.registry, user.username, address, settings.session_hours)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies or request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, _principal: ViewerPage) -> Response:
    """End the session and go back to the log-in page."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        end_session(workspace_of(request).registry, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
