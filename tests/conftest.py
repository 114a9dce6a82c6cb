"""Fixtures shared by every suite: both databases, the dataset, the app and its clients.

Every test that takes ``backend`` (directly or through ``client``) runs twice: on a
fresh SQLite file and on a fresh PostgreSQL database on 127.0.0.1:5432. PostgreSQL
being unreachable fails the run; it is never skipped.
"""

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from hypothesis import settings as hypothesis_settings
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.config import Settings
from gateway.state import GatewayState
from resolvers.clock import Clock, utc_now
from storage.database import count_statements, create_engine
from storage.migrate import upgrade
from tests.fixtures.clock import ManualClock
from tests.fixtures.dataset import load_dataset

# The differential tests' example counts: "ci" by default, more with
# `pytest --hypothesis-profile thorough`.
hypothesis_settings.register_profile("ci", max_examples=100, deadline=None)
hypothesis_settings.register_profile("thorough", max_examples=2000, deadline=None)
hypothesis_settings.load_profile("ci")

POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]
T = TypeVar("T")


@dataclass
class Backend:
    """One migrated database holding the dataset, with tokens for every subject."""

    name: str
    url: str
    tokens: dict[str, str]


async def _create_postgres_database() -> str:
    name = f"sgw_test_{uuid.uuid4().hex[:12]}"
    try:
        connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=10)
    except (OSError, asyncpg.PostgresError) as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_DSN}: {error}. "
            "Start it (see README) — the suite never skips PostgreSQL.",
            pytrace=False,
        )
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return name


async def drop_postgres_database(name: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=10)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def fresh_database_url(kind: str, tmp_path: Path) -> tuple[str, str | None]:
    """A new empty database of ``kind``; returns its URL and the PostgreSQL name to drop."""
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}", None
    name = await _create_postgres_database()
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}", name


Preparation = Callable[[AsyncEngine], Awaitable[T]]


@asynccontextmanager
async def prepared_database(
    kind: str, tmp_path: Path, prepare: Preparation[T]
) -> AsyncIterator[tuple[str, T]]:
    """A new migrated database of ``kind`` filled by ``prepare``; dropped afterwards.

    Yields the URL and what ``prepare`` returned (for instance the dataset's tokens).
    """
    url, pg_name = await fresh_database_url(kind, tmp_path)
    engine = create_engine(url)
    try:
        await upgrade(engine)
        prepared = await prepare(engine)
    finally:
        await engine.dispose()
    try:
        yield url, prepared
    finally:
        if pg_name:
            await drop_postgres_database(pg_name)


@pytest.fixture(scope="session", params=BACKENDS)
async def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Backend]:
    """A migrated database of each kind with the dataset loaded."""
    directory = tmp_path_factory.mktemp(request.param)
    async with prepared_database(request.param, directory, load_dataset) as (url, tokens):
        yield Backend(request.param, url, tokens)


@asynccontextmanager
async def running_app(
    url: str, *, clock: Clock = utc_now, **overrides: Any
) -> AsyncIterator[Starlette]:
    """The gateway over ``url``, with its lifespan running; ``overrides`` change settings."""
    settings = Settings(
        database_url=url,
        public_base_url="https://gateway.test",
        pagination_secret="test-signing-key-0123456789",
        **overrides,
    )
    application = create_app(settings, clock=clock)
    async with LifespanManager(application):
        yield application


@asynccontextmanager
async def in_process_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://gateway.test") as c:
        yield c


@pytest.fixture(scope="session")
async def app(backend: Backend) -> AsyncIterator[Starlette]:
    """The gateway over the backend, with its lifespan running."""
    async with running_app(backend.url) as application:
        yield application


@pytest.fixture(scope="session")
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process."""
    async with in_process_client(app) as c:
        yield c


@pytest.fixture
def tokens(backend: Backend) -> dict[str, str]:
    """Bearer tokens of the dataset's subjects: admin, user_a, user_b, operator_x, operator_f."""
    return backend.tokens


def auth(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


class StatementCounter:
    """Counts the SQL statements an engine sends while a block runs."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.count = 0

    @contextmanager
    def counting(self) -> Iterator["StatementCounter"]:
        """Count statements sent inside the block (resets the count first)."""
        self.count = 0

        def bump() -> None:
            self.count += 1

        remove = count_statements(self.engine, bump)
        try:
            yield self
        finally:
            remove()


@pytest.fixture
def statements(app: Starlette) -> StatementCounter:
    """A statement counter on the app's engine."""
    state: GatewayState = app.state.gateway
    return StatementCounter(state.engine)


@dataclass
class Bulk:
    """A second database per backend with a few hundred demo sessions, for page-size tests."""

    backend: str
    client: httpx.AsyncClient
    statements: StatementCounter
    admin_token: str
    url: str = ""


@pytest.fixture(scope="session", params=BACKENDS)
async def bulk(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Bulk]:
    """The gateway over 400 seeded demo sessions on each backend."""
    from resolvers.identity import create_token
    from storage.demo import seed
    from storage.enums import Role

    async def seeded(engine: AsyncEngine) -> str:
        await seed(engine, 400, seed=7, progress=False)
        return await create_token(engine, Role.ADMIN, label="bulk admin")

    directory = tmp_path_factory.mktemp("bulk")
    async with (
        prepared_database(request.param, directory, seeded) as (url, token),
        running_app(url) as application,
        in_process_client(application) as c,
    ):
        # Counts are of a steady state: this process has read the token once already, so
        # requests only confirm that its row still exists (``resolvers.identity``).
        await c.post("/graphql", json={"query": "{ __typename }"}, headers=auth(token))
        counter = StatementCounter(application.state.gateway.engine)
        yield Bulk(request.param, c, counter, token, url)


@dataclass
class Writable:
    """A database per backend that write tests may change, with the dataset and tariffs."""

    backend: str
    url: str
    app: Starlette
    client: httpx.AsyncClient
    tokens: dict[str, str]
    # The settings of gateway processes over it (``live_server(url, **env)``).
    env: dict[str, str]


# Write tests share one database and open many sessions for the same riders: the
# quota on a rider's open sessions is off over it (tests/graphql/test_quotas.py tests it).
WRITABLE_SETTINGS = {"max_open_sessions_per_user": 0}


@pytest.fixture(scope="session", params=BACKENDS)
async def writable(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Writable]:
    """The gateway over its own copy of the dataset, for tests that write."""
    from tests.fixtures.dataset import load_tariffs

    async def with_tariffs(engine: AsyncEngine) -> dict[str, str]:
        tokens = await load_dataset(engine)
        await load_tariffs(engine)
        return tokens

    directory = tmp_path_factory.mktemp("writable")
    async with (
        prepared_database(request.param, directory, with_tariffs) as (url, tokens),
        running_app(url, **WRITABLE_SETTINGS) as application,
        in_process_client(application) as c,
    ):
        env = {name.upper(): str(value) for name, value in WRITABLE_SETTINGS.items()}
        yield Writable(request.param, url, application, c, tokens, env)


@pytest.fixture
async def clocked(writable: Writable) -> AsyncIterator[tuple[httpx.AsyncClient, ManualClock]]:
    """A second gateway over the writable database whose clock the test sets and moves."""
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    async with (
        running_app(writable.url, clock=clock, **WRITABLE_SETTINGS) as application,
        in_process_client(application) as c,
    ):
        yield c, clock
