"""The bench's data: PostgreSQL and SQLite seeded by the gateway's own ``seed`` command.

Seeding is skipped when the database already holds at least the asked number of
sessions (it counts them). A database with fewer, but some, sessions is refused: run with
``--reseed`` to drop and seed it again. Every run ANALYZEs PostgreSQL so the planner
has statistics (the seed command does not, see bench/README.md), and installs the one
SQL function PostGraphile's equivalent query needs, in a schema of its own (bench_peer).
"""

import asyncio
import os
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bench.tools import ROOT, log

CLI = str(ROOT / ".venv" / "bin" / "session-gateway")
SEED = 1

MARKER_SQL = """
CREATE SCHEMA IF NOT EXISTS bench_peer;
-- The newest creation time of the seeded data: what was created later, (f) created.
CREATE TABLE IF NOT EXISTS bench_peer.seeded (max_created_at timestamp NOT NULL);
"""

PEER_SQL = """
CREATE SCHEMA IF NOT EXISTS bench_peer;
-- The gateway's locationId filter: parked at the location, or a rental that started or
-- ended there; newest reference time first, like every session list of the gateway.
-- Written as the gateway runs it on PostgreSQL: a UNION ALL of three branches that each
-- walk one (column, reference time, id) index and stop after a page, so that every
-- server asks the database for the same work. (The single OR of the three columns
-- cannot use an index in this order and costs ~12 ms of database CPU per page.)
DROP FUNCTION IF EXISTS bench_peer.sessions_at_location(uuid, text);
CREATE OR REPLACE FUNCTION bench_peer.sessions_at_location(location_id uuid, status text, page int)
RETURNS SETOF public.sessions LANGUAGE sql STABLE AS $$
  SELECT * FROM (
    (SELECT * FROM public.sessions WHERE status = $2 AND storage_location_id = $1
     ORDER BY reference_time DESC, id DESC LIMIT $3)
    UNION ALL
    (SELECT * FROM public.sessions WHERE status = $2 AND travel_start_location_id = $1
     ORDER BY reference_time DESC, id DESC LIMIT $3)
    UNION ALL
    (SELECT * FROM public.sessions WHERE status = $2 AND travel_end_location_id = $1
       AND travel_start_location_id IS DISTINCT FROM $1
     ORDER BY reference_time DESC, id DESC LIMIT $3)
  ) AS s
  ORDER BY s.reference_time DESC, s.id DESC
$$;"""


def cli(database_url: str, *args: str, capture: bool = False) -> str:
    """Run ``session-gateway ARGS`` against ``database_url``; its stdout if captured."""
    env = {**os.environ, "DATABASE_URL": database_url}
    result = subprocess.run(
        [CLI, *args],
        env=env,
        cwd=ROOT,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout.strip() if capture else ""


def plain_dsn(database_url: str) -> str:
    """The asyncpg/libpq DSN of a SQLAlchemy PostgreSQL URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    assert database, "an SQLite URL names a file"
    return (ROOT / database).resolve()


def _seed(database_url: str, sessions: int) -> None:
    log(f"seeding {sessions:,} sessions (seed {SEED}) into {database_url} ...")
    started = time.monotonic()
    cli(database_url, "seed", "--sessions", str(sessions), "--seed", str(SEED), "--quiet")
    log(f"seeded in {time.monotonic() - started:.0f} s")


async def _pg_admin(dsn: str, database: str, reseed: bool) -> None:
    admin = await asyncpg.connect(make_url(dsn).set(database="postgres").render_as_string(False))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if exists and reseed:
            log(f"dropping database {database} (--reseed)")
            await admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
            exists = False
        if not exists:
            log(f"creating database {database}")
            await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()


async def _pg_count(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM sessions"))
    finally:
        await connection.close()


async def _pg_finish(dsn: str, vacuum: bool) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(MARKER_SQL)
        if vacuum or not await connection.fetchval("SELECT count(*) FROM bench_peer.seeded"):
            await connection.execute("DELETE FROM bench_peer.seeded")
            await connection.execute(
                "INSERT INTO bench_peer.seeded SELECT max(created_at) FROM sessions"
            )
        deleted = await _delete_created(connection)
        vacuum = vacuum or deleted > 0
        started = time.monotonic()
        await connection.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
        log(f"{'VACUUM ANALYZE' if vacuum else 'ANALYZE'} took {time.monotonic() - started:.1f} s")
        await connection.execute(PEER_SQL)
    finally:
        await connection.close()


def prepare_postgres(database_url: str, sessions: int, reseed: bool) -> int:
    """Create, migrate and seed the PostgreSQL database if needed; its session count."""
    dsn = plain_dsn(database_url)
    database = make_url(dsn).database
    assert database
    asyncio.run(_pg_admin(dsn, database, reseed))
    cli(database_url, "migrate")
    count = asyncio.run(_pg_count(dsn))
    seeded = False
    if count == 0:
        _seed(database_url, sessions)
        seeded = True
    elif count < sessions:
        raise SystemExit(
            f"{database} holds {count:,} sessions, fewer than the {sessions:,} asked for: "
            "run with --reseed to drop and seed it again"
        )
    else:
        log(f"PostgreSQL {database} already holds {count:,} sessions: not seeding")
    asyncio.run(_pg_finish(dsn, vacuum=seeded))
    return asyncio.run(_pg_count(dsn))


def _sqlite_count(path: Path) -> int:
    if not path.exists():
        return 0
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute("SELECT count(*) FROM sessions").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        connection.close()


def prepare_sqlite(database_url: str, sessions: int, reseed: bool) -> int:
    """Migrate and seed the SQLite file if needed (a fresh file when the count is off)."""
    path = sqlite_path(database_url)
    count = 0 if reseed else _sqlite_count(path)
    if count >= sessions:
        log(f"SQLite {path.name} already holds {count:,} sessions: not seeding")
        cli(database_url, "migrate")
        return count
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    cli(database_url, "migrate")
    _seed(database_url, sessions)
    connection = sqlite3.connect(path)
    try:
        started = time.monotonic()
        connection.execute("ANALYZE")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        log(f"SQLite ANALYZE took {time.monotonic() - started:.1f} s")
    finally:
        connection.close()
    return _sqlite_count(path)


async def _delete_created(connection: asyncpg.Connection) -> int:
    """Delete the sessions (f) created, so that every run sees the seeded data."""
    status = await connection.execute(
        "DELETE FROM sessions WHERE created_at > (SELECT max_created_at FROM bench_peer.seeded)"
    )
    deleted = int(status.split()[-1])
    if deleted:
        log(f"deleted {deleted:,} sessions that earlier lifecycle runs (f) created")
    return deleted


async def _restore(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        if await _delete_created(connection):
            await connection.execute("VACUUM ANALYZE sessions, session_events")
    finally:
        await connection.close()


def restore_seeded(database_url: str) -> None:
    """Undo what the lifecycle scenario (f) wrote: the sessions it created, with their events."""
    asyncio.run(_restore(plain_dsn(database_url)))


def admin_token(database_url: str) -> str:
    """A new admin token (one row in api_tokens, labelled 'bench')."""
    return cli(database_url, "token", "create", "--role", "admin", "--label", "bench", capture=True)


@dataclass(frozen=True)
class Fixtures:
    """What the scenarios ask for: picked from the data, the same on every run."""

    location_id: str  # most ended parking sessions: the busiest frontend list
    session_id: str  # an ended rental with rating, payment, start and end: every field set
    devices: list[tuple[str, str]]  # (device id, user id): devices without an open session


_LOCATION = """
SELECT storage_location_id FROM sessions
WHERE status = 'ended' AND storage_location_id IS NOT NULL
GROUP BY storage_location_id ORDER BY count(*) DESC, storage_location_id LIMIT 1
"""
_SESSION = """
SELECT id FROM sessions
WHERE kind = 'rental' AND status = 'ended' AND rating_comment IS NOT NULL
  AND payment_status IS NOT NULL AND travel_start_location_id IS NOT NULL
  AND travel_end_location_id IS NOT NULL AND created_at < '2026-11-01'
ORDER BY reference_time DESC, id DESC LIMIT 1
"""
# Devices away from the frontend list's location, so its page stays the same.
_FREE_DEVICES = """
(SELECT d.id FROM devices AS d
 WHERE d.location_id IS NOT NULL AND d.location_id <> $1
   AND NOT EXISTS (SELECT 1 FROM sessions AS s
                   WHERE s.storage_device_id = d.id AND s.status IN ('booked', 'active'))
 ORDER BY d.id LIMIT $2)
UNION ALL
(SELECT d.id FROM devices AS d
 WHERE d.fleet_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM sessions AS s
                   WHERE s.rental_device_id = d.id AND s.status IN ('booked', 'active'))
 ORDER BY d.id LIMIT $2)
"""
_USERS = "SELECT DISTINCT user_id FROM sessions ORDER BY user_id LIMIT $1"


async def _fixtures(dsn: str, devices: int) -> Fixtures:
    connection = await asyncpg.connect(dsn)
    try:
        location = await connection.fetchval(_LOCATION)
        session = await connection.fetchval(_SESSION)
        half = (devices + 1) // 2
        device_rows: list[Any] = await connection.fetch(_FREE_DEVICES, location, half)
        users = [row[0] for row in await connection.fetch(_USERS, len(device_rows))]
    finally:
        await connection.close()
    # Interleave parking and rental devices so every wrk thread gets both kinds.
    parking, rental = device_rows[:half], device_rows[half:]
    mixed = [row for pair in zip(parking, rental, strict=False) for row in pair]
    mixed += parking[len(rental) :] + rental[len(parking) :]
    pairs = [(str(row[0]), str(user)) for row, user in zip(mixed, users, strict=False)]
    return Fixtures(str(location), str(session), pairs)


def fixtures(database_url: str, devices: int) -> Fixtures:
    return asyncio.run(_fixtures(plain_dsn(database_url), devices))


async def _open_sessions(dsn: str, device_ids: list[str]) -> list[str]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT id FROM sessions WHERE status IN ('booked', 'active')"
            " AND (storage_device_id = ANY($1::uuid[]) OR rental_device_id = ANY($1::uuid[]))",
            device_ids,
        )
    finally:
        await connection.close()
    return [str(row[0]) for row in rows]


def open_sessions(database_url: str, device_ids: list[str]) -> list[str]:
    """The booked or active sessions on these devices."""
    return asyncio.run(_open_sessions(plain_dsn(database_url), device_ids))
