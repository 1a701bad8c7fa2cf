"""Services that integration tests need, found from the environment (see DESIGN.md, Tests).

Plain helpers; the fixtures built on them (``postgres_url``) are in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

POSTGRES_ENV = "SMARTFACTORY_TEST_POSTGRES"
REQUIRE_ENV = "SMARTFACTORY_REQUIRE_SERVICES"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# a server that did not answer once will not answer for the next test either; asking again
# would cost a connect timeout per test
_unreachable: dict[str, str] = {}


def services_required() -> bool:
    """Whether a missing service fails the test (CI) instead of skipping it."""
    return os.environ.get(REQUIRE_ENV) == "1"


def missing_service(message: str) -> NoReturn:
    """Fail when services are required, else skip, with the same message."""
    if services_required():
        pytest.fail(f"{message} ({REQUIRE_ENV}=1, so this fails instead of skipping)", pytrace=False)
    pytest.skip(message)


def postgres_admin_url() -> URL:
    """The server URL from the environment (or the local default), driven by psycopg 3."""
    url = make_url(os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    return url


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database ``sf_test_<hex>``, dropped after the test."""
    admin_url = postgres_admin_url()
    shown = admin_url.render_as_string(hide_password=True)
    if shown in _unreachable:
        missing_service(_unreachable[shown])
    admin = create_engine(
        admin_url,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": 5},
    )
    name = f"sf_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as exc:
        admin.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        _unreachable[shown] = f"PostgreSQL at {shown} is not reachable ({POSTGRES_ENV}): {reason}"
        missing_service(_unreachable[shown])
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            # FORCE: a test that failed may still hold a connection to its database
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def head_revision() -> str:
    """The newest migration of the registry: what a freshly opened database must be at."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from smartfactory.store.registry import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head
