"""What the revisions share, frozen: a revision must not follow later model edits.

A name that a revision uses never changes, or an upgraded database would differ from a fresh
one; a revision that needs another type or operation adds a new name here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def create_indexed_table(table: str, indexed: str, *items: sa.schema.SchemaItem) -> None:
    """Create ``table`` of ``items`` and a non-unique index on its column ``indexed``."""
    op.create_table(table, *items)
    op.create_index(op.f(f"ix_{table}_{indexed}"), table, [indexed], unique=False)


def drop_indexed_table(table: str, indexed: str) -> None:
    """Drop the index on ``indexed`` and then ``table``, undoing ``create_indexed_table``."""
    op.drop_index(op.f(f"ix_{table}_{indexed}"), table_name=table)
    op.drop_table(table)
