"""Accounts of the web app: users, browser sessions and API tokens.

Revision 0004, revises 0003, created 2026-11-26.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from smartfactory.store.migrations.frozen import TIMESTAMP, create_indexed_table, drop_indexed_table

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"


def upgrade() -> None:
    """Create users, web_sessions and api_tokens."""
    op.create_table(
        "users",
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("password_changed_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("role IN ('viewer', 'engineer', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_users")),
    )
    for table in ("web_sessions", "api_tokens"):
        extra: list[sa.Column[object]] = (
            [
                sa.Column("csrf_token", sa.String(64), nullable=False),
                sa.Column("created_at", TIMESTAMP, nullable=False),
                sa.Column("expires_at", TIMESTAMP, nullable=False),
                sa.Column("address", sa.String(64), nullable=True),
            ]
            if table == "web_sessions"
            else [
                sa.Column("name", sa.String(64), nullable=False),
                sa.Column("created_at", TIMESTAMP, nullable=False),
                sa.Column("expires_at", TIMESTAMP, nullable=True),
            ]
        )
        create_indexed_table(
            table,
            "username",
            sa.Column("id", sa.String(64), nullable=False),
            sa.Column("username", sa.String(64), nullable=False),
            *extra,
            sa.ForeignKeyConstraint(
                ["username"],
                ["users.username"],
                name=op.f(f"fk_{table}_username_users"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        )


def downgrade() -> None:
    """Drop the account tables."""
    for table in ("api_tokens", "web_sessions"):
        drop_indexed_table(table, "username")
    op.drop_table("users")
