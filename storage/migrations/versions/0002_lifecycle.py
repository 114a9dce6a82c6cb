"""Lifecycle writes: tariffs, idempotency keys, and a version per session.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:25:03.566595
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "idempotency_keys",
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("subject", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(
        "ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"], unique=False
    )
    op.create_table(
        "tariffs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("fleet_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("free_minutes", sa.Integer(), nullable=False),
        sa.Column("period_minutes", sa.Integer(), nullable=False),
        sa.Column("price_per_period", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("daily_cap", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.CheckConstraint(
            "(location_id IS NULL) != (fleet_id IS NULL)", name=op.f("ck_tariffs_location_or_fleet")
        ),
        sa.CheckConstraint(
            "free_minutes >= 0 AND period_minutes > 0 AND price_per_period >= 0 AND (daily_cap IS NULL OR daily_cap >= 0)",
            name=op.f("ck_tariffs_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["fleet_id"], ["fleets.id"], name=op.f("fk_tariffs_fleet_id_fleets")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_tariffs_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tariffs")),
        sa.UniqueConstraint("fleet_id", name=op.f("uq_tariffs_fleet_id")),
        sa.UniqueConstraint("location_id", name=op.f("uq_tariffs_location_id")),
    )
    op.add_column(
        "sessions", sa.Column("version", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_column("sessions", "version")
    op.drop_table("tariffs")
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
