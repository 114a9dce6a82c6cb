"""The access log: one JSON line per request with who, what and how long; never the token."""

import json
import logging
import uuid

import pytest
from sqlalchemy import select

from resolvers import catalog
from resolvers.identity import hash_token
from storage.database import create_engine
from storage.models import ApiToken
from tests.conftest import auth
from tests.security.gateways import gateway
from tests.security.jwt_keys import SECRET, mint

VIEWER = {"query": "{ viewer { role } }"}


def access_lines(caplog) -> list[dict]:
    return [
        json.loads(r.getMessage()) for r in caplog.records if r.name == "session_gateway.access"
    ]


def everything_logged(caplog) -> str:
    """Every record's message, arguments and traceback, as one string to search."""
    handler_text = caplog.text
    return handler_text + "".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''} {r.__dict__!r}" for r in caplog.records
    )


def assert_not_logged(caplog, token: str) -> None:
    logged = everything_logged(caplog)
    for part in {token, *token.split(".")} - {""}:
        assert part not in logged, "a token (or part of a JWT) reached the logs"


async def _token_id(url: str, token: str) -> str:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            query = select(ApiToken.id).where(ApiToken.token_hash == hash_token(token))
            return str((await connection.execute(query)).scalar_one())
    finally:
        await engine.dispose()


async def test_an_opaque_token_request_logs_one_line_with_its_principal(
    client, backend, tokens, caplog
):
    caplog.set_level(logging.DEBUG)
    correlation = str(uuid.uuid4())
    headers = {**auth(tokens["user_a"]), "X-Correlation-ID": correlation}
    response = await client.get("/session/v2/sessions?limit=2", headers=headers)
    assert response.status_code == 200
    [line] = [line for line in access_lines(caplog) if line["correlation_id"] == correlation]
    assert line == {
        "method": "GET",
        "path": "/session/v2/sessions",
        "status": 200,
        "duration_ms": line["duration_ms"],
        "principal": await _token_id(backend.url, tokens["user_a"]),
        "correlation_id": correlation,
    }
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert_not_logged(caplog, tokens["user_a"])


async def test_a_jwt_request_logs_its_subject_and_never_the_token(backend, caplog):
    caplog.set_level(logging.DEBUG)
    token = mint(SECRET, "HS256", sub="ops-42", role="admin", iss=None, aud=None)
    async with gateway(backend.url, jwt_secret=SECRET) as (_, client):
        response = await client.post("/graphql", json=VIEWER, headers=auth(token))
    assert response.status_code == 200
    [line] = access_lines(caplog)
    assert line["principal"] == "jwt:ops-42"
    assert line["method"] == "POST" and line["path"] == "/graphql" and line["status"] == 200
    assert line["correlation_id"] == response.headers["x-correlation-id"]
    assert_not_logged(caplog, token)


@pytest.mark.parametrize("kind", ["opaque", "jwt"])
async def test_a_refused_token_is_logged_without_a_principal_and_without_itself(
    backend, caplog, kind
):
    caplog.set_level(logging.DEBUG)
    token = "sgw_" + "A" * 43 if kind == "opaque" else mint("y" * 40, "HS256", role="admin")
    async with gateway(backend.url, jwt_secret=SECRET) as (_, client):
        response = await client.get("/session/v2/sessions", headers=auth(token))
    assert response.status_code == 401
    [line] = access_lines(caplog)
    assert line["status"] == 401 and line["principal"] is None
    assert_not_logged(caplog, token)


async def test_an_unexpected_fault_is_logged_in_full_but_without_the_token(
    client, tokens, caplog, monkeypatch
):
    async def broken(*args, **kwargs):
        raise RuntimeError("the fleet table caught fire")

    monkeypatch.setattr(catalog, "list_fleets", broken)
    caplog.set_level(logging.DEBUG)
    query = {"query": "{ fleets { nodes { uuid } } }"}
    response = await client.post("/graphql", json=query, headers=auth(tokens["admin"]))
    correlation = response.headers["x-correlation-id"]
    faults = [r for r in caplog.records if r.name == "session_gateway.errors"]
    assert faults and faults[0].correlation_id == correlation
    assert "caught fire" in str(faults[0].exc_info[1])  # the cause is logged in full
    assert_not_logged(caplog, tokens["admin"])
