"""Start-up compares the connections every process may open with PostgreSQL's limit."""

import asyncio
import json
import logging

import asyncpg
import httpx
import pytest

from gateway.config import Settings
from tests.conftest import POSTGRES_ADMIN_DSN, prepared_database, running_app
from tests.fixtures.dataset import load_dataset
from tests.live_server import live_process

BUDGET_LOGGER = "session_gateway.database"


async def _max_connections() -> int:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=10)
    try:
        return int(await connection.fetchval("SHOW max_connections"))
    finally:
        await connection.close()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == BUDGET_LOGGER and record.levelno == logging.WARNING
    ]


async def test_a_pool_larger_than_max_connections_is_warned_of_once_at_start_up(tmp_path, caplog):
    limit = await _max_connections()
    caplog.set_level(logging.INFO, logger=BUDGET_LOGGER)
    async with (
        prepared_database("postgresql", tmp_path, load_dataset) as (url, _),
        running_app(url, db_pool_size=limit, db_max_overflow=5, workers=2),
    ):
        [warning] = _warnings(caplog)
    wanted = 2 * (limit + 5 + 1)
    assert f"may open {wanted} PostgreSQL connections" in warning
    assert f"max_connections is {limit}" in warning
    assert "DB_POOL_SIZE" in warning and "WEB_CONCURRENCY" in warning


async def test_workers_times_pool_within_max_connections_starts_quietly(tmp_path, caplog):
    limit = await _max_connections()
    caplog.set_level(logging.INFO, logger=BUDGET_LOGGER)
    per_process = limit // 2 - 1  # pool + overflow + the listener: exactly the limit
    async with prepared_database("postgresql", tmp_path, load_dataset) as (url, _):
        async with running_app(
            url,
            db_pool_size=per_process - per_process // 2,
            db_max_overflow=per_process // 2,
            workers=2,
        ):
            assert _warnings(caplog) == []
        # One more process and the same pools no longer fit.
        async with running_app(
            url,
            db_pool_size=per_process - per_process // 2,
            db_max_overflow=per_process // 2,
            workers=3,
        ):
            assert len(_warnings(caplog)) == 1


def test_the_budget_counts_pool_overflow_and_listener_per_process():
    settings = Settings.from_env(
        {"WEB_CONCURRENCY": "4", "DB_POOL_SIZE": "10", "DB_MAX_OVERFLOW": "5"}
    )
    assert settings.server_connections() == 4 * (10 + 5 + 1)
    assert settings.database_options().max_overflow == 5
    behind_pgbouncer = Settings.from_env(
        {
            "WEB_CONCURRENCY": "4",
            "DATABASE_URL": "postgresql+asyncpg://gateway@127.0.0.1:6432/sessions",
            "DATABASE_POOLER": "pgbouncer",
            "DATABASE_LISTEN_URL": "postgresql+asyncpg://gateway@127.0.0.1:5432/sessions",
        }
    )
    assert behind_pgbouncer.server_connections() == 4  # the listeners; PgBouncer pools the rest
    with pytest.raises(ValueError, match="WEB_CONCURRENCY=0 must be at least 1"):
        Settings.from_env({"WEB_CONCURRENCY": "0"})


async def test_serve_counts_its_workers_and_each_warns_once(tmp_path):
    limit = await _max_connections()
    log = tmp_path / "server.log"
    pool = str(limit // 2)  # one process fits (pool + overflow 0 + listener), two do not
    async with (
        prepared_database("postgresql", tmp_path, load_dataset) as (url, _),
        live_process(
            url, args=["--workers", "2"], log=log, DB_POOL_SIZE=pool, DB_MAX_OVERFLOW="0"
        ) as (base, _process),
    ):
        warnings: list[dict] = []
        async with httpx.AsyncClient() as client:
            for _ in range(200):  # both workers started: each answers /readyz
                warnings = _logged_warnings(log)
                if len(warnings) >= 2:
                    break
                await client.get(f"{base}/readyz")
                await asyncio.sleep(0.05)
    assert len(warnings) == 2, log.read_text()
    assert all(f"2 processes (WEB_CONCURRENCY) may open {2 * (limit // 2 + 1)}" in w["message"]
               for w in warnings)  # fmt: skip


def _logged_warnings(log) -> list[dict]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") == BUDGET_LOGGER]
