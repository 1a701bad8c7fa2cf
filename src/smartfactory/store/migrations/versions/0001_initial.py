"""Initial registry schema: plants, their hierarchy nodes and simulation runs.

Revision 0001, revises nothing, created 2025-11-26.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from smartfactory.store.migrations.frozen import JSON, TIMESTAMP, create_indexed_table, drop_indexed_table

revision: str = "0001"
down_revision: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create plants, hierarchy_nodes and simulation_runs."""
    op.create_table(
        "plants",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.Column("industry", sa.String(16), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("loaded_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plants")),
    )
    op.create_table(
        "hierarchy_nodes",
        sa.Column("plant_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("parent_id", sa.String(64), nullable=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=True),
        sa.Column("is_key", sa.Boolean(), nullable=False),
        sa.Column("networked", sa.Boolean(), nullable=False),
        sa.Column("automated", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plant_id"],
            ["plants.id"],
            name=op.f("fk_hierarchy_nodes_plant_id_plants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plant_id", "parent_id"],
            ["hierarchy_nodes.plant_id", "hierarchy_nodes.id"],
            name=op.f("fk_hierarchy_nodes_plant_id_hierarchy_nodes"),
        ),
        sa.PrimaryKeyConstraint("plant_id", "id", name=op.f("pk_hierarchy_nodes")),
    )
    create_indexed_table(
        "simulation_runs",
        "plant_id",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("plant_id", sa.String(64), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("start", TIMESTAMP, nullable=False),
        sa.Column("days", sa.Float(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("wall_s", sa.Float(), nullable=True),
        sa.Column("store_path", sa.Text(), nullable=False),
        sa.Column("event_counts", JSON, nullable=False),
        sa.Column("truth", JSON, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["plant_id"], ["plants.id"], name=op.f("fk_simulation_runs_plant_id_plants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_simulation_runs")),
    )


def downgrade() -> None:
    """Drop the registry tables."""
    drop_indexed_table("simulation_runs", "plant_id")
    op.drop_table("hierarchy_nodes")
    op.drop_table("plants")
