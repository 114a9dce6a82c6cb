"""Session rows: one statement carries a session with its events and devices, alike on both
databases and alike to what the tables hold."""

from collections import defaultdict

import pytest
from sqlalchemy import select

from storage.database import create_engine, fetch_rows
from storage.models import AuxiliaryDevice, Session, SessionEvent
from storage.queries import SESSION_COLUMNS, SESSION_ROW_COLUMNS, session_aggregates
from storage.records import SessionRow


@pytest.fixture
async def engine(backend):
    engine = create_engine(backend.url)
    yield engine
    await engine.dispose()


def test_the_statement_selects_the_fields_of_a_session_row_in_order():
    for dialect in ("postgresql", "sqlite"):
        statement = select(*SESSION_ROW_COLUMNS, *session_aggregates(dialect, Session.id))
        assert tuple(statement.selected_columns.keys()) == SessionRow._fields


def test_a_row_is_the_sessions_columns_in_table_order_then_its_aggregates():
    # Live updates build rows from the table's columns read by position.
    table = tuple(column.key for column in SESSION_COLUMNS)
    assert SessionRow._fields[: len(table)] == table
    assert SessionRow._fields[len(table) :] == (
        "event_names",
        "event_times",
        "auxiliary_device_ids",
    )


async def test_rows_hold_what_the_tables_hold(engine):
    statement = select(*SESSION_ROW_COLUMNS, *session_aggregates(engine.dialect.name, Session.id))
    rows = [SessionRow._make(row) for row in await fetch_rows(engine, statement)]
    stored = {row[0]: row for row in await fetch_rows(engine, select(*SESSION_COLUMNS))}
    events = defaultdict(list)
    for session_id, name, time in await fetch_rows(
        engine,
        select(SessionEvent.session_id, SessionEvent.name, SessionEvent.timestamp).order_by(
            SessionEvent.timestamp, SessionEvent.id
        ),
    ):
        events[session_id].append((name, time.replace(tzinfo=None)))
    devices = defaultdict(list)
    for session_id, device_id in await fetch_rows(
        engine, select(AuxiliaryDevice.session_id, AuxiliaryDevice.device_id)
    ):
        devices[session_id].append(str(device_id))
    assert sorted(row.id for row in rows) == sorted(stored) and events and devices
    times = {"created_at", "updated_at", "booked_time", "booked_until_time", "start_time"}
    times |= {"end_time", "reference_time"}
    for row in rows:
        for name, value in zip(SessionRow._fields, stored[row.id], strict=False):
            if name in times:  # the table's type reads aware times, a row holds them as stored
                assert getattr(row, name) == (value and value.replace(tzinfo=None)), name
                assert getattr(row, name) is None or getattr(row, name).tzinfo is None
            else:
                assert getattr(row, name) == value, name
        assert row.events == events[row.id]
        assert [str(i) for i in row.auxiliary_device_ids] == sorted(devices[row.id])
