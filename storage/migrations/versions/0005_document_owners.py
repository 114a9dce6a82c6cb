"""Persisted documents remember who persisted them, for a quota per principal.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 20:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("persisted_documents", sa.Column("owner", sa.String(length=64), nullable=True))
    op.create_index(
        op.f("ix_persisted_documents_owner"), "persisted_documents", ["owner"], unique=False
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_persisted_documents_owner"), table_name="persisted_documents")
    with op.batch_alter_table("persisted_documents") as batch:
        batch.drop_column("owner")
