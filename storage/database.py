"""Engines and session factories for SQLite (embedded) and PostgreSQL (production)."""

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, Row, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    create_async_engine,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./session-gateway.db"


@dataclass(frozen=True, slots=True)
class DatabaseOptions:
    """How to connect: pool size and the time limits that keep an outage from hanging requests."""

    pool_size: int = 10
    max_overflow: int = 10
    connect_timeout: float = 5.0
    statement_timeout_ms: int = 15_000


def is_sqlite(url: str) -> bool:
    """True when the URL names an SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_engine(url: str, options: DatabaseOptions | None = None) -> AsyncEngine:
    """Create the process's engine; call once, in the app's lifespan or a CLI command."""
    options = options or DatabaseOptions()
    if is_sqlite(url):
        # pysqlite opens a transaction right before the first write; IMMEDIATE takes the
        # write lock there, so a writer waits its turn (busy timeout) instead of failing
        # with "database is locked" when upgrading a read lock under contention.
        engine = create_async_engine(
            url, connect_args={"timeout": 30, "isolation_level": "IMMEDIATE"}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No ping on checkout: it costs three round trips per connection use on asyncpg.
    # Reads retry once on a dropped connection instead (loaders.base.fetch_rows) and
    # writes check theirs when they begin (write_transaction).
    return create_async_engine(
        url,
        pool_size=options.pool_size,
        max_overflow=options.max_overflow,
        pool_pre_ping=False,
        pool_timeout=options.connect_timeout,
        connect_args={
            "timeout": options.connect_timeout,
            "command_timeout": options.statement_timeout_ms / 1000,
            "server_settings": {
                "jit": "off",
                "statement_timeout": str(options.statement_timeout_ms),
                # Statements are prepared once per connection and their values bound: plan
                # them once too. Left to choose, PostgreSQL re-plans a read of a session
                # with its references (1.4 ms of planning for 0.1 ms of execution) on
                # every run, because an array of keys hides how many rows it matches.
                "plan_cache_mode": "force_generic_plan",
            },
        },
    )


def count_statements(engine: AsyncEngine, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` before every SQL statement the engine sends; returns the remover."""

    def before_cursor_execute(*_args: Any) -> None:
        callback()

    event.listen(engine.sync_engine, "before_cursor_execute", before_cursor_execute)

    def remove() -> None:
        event.remove(engine.sync_engine, "before_cursor_execute", before_cursor_execute)

    return remove


_sqlite_writers: "weakref.WeakKeyDictionary[Any, asyncio.Lock]" = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction for writing, committed on success and rolled back on error.

    SQLite allows one writer at a time. Waiting for its lock while holding a pooled
    connection lets many concurrent writers starve the pool and time out, so on SQLite
    writers of this process queue on a lock first and take a connection only when it is
    their turn. PostgreSQL writers go straight ahead.
    """
    if engine.dialect.name != "sqlite":
        connection = await _begin_on_live_connection(engine)
        try:
            yield connection
            await connection.commit()
        finally:
            await connection.close()  # rolls back what was not committed
        return
    lock = _sqlite_writers.setdefault(engine.sync_engine, asyncio.Lock())
    async with lock, engine.begin() as connection:
        yield connection


async def _begin_on_live_connection(engine: AsyncEngine) -> AsyncConnection:
    """A pooled connection with a transaction begun, taking a fresh one if it was dropped.

    The pool does not ping on checkout, and a write cannot be retried once under way,
    so the transaction starts with a trivial statement: a connection the database
    dropped (a restart, a failover) fails there, harmlessly, and is replaced once.
    """
    for attempt in (1, 2):
        connection = await engine.connect().start()
        try:
            await connection.execute(_ALIVE)
            return connection
        except BaseException as error:  # cancelled too: never leave it checked out
            await connection.close()
            if attempt == 2 or not getattr(error, "connection_invalidated", False):
                raise
    raise AssertionError("unreachable")


_ALIVE = text("SELECT 1")


async def fetch_rows(
    engine: AsyncEngine, statement: Executable, params: dict[str, Any] | None = None
) -> Sequence[Row[Any]]:
    """Run one read (with ``params`` for its named bind parameters) on a short-lived connection.

    Sibling GraphQL fields resolve concurrently, so each batch takes its own
    connection instead of sharing one session across tasks. A read is one statement
    outside a transaction (no BEGIN and ROLLBACK round trips), and the pool does not
    ping connections on checkout: a read that finds its pooled connection dropped by
    the database (a restart, a failover) is run once more on a fresh one.
    """
    for attempt in (1, 2):
        try:
            async with engine.connect() as connection:
                if engine.dialect.name != "sqlite":  # SQLite begins before writes only
                    await connection.execution_options(isolation_level="AUTOCOMMIT")
                result = await connection.execute(statement, params)
                return result.all()
        except DBAPIError as error:
            if attempt == 2 or not error.connection_invalidated:
                raise
    raise AssertionError("unreachable")


async def ping(engine: AsyncEngine) -> None:
    """Raise unless the database answers a trivial query."""
    await fetch_rows(engine, _ALIVE)
