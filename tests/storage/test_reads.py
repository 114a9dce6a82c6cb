"""A request's reads: what SQLAlchemy would return, on one connection, counted, retried."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import (
    Float,
    Integer,
    Numeric,
    String,
    Uuid,
    bindparam,
    cast,
    event,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.state import GatewayState
from resolvers.identity import _TOKEN_BY_DIGEST, hash_token
from resolvers.sessions import SessionFilter
from storage.database import (
    READS_BY_PATH,
    SQLITE_READS_AT_ONCE,
    Reads,
    compiled_statements,
    create_engine,
    watch_statements,
)
from storage.enums import SessionKind, SessionStatus
from storage.models import Session
from storage.queries import (
    DEVICE_COLUMNS,
    LOCATION_COLUMNS,
    SESSION_COLUMNS,
    in_keys,
    select_session_rows,
    with_references,
)
from storage.types import TZDateTime
from tests.conftest import in_process_client, prepared_database, running_app
from tests.fixtures.dataset import SESSIONS, load_dataset
from tests.graphql.helpers import gql


@pytest.fixture
async def engine(backend) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(backend.url)
    yield engine
    await engine.dispose()


def _statements(dialect: str, digest: str) -> list[tuple[Any, dict[str, Any]]]:
    """Reads of every kind of column the gateway selects, with the values they bind."""
    ended = SessionFilter(statuses=frozenset({SessionStatus.ENDED, SessionStatus.ACTIVE}))
    page = (
        select_session_rows(dialect)
        .where(*ended.conditions(), Session.kind == SessionKind.PARKING.value)
        .order_by(Session.id)
        .subquery()
    )
    source, references = with_references(page, frozenset({"storage_location", "storage_device"}))
    return [
        (select(*SESSION_COLUMNS).order_by(Session.id), {}),  # aware times, numbers, ids
        (_TOKEN_BY_DIGEST, {"digest": digest}),  # JSON lists, an aware expiry
        (select(*LOCATION_COLUMNS), {}),
        (select(*DEVICE_COLUMNS), {}),
        (  # decimals and floats, some needing all 17 digits (50 / 3 = 16.666666666666668)
            select(
                cast(Session.fee_minor, Numeric(12, 2)),
                cast(Session.fee_minor, Float),
                cast(Session.fee_minor, Float) / 3,
            ).where(Session.fee_minor.is_not(None)),
            {},
        ),
        (select(page, *references).select_from(source), {}),  # aggregates, joined rows
        (  # a list of keys bound as one parameter
            select(Session.id).where(in_keys(Session.id, "keys", dialect)),
            {"keys": [SESSIONS[0].id, uuid.uuid4()]},
        ),
    ]


async def test_reads_return_what_sqlalchemy_returns(engine, tokens):
    reads = Reads(engine, held=True)
    try:
        for kept, params in _statements(engine.dialect.name, hash_token(tokens["admin"])):
            statement = kept.params({})  # a copy this process has never run
            async with engine.connect() as connection:
                expected = (await connection.execute(statement, params)).all()
            assert expected, str(statement)  # each statement finds rows in the dataset
            compiled = compiled_statements()
            first = await reads.rows(statement, params)  # by SQLAlchemy: seen once
            assert compiled_statements() == compiled
            got = await reads.rows(statement, params)  # compiled for the driver
            assert compiled_statements() == compiled + 1
            assert await reads.rows(statement, params) == got  # and kept
            assert compiled_statements() == compiled + 1
            for rows in (first, got):
                assert [tuple(row) for row in rows] == [tuple(row) for row in expected]
                for row, expected_row in zip(rows, expected, strict=True):
                    assert list(map(_kind, row)) == list(map(_kind, expected_row)), statement
    finally:
        await reads.release()


def _kind(value: Any) -> type:
    """A value's type; every uuid is a uuid (the driver's reads return asyncpg's, on SQLite too)."""
    return uuid.UUID if isinstance(value, uuid.UUID) else type(value)


async def test_sqlite_reads_come_packed_unless_a_column_may_hold_a_real(tmp_path):
    """One JSON document per read on SQLite where JSON holds every value exactly.

    SQLite's JSON prints a real to 15 digits: a column that may hold one is read row by
    row, while a null standing in for one (a field a read does not show) is packed.
    """
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'packed.db'}")
    reals = [0.1 + 0.2, 50 / 3, 5e-324, 1.7976931348623157e308, float("inf"), None]
    values = union_all(
        *(
            select(
                literal(value, Float).label("real"),
                literal(f"text {value}", String).label("text"),
                literal(7, Integer).label("number"),
                literal(uuid.UUID(int=index), Uuid).label("id"),
                literal(datetime(2026, 1, 1, tzinfo=UTC), TZDateTime).label("at"),
                cast(null(), Float).label("unread"),
            )
            for index, value in enumerate(reals)
        )
    ).subquery()
    with_reals = select(values).order_by(values.c.text)
    without = select(*(c for c in values.c if c.name != "real")).order_by(values.c.text)
    reads = Reads(engine)
    try:
        for statement, packs in ((without, 1), (with_reals, 0)):
            expected = await reads.rows(statement)  # by SQLAlchemy: seen once
            packed = READS_BY_PATH["packed"]
            got = await reads.rows(statement)
            assert READS_BY_PATH["packed"] == packed + packs
            assert [tuple(row) for row in got] == [tuple(row) for row in expected]
            for row, expected_row in zip(got, expected, strict=True):
                assert list(map(_kind, row)) == list(map(_kind, expected_row))
        assert sorted((row[0] for row in got), key=repr) == sorted(reals, key=repr)
    finally:
        await engine.dispose()


async def test_a_process_runs_two_sqlite_reads_at_once(tmp_path):
    """The others wait for their turn: threads of one process contend for SQLite's locks."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    running, most = [0], [0]

    def probe() -> int:  # runs on the connection's thread, inside the statement
        running[0] += 1
        most[0] = max(most[0], running[0])
        time.sleep(0.05)
        running[0] -= 1
        return 1

    def register(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("probe", 0, probe)

    event.listen(engine.sync_engine, "connect", register)
    statement = select(func.probe().label("probed"))
    try:
        await Reads(engine).rows(statement)  # by SQLAlchemy, outside the limit
        results = await asyncio.gather(*(Reads(engine).rows(statement) for _ in range(6)))
        assert [[tuple(row) for row in rows] for rows in results] == [[(1,)]] * 6
        assert most[0] == SQLITE_READS_AT_ONCE == 2
    finally:
        await engine.dispose()


def _peak_connections(engine: AsyncEngine) -> tuple[Callable[[], int], Callable[[], None]]:
    """The most connections checked out at once while watched, and the remover."""
    pool = engine.sync_engine.pool
    current, peak = [0], [0]

    def checkout(*_: Any) -> None:
        current[0] += 1
        peak[0] = max(peak[0], current[0])

    def checkin(*_: Any) -> None:
        current[0] -= 1

    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)

    def remove() -> None:
        event.remove(pool, "checkout", checkout)
        event.remove(pool, "checkin", checkin)

    return lambda: peak[0], remove


async def test_a_held_reader_runs_concurrent_reads_on_one_connection(engine):
    peak, remove = _peak_connections(engine)
    seen: list[str] = []
    stop = watch_statements(engine, lambda sql, _parameters: seen.append(sql))
    reads = Reads(engine, held=True)
    try:
        statement = select(Session.id).where(Session.kind == bindparam("kind"))
        results = await asyncio.gather(
            *(reads.rows(statement, {"kind": kind.value}) for kind in SessionKind for _ in (1, 2))
        )
        assert all(results) and peak() == 1
        assert engine.sync_engine.pool.checkedout() == 1  # held until released
        await reads.release()
        assert engine.sync_engine.pool.checkedout() == 0
        assert len(seen) == len(results)  # every read is seen by statement observers
        await Reads(engine).rows(statement, {"kind": "parking"})  # not held: returned at once
        assert engine.sync_engine.pool.checkedout() == 0
    finally:
        stop()
        remove()


async def test_a_list_bound_at_run_time_must_be_one_array(engine):
    statement = select(Session.id).where(Session.status.in_(bindparam("statuses", expanding=True)))
    reads = Reads(engine)
    await reads.rows(statement, {"statuses": ["ended"]})  # by SQLAlchemy, which expands it
    with pytest.raises(ValueError, match="array parameter"):
        await reads.rows(statement, {"statuses": ["ended"]})
    assert engine.sync_engine.pool.checkedout() == 0


LOADERS_QUERY = """{ sessions(first: 20) { nodes { uuid
  details { ... on StorageDetails { location { name } device { name currentSession { uuid } } }
            ... on TravelDetails { rentalFleet { name } rentalDevice { name } } }
} } viewer { role } }"""
BOOK = "mutation($d: UUID!, $u: DateTime!) { bookSession(deviceId: $d, until: $u) { __typename } }"


@pytest.mark.parametrize("planner", [True, False], ids=["planned", "reference"])
async def test_a_request_never_holds_two_connections(backend, tmp_path, planner):
    """Loader batches of one request share its connection; a write releases it first."""
    async with (
        prepared_database(backend.name, tmp_path, load_dataset) as (url, tokens),
        running_app(url, graphql_planner=planner) as app,
        in_process_client(app) as client,
    ):
        state: GatewayState = app.state.gateway
        peak, remove = _peak_connections(state.engine)
        try:
            body = await gql(client, tokens["admin"], LOADERS_QUERY)
            assert "errors" not in body and body["data"]["sessions"]["nodes"], body
            device = await _free_locker(client, tokens["admin"])
            until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
            booked = await gql(client, tokens["user_a"], BOOK, d=device, u=until)
            assert booked.get("data") == {"bookSession": {"__typename": "Session"}}, booked
            assert peak() == 1
        finally:
            remove()
        # The write wakes the live-update reader, which reads the change on a connection
        # of its own for a moment: every connection is back once it is done.
        pool = state.engine.sync_engine.pool
        for _ in range(200):
            if pool.checkedout() == 0:
                break
            await asyncio.sleep(0.01)
        assert pool.checkedout() == 0


async def _free_locker(client, token: str) -> str:
    body = await gql(
        client, token, "{ devices(first: 100) { nodes { uuid kind currentSession { uuid } } } }"
    )
    for device in body["data"]["devices"]["nodes"]:
        if device["kind"] == "LOCKER" and device["currentSession"] is None:
            return str(device["uuid"])
    raise AssertionError(f"no free locker in {body}")


async def test_postgresql_estimates_a_table_from_its_statistics_and_its_size(tmp_path):
    """No estimate before the first ANALYZE; then its rows per page times the pages now."""
    from sqlalchemy import func, insert, text

    from storage.queries import estimated_rows
    from tests.fixtures.dataset import session_row

    ended = [session_row(s) for s in SESSIONS if s.status == "ended"]

    async def grow(engine: AsyncEngine, batches: int) -> int:
        async with engine.begin() as connection:
            for _ in range(batches):
                rows = [r | {"id": uuid.uuid4()} for _ in range(50) for r in ended]
                await connection.execute(insert(Session), rows)
            counted = select(func.count()).select_from(Session)
            return int((await connection.execute(counted)).scalar_one())

    async def estimate(engine: AsyncEngine) -> list[Any]:
        async with engine.connect() as connection:
            return list((await connection.execute(estimated_rows("sessions"))).scalars())

    async with prepared_database("postgresql", tmp_path, load_dataset) as (url, _tokens):
        engine = create_engine(url)
        try:
            before = await estimate(engine)
            analysed_count = await grow(engine, 4)
            async with engine.begin() as connection:
                await connection.execute(text("ANALYZE sessions"))
            analysed = await estimate(engine)
            grown_count = await grow(engine, 36)  # tenfold: the pages grow, the density holds
            grown = await estimate(engine)
        finally:
            await engine.dispose()
    assert before == []
    assert analysed == [analysed_count]
    assert grown_count > 9 * analysed_count
    assert 0.9 * grown_count <= grown[0] <= 1.1 * grown_count, (grown, grown_count)


# A statement that takes a while on each database (one the test cancels under way).
_SLOW = {
    "postgresql": "SELECT pg_sleep(2)",
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000000)"
    " SELECT count(*) FROM n",
}


async def test_a_read_cancelled_under_way_leaves_the_reader_usable(engine):
    """A sibling's failure cancels a read mid-statement: the request's next read works.

    Its connection's state is unknown, so it is dropped, never reused: the next read of
    the same request takes a fresh one, and nothing stays checked out.
    """
    from sqlalchemy import literal, text

    reads = Reads(engine, held=True)
    slow = asyncio.ensure_future(reads.rows(text(_SLOW[engine.dialect.name])))
    await asyncio.sleep(0.3)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    for _ in range(2):  # the second run of a kept statement goes by the driver
        assert [tuple(r) for r in await reads.rows(select(literal(7)))] == [(7,)]
    await reads.release()
    assert engine.sync_engine.pool.checkedout() == 0
