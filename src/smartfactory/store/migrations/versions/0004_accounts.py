"""Accounts of the web app: users, browser sessions and API tokens.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# frozen copies of the types of this revision: a migration must not follow later model edits
_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create users, web_sessions and api_tokens."""
    op.create_table(
        "users",
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("password_changed_at", _TIMESTAMP, nullable=False),
        sa.CheckConstraint("role IN ('viewer', 'engineer', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_users")),
    )
    for table in ("web_sessions", "api_tokens"):
        extra: list[sa.Column[object]] = (
            [
                sa.Column("csrf_token", sa.String(64), nullable=False),
                sa.Column("created_at", _TIMESTAMP, nullable=False),
                sa.Column("expires_at", _TIMESTAMP, nullable=False),
                sa.Column("address", sa.String(64), nullable=True),
            ]
            if table == "web_sessions"
            else [
                sa.Column("name", sa.String(64), nullable=False),
                sa.Column("created_at", _TIMESTAMP, nullable=False),
                sa.Column("expires_at", _TIMESTAMP, nullable=True),
            ]
        )
        op.create_table(
            table,
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
        op.create_index(op.f(f"ix_{table}_username"), table, ["username"], unique=False)


def downgrade() -> None:
    """Drop the account tables."""
    for table in ("api_tokens", "web_sessions"):
        op.drop_index(op.f(f"ix_{table}_username"), table_name=table)
        op.drop_table(table)
    op.drop_table("users")
