"""Writing rows fast: one COPY per table and chunk on PostgreSQL, one ``executemany`` on SQLite.

Both write exactly the formats SQLAlchemy's own types use, so the models read the rows back
as if the ORM had written them.
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.demo.clock import CEILING, DAY, FLOOR, TimeFormat
from storage.demo.rows import Row


class Writer(Protocol):
    """Writes rows table by table, inside the transaction of the load."""

    time_format: TimeFormat

    async def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None: ...

    async def finish(self) -> None: ...


async def open_writer(connection: AsyncConnection) -> Writer:
    """The writer for the connection's database; call its ``finish`` when done."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        writer = _SqliteWriter(connection)
        await writer.start()
        return writer
    if dialect == "postgresql":
        raw = await connection.get_raw_connection()
        return _PostgresWriter(raw.driver_connection)
    raise NotImplementedError(f"demo data cannot be written to {dialect}")


class _SqliteWriter:
    """One ``executemany`` per table and chunk, on the transaction's own connection.

    Values are pre-rendered the way SQLAlchemy renders them on SQLite: ``Uuid`` as 32
    lower-case hex digits, ``DateTime`` as ``YYYY-MM-DD HH:MM:SS.ffffff`` text.
    """

    CACHE_KIB = 256 * 1024

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.time_format = _sqlite_time_format()
        self.cache_size: int | None = None

    async def start(self) -> None:
        # A larger page cache keeps the session indexes in memory while they grow.
        result = await self.connection.exec_driver_sql("PRAGMA cache_size")
        self.cache_size = int(result.scalar_one())
        await self.connection.exec_driver_sql(f"PRAGMA cache_size = -{self.CACHE_KIB}")

    async def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        if not rows:
            return
        names = ", ".join(f'"{column}"' for column in columns)
        marks = ", ".join("?" * len(columns))
        await self.connection.exec_driver_sql(
            f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows
        )

    async def finish(self) -> None:
        if self.cache_size is not None:
            await self.connection.exec_driver_sql(f"PRAGMA cache_size = {self.cache_size}")


class _PostgresWriter:
    """One binary COPY per table and chunk, inside the transaction SQLAlchemy began.

    Timestamps are naive UTC ``datetime`` values (the ``TZDateTime`` convention); asyncpg
    takes UUIDs as hex strings.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.time_format = _postgres_time_format()

    async def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        if rows:
            await self.connection.copy_records_to_table(table, records=rows, columns=list(columns))

    async def finish(self) -> None:
        return None


def _sqlite_time_format() -> TimeFormat:
    """Render epoch seconds exactly as SQLAlchemy's SQLite ``DateTime`` stores them."""
    first_day = FLOOR // DAY
    days = [
        (date(1970, 1, 1) + timedelta(days=day)).isoformat()
        for day in range(first_day, CEILING // DAY + 1)
    ]
    clock = [
        f" {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.000000"
        for second in range(DAY)
    ]

    def render(seconds: int) -> str:
        day, second = divmod(seconds, DAY)
        return days[day - first_day] + clock[second]

    return render


def _postgres_time_format() -> TimeFormat:
    """Turn epoch seconds into the naive UTC ``datetime`` the timestamp columns hold."""
    epoch = datetime(1970, 1, 1)

    def render(seconds: int) -> datetime:
        return epoch + timedelta(seconds=seconds)

    return render
