"""Scenario runs: what the AI and optimisation scenarios did, read back by the assessment.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# frozen copies of the types of this revision: a migration must not follow later model edits
_TIMESTAMP = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create scenario_runs."""
    op.create_table(
        "scenario_runs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("plant_id", sa.String(64), nullable=False),
        sa.Column("scenario", sa.String(64), nullable=False),
        sa.Column("official_scenario", sa.String(64), nullable=False),
        sa.Column("uses_ai", sa.Boolean(), nullable=False),
        sa.Column("started_at", _TIMESTAMP, nullable=False),
        sa.Column("finished_at", _TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("metrics", _JSON, nullable=False),
        sa.Column("artefacts", _JSON, nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'finished', 'failed')", name=op.f("ck_scenario_runs_status")
        ),
        sa.ForeignKeyConstraint(["plant_id"], ["plants.id"], name=op.f("fk_scenario_runs_plant_id_plants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_runs")),
    )
    op.create_index(op.f("ix_scenario_runs_plant_id"), "scenario_runs", ["plant_id"], unique=False)


def downgrade() -> None:
    """Drop scenario_runs."""
    op.drop_index(op.f("ix_scenario_runs_plant_id"), table_name="scenario_runs")
    op.drop_table("scenario_runs")
