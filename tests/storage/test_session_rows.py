"""Session rows: one statement carries a session with its events and devices, alike on both
databases and alike to what the loaders return."""

import pytest
from sqlalchemy import select

from loaders.sessions import AuxiliaryDevicesBySessionLoader, EventsBySessionLoader
from storage.database import Reads, create_engine, fetch_rows
from storage.models import Session
from storage.queries import SESSION_COLUMNS, SESSION_ROW_COLUMNS, session_aggregates
from storage.records import SessionRecord, SessionRow


@pytest.fixture
async def engine(backend):
    engine = create_engine(backend.url)
    yield engine
    await engine.dispose()


def test_the_statement_selects_the_fields_of_a_session_row_in_order():
    for dialect in ("postgresql", "sqlite"):
        statement = select(*SESSION_ROW_COLUMNS, *session_aggregates(dialect, Session.id))
        assert tuple(statement.selected_columns.keys()) == SessionRow._fields


async def test_rows_hold_what_records_and_loaders_hold(engine):
    statement = select(*SESSION_ROW_COLUMNS, *session_aggregates(engine.dialect.name, Session.id))
    rows = [SessionRow._make(row) for row in await fetch_rows(engine, statement)]
    records = {
        row[0]: SessionRecord.from_row(row)
        for row in await fetch_rows(engine, select(*SESSION_COLUMNS))
    }
    ids = [row.id for row in rows]
    events = await EventsBySessionLoader(Reads(engine)).load_many(ids)
    devices = await AuxiliaryDevicesBySessionLoader(Reads(engine)).load_many(ids)
    assert sorted(ids) == sorted(records) and any(events) and any(devices)
    for row, row_events, row_devices in zip(rows, events, devices, strict=True):
        record = records[row.id]
        for name in ("start_time", "end_time", "booked_time", "reference_time"):
            stored, aware = getattr(row, name), getattr(record, name)
            assert (stored is None and aware is None) or stored == aware.replace(tzinfo=None)
            assert stored is None or stored.tzinfo is None
        assert (row.status, row.kind) == (record.status.value, record.kind.value)
        assert row.event_names == [event.name.value for event in row_events]
        assert row.event_times == [event.timestamp.replace(tzinfo=None) for event in row_events]
        assert [str(i) for i in row.auxiliary_device_ids] == [str(d.id) for d in row_devices]


def test_records_read_the_sessions_columns_in_table_order():
    # SessionRecord.from_row reads by position: the table's columns, then the record's.
    names = [c.key for c in SESSION_COLUMNS]
    positional = [
        "id", "kind", "status", "user_id", "access_key_id", "created_at", "updated_at",
        "booked_time", "booked_until_time", "start_time", "end_time", "reference_time",
        "fee_minor", "fee_currency", "payment_id", "payment_status", "rating", "rating_comment",
        "storage_location_id", "storage_device_id", "travel_start_location_id",
        "travel_end_location_id", "rental_device_id", "rental_fleet_id", "version",
        "seconds_active", "seconds_paused", "battery_used", "distance_travelled",
    ]  # fmt: skip
    assert names == positional
