"""Persisted documents: Apollo's automatic persisted queries and the trusted-documents mode."""

import asyncio
import json
import os
import sys
import uuid

import httpx
import pytest
from websockets.asyncio.client import connect

from gateway.graphql.media import GRAPHQL_RESPONSE, JSON
from resolvers.documents import DocumentStore, document_hash
from resolvers.identity import create_token
from storage.database import create_engine
from storage.enums import Role
from tests.conftest import auth
from tests.fixtures.dataset import LOC_X, USER_A, add_device
from tests.live_server import live_server
from tests.security.gateways import gateway


def unique_query(fields: str = "role") -> str:
    """A document no other test has persisted (a fresh alias makes a fresh hash)."""
    return f"query Who {{ viewer {{ a{uuid.uuid4().hex[:8]}: {fields} }} }}"


def apq(digest: str, version: object = 1) -> dict:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


async def post(client, token, query=None, extensions=None, accept=GRAPHQL_RESPONSE, **fields):
    """POST an operation; refusals keep their 4xx under the default media type."""
    body = {"query": query, "extensions": extensions, **fields}
    return await client.post("/graphql", json=body, headers={**auth(token), "Accept": accept})


def roles(body):
    return list(body["data"]["viewer"].values())


@pytest.fixture
async def store(writable):
    engine = create_engine(writable.url)
    yield DocumentStore(engine)
    await engine.dispose()


@pytest.mark.parametrize(
    ("accept", "status"),
    # 200 as Apollo Server; 404 (as Apollo Router) where a request error must be a 4xx.
    [(JSON, 200), (GRAPHQL_RESPONSE, 404)],
)
async def test_an_unknown_hash_asks_for_the_document_with_apollos_error(writable, accept, status):
    response = await post(writable.client, writable.tokens["admin"], None, apq("0" * 64), accept)
    assert response.status_code == status  # clients then send the document with its hash
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert error["extensions"]["correlationId"] == response.headers["x-correlation-id"]


async def test_a_document_sent_with_its_hash_runs_and_is_then_known_by_hash(writable):
    client, token = writable.client, writable.tokens["admin"]
    query = unique_query()
    digest = document_hash(query)
    assert (await post(client, token, None, apq(digest))).json()["errors"][0]["extensions"][
        "code"
    ] == "PERSISTED_QUERY_NOT_FOUND"
    registered = await post(client, token, query, apq(digest))
    assert registered.status_code == 200 and roles(registered.json()) == ["admin"]
    by_hash = await post(client, token, None, apq(digest))
    assert by_hash.status_code == 200 and roles(by_hash.json()) == ["admin"]
    assert by_hash.json()["extensions"]["cost"]["maximum"] == 50000


async def test_a_persisted_query_runs_over_get_with_only_its_hash(writable):
    client, token = writable.client, writable.tokens["user_a"]
    query = unique_query("userId")
    digest = document_hash(query)
    await post(client, token, query, apq(digest))
    params = {"extensions": json.dumps(apq(digest)), "operationName": "Who"}
    # curl and most HTTP libraries accept */*, which must not get the GraphiQL page.
    response = await client.get("/graphql", params=params, headers=auth(token) | {"Accept": "*/*"})
    assert response.status_code == 200, response.text
    assert roles(response.json()) == [str(USER_A)]


async def test_every_gateway_process_shares_the_persisted_documents(writable):
    query = unique_query()
    digest = document_hash(query)
    await post(writable.client, writable.tokens["admin"], query, apq(digest))
    async with gateway(writable.url) as (_, other):
        response = await post(other, writable.tokens["user_b"], None, apq(digest))
    assert roles(response.json()) == ["user"]


async def test_a_hash_that_is_not_the_documents_is_refused_and_nothing_is_kept(writable, store):
    query = unique_query()
    wrong = document_hash(query + " ")
    response = await post(writable.client, writable.tokens["admin"], query, apq(wrong))
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INVALID_PERSISTED_QUERY"
    assert error["message"] == "provided sha does not match query"
    assert await store.get(wrong) is None


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": "abc"},
        apq("0" * 64, version=2),
        apq("0" * 64, version=True),
        apq("A" * 64),
        apq("0" * 63),
        {"persistedQuery": {"version": 1}},
    ],
)
async def test_a_malformed_persisted_query_extension_is_a_400(writable, extensions):
    response = await post(writable.client, writable.tokens["admin"], None, extensions)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_PERSISTED_QUERY"


async def test_a_document_that_does_not_validate_is_not_persisted(writable, store):
    query = "query Nope { viewer { nope } }"
    digest = document_hash(query)
    response = await post(writable.client, writable.tokens["admin"], query, apq(digest))
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION"
    assert await store.get(digest) is None


async def test_each_operation_of_a_batch_is_resolved_on_its_own(writable):
    query = unique_query()
    digest = document_hash(query)
    await post(writable.client, writable.tokens["admin"], query, apq(digest))
    batch = [
        {"extensions": apq(digest)},
        {"extensions": apq("f" * 64)},
        {"query": "{ viewer { role } }"},
    ]
    response = await writable.client.post(
        "/graphql", json=batch, headers=auth(writable.tokens["admin"])
    )
    assert response.status_code == 200
    found, missing, plain = response.json()
    assert roles(found) == ["admin"]
    assert missing["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert plain["data"] == {"viewer": {"role": "admin"}}


async def test_no_client_document_is_kept_beyond_apq_max_documents(writable, store):
    query = unique_query()
    digest = document_hash(query)
    async with gateway(writable.url, apq_max_documents=0) as (_, client):
        ran = await post(client, writable.tokens["admin"], query, apq(digest))
        assert roles(ran.json()) == ["admin"]  # it still runs
        again = await post(client, writable.tokens["admin"], None, apq(digest))
    assert again.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert await store.get(digest) is None


async def test_each_principal_has_its_own_quota_of_persisted_documents(writable, store):
    first, second, third = (unique_query() for _ in range(3))
    other = unique_query()
    # Riders who persisted nothing yet (the writable database is shared).
    one = await create_token(store.engine, Role.USER, user_id=uuid.uuid4())
    two = await create_token(store.engine, Role.USER, user_id=uuid.uuid4())
    async with gateway(writable.url, apq_max_documents=2) as (_, client):
        for query in (first, second, third):
            await post(client, one, query, apq(document_hash(query)))
        # Another principal still persists: one client cannot fill the store for all.
        await post(client, two, other, apq(document_hash(other)))
        found = {
            query: await post(client, two, None, apq(document_hash(query)))
            for query in (first, second, third, other)
        }
    kept = {q for q, r in found.items() if "errors" not in r.json()}
    assert kept == {first, second, other}
    assert found[third].json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert await store.get(document_hash(third)) is None


async def test_trusted_mode_runs_registered_documents_by_hash_or_in_full(writable, store):
    query = unique_query()
    digest = await store.register(query)
    assert digest == document_hash(query)
    async with gateway(writable.url, trusted_documents_only=True) as (_, client):
        by_hash = await post(client, writable.tokens["admin"], None, apq(digest))
        in_full = await post(client, writable.tokens["admin"], query)
        with_both = await post(client, writable.tokens["admin"], query, apq(digest))
    for response in (by_hash, in_full, with_both):
        assert response.status_code == 200 and roles(response.json()) == ["admin"]


async def test_trusted_mode_refuses_every_other_document_and_keeps_none(writable, store):
    client_persisted = unique_query()
    await post(
        writable.client,
        writable.tokens["admin"],
        client_persisted,
        apq(document_hash(client_persisted)),
    )
    unknown = unique_query()
    async with gateway(writable.url, trusted_documents_only=True) as (_, client):
        attempts = [
            await post(client, writable.tokens["admin"], unknown),
            await post(client, writable.tokens["admin"], unknown, apq(document_hash(unknown))),
            await post(client, writable.tokens["admin"], None, apq(document_hash(unknown))),
            # Persisted by a client before the switch: still not the operator's.
            await post(
                client, writable.tokens["admin"], None, apq(document_hash(client_persisted))
            ),
        ]
    for response in attempts:
        assert response.status_code == 400
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "DOCUMENT_NOT_TRUSTED"
        assert "session-gateway documents register" in error["message"]
    assert await store.get(document_hash(unknown)) is None


async def test_registering_a_client_document_makes_it_trusted(writable, store):
    query = unique_query()
    await post(writable.client, writable.tokens["admin"], query, apq(document_hash(query)))
    assert (await store.get(document_hash(query))).trusted is False
    await store.register(query)
    assert (await store.get(document_hash(query), need_trusted=True)).trusted is True


async def run_cli(url: str, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        *args,
        env={**os.environ, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_documents_register_prints_each_hash_and_file(writable, store, tmp_path):
    first, second = tmp_path / "first.graphql", tmp_path / "second.graphql"
    first.write_text(unique_query() + "\n")
    second.write_text("query Second { ...Me }\nfragment Me on Query { viewer { role userId } }\n")
    status, out, err = await run_cli(writable.url, "documents", "register", str(first), str(second))
    assert status == 0, err
    expected = [f"{document_hash(p.read_text())}  {p}" for p in (first, second)]
    assert out.splitlines() == expected
    for path in (first, second):
        document = await store.get(document_hash(path.read_text()), need_trusted=True)
        assert document is not None and document.trusted


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("query { viewer { nope } }", "Cannot query field 'nope'"),
        ("query { viewer { role }", "Syntax Error"),
        ("query A { viewer { role } }\nquery B { viewer { userId } }", "holds 2 operations"),
        ("fragment F on Query { viewer { role } }", "holds 0 operations"),
    ],
)
async def test_documents_register_refuses_invalid_files_and_registers_none(
    writable, store, tmp_path, text, why
):
    good, bad = tmp_path / "good.graphql", tmp_path / "bad.graphql"
    good.write_text(unique_query())
    bad.write_text(text)
    status, out, err = await run_cli(writable.url, "documents", "register", str(good), str(bad))
    assert status == 1
    assert out == ""
    assert str(bad) in err and why in err
    assert await store.get(document_hash(good.read_text())) is None


async def send(socket, message: dict) -> None:
    await socket.send(json.dumps(message))


async def receive(socket) -> dict:
    """The next message that is not a keep-alive ping or pong."""
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if message["type"] not in ("ping", "pong"):
            return message


async def test_trusted_mode_applies_to_websocket_subscriptions(writable, store):
    admin = writable.tokens["admin"]
    watch = "subscription Watch { sessionUpdated { uuid status } }"
    start = "mutation Start($d: UUID!, $u: UUID) { startSession(deviceId: $d, userId: $u) { __typename } }"  # noqa: E501
    watch_hash, start_hash = await store.register(watch), await store.register(start)
    locker = await add_device(store.engine, "locker", location=LOC_X)
    async with live_server(writable.url, TRUSTED_DOCUMENTS_ONLY="true", **writable.env) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        async with connect(url, subprotocols=["graphql-transport-ws"]) as socket:
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {admin}"}}
            await send(socket, init)
            assert (await receive(socket))["type"] == "connection_ack"
            other = watch.replace("status", "kind")
            await send(socket, {"id": "1", "type": "subscribe", "payload": {"query": other}})
            refused = await receive(socket)
            assert (refused["id"], refused["type"]) == ("1", "error")
            assert refused["payload"][0]["extensions"]["code"] == "DOCUMENT_NOT_TRUSTED"
            by_hash = {"query": None, "extensions": apq(watch_hash)}
            await send(socket, {"id": "2", "type": "subscribe", "payload": by_hash})
            await asyncio.sleep(0.3)  # let the server register the subscription
            variables = {"d": str(locker), "u": str(USER_A)}
            async with httpx.AsyncClient() as http:
                response = await http.post(
                    f"{base}/graphql",
                    json={"extensions": apq(start_hash), "variables": variables},
                    headers=auth(admin),
                )
            assert response.json()["data"]["startSession"]["__typename"] == "Session"
            update = await receive(socket)
            assert (update["id"], update["type"]) == ("2", "next"), update
            assert update["payload"]["data"]["sessionUpdated"]["status"] == "ACTIVE"
