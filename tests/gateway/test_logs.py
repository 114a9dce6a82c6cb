"""What a real ``session-gateway serve`` process writes: JSON lines, correlated, never a token."""

import json
import logging
import sys
import uuid

import httpx
import pytest
from sqlalchemy import text

from gateway.logs import REDACTED, JsonLineFormatter, redact
from storage.database import create_engine
from tests.conftest import BACKENDS, auth, prepared_database
from tests.fixtures.dataset import load_dataset
from tests.live_server import live_process
from tests.security.jwt_keys import SECRET, mint

FLEETS = {"query": "{ fleets(first: 5) { nodes { uuid } } }"}


def json_lines(log) -> list[dict]:
    lines = log.read_text().splitlines()
    assert lines, "the server wrote nothing"
    return [json.loads(line) for line in lines]  # every line is one JSON object


@pytest.fixture(params=BACKENDS)
async def fresh(request, tmp_path):
    async with prepared_database(request.param, tmp_path, load_dataset) as prepared:
        yield prepared


async def test_a_served_request_writes_its_access_line_and_a_fault_its_correlated_traceback(
    fresh, tmp_path
):
    url, tokens = fresh
    token = tokens["admin"]
    log = tmp_path / "server.log"
    correlation = str(uuid.uuid4())
    async with (
        live_process(url, log=log, LOG_LEVEL="info") as (base, _),
        httpx.AsyncClient(base_url=base) as client,
    ):
        # A client that also puts its token in the query string, as some do.
        read = await client.get(
            "/graphql",
            params={"query": "{ viewer { role } }", "access_token": token},
            headers={**auth(token), "X-Correlation-ID": correlation},
        )
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("ALTER TABLE fleets RENAME TO fleets_gone"))
        finally:
            await engine.dispose()
        failed = await client.post("/graphql", json=FLEETS, headers=auth(token))
    entries = json_lines(log)
    assert read.status_code == 200
    [access] = [e for e in entries if e.get("correlation_id") == correlation]
    assert access == {
        "method": "GET",
        "path": "/graphql",
        "status": 200,
        "duration_ms": access["duration_ms"],
        "principal": access["principal"],
        "correlation_id": correlation,
    }
    assert access["principal"]  # the token's id, not the token
    fault = failed.headers["x-correlation-id"]
    errors = [e for e in entries if e.get("level") == "ERROR"]
    assert errors, entries
    assert all(e["correlation_id"] == fault for e in errors)
    assert any("fleets" in e.get("traceback", "") for e in errors)
    assert token not in log.read_text()
    assert not any(e.get("logger") == "uvicorn.access" for e in entries)


async def test_a_refused_jwt_reaches_no_log_of_a_real_process(fresh, tmp_path):
    url, _ = fresh
    log = tmp_path / "server.log"
    token = mint("y" * 40, "HS256", role="admin")  # signed with the wrong key
    async with (
        live_process(url, log=log, LOG_LEVEL="debug", JWT_SECRET=SECRET) as (base, _),
        httpx.AsyncClient(base_url=base) as client,
    ):
        response = await client.get(f"/graphql?query={{viewer{{role}}}}&token={token}")
        refused = await client.get("/session/v2/sessions", headers=auth(token))
    assert response.status_code == 401 and refused.status_code == 401
    written = log.read_text()
    for part in token.split("."):
        assert part not in written
    assert len([e for e in json_lines(log) if e.get("status") == 401]) == 2


@pytest.mark.parametrize(
    "secret",
    [
        "Bearer abc.def-ghi",
        "sgw_" + "A1b2_-" * 7 + "x",
        mint(SECRET, "HS256", role="admin"),
        "/graphql?access_token=whatever&x=1",
    ],
)
def test_redaction_removes_every_kind_of_token(secret):
    redacted = redact(f"before {secret} after")
    assert redacted.startswith("before ") and redacted.endswith(" after")
    assert REDACTED in redacted
    assert "whatever" not in redacted and "A1b2" not in redacted and "ghi" not in redacted


def test_an_error_record_is_one_json_line_with_its_traceback_redacted():
    token = "sgw_" + "Z" * 43
    try:
        raise RuntimeError(f"the token {token} was refused")
    except RuntimeError:
        record = logging.LogRecord(
            "session_gateway.errors", logging.ERROR, __file__, 1, "request failed", (),
            sys.exc_info(),
        )  # fmt: skip
    record.correlation_id = "c0ffee"
    record.error_code = "INTERNAL"
    [line] = JsonLineFormatter().format(record).splitlines()
    entry = json.loads(line)
    assert entry["message"] == "request failed"
    assert entry["correlation_id"] == "c0ffee" and entry["error_code"] == "INTERNAL"
    assert "RuntimeError: the token [REDACTED] was refused" in entry["traceback"]
    assert token not in line
