"""Browser sessions and API tokens: random tokens given out once, kept only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from smartfactory.app.roles import Role
from smartfactory.model.errors import UserError
from smartfactory.store.registry import ApiTokenRow, Registry, UserRow, WebSessionRow

TOKEN_PREFIX = "sft_"  # so a leaked API token is recognisable in logs and secret scanners
_Held = TypeVar("_Held", WebSessionRow, ApiTokenRow)  # the tables a cookie or a token is looked up in


@dataclass(frozen=True)
class Principal:
    """Who is asking: from a browser session (with its CSRF token) or from an API token."""

    username: str
    role: Role
    display_name: str | None
    session_id: str | None = None
    csrf_token: str | None = None

    @property
    def by_cookie(self) -> bool:
        """True for a browser session: unsafe requests must then carry the CSRF token."""
        return self.session_id is not None


@contextmanager
def _reading(registry: Registry) -> Iterator[Session]:
    """A session for one look-up outside a transaction: every request makes one, and on
    SQLite it must not queue behind writers for the write lock that transactions take."""
    connection = registry.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with connection, Session(connection) as session:
        yield session


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _held(
    table: type[_Held], token: str, username: str, now: datetime, lifetime: timedelta | None, **columns: Any
) -> _Held:
    """The row that keeps ``token`` (by its digest only) for ``username`` from ``now`` for ``lifetime``
    (None: until it is revoked)."""
    expires_at = now + lifetime if lifetime is not None else None
    return table(id=_digest(token), username=username, created_at=now, expires_at=expires_at, **columns)


def start_session(registry: Registry, username: str, address: str | None, hours: float) -> tuple[str, str]:
    """A new session for ``username``: returns the cookie token and the session's CSRF token."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with Session(registry.engine) as session, session.begin():
        # sessions past their time are removed as new ones start, so the table does not grow
        session.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < now))
        kept_address = (address or "")[:64] or None
        row = _held(
            WebSessionRow, token, username, now, timedelta(hours=hours), csrf_token=csrf, address=kept_address
        )
        session.add(row)
    return token, csrf


def session_principal(registry: Registry, token: str) -> Principal | None:
    """The principal of a live session cookie, or None."""
    return _live_principal(registry, WebSessionRow, token)


def end_session(registry: Registry, token: str) -> None:
    """Log out: forget the session of this cookie token."""
    with Session(registry.engine) as session, session.begin():
        session.execute(delete(WebSessionRow).where(WebSessionRow.id == _digest(token)))


def issue_token(registry: Registry, username: str, name: str, days: float | None = None) -> str:
    """A new API token for ``username``; the token is shown once and only its hash is kept."""
    if not name or len(name) > 64:
        raise UserError("a token needs a name of 1–64 characters (what it is for)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    lifetime = timedelta(days=days) if days is not None else None
    with Session(registry.engine) as session, session.begin():
        if session.get(UserRow, username) is None:
            raise UserError(f"no user {username!r}")
        session.add(_held(ApiTokenRow, token, username, now, lifetime, name=name))
    return token


def token_principal(registry: Registry, token: str) -> Principal | None:
    """The principal of a live API token, or None."""
    return _live_principal(registry, ApiTokenRow, token)


def _live_principal(registry: Registry, table: type[_Held], token: str) -> Principal | None:
    """The user of the unexpired session or API token ``token`` (kept by its digest), or None."""
    now = datetime.now(UTC)
    with _reading(registry) as session:
        found = session.execute(
            select(table, UserRow)
            .join(UserRow, UserRow.username == table.username)
            .where(table.id == _digest(token))
        ).first()
        if found is None:
            return None
        row, user = found
        # an API token without an expiry lives until it is revoked; a session always has one
        if row.expires_at is not None and row.expires_at <= now:
            return None
        if isinstance(row, WebSessionRow):  # a browser session: unsafe requests need its CSRF token
            return Principal(user.username, Role(user.role), user.display_name, row.id, row.csrf_token)
        return Principal(user.username, Role(user.role), user.display_name)
