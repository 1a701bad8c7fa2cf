"""Users in the registry, with argon2id password hashes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smartfactory.app.roles import Role
from smartfactory.model.errors import UserError
from smartfactory.store.registry import Registry, UserRow

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 8
MAX_DISPLAY_NAME = 200  # the column's length
MAX_PASSWORD = 1024  # argon2 takes any length; a cap keeps a request from costing seconds

_hasher = PasswordHasher()
# verified against when the user does not exist, so an unknown name costs as long as a wrong password
_DUMMY_HASH = _hasher.hash("not a password of anyone")


@dataclass(frozen=True)
class User:
    """A user as the app sees it (never the hash)."""

    username: str
    role: Role
    display_name: str | None
    created_at: datetime


def check_username(username: str) -> None:
    """Raise a UserError unless ``username`` is 1–64 letters, digits, ``_ . @ -``."""
    if not USERNAME.match(username):
        # one line: the CLI prints it as is (the API checks names with translated messages)
        raise UserError(
            f"invalid user name {username[:80]!r}: use 1–64 letters, digits, _ . @ or -, "
            "starting with a letter or digit"
        )


def check_password(password: str) -> None:
    """Raise a UserError unless the password has 8 to 1024 characters."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserError(f"invalid password: use {MIN_PASSWORD} to {MAX_PASSWORD} characters")


def role_of(text: str) -> Role:
    """The role named ``text``, or a UserError listing the roles."""
    try:
        return Role(text)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise UserError(f"unknown role {text!r}; roles are {allowed}") from None


def add_user(
    registry: Registry, username: str, password: str, role: Role, display_name: str | None = None
) -> User:
    """Create a user; a UserError if the name is taken or the name or password is not allowed."""
    check_username(username)
    check_password(password)
    if display_name is not None and len(display_name) > MAX_DISPLAY_NAME:
        raise UserError(
            f"the display name has {len(display_name)} characters; use at most {MAX_DISPLAY_NAME}"
        )
    taken = UserError(f"user {username!r} already exists; use `smartfactory user passwd` to change it")
    # hashed before the transaction: argon2 takes a while, and SQLite would be locked meanwhile
    password_hash = _hasher.hash(password)
    now = datetime.now(UTC)
    try:
        with Session(registry.engine) as session, session.begin():
            if session.get(UserRow, username) is not None:
                raise taken
            row = UserRow(
                username=username,
                display_name=display_name,
                role=role.value,
                password_hash=password_hash,
                created_at=now,
                password_changed_at=now,
            )
            session.add(row)
            user = _user(row)
    except IntegrityError:
        raise taken from None  # added by someone else between the check and the insert
    return user


def list_users(registry: Registry) -> list[User]:
    """Every user, by name."""
    with Session(registry.engine) as session:
        return [_user(row) for row in session.scalars(select(UserRow).order_by(UserRow.username))]


def get_user(registry: Registry, username: str) -> User | None:
    """The user named ``username``, or None."""
    with Session(registry.engine) as session:
        row = session.get(UserRow, username)
        return _user(row) if row is not None else None


class LastAdminError(UserError):
    """The change would leave no admin, so no one could manage users from the web app."""


def _guard_last_admin(session: Session, row: UserRow) -> None:
    """Refuse to take away the only admin; locks the admin rows so two admins cannot demote each other."""
    if row.role != Role.admin.value:
        return
    # FOR UPDATE (PostgreSQL): a concurrent change waits, then counts what this one left;
    # SQLite ignores it and serialises writers anyway
    admins = session.scalars(
        select(UserRow.username).where(UserRow.role == Role.admin.value).with_for_update()
    )
    if len(list(admins)) <= 1:
        raise LastAdminError(f"{row.username!r} is the only admin; make another user admin first")


def remove_user(registry: Registry, username: str, keep_admin: bool = False) -> None:
    """Delete a user with their sessions and tokens; a UserError if there is no such user.

    With ``keep_admin`` a LastAdminError refuses to remove the only admin.
    """
    from smartfactory.store.registry import ApiTokenRow, WebSessionRow

    with Session(registry.engine) as session, session.begin():
        row = session.get(UserRow, username)
        if row is None:
            raise UserError(f"no user {username!r}")
        if keep_admin:
            _guard_last_admin(session, row)
        # explicit, as SQLite only cascades with foreign keys on
        session.execute(delete(WebSessionRow).where(WebSessionRow.username == username))
        session.execute(delete(ApiTokenRow).where(ApiTokenRow.username == username))
        session.execute(delete(UserRow).where(UserRow.username == username))


def set_password(registry: Registry, username: str, password: str) -> None:
    """Change a password and end the user's browser sessions."""
    from smartfactory.store.registry import WebSessionRow

    check_password(password)
    with Session(registry.engine) as session, session.begin():
        row = session.get(UserRow, username)
        if row is None:
            raise UserError(f"no user {username!r}")
        row.password_hash = _hasher.hash(password)
        row.password_changed_at = datetime.now(UTC)
        session.execute(delete(WebSessionRow).where(WebSessionRow.username == username))


def set_role(registry: Registry, username: str, role: Role, keep_admin: bool = False) -> None:
    """Give a user another role (it applies to their next request: sessions read the role live).

    With ``keep_admin`` a LastAdminError refuses to demote the only admin.
    """
    with Session(registry.engine) as session, session.begin():
        row = session.get(UserRow, username)
        if row is None:
            raise UserError(f"no user {username!r}")
        if keep_admin and role != Role.admin:
            _guard_last_admin(session, row)
        row.role = role.value


def authenticate(registry: Registry, username: str, password: str) -> User | None:
    """The user if the password is theirs, else None (same cost either way)."""
    with Session(registry.engine) as session:
        row = session.get(UserRow, username) if USERNAME.match(username) else None
        stored = row.password_hash if row is not None else _DUMMY_HASH
        try:
            _hasher.verify(stored, password[:MAX_PASSWORD])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        return _user(row)


def _user(row: UserRow) -> User:
    return User(row.username, Role(row.role), row.display_name, row.created_at)
