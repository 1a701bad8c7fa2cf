"""Keep each plant's whole validated document, so KPIs and reports need no plant file.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Add plants.document (nullable: plants saved before this revision have none)."""
    with op.batch_alter_table("plants") as batch:
        batch.add_column(sa.Column("document", _JSON, nullable=True))


def downgrade() -> None:
    """Drop plants.document."""
    with op.batch_alter_table("plants") as batch:
        batch.drop_column("document")
