"""The engines for SQLite (embedded) and PostgreSQL (production), and how reads and writes use them.

``Reads`` is a request's read path: one pooled connection for all its reads, each
statement compiled once and run by the driver. ``write_transaction`` is a write's.
"""

import asyncio
import contextlib
import re
import sqlite3
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, cast

import asyncpg
import orjson
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Dialect,
    Executable,
    Float,
    Integer,
    Numeric,
    String,
    TypeDecorator,
    Uuid,
    event,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    create_async_engine,
)
from sqlalchemy.sql import ClauseElement, visitors
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, Cast, Null

from storage.statistics import register_sqlite_functions
from storage.types import JsonList, uuid_of

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./session-gateway.db"


@dataclass(frozen=True, slots=True)
class DatabaseOptions:
    """How to connect: pool size and the time limits that keep an outage from hanging requests."""

    pool_size: int = 10
    max_overflow: int = 10
    connect_timeout: float = 5.0
    statement_timeout_ms: int = 15_000
    pooler: str = ""  # "pgbouncer": PgBouncer in transaction mode stands in front


POOLERS = ("", "pgbouncer")


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
    register_sqlite_functions(dbapi_connection)


def create_engine(url: str, options: DatabaseOptions | None = None) -> AsyncEngine:
    """Create the process's engine; call once, in the app's lifespan or a CLI command."""
    options = options or DatabaseOptions()
    if is_sqlite(url):
        # pysqlite opens a transaction right before the first write; IMMEDIATE takes the
        # write lock there, so a writer waits its turn (busy timeout) instead of failing
        # with "database is locked" when upgrading a read lock under contention.
        # Pooled like PostgreSQL's: with SQLAlchemy's default of 5 connections, 16 clients
        # opened and closed overflow connections (a thread and the pragmas each) per use.
        engine = create_async_engine(
            url,
            pool_size=options.pool_size,
            max_overflow=options.max_overflow,
            connect_args={"timeout": 30, "isolation_level": "IMMEDIATE"},
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No ping on checkout: it costs three round trips per connection use on asyncpg.
    # Reads retry once on a dropped connection instead (loaders.base.fetch_rows) and
    # writes check theirs when they begin (write_transaction).
    connect_args: dict[str, Any] = {
        "timeout": options.connect_timeout,
        "command_timeout": options.statement_timeout_ms / 1000,
    }
    if options.pooler == "pgbouncer":
        # PgBouncer gives a server connection to another client once a transaction (or
        # a statement outside one) ends: nothing prepared may outlive it. Without their
        # caches asyncpg and SQLAlchemy prepare every statement unnamed, in the same
        # exchange that runs it (Parse, Describe, Flush, then Bind, Execute, Sync), so
        # it never meets another server. PgBouncer refuses settings in the startup
        # packet: set them on the role instead (docs/operations.md).
        connect_args |= {"statement_cache_size": 0, "prepared_statement_cache_size": 0}
    else:
        connect_args["server_settings"] = {
            "jit": "off",
            "statement_timeout": str(options.statement_timeout_ms),
            # Statements are prepared once per connection and their values bound: plan
            # them once too. Left to choose, PostgreSQL re-plans a read of a session
            # with its references (1.4 ms of planning for 0.1 ms of execution) on
            # every run, because an array of keys hides how many rows it matches.
            "plan_cache_mode": "force_generic_plan",
        }
    return create_async_engine(
        url,
        pool_size=options.pool_size,
        max_overflow=options.max_overflow,
        pool_pre_ping=False,
        pool_timeout=options.connect_timeout,
        connect_args=connect_args,
    )


async def server_max_connections(engine: AsyncEngine) -> int | None:
    """PostgreSQL's ``max_connections`` (None on SQLite)."""
    if engine.dialect.name != "postgresql":
        return None
    [row] = await fetch_rows(engine, _MAX_CONNECTIONS)
    return int(row[0])


StatementObserver = Callable[[str, Any], None]
_observers: "weakref.WeakKeyDictionary[Any, list[StatementObserver]]" = weakref.WeakKeyDictionary()


def watch_statements(engine: AsyncEngine, observer: StatementObserver) -> Callable[[], None]:
    """Call ``observer(sql, parameters)`` before every statement the engine sends.

    Statements sent through SQLAlchemy and those ``Reads`` runs by asyncpg alike;
    returns the remover.
    """

    def before_cursor_execute(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        observer(sql, parameters)

    event.listen(engine.sync_engine, "before_cursor_execute", before_cursor_execute)
    _observers.setdefault(engine.sync_engine, []).append(observer)

    def remove() -> None:
        event.remove(engine.sync_engine, "before_cursor_execute", before_cursor_execute)
        _observers[engine.sync_engine].remove(observer)

    return remove


def count_statements(engine: AsyncEngine, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` before every SQL statement the engine sends; returns the remover."""
    return watch_statements(engine, lambda _sql, _parameters: callback())


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


# SQLite reads a process runs at once. Its statements run on the connections' threads,
# outside the GIL, but contend in one process (for the GIL, SQLite's memory mutex): a
# location's page cost 1.05 ms of CPU alone, 1.6 with a second thread, 2.1 with 16.
# Two keep the event loop and a reader busy on a two-core machine.
SQLITE_READS_AT_ONCE = 2
_sqlite_readers: "weakref.WeakKeyDictionary[Any, asyncio.Semaphore]" = weakref.WeakKeyDictionary()


def _sqlite_reading(engine: AsyncEngine) -> asyncio.Semaphore:
    turns = _sqlite_readers.get(engine.sync_engine)
    if turns is None:
        turns = _sqlite_readers[engine.sync_engine] = asyncio.Semaphore(SQLITE_READS_AT_ONCE)
    return turns


_ALIVE = text("SELECT 1")
_MAX_CONNECTIONS = text("SHOW max_connections")


class DatabaseUnavailable(Exception):
    """The database could not answer a read: its connection was lost or refused, or it timed out."""


def _unavailable(error: BaseException) -> bool:
    """True for the drivers' errors that mean "no database right now", not a wrong statement."""
    if isinstance(error, (OSError, asyncio.TimeoutError, asyncpg.InterfaceError)):
        return True
    if isinstance(error, sqlite3.OperationalError):  # locked, busy, unreadable
        return True
    state = getattr(error, "sqlstate", None) or ""
    # 08: connection exception; 53: insufficient resources; 57: operator intervention
    # (shutdown, statement timeout).
    return isinstance(error, asyncpg.PostgresError) and state[:2] in {"08", "53", "57"}


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A read statement as its driver runs it: its SQL once, its parameters by position."""

    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    bind: tuple[Callable[[Any], Any] | None, ...]
    results: tuple[tuple[int, Callable[[Any], Any]], ...]
    packing: "_Packing | None" = None  # SQLite: the rows come as one JSON document

    def arguments(self, params: Mapping[str, Any] | None) -> list[Any]:
        """The positional values of ``params`` (and the values the statement carries)."""
        values = {**self.defaults, **params} if params else self.defaults
        return [
            value if process is None or value is None else process(value)
            for value, process in zip(map(values.__getitem__, self.names), self.bind, strict=True)
        ]

    def decode(self, records: list[Any], skip: int = 0) -> list[Any]:
        """The rows, with the columns whose type converts stored values converted.

        ``skip`` drops that many leading columns a wrapper added (``_Carrying``).
        """
        if self.packing is not None:
            [record] = records
            records = orjson.loads(record[skip])
        elif skip:
            records = [tuple(record)[skip:] for record in records]
        if not self.results:
            return records
        rows = []
        for record in records:
            row = list(record)
            for index, process in self.results:
                value = row[index]
                if value is not None:
                    row[index] = process(value)
            rows.append(row)
        return rows


_PLACEHOLDER = re.compile(r"\$(\d+)")


@dataclass(frozen=True, slots=True)
class _Carrying:
    """A read that also answers whether a required row exists, in one round trip.

    PostgreSQL: ``SELECT EXISTS (<required>), q.* FROM (<read>) AS q``. It runs the
    uncorrelated EXISTS once, and a subquery with an ORDER BY or a LIMIT is neither
    flattened nor reordered, so the rows come in the read's own order. An empty read
    answers nothing about the requirement, which then runs on its own.

    SQLite: a packed read (``_Packing``) selects the EXISTS beside its one document, so
    even an empty read answers it.
    """

    sql: str

    @classmethod
    def of(cls, read: _Compiled, required: _Compiled) -> "_Carrying":
        if read.packing is not None:  # placeholders are positional: the read's come first
            plain = required.sql if required.packing is None else required.packing.rows_sql
            return cls(read.packing.sql(f"EXISTS ({plain}), "))
        offset = len(read.names)
        renumbered = _PLACEHOLDER.sub(lambda m: f"${int(m.group(1)) + offset}", required.sql)
        return cls(f"SELECT EXISTS ({renumbered}), q.* FROM ({read.sql}) AS q")


_CARRYING: dict[tuple[str, str], _Carrying] = {}
_MAX_CARRYING = 4096


def _carrying(read: _Compiled, required: _Compiled) -> _Carrying:
    key = (read.sql, required.sql)
    found = _CARRYING.get(key)
    if found is None:
        if len(_CARRYING) >= _MAX_CARRYING:
            _CARRYING.clear()
        found = _CARRYING[key] = _Carrying.of(read, required)
    return found


def _result_processor(type_: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """What SQLAlchemy would do to a column's value that the driver returned."""
    implementation = type_.dialect_impl(dialect)
    if dialect.name == "postgresql" and isinstance(implementation, Numeric):
        # asyncpg decodes numeric to Decimal and float8 to float; convert only where the
        # type asks for the other one (the asyncpg dialect's processors need the column's
        # type oid, which only a result has).
        if isinstance(implementation, Float):
            return _to_decimal if implementation.asdecimal else None
        return None if implementation.asdecimal else float
    if dialect.name == "sqlite" and isinstance(implementation, Uuid) and implementation.as_uuid:
        # SQLite keeps a uuid as 32 hex digits. asyncpg's UUID (a uuid.UUID, the type
        # PostgreSQL's reads return) parses and prints them 8 times faster than uuid.UUID.
        return uuid_of
    processor: Callable[[Any], Any] | None = implementation.result_processor(dialect, None)
    return processor


def _to_decimal(value: Any) -> Decimal:
    return Decimal(str(value))


# Per statement, per dialect name: a process can serve SQLite and PostgreSQL (the tests).
# ``None``: seen once, run by SQLAlchemy (a statement built for one request never repays
# compiling it; SQLAlchemy's own cache serves it).
_COMPILED: "weakref.WeakKeyDictionary[Executable, dict[str, _Compiled | None]]" = (
    weakref.WeakKeyDictionary()
)


_compiles = 0
# Marks a statement that is never compiled for the driver (see ``_compiled``).
_BY_SQLALCHEMY = cast("_Compiled", object())
# Reads run so far, by the path they took: "driver" (compiled) or "sqlalchemy".
# "carried": a request's requirement (``Reads.require``) that rode along another statement.
# "packed": the driver's reads on SQLite whose rows came as one JSON document (``_Packing``).
READS_BY_PATH = {"driver": 0, "sqlalchemy": 0, "carried": 0, "packed": 0}


def compiled_statements() -> int:
    """How many read statements this process has compiled for its driver."""
    return _compiles


def _compiled(statement: Executable, dialect: Dialect) -> _Compiled | None:
    """Compile once: the SQL, the order of its parameters, and how to convert each value.

    Only a statement run a second time is compiled (None the first time): statements are
    built once per shape and kept, while one built for a single request is left to
    SQLAlchemy. Values a statement carries (``in_`` lists among them) are written out
    when it is compiled; those a read binds by name (``params``) are placeholders, given a
    stand-in only so that compiling can expand the others.
    """
    by_dialect = _COMPILED.get(statement)
    if by_dialect is None:
        _COMPILED[statement] = {dialect.name: None}
        return None
    if dialect.name not in by_dialect:
        by_dialect[dialect.name] = None
        return None
    found = by_dialect[dialect.name]
    if found is not None:
        return None if found is _BY_SQLALCHEMY else found
    parameters = [
        bind
        for bind in visitors.iterate(cast(ClauseElement, statement))
        if isinstance(bind, BindParameter)
    ]
    named = {bind.key: bind for bind in parameters if bind.required}
    if any(bind.expanding for bind in named.values()):
        raise ValueError("a list bound at run time must be one array parameter (in_keys)")
    if any(b.expanding and not (b.unique or b.literal_execute) for b in parameters):
        # A list named for its values to be bound by name (an operator's locations) is
        # written out as one placeholder per item: compiled once, every later run would
        # bind the first run's list. SQLAlchemy expands each run's list instead. (The
        # anonymous lists of ``in_`` and literal ones are part of the statement's shape.)
        by_dialect[dialect.name] = _BY_SQLALCHEMY
        return None
    stand_in = cast(ClauseElement, statement).params(dict.fromkeys(named))
    compiled = cast(
        SQLCompiler,
        stand_in.compile(dialect=dialect, compile_kwargs={"render_postcompile": True}),
    )
    names = tuple(compiled.positiontup or ())
    carried = compiled.construct_params() or {}
    binds = compiled.binds

    def bind_type(name: str) -> Any:
        # An expanded list's items are named after the list: status_1 -> status_1_1, ...
        return (binds[name] if name in binds else binds[name.rsplit("_", 1)[0]]).type

    columns = getattr(statement, "selected_columns", ())
    processors = [(i, _result_processor(c.type, dialect)) for i, c in enumerate(columns)]
    sql = str(compiled)
    packing = _Packing.of(sql, columns) if dialect.name == "sqlite" else None
    global _compiles
    _compiles += 1
    found = by_dialect[dialect.name] = _Compiled(
        sql=sql if packing is None else packing.sql(),
        packing=packing,
        names=names,
        defaults={name: value for name, value in carried.items() if name not in named},
        bind=tuple(bind_type(name).dialect_impl(dialect).bind_processor(dialect) for name in names),
        results=tuple((i, p) for i, p in processors if p is not None),
    )
    return found


# Column types whose SQLite values are never reals: JSON holds them exactly.
_EXACT_IN_JSON = (String, Uuid, DateTime, Date, Boolean, Integer)


def _stored_type(type_: Any) -> Any:
    return type_.impl if isinstance(type_, TypeDecorator) else type_


def _packable(columns: Sequence[Any]) -> bool:
    """True when JSON holds every value of ``columns`` exactly.

    SQLite prints a real in JSON to 15 digits (and its printf to 17 is not exact at the
    extremes): a column that may hold one is read row by row, unless it is only ever a
    null (a field the read does not show).
    """
    return bool(columns) and all(
        isinstance(_stored_type(column.type), _EXACT_IN_JSON) or _only_null(column)
        for column in columns
    )


def _only_null(column: Any) -> bool:
    """True when every column ``column`` is drawn from is a NULL (``cast(null(), ...)``)."""
    return all(
        isinstance(base, Cast) and isinstance(base.clause, Null) for base in column.base_columns
    )


@dataclass(frozen=True, slots=True)
class _Packing:
    """An SQLite read whose rows come back as one JSON array of arrays, in their order.

    CPython's sqlite3 gives up and retakes the GIL for every row it steps through; with
    the event loop busy, each retake waits its turn, so a page of 50 rows took 50 waits
    on the reading thread. Packed, a read is one row whatever its size:
    ``WITH q(c0, ...) AS (<read>) SELECT json_group_array(json_array(c0, ...)) FROM q``.
    An aggregate keeps a sub-select's ORDER BY (SQLite drops it only under count, min
    and max). A list the statement aggregated (``JsonList``) is nested as it is, parsed
    with the rest.
    """

    rows_sql: str  # the read as written
    names: str
    document: str

    @classmethod
    def of(cls, sql: str, columns: Sequence[Any]) -> "_Packing | None":
        """The packing of a read with ``columns``, or None where JSON cannot hold them."""
        if not _packable(columns):
            return None
        names = [f"c{i}" for i in range(len(columns))]
        items = [
            f"json({name})" if isinstance(column.type, JsonList) else name
            for name, column in zip(names, columns, strict=True)
        ]
        return cls(sql, ", ".join(names), f"json_group_array(json_array({', '.join(items)}))")

    def sql(self, leading: str = "") -> str:
        """The packed read; ``leading`` columns (``_Carrying``'s) go before the document."""
        return f"WITH q({self.names}) AS ({self.rows_sql}) SELECT {leading}{self.document} FROM q"


class Reads:
    """The reads of one request, run in turn on one pooled connection.

    The connection is taken at the first read. A ``held`` reader (an HTTP request's)
    keeps it until ``release``, so that a request costs one checkout whatever it reads
    and never holds two connections; otherwise each read returns it at once. Reads run
    outside a transaction: each sees what was committed when it began.

    A statement the gateway keeps (built once per shape) is compiled at its second run
    (``_compiled``: its SQL, its parameters in order, the conversions its column types
    ask for) and from then on run by the driver directly: SQLAlchemy's execution around a
    token look-up and a session read cost 0.4 ms of their 0.5 on PostgreSQL, and on
    SQLite it makes several trips to aiosqlite's thread per read. A statement seen once
    runs through SQLAlchemy; ``compiled_statements`` shows when one is compiled.

    A read whose connection turns out to be dropped (a restart, a failover) runs once
    more on a fresh one: the pool does not ping on checkout.

    A request may ``require`` a row (its bearer token's, known from an earlier request)
    instead of reading it first: the requirement rides along the request's next compiled
    statement (on SQLite, a packed one), saving a round trip; otherwise, or if a
    PostgreSQL statement finds nothing, it runs on its own when ``requirement_met`` is
    asked.

    With a ``router`` (read replicas, ``storage.replicas``) the reads may start on a
    replica's engine; ``use`` and ``to_primary`` move the next ones, giving back a
    connection held on the other side first. A read the replica fails runs again on
    the primary, and the router takes that replica out of rotation.
    """

    def __init__(
        self, engine: AsyncEngine, *, held: bool = False, router: "ReadRouting | None" = None
    ) -> None:
        self.engine = engine
        self.dialect: str = engine.dialect.name
        self.router = router
        self._held = held
        self._lock = asyncio.Lock()
        self._connection: AsyncConnection | None = None
        self._driver: Any = None  # the driver's connection inside it: asyncpg's, aiosqlite's
        self._autocommit = False  # SQLAlchemy told so, for the statements it runs
        self._required: tuple[Executable, Mapping[str, Any]] | None = None
        self._met: bool | None = None  # the requirement's answer, once known

    def require(self, statement: Executable, params: Mapping[str, Any]) -> None:
        """Ask that ``statement`` find a row for this request to stand (``requirement_met``)."""
        self._required, self._met = (statement, params), None

    async def requirement_met(self) -> bool:
        """Whether the required row exists (True when nothing was required).

        Runs the requirement on its own unless a read carried it already. A row a
        replica lacks may be one it has not replayed yet: the primary is asked then.
        """
        if self._required is None:
            return True
        statement, params = self._required
        if self._met is None:
            self._met = bool(await self.rows(statement, params))
        if not self._met and self.on_replica:
            await self.to_primary()
            self._met = bool(await self.rows(statement, params))
        return self._met

    async def rows(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[Any]:
        """The rows of one read (``params`` for its named bind parameters), as sequences."""
        async with self._lock:
            try:
                if self.on_replica:
                    try:
                        return await self._attempt(statement, params)
                    except Exception as error:
                        if not _replica_fault(error):
                            raise
                        assert self.router is not None
                        self.router.failed(self.engine, error)
                        await self._drop()
                        self.engine = self.router.primary
                return await self._attempt(statement, params)
            except asyncio.CancelledError:
                # Cancelled mid-statement (a sibling field failed and its task group
                # cancelled this one): the connection's state is unknown. It is never used
                # again; the request's next read takes a fresh one.
                await self._drop()
                raise
            finally:
                if not self._held:
                    await self._release()

    async def _attempt(
        self, statement: Executable, params: Mapping[str, Any] | None
    ) -> Sequence[Any]:
        for attempt in (1, 2):
            if self._connection is None:
                await self._connect()
            try:
                rows = await self._run(statement, params)
            except Exception as error:
                if attempt == 2 or not _lost(error):
                    raise
                await self._discard()
            else:
                if self.router is not None:
                    self.router.counted(self.engine)
                return rows
        raise AssertionError("unreachable")

    @property
    def on_replica(self) -> bool:
        """True while the reads go to a replica."""
        return self.router is not None and self.engine is not self.router.primary

    async def use(self, engine: AsyncEngine) -> None:
        """Run the next reads on ``engine`` (giving back a connection held elsewhere)."""
        async with self._lock:
            if engine is not self.engine:
                await self._release()
                self.engine = engine

    async def to_primary(self) -> None:
        """Run the rest of the reads on the primary (a write's request, or a fallback)."""
        if self.router is not None:
            await self.use(self.router.primary)

    async def release(self) -> None:
        """Return the connection to the pool (the next read takes one again)."""
        async with self._lock:
            await self._release()

    async def _connect(self) -> None:
        connection = await self.engine.connect().start()
        self._connection = connection
        try:
            self._driver = (await connection.get_raw_connection()).driver_connection
        except BaseException:
            await self._release()
            raise

    async def _release(self) -> None:
        connection, self._connection, self._driver = self._connection, None, None
        self._autocommit = False
        if connection is not None:
            await connection.close()

    async def _drop(self) -> None:
        """Close a connection that failed, never returning it to the pool."""
        connection, self._connection, self._driver = self._connection, None, None
        self._autocommit = False
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.invalidate()
            with contextlib.suppress(Exception):
                await connection.close()

    async def _discard(self) -> None:
        """Drop a connection found dead, and with it the pool's other stale connections.

        A statement through SQLAlchemy on the dead connection lets SQLAlchemy see the
        loss as its own reads would: it invalidates every connection pooled before it,
        so that the retry does not check out another dead one.
        """
        connection, self._connection, self._driver = self._connection, None, None
        self._autocommit = False
        if connection is None:
            return
        try:
            await connection.execute(_ALIVE)
        except (DBAPIError, InvalidRequestError):  # lost, or left in a failed state
            pass
        else:  # alive after all: still never reuse it
            await connection.invalidate()
        finally:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _run(self, statement: Executable, params: Mapping[str, Any] | None) -> Sequence[Any]:
        engine, driver = self.engine, self._driver
        compiled = _compiled(statement, engine.dialect)
        if compiled is None:
            READS_BY_PATH["sqlalchemy"] += 1
            return await self._run_by_sqlalchemy(statement, params)
        READS_BY_PATH["driver"] += 1
        READS_BY_PATH["packed"] += compiled.packing is not None
        arguments = compiled.arguments(params)
        sql, skip = compiled.sql, 0
        required = self._carried_requirement(statement, compiled)
        if required is not None:
            sql, skip = _carrying(compiled, required[0]).sql, 1
            arguments += required[0].arguments(required[1])
        for observe in _observers.get(engine.sync_engine, ()):
            observe(sql, tuple(arguments))
        try:
            if self.dialect == "postgresql":
                records = await driver.fetch(sql, *arguments)
            else:  # aiosqlite: one trip to its thread for the statement and its rows
                async with _sqlite_reading(engine):
                    records = await driver.execute_fetchall(sql, arguments)
        except Exception as error:
            if _unavailable(error):
                raise DatabaseUnavailable(str(error)) from error
            raise
        if required is not None and records:
            READS_BY_PATH["carried"] += 1
            self._met = bool(records[0][0])
        return compiled.decode(records, skip)

    def _carried_requirement(
        self, statement: Executable, read: _Compiled
    ) -> tuple[_Compiled, Mapping[str, Any]] | None:
        """The pending requirement, compiled, if it can ride along ``read`` (``_Carrying``)."""
        if self._required is None or self._met is not None:
            return None
        if self.dialect != "postgresql" and read.packing is None:
            return None
        required, params = self._required
        if required is statement:
            return None
        compiled = _compiled(required, self.engine.dialect)  # None until its second use
        return None if compiled is None else (compiled, params)

    async def _run_by_sqlalchemy(
        self, statement: Executable, params: Mapping[str, Any] | None
    ) -> Sequence[Any]:
        connection = self._connection
        assert connection is not None
        if self.dialect == "postgresql" and not self._autocommit:
            # A read is one statement: no BEGIN and ROLLBACK around it.
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            self._autocommit = True
        result = await connection.execute(statement, dict(params) if params else None)
        return result.all()


class ReadRouting(Protocol):
    """Where reads may go (``storage.replicas.ReadRouter``), as ``Reads`` sees it."""

    primary: AsyncEngine

    def failed(self, engine: AsyncEngine, error: BaseException) -> None:
        """A read on the replica ``engine`` failed."""

    def counted(self, engine: AsyncEngine) -> None:
        """A read ran on ``engine``."""


def _replica_fault(error: BaseException) -> bool:
    """True for a failure a replica may cause: gone, refused, timed out, cancelled.

    The primary runs the read instead; a wrong statement would fail there too.
    """
    return isinstance(
        error,
        DBAPIError
        | SQLAlchemyTimeout
        | DatabaseUnavailable
        | OSError
        | asyncio.TimeoutError
        | asyncpg.PostgresError
        | asyncpg.InterfaceError,
    )


def _lost(error: BaseException) -> bool:
    """True when ``error`` says the connection is gone (so a fresh one may succeed)."""
    if isinstance(error, DBAPIError):
        return error.connection_invalidated
    cause = error.__cause__ if isinstance(error, DatabaseUnavailable) else error
    if isinstance(cause, (asyncpg.InterfaceError, ConnectionError)):
        return True
    state = getattr(cause, "sqlstate", None) or ""
    # 08: connection exception; 57P01-03: shut down by an administrator, crashed, starting.
    return state[:2] == "08" or state in {"57P01", "57P02", "57P03"}


async def fetch_rows(
    engine: AsyncEngine, statement: Executable, params: Mapping[str, Any] | None = None
) -> Sequence[Any]:
    """Run one read outside any request (start-up, commands, live updates): see ``Reads``."""
    return await Reads(engine).rows(statement, params)


async def ping(engine: AsyncEngine) -> None:
    """Raise unless the database answers a trivial query."""
    await fetch_rows(engine, _ALIVE)
