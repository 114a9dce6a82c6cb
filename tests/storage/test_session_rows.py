"""Session rows: one statement carries a session with its events and devices, alike on both
databases and alike to what the loaders return."""

import pytest
from sqlalchemy import select

from loaders.sessions import AuxiliaryDevicesBySessionLoader, EventsBySessionLoader
from storage.database import create_engine, fetch_rows
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
        row.id: SessionRecord.from_row(row)
        for row in await fetch_rows(engine, select(*SESSION_COLUMNS))
    }
    ids = [row.id for row in rows]
    events = await EventsBySessionLoader(engine).load_many(ids)
    devices = await AuxiliaryDevicesBySessionLoader(engine).load_many(ids)
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
