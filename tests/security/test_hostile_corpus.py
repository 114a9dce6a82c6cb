"""Every hostile input, sent to a real ``session-gateway serve`` process on each database.

The corpus holds the cases of the other security tests (documents, bodies, content types,
injections, URLs, headers, tokens, raw bytes) and the ones found since: a fragment bomb
whose cost overflows 64 bits, ids of types that are not nodes, subscriptions over HTTP,
a JWT expiring after the year 9999, malformed WebSocket messages, and the abuses the
quotas stop (aliased bookings, endless pause/resume, a flood of persisted documents).

After every case: no 5xx, no traceback in the server's output, and ``/healthz`` answers
200. The growth of the server's resident memory over the corpus is reported (as a test
property and on stdout), not asserted.
"""

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from resolvers.documents import document_hash
from tests.conftest import BACKENDS, auth, prepared_database
from tests.fixtures.dataset import FLEET_F, LOC_X, add_device, load_dataset
from tests.live_server import live_process
from tests.rest.test_errors import (
    BAD_AUTHORIZATIONS,
    BAD_IDS,
    BAD_QUERIES,
    OTHER_METHODS,
    PATHS,
    UNKNOWN_PATHS,
)
from tests.security.jwt_keys import AUDIENCE, ISSUER, SECRET, Keys, mint
from tests.security.test_hostile import (
    BAD_URLS,
    GRAPHQL_FILTERS,
    HOSTILE_AUTHORIZATIONS,
    HOSTILE_DOCUMENTS,
    LIST,
    MALFORMED_BODIES,
    OTHER_CONTENT_TYPES,
    REST_PARAMETERS,
    SQL,
    WIRE_STATUS,
    injected_paths,
    wire_attacks,
)
from tests.security.test_jwt import refused_tokens

# Quotas low enough for the corpus to reach them in a few requests.
SERVER_ENV = {
    "LOG_LEVEL": "info",
    "SESSION_MAX_EVENTS": "10",
    "MAX_OPEN_SESSIONS_PER_USER": "5",
    "APQ_MAX_DOCUMENTS": "3",
    "JWT_SECRET": SECRET,
    "JWT_ISSUER": ISSUER,
    "JWT_AUDIENCE": AUDIENCE,
}
NOT_NODES = ["Viewer:1", "Query:", "OperationError:", "Nope:", "Session:", "Location:zz"]
LOCKERS = 20


@dataclass
class Target:
    """The server under attack, its output so far, and the dataset's tokens."""

    base: str
    client: httpx.AsyncClient
    tokens: dict[str, str]
    lockers: list[uuid.UUID]
    scooter: uuid.UUID
    log: Path
    read: int = 0  # how much of the log has been looked at

    def new_output(self) -> str:
        """What the server wrote to its log since the last call."""
        with self.log.open("rb") as file:
            file.seek(self.read)
            written = file.read()
        self.read += len(written)
        return written.decode(errors="replace")

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/graphql"

    async def graphql(self, body: Any, token: str | None = None, **headers: str) -> httpx.Response:
        token_headers = auth(token or self.tokens["admin"])
        return await self.client.post("/graphql", json=body, headers={**token_headers, **headers})


Outcome = list[int]  # the HTTP statuses a case received
Case = Callable[[Target], Awaitable[Outcome]]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def fragment_bomb(levels: int, leaf: str) -> str:
    fragments = "".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}\n" for i in range(levels)
    )
    return "{ ...F0 }\n" + fragments + f"fragment F{levels} on Query {{ {leaf} }}"


def document_case(query: str) -> Case:
    async def case(target: Target) -> Outcome:
        return [(await target.graphql({"query": query})).status_code]

    return case


def body_case(body: bytes, content_type: str | None = "application/json") -> Case:
    async def case(target: Target) -> Outcome:
        headers = auth(target.tokens["admin"])
        if content_type:
            headers["Content-Type"] = content_type
        return [(await target.client.post("/graphql", content=body, headers=headers)).status_code]

    return case


def get_case(url: str, headers: dict[str, Any] | None = None, **params: str) -> Case:
    async def case(target: Target) -> Outcome:
        sent = headers if headers is not None else auth(target.tokens["admin"])
        response = await target.client.get(url, params=params or None, headers=sent)
        return [response.status_code]

    return case


async def fragment_bomb_over_budget(target: Target) -> Outcome:
    response = await target.graphql(
        {"query": fragment_bomb(60, "sessions(first: 100) { nodes { uuid } }")}
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    return [response.status_code]


def ids_of_no_node(raw: str) -> Case:
    async def case(target: Target) -> Outcome:
        one = await target.graphql(
            {"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {"id": b64(raw)}}
        )
        many = await target.graphql(
            {
                "query": "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                "variables": {"ids": [b64(raw)]},
            }
        )
        assert one.json()["data"] == {"node": None} and "errors" not in one.json(), one.text
        assert many.json()["data"] == {"nodes": [None]} and "errors" not in many.json()
        return [one.status_code, many.status_code]

    return case


async def aliased_node_lookups(target: Target) -> Outcome:
    aliases = " ".join(f'n{i}: node(id: "{b64(f"Location:{LOC_X}")}") {{ id }}' for i in range(20))
    batch = [{"query": f"{{ {aliases} }}"}] * 10
    response = await target.graphql(batch)
    assert [r["extensions"]["cost"]["requested"] for r in response.json()] == [20] * 10
    return [response.status_code]


async def subscription_over_http(target: Target) -> Outcome:
    query = "subscription { sessionUpdated { uuid } }"
    posted = await target.graphql({"query": query})
    got = await target.client.get(
        "/graphql", params={"query": query}, headers=auth(target.tokens["admin"])
    )
    assert (posted.status_code, got.status_code) == (400, 400)
    return [posted.status_code, got.status_code]


async def jwt_expiring_after_year_9999(target: Target) -> Outcome:
    response = await target.graphql(
        {"query": "{ viewer { role } }"}, mint(SECRET, "HS256", exp=1e20)
    )
    assert response.status_code == 401, response.text
    return [response.status_code]


async def _read_until_closed(socket: Any) -> None:
    while True:
        await asyncio.wait_for(socket.recv(), 10)


def socket_case(frame: Any, *, init: bool) -> Case:
    async def case(target: Target) -> Outcome:
        async with connect(target.ws_url, subprotocols=["graphql-transport-ws"]) as socket:
            if init:
                payload = {"Authorization": f"Bearer {target.tokens['admin']}"}
                await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
                assert json.loads(await socket.recv())["type"] == "connection_ack"
            await socket.send(json.dumps(frame))
            with pytest.raises(ConnectionClosed) as closed:
                await _read_until_closed(socket)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400, closed.value
        return []

    return case


async def aliased_bookings(target: Target) -> Outcome:
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    aliases = " ".join(
        f'b{i}: bookSession(deviceId: "{locker}", until: "{until}") {{ __typename }}'
        for i, locker in enumerate(target.lockers)
    )
    response = await target.graphql({"query": f"mutation {{ {aliases} }}"}, target.tokens["user_a"])
    kinds = [r["__typename"] for r in response.json()["data"].values()]
    assert kinds.count("Session") <= 5, kinds
    return [response.status_code]


async def endless_pause_and_resume(target: Target) -> Outcome:
    token = target.tokens["user_b"]
    start = f'startSession(deviceId: "{target.scooter}") {{ ... on Session {{ uuid }} }}'
    started = await target.graphql({"query": f"mutation {{ {start} }}"}, token)
    session = started.json()["data"]["startSession"]["uuid"]
    statuses, codes = [started.status_code], []
    for step in ["pauseSession", "resumeSession"] * 8:
        document = (
            f'mutation {{ {step}(sessionId: "{session}") {{ ... on OperationError {{ code }} }} }}'
        )
        response = await target.graphql({"query": document}, token)
        statuses.append(response.status_code)
        codes.append(response.json()["data"][step].get("code"))
    assert "LIMIT_REACHED" in codes, codes
    return statuses


async def persisted_document_flood(target: Target) -> Outcome:
    statuses = []
    for n in range(6):
        query = f"query Flood{n} {{ viewer {{ role }} }}"
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(query)}}
        response = await target.graphql({"query": query, "extensions": extensions})
        statuses.append(response.status_code)
    return statuses


def wire_case(data: bytes, expected: bytes | None) -> Case:
    async def case(target: Target) -> Outcome:
        host, port = target.base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(data)
            await writer.drain()
            try:
                answer = await asyncio.wait_for(reader.read(4096), 5)
            except (TimeoutError, ConnectionResetError):
                answer = b""
        finally:
            writer.close()
        status_line = answer.split(b"\r\n", 1)[0]
        assert status_line == b"" or b" 4" in status_line, status_line
        if expected is not None:
            assert expected in status_line, answer[:200]
        return []

    return case


def corpus(tokens: dict[str, str], refused_tokens: dict[str, tuple[str, str]]) -> dict[str, Case]:
    """Every case by name."""
    cases: dict[str, Case] = {}
    for name, (query, _) in HOSTILE_DOCUMENTS.items():
        cases[f"document: {name}"] = document_case(query)
    cases["document: first of a million"] = document_case(
        "{ sessions(first: 1000000) { nodes { uuid } } }"
    )
    cases["body: 5 MB"] = body_case(b"{" + b" " * 5_000_000 + b"}")
    for name, body in MALFORMED_BODIES.items():
        cases[f"body: {name}"] = body_case(body)
    for content_type in OTHER_CONTENT_TYPES:
        cases[f"content type: {content_type}"] = body_case(
            b'{"query": "{ viewer { role } }"}', content_type
        )
    for injection in SQL:
        for query, name in GRAPHQL_FILTERS:
            value = [injection] if name == "status" else injection
            cases[f"sql in filter {name}: {injection}"] = document_case_with(
                query, {"f": {name: value}}
            )
        cases[f"sql in cursor: {injection}"] = document_case_with(
            "query($a: String) { sessions(after: $a) { nodes { uuid } } }", {"a": injection}
        )
        cases[f"sql in global id: {injection}"] = document_case_with(
            "query($id: ID!) { node(id: $id) { id } }", {"id": injection}
        )
        for path, parameter in REST_PARAMETERS:
            cases[f"sql in {path}?{parameter}: {injection}"] = get_case(
                path, **{parameter: injection}
            )
        for path in injected_paths(injection):
            cases[f"sql in path {path}"] = get_case(path)
        cases[f"sql in pagination token: {injection}"] = get_case(
            "/session/v2/sessions", pagination_token=injection
        )
    for name, url in BAD_URLS.items():
        cases[f"url: {name}"] = get_case(url)
    for url in BAD_IDS + BAD_QUERIES + UNKNOWN_PATHS:
        cases[f"url: {url}"] = get_case(url)
    for url in PATHS:
        for method in OTHER_METHODS:
            cases[f"{method} {url}"] = method_case(method, url)
        for authorization in BAD_AUTHORIZATIONS:
            if authorization and authorization != authorization.strip():
                continue  # no HTTP client sends a header value ending in spaces
            headers = {"Authorization": authorization} if authorization else {}
            cases[f"authorization {authorization!r}: {url}"] = get_case(url, headers)
    for method in ["PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]:
        cases[f"{method} /graphql"] = method_case(method, "/graphql")
    cases["batch of 11 operations"] = body_case(
        json.dumps([{"query": "{ viewer { role } }"}] * 11).encode()
    )
    for path in ["/graphql", LIST, "/healthz"]:
        admin = auth(tokens["admin"])
        cases[f"one huge header: {path}"] = get_case(path, {**admin, "X-Filler": "a" * 100_000})
        many = {f"X-Filler-{n}": "b" * 40 for n in range(1000)}
        cases[f"a thousand headers: {path}"] = get_case(path, {**admin, **many})
    for n, raw in enumerate(HOSTILE_AUTHORIZATIONS):
        cases[f"authorization {n}: REST"] = get_case(LIST, {"Authorization": raw})
        cases[f"authorization {n}: GraphQL"] = bad_token_case(raw)
    for name, (token, _) in refused_tokens.items():
        cases[f"jwt: {name}"] = bad_token_case(f"Bearer {token}".encode())
    for name, data in wire_attacks(tokens["admin"]).items():
        cases[f"wire: {name}"] = wire_case(data, WIRE_STATUS.get(name))
    # Found since: each of these was a 500, an INTERNAL error or a traceback.
    cases["fragment bomb over 64 bits of cost"] = fragment_bomb_over_budget
    for raw in NOT_NODES:
        cases[f"id of no node: {raw}"] = ids_of_no_node(raw)
    cases["200 aliased node look-ups"] = aliased_node_lookups
    cases["subscription over HTTP"] = subscription_over_http
    cases["jwt expiring after the year 9999"] = jwt_expiring_after_year_9999
    cases["socket: [1, 2, 3] before connection_init"] = socket_case([1, 2, 3], init=False)
    cases["socket: subscribe with a string payload"] = socket_case(
        {"id": "1", "type": "subscribe", "payload": "x"}, init=True
    )
    cases["socket: subscribe with a number id"] = socket_case(
        {"id": 1, "type": "subscribe", "payload": {"query": "{ viewer { role } }"}}, init=True
    )
    cases["20 aliased bookings"] = aliased_bookings
    cases["endless pause and resume"] = endless_pause_and_resume
    cases["persisted document flood"] = persisted_document_flood
    return cases


def method_case(method: str, url: str) -> Case:
    async def case(target: Target) -> Outcome:
        response = await target.client.request(
            method, url, json={}, headers=auth(target.tokens["admin"])
        )
        return [response.status_code]

    return case


def document_case_with(query: str, variables: dict[str, Any]) -> Case:
    async def case(target: Target) -> Outcome:
        return [(await target.graphql({"query": query, "variables": variables})).status_code]

    return case


def bad_token_case(raw: bytes) -> Case:
    async def case(target: Target) -> Outcome:
        response = await target.client.post(
            "/graphql", json={"query": "{ viewer { role } }"}, headers={"Authorization": raw}
        )
        assert response.status_code == 401, response.text
        return [response.status_code]

    return case


def resident_kib(pid: int) -> int:
    """The resident memory of a process, in KiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


async def _corpus_data(engine: AsyncEngine) -> tuple[dict[str, str], list[uuid.UUID], uuid.UUID]:
    tokens = await load_dataset(engine)
    lockers = [await add_device(engine, "locker", location=LOC_X) for _ in range(LOCKERS)]
    return tokens, lockers, await add_device(engine, "e_scooter", fleet=FLEET_F)


@pytest.fixture(scope="module", params=BACKENDS)
async def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Target, Any]]:
    """A gateway process over its own database with the dataset, its output collected."""
    directory = tmp_path_factory.mktemp(f"corpus-{request.param}")
    keys = Keys()
    jwks = directory / "jwks.json"
    jwks.write_bytes(keys.jwks())
    env = {**SERVER_ENV, "JWT_JWKS_FILE": str(jwks)}
    log = directory / "server.log"
    async with (
        prepared_database(request.param, directory, _corpus_data) as (url, prepared),
        live_process(url, log=log, **env) as (base, process),
        httpx.AsyncClient(base_url=base, timeout=30) as client,
    ):
        tokens, lockers, scooter = prepared
        yield Target(base, client, tokens, lockers, scooter, log), (process, keys)


async def test_every_hostile_input_is_answered_cleanly_by_a_real_server(
    target: tuple[Target, Any], record_property: Callable[[str, object], None]
) -> None:
    server, (process, keys) = target
    cases = corpus(server.tokens, refused_tokens(keys))
    rss_before = resident_kib(process.pid)
    server.new_output()  # start-up lines
    everything = []
    for name, case in cases.items():
        statuses = await case(server)
        health = await server.client.get("/healthz")
        written = server.new_output()  # the server logs a fault before it answers
        everything.append(written)
        assert all(status < 500 for status in statuses), (name, statuses)
        assert "Traceback" not in written, (name, written[-3000:])
        assert health.status_code == 200, (name, health.text)
    rss_after = resident_kib(process.pid)
    record_property("cases", len(cases))
    record_property("rss_growth_kib", rss_after - rss_before)
    print(
        f"\n{len(cases)} hostile cases; server RSS {rss_before} KiB -> {rss_after} KiB "
        f"({rss_after - rss_before:+d} KiB)"
    )
    everything.append(server.new_output())
    assert "Traceback" not in "".join(everything)
