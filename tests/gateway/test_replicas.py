"""Reads from a real streaming replica (DATABASE_REPLICA_URLS), made by pg_basebackup -R.

Pausing the replica's replay (``pg_wal_replay_pause()``) makes it stale on purpose: what
a request then sees tells whether it read from the replica or from the primary.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from gateway.config import Settings
from resolvers.identity import create_token
from storage.database import create_engine
from storage.enums import Role
from storage.replicas import ReadRouter, parse_lsn
from tests.conftest import auth, in_process_client, prepared_database, running_app
from tests.fixtures.dataset import LOC_X, USER_A, add_device, load_dataset, load_tariffs
from tests.graphql.helpers import data
from tests.live_server import live_server
from tests.replica import StreamingReplica, sql, streaming_replica

REDIS_URL = "redis://127.0.0.1:6379/0"
START = """mutation($device: UUID!) { startSession(deviceId: $device) {
  ... on Session { uuid } ... on OperationError { code message } } }"""
MINE = "query { sessions(first: 100) { nodes { uuid } } }"
LIST = """query { sessions(first: 10) { edges { cursor node { uuid status startTime
  details { ... on StorageDetails { location { name } device { name } } } events { name } } } } }"""


@pytest.fixture(scope="module")
def replica() -> Iterator[StreamingReplica]:
    with streaming_replica() as running:
        yield running


@dataclass
class Database:
    url: str
    tokens: dict[str, str]
    engine: AsyncEngine


@pytest.fixture(scope="module")
async def database(replica, tmp_path_factory) -> AsyncIterator[Database]:
    async def with_tariffs(engine: AsyncEngine) -> dict[str, str]:
        tokens = await load_dataset(engine)
        await load_tariffs(engine)
        return tokens

    directory = tmp_path_factory.mktemp("replicas")
    async with prepared_database("postgresql", directory, with_tariffs) as (url, tokens):
        replica.catch_up()
        engine = create_engine(url)
        try:
            yield Database(url, tokens, engine)
        finally:
            await engine.dispose()


@pytest.fixture
def paused(replica) -> Iterator[StreamingReplica]:
    """The replica with its replay paused for the test; resumed and caught up after it."""
    replica.catch_up()
    replica.pause_replay()
    try:
        yield replica
    finally:
        replica.resume_replay()
        replica.catch_up()


def router_of(app: Starlette) -> ReadRouter:
    router = app.state.gateway.router
    assert router is not None
    return router


async def until(condition, seconds: float = 20.0) -> None:
    """Wait for ``condition()`` (checked every 50 ms); fail after ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still not true after {seconds} s")


async def started(client: httpx.AsyncClient, token: str, engine: AsyncEngine) -> str:
    device = await add_device(engine, "locker", location=LOC_X)
    result = (await data(client, token, START, device=str(device)))["startSession"]
    assert "uuid" in result, result
    return str(result["uuid"])


async def sessions_seen(client: httpx.AsyncClient, token: str) -> set[str]:
    return {n["uuid"] for n in (await data(client, token, MINE))["sessions"]["nodes"]}


@pytest.fixture
async def served(replica, database) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """The gateway reading from the replica; lag up to 60 s keeps a paused one in rotation."""
    async with (
        running_app(
            database.url,
            database_replica_urls=replica.url(database.url),
            replica_check_seconds=0.1,
            replica_max_lag_seconds=60.0,
            max_open_sessions_per_user=0,
        ) as app,
        in_process_client(app) as client,
    ):
        await until(lambda: router_of(app).replicas[0].in_rotation)
        yield app, client


def test_replicas_need_a_postgresql_primary():
    with pytest.raises(ValueError, match="DATABASE_REPLICA_URLS"):
        Settings(database_replica_urls="postgresql+asyncpg://postgres@127.0.0.1:5433/x")
    with pytest.raises(ValueError, match="DATABASE_REPLICA_URLS"):
        Settings(
            database_url="postgresql+asyncpg://postgres@127.0.0.1/x",
            database_replica_urls="sqlite+aiosqlite:///x.db",
        )


def test_a_wal_position_reads_as_a_number():
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert parse_lsn("0/0") == 0


async def test_a_write_is_read_back_at_once_and_others_read_the_replica(served, database, paused):
    app, client = served
    router = router_of(app)
    user, admin = database.tokens["user_a"], database.tokens["admin"]
    await sessions_seen(client, admin)  # warm: the admin's requests read the replica
    before = dict(router.reads_by_target)

    new = await started(client, user, database.engine)
    # The user reads its write at once: the replica has not replayed it, so the primary.
    assert new in await sessions_seen(client, user)
    assert (
        await client.get(f"/session/v2/users/{USER_A}/sessions/{new}", headers=auth(user))
    ).status_code == 200
    # Another principal wrote nothing: it reads the paused replica, which lacks the session.
    assert new not in await sessions_seen(client, admin)
    assert router.reads_by_target["replica"] > before["replica"]
    assert router.reads_by_target["primary"] > before["primary"]

    paused.resume_replay()
    written = await router.memory.written(f"user:{USER_A}")
    await until(lambda: router.replicas[0].replayed >= written)
    assert new in await sessions_seen(client, admin)
    # The replica has the user's write now: the user's reads go back to it.
    on_primary = router.reads_by_target["primary"]
    assert new in await sessions_seen(client, user)
    assert router.reads_by_target["primary"] == on_primary


async def test_a_token_issued_moments_ago_is_found_on_the_primary(served, database, paused):
    _app, client = served
    token = await create_token(database.engine, Role.USER, user_id=USER_A, label="fresh")
    # The first request reads the token; later ones, with the principal this process
    # keeps, only confirm its row along with their first read: on the primary too.
    for _ in range(3):
        response = await client.get("/session/v2/sessions?limit=1", headers=auth(token))
        assert response.status_code == 200, response.text
        body = await data(client, token, MINE)
        assert body["sessions"]["nodes"]
    unknown = "sgw_" + "A" * 43
    response = await client.get("/session/v2/sessions?limit=1", headers=auth(unknown))
    assert response.status_code == 401


async def test_a_lagging_replica_leaves_the_rotation_and_returns(replica, database, paused):
    async with (
        running_app(
            database.url,
            database_replica_urls=replica.url(database.url),
            replica_check_seconds=0.1,
            replica_max_lag_seconds=1.0,
        ) as app,
        in_process_client(app) as client,
    ):
        router = router_of(app)
        # The replay is paused: a new WAL record on the primary puts the replica behind.
        sql("SELECT pg_logical_emit_message(false, 'sgw-test', 'tick')")
        await until(lambda: router.replicas[0].state == "lagging")
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        [report] = ready.json()["replicas"]
        assert report["state"] == "lagging" and report["lagSeconds"] > 1.0
        metrics = (await client.get("/metrics")).text
        assert 'session_gateway_replica_in_rotation{replica="' in metrics
        assert _metric(metrics, "session_gateway_replica_in_rotation") == 0
        assert _metric(metrics, "session_gateway_replica_lag_seconds") > 1.0
        on_replica = router.reads_by_target["replica"]
        expected = await data(client, database.tokens["admin"], LIST)
        assert router.reads_by_target["replica"] == on_replica  # all from the primary

        paused.resume_replay()
        await until(lambda: router.replicas[0].in_rotation)
        assert (await client.get("/readyz")).json()["replicas"][0]["state"] == "up"
        assert (
            _metric((await client.get("/metrics")).text, "session_gateway_replica_in_rotation") == 1
        )
        assert await data(client, database.tokens["admin"], LIST) == expected
        assert router.reads_by_target["replica"] > on_replica


def _metric(text: str, name: str) -> float:
    [line] = [line for line in text.splitlines() if line.startswith(name + "{")]
    return float(line.rsplit(" ", 1)[1])


async def test_losing_the_replica_under_load_fails_no_request(replica, database):
    replica.catch_up()
    async with (
        running_app(
            database.url,
            database_replica_urls=replica.url(database.url),
            replica_check_seconds=0.2,
            replica_max_lag_seconds=30.0,
        ) as app,
        in_process_client(app) as client,
    ):
        router = router_of(app)
        await until(lambda: router.replicas[0].in_rotation)
        tokens = [database.tokens[name] for name in ("admin", "user_a", "operator_x")]
        expected = {token: await data(client, token, LIST) for token in tokens}
        answers: list[Any] = []
        stop = asyncio.Event()

        async def load(token: str) -> None:
            while not stop.is_set():
                response = await client.post("/graphql", json={"query": LIST}, headers=auth(token))
                answers.append((token, response.status_code, response.json()))
                rest = await client.get("/session/v2/sessions?limit=3", headers=auth(token))
                answers.append((token, rest.status_code, None))

        workers = [asyncio.create_task(load(t)) for t in tokens for _ in range(2)]
        await until(lambda: router.reads_by_target["replica"] > 50)
        served_before = len(answers)
        replica.stop("immediate")
        try:
            await until(lambda: router.replicas[0].state == "down")
            mark = len(answers)
            await until(lambda: len(answers) > mark + 30)
            stop.set()
            await asyncio.gather(*workers)
            assert len(answers) > served_before
            for token, status, body in answers:
                assert status == 200, body
                if body is not None:
                    assert body["data"] == expected[token]
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["replicas"][0]["state"] == "down"
            text = (await client.get("/metrics")).text
            assert _metric(text, "session_gateway_replica_in_rotation") == 0
        finally:
            stop.set()
            await asyncio.gather(*workers, return_exceptions=True)
            replica.start()
        replica.catch_up()
        await until(lambda: router.replicas[0].in_rotation)
        on_replica = router.reads_by_target["replica"]
        assert await data(client, tokens[0], LIST) == expected[tokens[0]]
        assert router.reads_by_target["replica"] > on_replica


async def test_every_process_reads_its_principals_writes_through_redis(replica, database, paused):
    prefix = f"sgw-test-{uuid.uuid4().hex[:8]}:"
    env = {
        "DATABASE_REPLICA_URLS": replica.url(database.url),
        "REPLICA_CHECK_SECONDS": "0.1",
        "REPLICA_MAX_LAG_SECONDS": "60",
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": prefix,
        "MAX_OPEN_SESSIONS_PER_USER": "0",
    }
    paused.resume_replay()  # the processes start with the replica in rotation
    paused.catch_up()
    async with (
        live_server(database.url, args=["--workers", "2"], **env) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        user, admin = database.tokens["user_a"], database.tokens["admin"]
        paused.pause_replay()
        written = []
        for _ in range(3):
            # Each request opens a new connection: the two workers take turns at random.
            async with httpx.AsyncClient(base_url=base) as fresh:
                written.append(await started(fresh, user, database.engine))
            for _ in range(4):
                async with httpx.AsyncClient(base_url=base) as fresh:
                    assert set(written) <= await sessions_seen(fresh, user)
        assert not set(written) & await sessions_seen(client, admin)


async def test_a_replica_that_never_answers_leaves_reads_to_the_primary(database):
    from tests.live_server import free_port

    gone = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"
    async with (
        running_app(database.url, database_replica_urls=gone, replica_check_seconds=0.1) as app,
        in_process_client(app) as client,
    ):
        router = router_of(app)
        assert router.replicas[0].state == "down"
        assert await data(client, database.tokens["admin"], LIST)
        assert router.reads_by_target["replica"] == 0
        assert router.reads_by_target["primary"] > 0
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        [report] = ready.json()["replicas"]
        assert report["state"] == "down" and "lagSeconds" not in report
        assert report["name"].endswith("/nowhere")


async def test_a_request_never_holds_two_connections_across_primary_and_replica(replica, database):
    from sqlalchemy import event

    replica.catch_up()
    async with (
        running_app(
            database.url,
            database_replica_urls=replica.url(database.url),
            replica_check_seconds=600.0,  # checked once at start-up: no checks meanwhile
            max_open_sessions_per_user=0,
        ) as app,
        in_process_client(app) as client,
    ):
        router = router_of(app)
        assert router.replicas[0].in_rotation
        pools = [
            app.state.gateway.engine.sync_engine.pool,
            router.replicas[0].engine.sync_engine.pool,
        ]
        # Every connection but the live-update reader's: woken by the write, it reads the
        # change on a task of its own, while the next request may already run.
        feed = app.state.gateway.live._task
        held, peak = [0], [0]

        def checkout(*_: Any) -> None:
            if asyncio.current_task() is not feed:
                held[0] += 1
                peak[0] = max(peak[0], held[0])

        def checkin(*_: Any) -> None:
            if asyncio.current_task() is not feed:
                held[0] -= 1

        for pool in pools:
            event.listen(pool, "checkout", checkout)
            event.listen(pool, "checkin", checkin)
        try:
            user = database.tokens["user_a"]
            before = dict(router.reads_by_target)
            await sessions_seen(client, user)  # on the replica
            # The mutation looks its token up on the replica, then moves to the primary.
            new = await started(client, user, database.engine)
            assert new in await sessions_seen(client, user)  # wherever the write is
            assert router.reads_by_target["replica"] > before["replica"]
            assert router.reads_by_target["primary"] > before["primary"]
            assert peak[0] == 1
        finally:
            for pool in pools:
                event.remove(pool, "checkout", checkout)
                event.remove(pool, "checkin", checkin)
        assert held[0] == 0
