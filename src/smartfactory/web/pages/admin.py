"""Admin pages: the users (list, add, remove, change role, set password)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from smartfactory.api.auth.deps import AdminPage, workspace_of
from smartfactory.api.validation import field_problems
from smartfactory.app import users as service
from smartfactory.app.accounts import USERNAME
from smartfactory.app.i18n import gettext as _
from smartfactory.app.roles import Role
from smartfactory.app.sessions import Principal
from smartfactory.app.users import NewUser, PasswordChange, RoleChange
from smartfactory.model.errors import InvalidInput, UserError
from smartfactory.web.templating import render

router = APIRouter()

# generous caps: the service checks the real limits with messages; these only bound the request
Text = Annotated[str, Form(max_length=4096)]

USERS = "/admin/users"


def _done_message(done: str | None, user: str | None) -> str | None:
    """The confirmation shown after a redirect (?done=…&user=…)."""
    messages = {
        "added": _("User {user} added."),
        "removed": _("User {user} removed."),
        "role": _("Role of {user} changed."),
        "password": _("Password of {user} changed; they are signed out everywhere."),
    }
    template = messages.get(done or "")
    # only a user name: the query string must not let a crafted link put other words on the page
    if template is None or user is None or not USERNAME.match(user):
        return None
    return template.format(user=user)


def _page(
    request: Request,
    principal: Principal,
    status: int = 200,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    form: dict[str, Any] | None = None,
    notice: str | None = None,
) -> Response:
    users = service.list_users(workspace_of(request))
    return render(  # type: ignore[no-any-return]
        request,
        "admin_users.html",
        status_code=status,
        title=_("Users"),
        users=users,
        roles=list(Role),
        me=principal.username,
        errors=errors or {},
        problem=problem,
        form=form or {"username": "", "display_name": "", "role": Role.viewer.value},
        notice=notice,
    )


def _done(what: str, user: str) -> Response:
    return RedirectResponse(f"{USERS}?{urlencode({'done': what, 'user': user})}", status_code=303)


def _field_errors(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    """Field name → message; the first message of each field."""
    out: dict[str, str] = {}
    for problem in field_problems(exc.errors()):
        out.setdefault(prefix + problem.location.split(".")[-1], problem.message)
    return out


def _refused(
    request: Request, principal: Principal, username: str, exc: ValidationError | UserError, invalid: str = ""
) -> Response:
    """The page again with why a change to ``username`` was refused (``invalid``: bad fields' summary)."""
    if isinstance(exc, ValidationError):
        return _page(request, principal, InvalidInput.status, _field_errors(exc, f"{username}:"), invalid)
    return _page(request, principal, exc.status, problem=exc.summary)


@router.get(USERS)
def users_page(
    request: Request, principal: AdminPage, done: str | None = None, user: str | None = None
) -> Response:
    """Every user, with forms to add one, change roles and passwords, and remove."""
    return _page(request, principal, notice=_done_message(done, user))


@router.post(USERS)
def add_user(
    request: Request,
    principal: AdminPage,
    username: Text = "",
    password: Text = "",
    role: Text = "viewer",
    display_name: Text = "",
) -> Response:
    """Add a user from the form."""
    form = {"username": username, "display_name": display_name, "role": role}
    try:
        new = NewUser(username=username, password=password, role=role, display_name=display_name)
        service.add_user(workspace_of(request), new)
    except ValidationError as exc:
        return _page(
            request,
            principal,
            InvalidInput.status,
            _field_errors(exc),
            _("Check the fields marked below."),
            form,
        )
    except service.UserExists as exc:
        return _page(request, principal, exc.status, {"username": exc.problems[0].message}, exc.summary, form)
    return _done("added", username)


@router.post(USERS + "/{username}/role")
def change_role(request: Request, principal: AdminPage, username: str, role: Text = "") -> Response:
    """Change a user's role from the form."""
    try:
        change = RoleChange(role=role)
        service.set_role(workspace_of(request), username, change.role)
    except (ValidationError, service.UnknownUser, service.LastAdmin) as exc:
        return _refused(request, principal, username, exc, _("Choose a role."))
    if username == principal.username and change.role != Role.admin:
        return RedirectResponse("/", status_code=303)  # no longer allowed here
    return _done("role", username)


@router.post(USERS + "/{username}/password")
def change_password(request: Request, principal: AdminPage, username: str, password: Text = "") -> Response:
    """Set a user's password from the form (it signs them out everywhere, you too if it is you)."""
    try:
        change = PasswordChange(password=password)
        service.set_password(workspace_of(request), username, change.password)
    except (ValidationError, service.UnknownUser) as exc:
        return _refused(request, principal, username, exc, _("Check the fields marked below."))
    if username == principal.username:
        return RedirectResponse("/login", status_code=303)
    return _done("password", username)


@router.post(USERS + "/{username}/delete")
def remove_user(request: Request, principal: AdminPage, username: str) -> Response:
    """Remove a user from the form."""
    try:
        service.remove_user(workspace_of(request), username)
    except (service.UnknownUser, service.LastAdmin) as exc:
        return _refused(request, principal, username, exc)
    if username == principal.username:
        return RedirectResponse("/login", status_code=303)
    return _done("removed", username)
