"""Managing users from the web app and the API (admins only): list, add, remove, role, password.

The request models check their fields with messages in the user's language, every field at once
(a Pydantic ValidationError the API turns into a problem document and the admin page into
inline errors); the store's rules stay in ``smartfactory.app.accounts``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from smartfactory.app import accounts
from smartfactory.app.errors import field_problem
from smartfactory.app.i18n import gettext as _
from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace
from smartfactory.model.errors import Conflict, NotFound, UserError

MAX_DISPLAY_NAME = accounts.MAX_DISPLAY_NAME


class UserInfo(BaseModel):
    """A user (never the password or its hash)."""

    username: str
    role: Role
    display_name: str | None = None
    created_at: datetime


class NewUser(BaseModel):
    """A user to add."""

    username: str = Field(description="1–64 letters, digits, _ . @ or -, starting with a letter or digit")
    password: str = Field(description=f"{accounts.MIN_PASSWORD} to {accounts.MAX_PASSWORD} characters")
    role: Role = Role.viewer
    display_name: str | None = Field(None, description="the name shown in the app")

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return check_username(value)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        return check_password(value)

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str | None) -> str | None:
        return check_display_name(value)


class RoleChange(BaseModel):
    """A user's new role."""

    role: Role


class PasswordChange(BaseModel):
    """A user's new password (it signs them out of every browser)."""

    password: str = Field(description=f"{accounts.MIN_PASSWORD} to {accounts.MAX_PASSWORD} characters")

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        return check_password(value)


class UnknownUser(NotFound):
    """No user has that name."""

    title: ClassVar[str] = "No such user"


class UserExists(Conflict):
    """The name is taken."""

    title: ClassVar[str] = "User exists"


class LastAdmin(Conflict):
    """The change would leave the app without an admin."""

    title: ClassVar[str] = "The only admin"


def check_username(value: str) -> str:
    """``value`` if it is an allowed user name, else a validation error in the user's language."""
    if not accounts.USERNAME.match(value):
        raise PydanticCustomError(
            "username", _("Use 1–64 letters, digits, _ . @ or -, starting with a letter or digit.")
        )
    return value


def check_password(value: str) -> str:
    """``value`` if it is long enough and not too long, else a validation error."""
    if not accounts.MIN_PASSWORD <= len(value) <= accounts.MAX_PASSWORD:
        # formatted here: Pydantic would read braces in the message as its own placeholders
        message = _("Use {low} to {high} characters.").format(
            low=accounts.MIN_PASSWORD, high=accounts.MAX_PASSWORD
        )
        raise PydanticCustomError("password", message)
    return value


def check_display_name(value: str | None) -> str | None:
    """The display name without surrounding blanks (None when blank), or a validation error."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > MAX_DISPLAY_NAME or any(ord(c) < 32 for c in value):
        message = _("Use at most {count} characters, on one line.").format(count=MAX_DISPLAY_NAME)
        raise PydanticCustomError("display_name", message)
    return value


def list_users(workspace: Workspace) -> list[UserInfo]:
    """Every user, by name."""
    return [_info(u) for u in accounts.list_users(workspace.registry)]


def get_user(workspace: Workspace, username: str) -> UserInfo:
    """One user; UnknownUser if there is none."""
    user = accounts.get_user(workspace.registry, username)
    if user is None:
        raise _unknown(username)
    return _info(user)


def add_user(workspace: Workspace, new: NewUser) -> UserInfo:
    """Add a user; UserExists if the name is taken."""
    if accounts.get_user(workspace.registry, new.username) is not None:
        raise _exists(new.username)
    try:
        user = accounts.add_user(workspace.registry, new.username, new.password, new.role, new.display_name)
    except UserError:
        # the name was taken between the check and the insert
        raise _exists(new.username) from None
    return _info(user)


def remove_user(workspace: Workspace, username: str) -> None:
    """Remove a user, their sessions and tokens; never the only admin."""
    with _keeping_admin(username):
        accounts.remove_user(workspace.registry, username, keep_admin=True)


def set_role(workspace: Workspace, username: str, role: Role) -> UserInfo:
    """Give a user another role; never demote the only admin."""
    with _keeping_admin(username):
        accounts.set_role(workspace.registry, username, role, keep_admin=True)
    return get_user(workspace, username)


@contextmanager
def _keeping_admin(username: str) -> Iterator[None]:
    """The store's refusal of a change to ``username`` as LastAdmin, or UnknownUser for any other."""
    try:
        yield
    except accounts.LastAdminError:
        raise LastAdmin(
            _("{user} is the only admin; make another user admin first.").format(user=username)
        ) from None
    except UserError:
        raise _unknown(username) from None


def set_password(workspace: Workspace, username: str, password: str) -> None:
    """Set a user's password (checked by PasswordChange); their browser sessions end."""
    if accounts.get_user(workspace.registry, username) is None:
        raise _unknown(username)
    try:
        accounts.set_password(workspace.registry, username, password)
    except UserError:
        raise _unknown(username) from None


def _unknown(username: str) -> UnknownUser:
    return UnknownUser(_("There is no user {user}.").format(user=username))


def _exists(username: str) -> UserExists:
    return UserExists(
        _("The user name {user} is taken.").format(user=username),
        [field_problem("body.username", _("This user name is taken; choose another."))],
    )


def _info(user: accounts.User) -> UserInfo:
    return UserInfo(
        username=user.username, role=user.role, display_name=user.display_name, created_at=user.created_at
    )
