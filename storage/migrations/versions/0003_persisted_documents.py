"""Persisted GraphQL documents: automatic persisted queries and trusted documents.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:01:46.992130
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "persisted_documents",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("trusted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_persisted_documents")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("persisted_documents")
