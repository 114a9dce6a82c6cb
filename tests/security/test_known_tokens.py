"""A token read once is not read again, but no request stands without its row.

After a process has read a token, its requests only confirm that the token's row still
exists, along with their first read on PostgreSQL. These tests delete the row of a token
the gateway has just used and check that nothing the next request did counts: reads,
a read with no database work, REST, a write, a persisted document, all answer 401.
"""

import hashlib
import uuid

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.identity import UNKNOWN_TOKEN, create_token
from storage.database import READS_BY_PATH, create_engine, watch_statements
from storage.enums import Role
from storage.models import ApiToken, PersistedDocument, Session
from tests.conftest import Writable, auth
from tests.fixtures.dataset import LOC_X, USER_A, add_device
from tests.graphql.helpers import global_id

LIST = "{ sessions(first: 3) { nodes { uuid status } } }"


@pytest.fixture
async def engine(writable: Writable) -> AsyncEngine:
    engine = create_engine(writable.url)
    yield engine
    await engine.dispose()


async def _used_then_deleted(writable: Writable, engine: AsyncEngine) -> str:
    """A rider's token the gateway has read (twice), whose row is then deleted."""
    token = await create_token(engine, Role.USER, user_id=USER_A, label=f"doomed {uuid.uuid4()}")
    for _ in range(2):
        answer = await writable.client.post("/graphql", json={"query": LIST}, headers=auth(token))
        assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    async with engine.begin() as connection:
        await connection.execute(delete(ApiToken).where(ApiToken.label.startswith("doomed")))
    return token


def _refused_in_graphql(answer) -> None:
    assert answer.status_code == 401, answer.text
    body = answer.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHORIZED"]
    assert body["errors"][0]["message"] == UNKNOWN_TOKEN
    assert answer.headers["www-authenticate"].startswith("Bearer")


async def test_a_read_with_a_deleted_token_is_refused(writable: Writable, engine) -> None:
    token = await _used_then_deleted(writable, engine)
    for query in (LIST, "{ __typename }"):
        _refused_in_graphql(
            await writable.client.post("/graphql", json={"query": query}, headers=auth(token))
        )
    rest = await writable.client.get("/session/v2/sessions?limit=5", headers=auth(token))
    assert rest.status_code == 401, rest.text
    assert rest.json()["error_code"] == "ERRORS.UNAUTHORIZED"
    assert rest.json()["error_message"] == UNKNOWN_TOKEN


async def test_a_write_with_a_deleted_token_changes_nothing(writable: Writable, engine) -> None:
    locker = await add_device(engine, "locker", location=LOC_X)
    token = await _used_then_deleted(writable, engine)
    count = select(func.count()).select_from(Session)
    async with engine.connect() as connection:
        before = (await connection.execute(count)).scalar_one()
    mutation = f'mutation {{ startSession(deviceId: "{locker}") {{ __typename }} }}'
    _refused_in_graphql(
        await writable.client.post("/graphql", json={"query": mutation}, headers=auth(token))
    )
    async with engine.connect() as connection:
        assert (await connection.execute(count)).scalar_one() == before


async def test_a_document_sent_with_a_deleted_token_is_not_persisted(
    writable: Writable, engine
) -> None:
    token = await _used_then_deleted(writable, engine)
    query = "{ sessions(first: 1) { nodes { uuid kind } } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    body = {"query": query, "extensions": extensions}
    _refused_in_graphql(await writable.client.post("/graphql", json=body, headers=auth(token)))
    async with engine.connect() as connection:
        found = await connection.execute(
            select(PersistedDocument).where(PersistedDocument.hash == digest)
        )
        assert found.first() is None


async def test_the_check_rides_along_the_first_read(writable: Writable, engine) -> None:
    """On PostgreSQL beside the read's rows, on SQLite beside its packed document."""
    token = await create_token(engine, Role.ADMIN, label=f"carried {uuid.uuid4()}")
    node = {"query": "query($id: ID!) { node(id: $id) { id } }"}
    node["variables"] = {"id": global_id("Location", LOC_X)}  # type: ignore[assignment]
    for _ in range(3):  # read the token, then see and compile the node's statement
        answer = await writable.client.post("/graphql", json=node, headers=auth(token))
        assert answer.json()["data"]["node"]["id"] == node["variables"]["id"]  # type: ignore[index]
    carried = READS_BY_PATH["carried"]
    sent: list[str] = []
    stop = watch_statements(writable.app.state.gateway.engine, lambda sql, _: sent.append(sql))
    try:
        answer = await writable.client.post("/graphql", json=node, headers=auth(token))
    finally:
        stop()
    assert answer.status_code == 200
    assert READS_BY_PATH["carried"] - carried == 1
    assert len(sent) == 1, sent  # the node's read, with the token's check beside it
    metrics = (await writable.client.get("/metrics")).text
    assert 'session_gateway_db_reads_total{path="carried"}' in metrics
