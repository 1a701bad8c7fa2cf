"""Scenario runs: what the AI and optimisation scenarios did, read back by the assessment.

Revision 0003, revises 0002, created 2026-11-26.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from smartfactory.store.migrations.frozen import JSON, TIMESTAMP, create_indexed_table, drop_indexed_table

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"


def upgrade() -> None:
    """Create scenario_runs."""
    create_indexed_table(
        "scenario_runs",
        "plant_id",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("plant_id", sa.String(64), nullable=False),
        sa.Column("scenario", sa.String(64), nullable=False),
        sa.Column("official_scenario", sa.String(64), nullable=False),
        sa.Column("uses_ai", sa.Boolean(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("metrics", JSON, nullable=False),
        sa.Column("artefacts", JSON, nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'finished', 'failed')", name=op.f("ck_scenario_runs_status")
        ),
        sa.ForeignKeyConstraint(["plant_id"], ["plants.id"], name=op.f("fk_scenario_runs_plant_id_plants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_runs")),
    )


def downgrade() -> None:
    """Drop scenario_runs."""
    drop_indexed_table("scenario_runs", "plant_id")
