"""Keep each plant's whole validated document, so KPIs and reports need no plant file.

Revision 0002, revises 0001, created 2026-11-26.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from smartfactory.store.migrations.frozen import JSON

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"


def upgrade() -> None:
    """Add plants.document (nullable: plants saved before this revision have none)."""
    with op.batch_alter_table("plants") as batch:
        batch.add_column(sa.Column("document", JSON, nullable=True))


def downgrade() -> None:
    """Drop plants.document."""
    with op.batch_alter_table("plants") as batch:
        batch.drop_column("document")
