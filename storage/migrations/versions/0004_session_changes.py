"""The numbered feed of session changes that live updates read and catch up from.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 19:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "session_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_changes")),
    )
    op.create_index("ix_session_changes_changed_at", "session_changes", ["changed_at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_session_changes_changed_at", table_name="session_changes")
    op.drop_table("session_changes")
