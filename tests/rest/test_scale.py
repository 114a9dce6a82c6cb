"""Page size and depth do not change what a page costs: statement counts and query plans."""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.app import create_app
from gateway.config import Settings
from resolvers.identity import create_token
from storage.database import watch_statements
from storage.enums import Role
from tests.conftest import Backend, StatementCounter, prepared_database
from tests.rest.conftest import BASE_URL, OpenApiChecker, RestClient
from tests.rest.history import RIDER, insert_history

SESSIONS = 3000
# The page with every session's events and auxiliary devices, and the check that the
# caller's token still exists: on PostgreSQL it rides along the page's statement.
PAGE_STATEMENTS = {"postgresql": 1, "sqlite": 2}


@dataclass
class History:
    """A gateway over a database holding only one rider's long history of sessions."""

    kind: str
    engine: AsyncEngine
    rest: RestClient
    statements: StatementCounter
    tokens: dict[str, str]

    async def count(self, url: str, subject: str = "rider") -> tuple[int, Any]:
        """The statements one GET costs once warm (its token and statements seen), and its body.

        Twice: the first GET reads the token, the second checks that its row still exists,
        and a statement is compiled (and can carry that check) from its second run on.
        """
        for _ in range(2):
            await self.rest.ok(url, self.tokens[subject])
        with self.statements.counting():
            body = await self.rest.ok(url, self.tokens[subject])
        return self.statements.count, body

    @contextmanager
    def capture(self) -> Iterator[list[tuple[str, Any]]]:
        """Record the SQL and parameters the engine sends inside the block."""
        sent: list[tuple[str, Any]] = []

        remove = watch_statements(
            self.engine, lambda sql, parameters: sent.append((sql, parameters))
        )
        try:
            yield sent
        finally:
            remove()


async def _prepare(engine: AsyncEngine) -> dict[str, str]:
    await insert_history(engine, SESSIONS)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            await connection.exec_driver_sql("ANALYZE")
    return {
        "admin": await create_token(engine, Role.ADMIN, label="bulk admin"),
        "rider": await create_token(engine, Role.USER, user_id=RIDER, label="bulk rider"),
    }


@pytest.fixture(scope="module")
async def history(
    backend: Backend, openapi: OpenApiChecker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[History]:
    """A fresh database of the backend's kind with the rider history, and a gateway over it."""
    directory = tmp_path_factory.mktemp("bulk")
    async with prepared_database(backend.name, directory, _prepare) as (url, tokens):
        settings = Settings(
            database_url=url,
            public_base_url=BASE_URL,
            pagination_secret="bulk-key-0123456789abcdef",
        )
        app = create_app(settings)
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
                engine = app.state.gateway.engine
                rest = RestClient(client, openapi)
                yield History(backend.name, engine, rest, StatementCounter(engine), tokens)


@pytest.mark.parametrize("token", ["rider", "admin"])
async def test_a_v2_page_of_100_costs_what_a_page_of_10_costs(history: History, token: str) -> None:
    small, small_body = await history.count("/session/v2/sessions?limit=10", token)
    large, large_body = await history.count("/session/v2/sessions?limit=100", token)
    assert (len(small_body["data"]), len(large_body["data"])) == (10, 100)
    assert small == large == PAGE_STATEMENTS[history.kind]
    token_value = large_body["pagination_token"]
    deep, deep_body = await history.count(
        f"/session/v2/sessions?limit=100&pagination_token={token_value}", token
    )
    assert len(deep_body["data"]) == 100 and deep == large
    print(f"{history.kind}: v2 page of 10: {small}, of 100: {large}, next page: {deep} statements")


async def test_a_v1_page_of_100_costs_what_a_page_of_10_costs(history: History) -> None:
    small, _ = await history.count("/session/v1/device-sessions?page_size=10")
    large, body = await history.count("/session/v1/device-sessions?page_size=100&page=3")
    assert len(body["data"]) == 100
    assert small == large == PAGE_STATEMENTS[history.kind]
    print(f"{history.kind}: v1 page of 10: {small}, of 100: {large} statements")


async def test_one_session_costs_one_statement_with_the_token(history: History) -> None:
    _, page = await history.count("/session/v2/sessions?limit=10")
    parked = next(session for session in page["data"] if session["storage"])
    count, body = await history.count(parked["uri"].removeprefix(BASE_URL.rstrip("/")))
    assert (count, body) == (PAGE_STATEMENTS[history.kind], parked)
    count, body = await history.count(f"/session/v1/device-sessions/{parked['id']}")
    assert (count, body["id"]) == (PAGE_STATEMENTS[history.kind], parked["id"])


async def test_tokens_walk_every_session_once_newest_first(history: History) -> None:
    seen: list[str] = []
    url = "/session/v2/sessions?limit=1000"
    while url:
        body = await history.rest.ok(url, history.tokens["rider"])
        seen += [session["id"] for session in body["data"]]
        ends = [session["end_time"] for session in body["data"]]
        assert ends == sorted(ends, reverse=True)
        token = body["pagination_token"]
        url = f"/session/v2/sessions?limit=1000&pagination_token={token}" if token else ""
    assert len(seen) == len(set(seen)) == SESSIONS


async def _deep_page_query(history: History, token: str) -> tuple[str, Any]:
    url = "/session/v2/sessions?limit=100"
    for _ in range(15):
        body = await history.rest.ok(url, history.tokens[token])
        url = f"/session/v2/sessions?limit=100&pagination_token={body['pagination_token']}"
    with history.capture() as sent:
        await history.rest.ok(url, history.tokens[token])
    (query,) = [
        (sql, params) for sql, params in sent if "ORDER BY sessions.reference_time DESC" in sql
    ]
    return query


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


@pytest.mark.parametrize("token", ["rider", "admin"])
async def test_a_deep_v2_page_is_an_index_range_scan_without_offset(
    history: History, token: str
) -> None:
    sql, params = await _deep_page_query(history, token)
    if history.kind == "sqlite":
        # SQLAlchemy always renders SQLite's LIMIT with an OFFSET; a keyset page passes 0.
        # (Read row by row, not packed: the body shows reals, a rental's battery use.)
        assert sql.endswith("LIMIT ? OFFSET ?") and params[-1] == 0, (sql, params)
    else:
        assert "OFFSET" not in sql.upper()
    async with history.engine.connect() as connection:
        if history.kind == "postgresql":
            result = await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = result.scalar_one()[0]["Plan"]
            # The token check that rides along (a table of two rows: scanned) aside.
            nodes = [
                node["Node Type"]
                for node in _plan_nodes(plan)
                if node.get("Relation Name") != "api_tokens"
            ]
            assert {"Index Scan", "Index Only Scan"} & set(nodes), nodes
            assert not {"Seq Scan", "Sort", "Incremental Sort"} & set(nodes), nodes
            assert "Offset" not in str(plan)
        else:
            result = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
            steps = " | ".join(str(row[-1]) for row in result)
            assert "USING INDEX" in steps or "USING COVERING INDEX" in steps, steps
            assert "TEMP B-TREE" not in steps, steps


async def test_values_never_make_a_new_page_statement(history: History) -> None:
    """Page statements are kept by shape; ids, times, positions and sizes are bound."""
    from resolvers.sessions import _PAGE_STATEMENTS

    async def dated_pages(limit: int, day: str) -> None:
        url = f"/session/v2/sessions?limit={limit}&from={day}&to=2030-01-01"
        page = await history.rest.ok(url, history.tokens["rider"])
        assert len(page["data"]) == limit
        token = page["pagination_token"]
        following = await history.rest.ok(
            f"{url}&pagination_token={token}", history.tokens["rider"]
        )
        assert {s["id"] for s in page["data"]}.isdisjoint(s["id"] for s in following["data"])

    await dated_pages(1, "2020-01-01")
    shapes = len(_PAGE_STATEMENTS)
    await dated_pages(7, "2021-06-30")
    await dated_pages(20, "2024-02-29")
    assert len(_PAGE_STATEMENTS) == shapes
