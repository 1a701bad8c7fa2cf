"""Alembic environment of the registry store.

``Registry.open`` passes its open connection in ``config.attributes["connection"]`` so the
upgrade runs inside the caller's transaction; without one (the ``alembic`` command line)
it connects to ``sqlalchemy.url``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from smartfactory.store.registry import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    # batch mode lets later migrations ALTER tables on SQLite, which has no ALTER COLUMN
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Write the migration SQL for ``sqlalchemy.url``'s dialect instead of running it."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the given connection, or on ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes['connection']")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as own_connection:
        _run(own_connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
