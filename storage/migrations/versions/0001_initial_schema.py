"""Initial schema: catalog, sessions, events, auxiliary devices, tokens, secrets.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 09:14:07.727233
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("location_ids", sa.JSON(), nullable=False),
        sa.Column("fleet_ids", sa.JSON(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "role != 'user' OR user_id IS NOT NULL",
            name=op.f("ck_api_tokens_user_has_subject"),
        ),
        sa.CheckConstraint(
            "role IN ('admin', 'operator', 'user')", name=op.f("ck_api_tokens_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "fleets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleets")),
    )
    op.create_table(
        "gateway_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_gateway_secrets")),
    )
    op.create_table(
        "locations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("fleet_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "(kind IN ('bike_dock', 'locker', 'rack', 'scooter_dock') AND location_id IS NOT NULL AND fleet_id IS NULL) OR (kind IN ('e_bike', 'e_scooter') AND fleet_id IS NOT NULL)",
            name=op.f("ck_devices_placement"),
        ),
        sa.CheckConstraint(
            "kind IN ('bike_dock', 'e_bike', 'e_scooter', 'locker', 'rack', 'scooter_dock')",
            name=op.f("ck_devices_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["fleet_id"], ["fleets.id"], name=op.f("fk_devices_fleet_id_fleets")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_devices_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
    )
    op.create_index(op.f("ix_devices_fleet_id"), "devices", ["fleet_id"], unique=False)
    op.create_index(op.f("ix_devices_location_id"), "devices", ["location_id"], unique=False)
    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("access_key_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("booked_time", sa.DateTime(), nullable=True),
        sa.Column("booked_until_time", sa.DateTime(), nullable=True),
        sa.Column("start_time", sa.DateTime(), nullable=True),
        sa.Column("end_time", sa.DateTime(), nullable=True),
        sa.Column("reference_time", sa.DateTime(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=True),
        sa.Column("fee_currency", sa.String(length=3), nullable=True),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("payment_status", sa.String(length=20), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.Column("storage_location_id", sa.Uuid(), nullable=True),
        sa.Column("storage_device_id", sa.Uuid(), nullable=True),
        sa.Column("travel_start_location_id", sa.Uuid(), nullable=True),
        sa.Column("travel_end_location_id", sa.Uuid(), nullable=True),
        sa.Column("rental_device_id", sa.Uuid(), nullable=True),
        sa.Column("rental_fleet_id", sa.Uuid(), nullable=True),
        sa.Column("seconds_active", sa.Integer(), nullable=True),
        sa.Column("seconds_paused", sa.Integer(), nullable=True),
        sa.Column("battery_used", sa.Float(), nullable=True),
        sa.Column("distance_travelled", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "(kind = 'parking' AND storage_location_id IS NOT NULL AND storage_device_id IS NOT NULL AND rental_device_id IS NULL AND rental_fleet_id IS NULL AND travel_start_location_id IS NULL AND travel_end_location_id IS NULL) OR (kind = 'rental' AND rental_device_id IS NOT NULL AND rental_fleet_id IS NOT NULL AND storage_location_id IS NULL AND storage_device_id IS NULL)",
            name=op.f("ck_sessions_kind_metadata"),
        ),
        sa.CheckConstraint(
            "(status = 'pending' AND start_time IS NULL AND end_time IS NULL AND reference_time = created_at) OR (status = 'booked' AND booked_time IS NOT NULL AND start_time IS NULL AND end_time IS NULL AND reference_time = booked_time) OR (status = 'active' AND start_time IS NOT NULL AND end_time IS NULL AND reference_time = start_time) OR (status = 'ended' AND end_time IS NOT NULL AND reference_time = end_time)",
            name=op.f("ck_sessions_status_times"),
        ),
        sa.CheckConstraint("kind IN ('parking', 'rental')", name=op.f("ck_sessions_kind")),
        sa.CheckConstraint(
            "payment_status IS NULL OR payment_status IN ('APPROVED', 'CANCELED', 'NEEDS_APPROVAL', 'NOT_CHARGED', 'PAID', 'PAYMENT_FAILED', 'PENDING', 'REFUNDED', 'REFUND_FAILED')",
            name=op.f("ck_sessions_payment_status"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'booked', 'ended', 'pending')",
            name=op.f("ck_sessions_status"),
        ),
        sa.CheckConstraint(
            "(fee_minor IS NULL AND fee_currency IS NULL) OR (fee_minor >= 0 AND fee_currency IS NOT NULL)",
            name=op.f("ck_sessions_fee"),
        ),
        sa.CheckConstraint(
            "(seconds_active IS NULL OR seconds_active >= 0) AND (seconds_paused IS NULL OR seconds_paused >= 0) AND (battery_used IS NULL OR battery_used >= 0) AND (distance_travelled IS NULL OR distance_travelled >= 0)",
            name=op.f("ck_sessions_travel_non_negative"),
        ),
        sa.CheckConstraint(
            "booked_time IS NULL OR booked_until_time IS NULL OR booked_until_time >= booked_time",
            name=op.f("ck_sessions_booked_until_after_booked"),
        ),
        sa.CheckConstraint(
            "rating IS NULL OR (rating BETWEEN 1 AND 5)",
            name=op.f("ck_sessions_rating"),
        ),
        sa.CheckConstraint(
            "rating_comment IS NULL OR rating IS NOT NULL",
            name=op.f("ck_sessions_comment_needs_rating"),
        ),
        sa.CheckConstraint(
            "start_time IS NULL OR end_time IS NULL OR end_time >= start_time",
            name=op.f("ck_sessions_end_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["rental_device_id"],
            ["devices.id"],
            name=op.f("fk_sessions_rental_device_id_devices"),
        ),
        sa.ForeignKeyConstraint(
            ["rental_fleet_id"],
            ["fleets.id"],
            name=op.f("fk_sessions_rental_fleet_id_fleets"),
        ),
        sa.ForeignKeyConstraint(
            ["storage_device_id"],
            ["devices.id"],
            name=op.f("fk_sessions_storage_device_id_devices"),
        ),
        sa.ForeignKeyConstraint(
            ["storage_location_id"],
            ["locations.id"],
            name=op.f("fk_sessions_storage_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["travel_end_location_id"],
            ["locations.id"],
            name=op.f("fk_sessions_travel_end_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["travel_start_location_id"],
            ["locations.id"],
            name=op.f("fk_sessions_travel_start_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_index("ix_sessions_reference", "sessions", ["reference_time", "id"], unique=False)
    op.create_index(
        "ix_sessions_rental_device_reference",
        "sessions",
        ["rental_device_id", "reference_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_sessions_rental_fleet_reference",
        "sessions",
        ["rental_fleet_id", "reference_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_sessions_status_reference",
        "sessions",
        ["status", "reference_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_sessions_storage_device_reference",
        "sessions",
        ["storage_device_id", "reference_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_sessions_storage_location_reference",
        "sessions",
        ["storage_location_id", "reference_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_sessions_travel_end_location_reference",
        "sessions",
        ["travel_end_location_id", "reference_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_sessions_travel_start_location_reference",
        "sessions",
        ["travel_start_location_id", "reference_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_sessions_user_reference",
        "sessions",
        ["user_id", "reference_time", "id"],
        unique=False,
    )
    op.create_index(
        "uq_sessions_open_rental_device",
        "sessions",
        ["rental_device_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('booked', 'active')"),
        sqlite_where=sa.text("status IN ('booked', 'active')"),
    )
    op.create_index(
        "uq_sessions_open_storage_device",
        "sessions",
        ["storage_device_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('booked', 'active')"),
        sqlite_where=sa.text("status IN ('booked', 'active')"),
    )
    op.create_table(
        "session_auxiliary_devices",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_session_auxiliary_devices_device_id_devices"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_session_auxiliary_devices_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "session_id", "device_id", name=op.f("pk_session_auxiliary_devices")
        ),
    )
    op.create_index(
        op.f("ix_session_auxiliary_devices_device_id"),
        "session_auxiliary_devices",
        ["device_id"],
        unique=False,
    )
    op.create_table(
        "session_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=10), nullable=False),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "name IN ('book', 'end', 'pause', 'resume', 'start')",
            name=op.f("ck_session_events_name"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_session_events_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_events")),
    )
    op.create_index(
        "ix_session_events_session_timestamp",
        "session_events",
        ["session_id", "timestamp"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_session_events_session_timestamp", table_name="session_events")
    op.drop_table("session_events")
    op.drop_index(
        op.f("ix_session_auxiliary_devices_device_id"),
        table_name="session_auxiliary_devices",
    )
    op.drop_table("session_auxiliary_devices")
    op.drop_index(
        "uq_sessions_open_storage_device",
        table_name="sessions",
        postgresql_where=sa.text("status IN ('booked', 'active')"),
        sqlite_where=sa.text("status IN ('booked', 'active')"),
    )
    op.drop_index(
        "uq_sessions_open_rental_device",
        table_name="sessions",
        postgresql_where=sa.text("status IN ('booked', 'active')"),
        sqlite_where=sa.text("status IN ('booked', 'active')"),
    )
    op.drop_index("ix_sessions_user_reference", table_name="sessions")
    op.drop_index("ix_sessions_travel_start_location_reference", table_name="sessions")
    op.drop_index("ix_sessions_travel_end_location_reference", table_name="sessions")
    op.drop_index("ix_sessions_storage_location_reference", table_name="sessions")
    op.drop_index("ix_sessions_storage_device_reference", table_name="sessions")
    op.drop_index("ix_sessions_status_reference", table_name="sessions")
    op.drop_index("ix_sessions_rental_fleet_reference", table_name="sessions")
    op.drop_index("ix_sessions_rental_device_reference", table_name="sessions")
    op.drop_index("ix_sessions_reference", table_name="sessions")
    op.drop_table("sessions")
    op.drop_index(op.f("ix_devices_location_id"), table_name="devices")
    op.drop_index(op.f("ix_devices_fleet_id"), table_name="devices")
    op.drop_table("devices")
    op.drop_table("locations")
    op.drop_table("gateway_secrets")
    op.drop_table("fleets")
    op.drop_table("api_tokens")
