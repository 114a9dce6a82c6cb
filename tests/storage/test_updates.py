"""The change feed: numbered changes, a cursor that minds the gaps, in-memory predicates as SQL."""

import uuid
from datetime import date

import pytest
from sqlalchemy import and_, select

from resolvers.scope import Principal
from resolvers.sessions import SessionFilter
from storage.changes import (
    MAX_GAPS,
    ChangeCursor,
    latest_change,
    read_changes,
    record_change,
)
from storage.database import create_engine, fetch_rows, write_transaction
from storage.enums import Role, SessionKind, SessionStatus
from storage.models import Session
from storage.predicates import Unevaluable, compile_predicate
from storage.queries import SESSION_COLUMNS
from storage.updates import UpdateBus
from tests.fixtures.dataset import DOCK_X, FLEET_F, LOC_X, LOC_Y, SESSIONS, USER_A, USER_B


@pytest.fixture
async def engine(writable):
    engine = create_engine(writable.url)
    yield engine
    await engine.dispose()


PRINCIPALS = [
    Principal(Role.ADMIN, "admin"),
    Principal(Role.USER, "a", user_id=USER_A),
    Principal(Role.USER, "b", user_id=USER_B),
    Principal(Role.USER, "nobody"),
    Principal(Role.OPERATOR, "x", location_ids=frozenset({LOC_X})),
    Principal(Role.OPERATOR, "f", fleet_ids=frozenset({FLEET_F})),
    Principal(
        Role.OPERATOR,
        "xy-f",
        location_ids=frozenset({LOC_X, LOC_Y}),
        fleet_ids=frozenset({FLEET_F}),
    ),
    Principal(Role.OPERATOR, "none"),
]
FILTERS = [
    SessionFilter(),
    SessionFilter(user_id=USER_B),
    SessionFilter(location_id=LOC_X),
    SessionFilter(device_id=DOCK_X),
    SessionFilter(fleet_id=FLEET_F),
    SessionFilter(statuses=frozenset({SessionStatus.ACTIVE, SessionStatus.BOOKED})),
    SessionFilter(kinds=frozenset({SessionKind.RENTAL})),
    SessionFilter(from_date=date(2025, 1, 3), to_date=date(2025, 1, 5)),
    SessionFilter(to_date=date.max),
]


async def test_visibility_and_filters_match_in_memory_exactly_as_in_sql(engine):
    rows = await fetch_rows(engine, select(*SESSION_COLUMNS))
    names = [column.name for column in SESSION_COLUMNS]
    by_id = {row[0]: dict(zip(names, row, strict=True)) for row in rows}
    assert len(by_id) >= len(SESSIONS)
    for principal in PRINCIPALS:
        for session_filter in FILTERS:
            condition = and_(principal.session_filter(), *session_filter.conditions())
            in_sql = {r[0] for r in await fetch_rows(engine, select(Session.id).where(condition))}
            matches = compile_predicate(condition)
            in_memory = {id_ for id_, row in by_id.items() if matches(row)}
            assert in_memory == in_sql, (principal.subject, session_filter)


def test_a_construct_without_an_in_memory_meaning_is_refused_when_compiled():
    with pytest.raises(Unevaluable):
        compile_predicate(Session.id.in_(select(Session.id)))


def test_the_cursor_asks_again_for_the_numbers_it_skipped():
    cursor = ChangeCursor(10)
    cursor.advance([11, 14])
    assert cursor.position == 14
    assert sorted(cursor.gaps) == [12, 13]
    cursor.advance([13, 15])
    assert sorted(cursor.gaps) == [12]
    assert cursor.position == 15


def test_only_the_newest_skipped_numbers_are_asked_for_again():
    cursor = ChangeCursor(0)
    cursor.advance([35_000])  # the numbers below went long ago (an emptied table, a restart)
    assert len(cursor.gaps) == MAX_GAPS
    assert min(cursor.gaps) == 35_000 - MAX_GAPS


async def test_changes_are_read_in_order_with_their_session_as_it_is_now(engine):
    start = await latest_change(engine)
    first, second = SESSIONS[0].id, SESSIONS[1].id
    async with write_transaction(engine) as connection:
        await record_change(connection, first)
        await record_change(connection, uuid.uuid4())  # a session that is gone
        await record_change(connection, second)
    changes = await read_changes(engine, ChangeCursor(start))
    assert [number for number, _ in changes] == [start + 1, start + 2, start + 3]
    assert [values[0] if values else None for _, values in changes] == [first, None, second]
    assert await latest_change(engine) == start + 3


async def test_a_commit_wakes_the_reader_of_this_process():
    bus = UpdateBus()
    await bus.committed()
    await bus.wait(None)  # returns at once: it was woken
    assert bus.ready
