"""A rider's open sessions by index, for the open-session quota.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status <> 'ended'"


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(
        "ix_sessions_user_open",
        "sessions",
        ["user_id"],
        unique=False,
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(
        "ix_sessions_user_open",
        table_name="sessions",
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )
