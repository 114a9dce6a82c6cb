"""Time buckets are the same on SQLite (a Python function) as on PostgreSQL (date_trunc)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, MetaData, String, Table, insert, literal, select

from storage.database import create_engine, fetch_rows
from storage.statistics import BUCKET_UNITS, as_timestamp, bucket_start
from storage.types import TZDateTime
from tests.conftest import drop_postgres_database, fresh_database_url

# Zones with DST at 02:00 or 03:00, at midnight (Havana), by half an hour (Lord Howe),
# south of the equator (Santiago), and without DST at an odd offset (Kolkata, Kathmandu).
ZONES = [
    "Europe/Amsterdam",
    "America/New_York",
    "America/Havana",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "UTC",
]


def _moments() -> list[datetime]:
    """Every 10 minutes around each 2025 DST change of these zones, and the days between."""
    days = [(3, 8), (3, 29), (4, 5), (9, 6), (10, 25), (11, 1), (12, 31)]
    moments = []
    for month, day in days:
        start = datetime(2025, month, day, tzinfo=UTC)
        moments += [start + timedelta(minutes=10 * i) for i in range(3 * 144)]
    return moments


async def _buckets(kind: str, tmp_path: Path) -> dict[tuple[str, str], list[datetime]]:
    """Each moment's bucket start, per zone and unit, as the database of ``kind`` computes it."""
    moments = _moments()
    stamps = Table("stamps", MetaData(), Column("t", TZDateTime(), primary_key=True))
    url, pg_name = await fresh_database_url(kind, tmp_path)
    engine = create_engine(url)
    found = {}
    try:
        async with engine.begin() as connection:
            await connection.run_sync(stamps.metadata.create_all)
            await connection.execute(insert(stamps), [{"t": m} for m in moments])
        for zone in ZONES:
            for unit in BUCKET_UNITS:
                start = bucket_start(engine.dialect.name, unit, literal(zone, String()), stamps.c.t)
                statement = select(stamps.c.t, as_timestamp(start)).order_by(stamps.c.t)
                rows = await fetch_rows(engine, statement)
                assert [row[0] for row in rows] == moments
                found[(zone, unit)] = [row[1] for row in rows]
    finally:
        await engine.dispose()
        if pg_name:
            await drop_postgres_database(pg_name)
    return found


async def test_sqlite_buckets_equal_postgresql_buckets_across_dst_changes(tmp_path: Path) -> None:
    on_postgres = await _buckets("postgresql", tmp_path)
    on_sqlite = await _buckets("sqlite", tmp_path)
    assert on_sqlite == on_postgres
    # Where no bucket starts at a repeated local time, each moment is in its bucket (a
    # wall time that repeats means its later instant: Havana's 2 November midnight).
    for unit in ("day", "week", "month"):
        starts = on_postgres[("Europe/Amsterdam", unit)]
        assert all(s <= m for s, m in zip(starts, _moments(), strict=True))
    # 26 October in Amsterdam has 25 hours; 30 March 23.
    days = set(on_postgres[("Europe/Amsterdam", "day")])
    assert datetime(2025, 10, 25, 22, tzinfo=UTC) in days
    assert datetime(2025, 10, 26, 23, tzinfo=UTC) in days
    assert datetime(2025, 3, 29, 23, tzinfo=UTC) in days
    assert datetime(2025, 3, 30, 22, tzinfo=UTC) in days
