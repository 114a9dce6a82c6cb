"""The database schema: migrations match the models, and constraints keep the data true."""

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError, StatementError

from storage.database import create_engine
from storage.migrate import upgrade
from storage.models import Base, Session
from storage.queries import select_session_rows
from storage.records import Money
from tests.conftest import BACKENDS, prepared_database
from tests.fixtures.dataset import DOCK_X, LOC_X, SESSIONS, USER_A, load_dataset, session_row


@pytest.fixture
async def engine(backend):
    engine = create_engine(backend.url)
    yield engine
    await engine.dispose()


ORDER_INDEXES = {
    f"ix_sessions_{p}{k}" for p in ("", "user_") for k in ("start", "end", "created", "fee")
}
REVISIONS = [
    # (revision, the one before, table, the indexes it adds, the ones it drops)
    ("0007", "0006", "sessions", ORDER_INDEXES, set()),
    (
        "0008",
        "0007",
        "session_events",
        {"ix_session_events_session_timestamp_id_name"},
        {"ix_session_events_session_timestamp"},
    ),
]


@pytest.mark.parametrize("kind", BACKENDS)
@pytest.mark.parametrize(("revision", "previous", "table", "added", "dropped"), REVISIONS)
async def test_an_index_revision_reverts_and_applies_again(
    kind, revision, previous, table, added, dropped, tmp_path
):
    """Indexes come and go with their revision, the data staying."""
    from alembic import command

    from storage.migrate import alembic_config

    def index_names(connection):
        return {index["name"] for index in inspect(connection).get_indexes(table)}

    def downgrade(connection):
        command.downgrade(alembic_config(connection), previous)

    async with prepared_database(kind, tmp_path, load_dataset) as (url, _tokens):
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                at_head = await connection.run_sync(index_names)
            async with engine.begin() as connection:
                await connection.run_sync(downgrade)
            async with engine.connect() as connection:
                before = await connection.run_sync(index_names)
                count = (
                    await connection.execute(select(func.count()).select_from(Session))
                ).scalar()
            await upgrade(engine)
            async with engine.connect() as connection:
                again = await connection.run_sync(index_names)
        finally:
            await engine.dispose()
    assert added <= at_head and not dropped & at_head
    assert at_head - before == added and before - at_head == dropped
    assert again == at_head
    assert count == len(SESSIONS)


async def test_sqlite_reads_a_sessions_events_from_the_index_alone(tmp_path):
    """The events' names and times come from the covering index, not the table's rows."""
    async with prepared_database("sqlite", tmp_path, load_dataset) as (url, _tokens):
        engine = create_engine(url)
        try:
            statement = select_session_rows("sqlite").where(Session.id == SESSIONS[0].id)
            compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
            async with engine.connect() as connection:
                plan = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")).all()
        finally:
            await engine.dispose()
    steps = [row[-1] for row in plan]
    on_events = [step for step in steps if "session_events" in step]
    assert on_events, steps
    assert all(
        "COVERING INDEX ix_session_events_session_timestamp_id_name" in step for step in on_events
    ), steps


async def test_the_migrated_schema_matches_the_models(engine):
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


def parking_row(**overrides):
    row = session_row(SESSIONS[0]) | {"id": uuid.uuid4()}
    return row | overrides


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"end_time": datetime(2025, 1, 2, 7, tzinfo=UTC)}, "end before start"),
        ({"status": "ended", "end_time": None}, "ended without end time"),
        ({"reference_time": datetime(2024, 1, 1, tzinfo=UTC)}, "reference time not the end"),
        ({"storage_device_id": None}, "parking without a device"),
        ({"kind": "rental"}, "rental without a vehicle"),
        ({"rating": 6}, "rating above 5"),
        ({"payment_status": "MAYBE"}, "unknown payment status"),
        ({"fee_minor": -1}, "negative fee"),
        ({"fee_currency": None}, "fee without currency"),
        ({"storage_location_id": uuid.uuid4()}, "unknown location"),
        ({"status": "active", "end_time": None, "reference_time": None}, "no reference"),
    ],
)
async def test_the_database_refuses_untrue_sessions(engine, overrides, why):
    row = parking_row(**overrides)
    with pytest.raises((IntegrityError, StatementError)):
        async with engine.begin() as connection:
            await connection.execute(insert(Session), [row])


async def test_a_device_holds_at_most_one_open_session(engine):
    # DOCK_X already has active session 102.
    booked = parking_row(
        status="booked",
        storage_device_id=DOCK_X,
        storage_location_id=LOC_X,
        start_time=None,
        end_time=None,
        reference_time=datetime(2025, 1, 2, 7, tzinfo=UTC),
    )
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(insert(Session), [booked])


async def test_timestamps_round_trip_as_aware_utc_whatever_the_offset(engine):
    row = parking_row()
    offset = timezone(timedelta(hours=2))
    row["created_at"] = datetime(2025, 1, 2, 9, tzinfo=offset)  # 07:00 UTC
    async with engine.begin() as connection:
        await connection.execute(insert(Session), [row])
        stored = (
            await connection.execute(select(Session.created_at).where(Session.id == row["id"]))
        ).scalar_one()
        await connection.rollback()
    assert stored == datetime(2025, 1, 2, 7, tzinfo=UTC)
    assert stored.tzinfo is UTC


async def test_naive_timestamps_are_refused(engine):
    with pytest.raises(StatementError, match="naive datetime"):
        async with engine.begin() as connection:
            await connection.execute(
                update(Session)
                .where(Session.user_id == USER_A)
                .values(updated_at=datetime(2025, 1, 1))
            )


async def test_money_is_exact_at_any_size(engine):
    row = parking_row(fee_minor=1234567890123456789, fee_currency="EUR")
    async with engine.begin() as connection:
        await connection.execute(insert(Session), [row])
        minor = (
            await connection.execute(select(Session.fee_minor).where(Session.id == row["id"]))
        ).scalar_one()
        await connection.rollback()
    assert Money.from_minor(minor, "EUR").value == Decimal("12345678901234567.89")


def test_minor_units_follow_the_currency():
    assert str(Money.from_minor(250, "EUR").value) == "2.50"
    assert str(Money.from_minor(250, "JPY").value) == "250"
    assert str(Money.from_minor(2500, "KWD").value) == "2.500"
