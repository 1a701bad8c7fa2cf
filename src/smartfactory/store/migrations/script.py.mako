"""${message}

Revision ${up_revision}, revises ${down_revision | comma,n}, created ${create_date}.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}

revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
% if branch_labels:
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
% endif
% if depends_on:
depends_on: str | Sequence[str] | None = ${repr(depends_on)}
% endif


def upgrade() -> None:
    """Upgrade the registry schema."""
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """Downgrade the registry schema."""
    ${downgrades if downgrades else "pass"}
