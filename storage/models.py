"""The tables of the session store, as SQLAlchemy 2 typed models.

Alembic migrations are the only source of the schema; these models describe it for
queries and must stay in step with the migrations (a test compares them).
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.enums import (
    PARKING_DEVICE_KINDS,
    RENTAL_DEVICE_KINDS,
    DeviceKind,
    EventName,
    PaymentStatus,
    Role,
    SessionKind,
    SessionStatus,
)
from storage.types import TZDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _one_of(column: str, values: Any) -> str:
    quoted = ", ".join(f"'{v.value}'" for v in sorted(values, key=lambda v: v.value))
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    """Declarative base with stable constraint names and UTC timestamps."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: TZDateTime(), uuid.UUID: Uuid()}


class Location(Base):
    """A place with parking devices: a bike parking house, a street dock, a locker bank."""

    __tablename__ = "locations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Fleet(Base):
    """A set of rental vehicles run by one operator."""

    __tablename__ = "fleets"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Device(Base):
    """A parking device at a location, or a rental vehicle of a fleet."""

    __tablename__ = "devices"
    __table_args__ = (
        CheckConstraint(_one_of("kind", DeviceKind), name="kind"),
        CheckConstraint(
            f"({_one_of('kind', PARKING_DEVICE_KINDS)} AND location_id IS NOT NULL "
            "AND fleet_id IS NULL) OR "
            f"({_one_of('kind', RENTAL_DEVICE_KINDS)} AND fleet_id IS NOT NULL)",
            name="placement",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("locations.id"), index=True)
    fleet_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("fleets.id"), index=True)
    created_at: Mapped[datetime]


class Session(Base):
    """A parking or rental session; one row carries every field of the v2 body."""

    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint(_one_of("kind", SessionKind), name="kind"),
        CheckConstraint(_one_of("status", SessionStatus), name="status"),
        CheckConstraint(
            f"payment_status IS NULL OR {_one_of('payment_status', PaymentStatus)}",
            name="payment_status",
        ),
        CheckConstraint(
            "start_time IS NULL OR end_time IS NULL OR end_time >= start_time",
            name="end_after_start",
        ),
        CheckConstraint(
            "booked_time IS NULL OR booked_until_time IS NULL OR booked_until_time >= booked_time",
            name="booked_until_after_booked",
        ),
        CheckConstraint(
            "(status = 'pending' AND start_time IS NULL AND end_time IS NULL"
            " AND reference_time = created_at)"
            " OR (status = 'booked' AND booked_time IS NOT NULL AND start_time IS NULL"
            " AND end_time IS NULL AND reference_time = booked_time)"
            " OR (status = 'active' AND start_time IS NOT NULL AND end_time IS NULL"
            " AND reference_time = start_time)"
            " OR (status = 'ended' AND end_time IS NOT NULL AND reference_time = end_time)",
            name="status_times",
        ),
        CheckConstraint(
            "(kind = 'parking' AND storage_location_id IS NOT NULL"
            " AND storage_device_id IS NOT NULL AND rental_device_id IS NULL"
            " AND rental_fleet_id IS NULL AND travel_start_location_id IS NULL"
            " AND travel_end_location_id IS NULL)"
            " OR (kind = 'rental' AND rental_device_id IS NOT NULL"
            " AND rental_fleet_id IS NOT NULL AND storage_location_id IS NULL"
            " AND storage_device_id IS NULL)",
            name="kind_metadata",
        ),
        CheckConstraint(
            "(fee_minor IS NULL AND fee_currency IS NULL)"
            " OR (fee_minor >= 0 AND fee_currency IS NOT NULL)",
            name="fee",
        ),
        CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating"),
        CheckConstraint(
            "rating_comment IS NULL OR rating IS NOT NULL", name="comment_needs_rating"
        ),
        CheckConstraint(
            "(seconds_active IS NULL OR seconds_active >= 0)"
            " AND (seconds_paused IS NULL OR seconds_paused >= 0)"
            " AND (battery_used IS NULL OR battery_used >= 0)"
            " AND (distance_travelled IS NULL OR distance_travelled >= 0)",
            name="travel_non_negative",
        ),
        Index("ix_sessions_reference", "reference_time", "id"),
        Index("ix_sessions_status_reference", "status", "reference_time", "id"),
        Index("ix_sessions_user_reference", "user_id", "reference_time", "id"),
        Index(
            "ix_sessions_storage_location_reference",
            "storage_location_id",
            "reference_time",
            "id",
        ),
        Index("ix_sessions_storage_device_reference", "storage_device_id", "reference_time", "id"),
        Index(
            "ix_sessions_travel_start_location_reference",
            "travel_start_location_id",
            "reference_time",
            "id",
        ),
        Index(
            "ix_sessions_travel_end_location_reference",
            "travel_end_location_id",
            "reference_time",
            "id",
        ),
        Index("ix_sessions_rental_device_reference", "rental_device_id", "reference_time", "id"),
        Index("ix_sessions_rental_fleet_reference", "rental_fleet_id", "reference_time", "id"),
        # The other orders (storage.ordering), of every session and of one rider's.
        *(
            Index(f"ix_sessions_{prefix}{name}", *scope, column, "id")
            for prefix, scope in (("", ()), ("user_", ("user_id",)))
            for name, column in (
                ("start", "start_time"),
                ("end", "end_time"),
                ("created", "created_at"),
                ("fee", "fee_minor"),
            )
        ),
        # A device holds at most one booked or active session, whatever the writers do.
        Index(
            "uq_sessions_open_storage_device",
            "storage_device_id",
            unique=True,
            postgresql_where=text("status IN ('booked', 'active')"),
            sqlite_where=text("status IN ('booked', 'active')"),
        ),
        Index(
            "uq_sessions_open_rental_device",
            "rental_device_id",
            unique=True,
            postgresql_where=text("status IN ('booked', 'active')"),
            sqlite_where=text("status IN ('booked', 'active')"),
        ),
        # A rider's open sessions, counted for the open-session quota on every new one.
        Index(
            "ix_sessions_user_open",
            "user_id",
            postgresql_where=text("status <> 'ended'"),
            sqlite_where=text("status <> 'ended'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[uuid.UUID]
    access_key_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    booked_time: Mapped[datetime | None]
    booked_until_time: Mapped[datetime | None]
    start_time: Mapped[datetime | None]
    end_time: Mapped[datetime | None]
    # The time lists are filtered and ordered by: end (ended), start (active),
    # booking (booked) or creation (pending). A check constraint keeps it true.
    reference_time: Mapped[datetime]
    # Money is kept in integer minor units: SQLite has no exact decimal type.
    fee_minor: Mapped[int | None] = mapped_column(BigInteger)
    fee_currency: Mapped[str | None] = mapped_column(String(3))
    payment_id: Mapped[uuid.UUID | None]
    payment_status: Mapped[str | None] = mapped_column(String(20))
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    storage_location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("locations.id"))
    storage_device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("devices.id"))
    travel_start_location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("locations.id"))
    travel_end_location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("locations.id"))
    rental_device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("devices.id"))
    rental_fleet_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("fleets.id"))
    # Bumped by every write; writers update only the version they read (optimistic locking).
    version: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    seconds_active: Mapped[int | None] = mapped_column(Integer)
    seconds_paused: Mapped[int | None] = mapped_column(Integer)
    battery_used: Mapped[float | None] = mapped_column(Float)
    distance_travelled: Mapped[float | None] = mapped_column(Float)


class SessionEvent(Base):
    """One step of a session's lifecycle: book, start, pause, resume or end."""

    __tablename__ = "session_events"
    __table_args__ = (
        CheckConstraint(_one_of("name", EventName), name="name"),
        # Covering: a session read lists names and times in (timestamp, id) order from it.
        Index(
            "ix_session_events_session_timestamp_id_name", "session_id", "timestamp", "id", "name"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(10))
    timestamp: Mapped[datetime]


class AuxiliaryDevice(Base):
    """A device used by a session besides its main one (a charger, a helmet box)."""

    __tablename__ = "session_auxiliary_devices"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("devices.id"), primary_key=True, index=True
    )


class ApiToken(Base):
    """An opaque bearer token, stored as its SHA-256 digest, with what it may see."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint(_one_of("role", Role), name="role"),
        CheckConstraint("role != 'user' OR user_id IS NOT NULL", name="user_has_subject"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[uuid.UUID | None]
    location_ids: Mapped[list[str]] = mapped_column(JSON)
    fleet_ids: Mapped[list[str]] = mapped_column(JSON)
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]


class Tariff(Base):
    """What parking at a location or riding a fleet's vehicles costs."""

    __tablename__ = "tariffs"
    __table_args__ = (
        CheckConstraint("(location_id IS NULL) != (fleet_id IS NULL)", name="location_or_fleet"),
        CheckConstraint(
            "free_minutes >= 0 AND period_minutes > 0 AND price_per_period >= 0"
            " AND (daily_cap IS NULL OR daily_cap >= 0)",
            name="non_negative",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("locations.id"), unique=True)
    fleet_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("fleets.id"), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    free_minutes: Mapped[int] = mapped_column(Integer)
    period_minutes: Mapped[int] = mapped_column(Integer)
    # Prices may have sub-minor-unit precision; fees are rounded once, at the end.
    price_per_period: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    daily_cap: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))


class IdempotencyKey(Base):
    """The first outcome of a mutation sent with an idempotency key, replayed on repeats."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class GatewaySecret(Base):
    """A secret shared by every gateway process, such as the pagination signing key."""

    __tablename__ = "gateway_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class PersistedDocument(Base):
    """A GraphQL document known by the SHA-256 of its text, shared by every gateway process.

    ``trusted`` documents were registered by an operator (``session-gateway documents
    register``) and are the only ones that run in trusted-documents mode; the others
    were sent by clients through automatic persisted queries, and ``owner`` (a digest
    of the principal that persisted one) counts them against that principal's quota.
    """

    __tablename__ = "persisted_documents"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    trusted: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[datetime]
    owner: Mapped[str | None] = mapped_column(String(64), index=True)


class SessionChange(Base):
    """One committed change to a session, numbered in order: the feed live updates read.

    Each gateway process remembers the last number it delivered and reads what follows,
    so a process that lost its notices (an outage, a restart of the broker) catches up
    on every change committed meanwhile. Rows older than the retention are pruned.
    """

    __tablename__ = "session_changes"
    __table_args__ = (Index("ix_session_changes_changed_at", "changed_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    session_id: Mapped[uuid.UUID]
    changed_at: Mapped[datetime]
