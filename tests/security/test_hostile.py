"""Hostile input: each attempt gets a clear 4xx, the process stays up, the next request works.

GraphQL documents that are refused before they run (too deep, too many aliases or
tokens, over budget, unparsable) are 400s. A page size outside 1..100 stays a GraphQL
field error (HTTP 200, code VALIDATION) as the GraphQL API documents; one beyond a 32-bit
Int cannot even be parsed into the document and is a 400.
"""

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from gateway.app import create_app
from gateway.graphql.media import GRAPHQL_RESPONSE
from gateway.graphql.persisted import DocumentTransportWSHandler
from tests.conftest import auth
from tests.fixtures.dataset import DOCK_X, SESSIONS, USER_A
from tests.security.gateways import graphql_error, settings_for

SQL = [
    "' OR '1'='1",
    "1; DROP TABLE sessions; --",
    "%' OR 1=1 --",
    "' UNION SELECT token_hash FROM api_tokens --",
    'x" OR ""="',
]
VIEWER = {"query": "{ viewer { role } }"}
LIST = "/session/v2/sessions?limit=1000"


@pytest.fixture
async def still_serving(client, tokens):
    """After the test: the gateway still answers GraphQL and REST, and the data is intact."""
    yield
    graphql = await client.post("/graphql", json=VIEWER, headers=auth(tokens["admin"]))
    assert graphql.status_code == 200 and graphql.json()["data"] == {"viewer": {"role": "admin"}}
    rest = await client.get(LIST, headers=auth(tokens["admin"]))
    assert rest.status_code == 200 and len(rest.json()["data"]) == len(SESSIONS)


def gql_post(client, tokens, body, **headers):
    """POST as a client asking for graphql-response+json, where refusals keep their 4xx."""
    headers = {"Accept": GRAPHQL_RESPONSE, **auth(tokens["admin"]), **headers}
    return client.post("/graphql", json=body, headers=headers)


def assert_refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = graphql_error(response)
    assert error["extensions"]["code"] == code
    assert error["message"]
    return error


def nested(levels: int) -> str:
    return "{ " + "viewer { " * levels + "role" + " }" * levels + " }"


def fragment_bomb(levels: int) -> str:
    fragments = "".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}\n" for i in range(levels)
    )
    return "{ ...F0 }\n" + fragments + f"fragment F{levels} on Query {{ a: viewer {{ role }} }}"


# Documents refused before they run, each with a phrase of its refusal (the corpus in
# test_hostile_corpus.py sends them to a real server too).
HOSTILE_DOCUMENTS = {
    "deep": (
        "{ locations { nodes { "
        + "devices { nodes { location { " * 20
        + "name"
        + " } } }" * 20
        + " } } }",
        "levels deep",
    ),
    "very deep": (nested(1000), "nested too deeply"),
    "deep list": ("{ viewer(x: " + "[" * 5000 + "]" * 5000 + ") { role } }", "nested too deeply"),
    "alias flood": (
        "{ " + " ".join(f"a{i}: __typename" for i in range(600)) + " }",
        "600 aliases found",
    ),
    "huge alias flood": (
        "{ " + " ".join(f"a{i}: viewer {{ role }}" for i in range(2000)) + " }",
        "tokens",
    ),
    "fragment bomb": (fragment_bomb(150), "aliases found"),
    "first beyond Int": ("{ sessions(first: 1099511627776) { nodes { uuid } } }", "32-bit"),
}


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize(
    ("query", "fragment"), HOSTILE_DOCUMENTS.values(), ids=HOSTILE_DOCUMENTS.keys()
)
async def test_a_hostile_document_is_a_fast_400(client, tokens, query, fragment):
    started = time.perf_counter()
    response = await gql_post(client, tokens, {"query": query})
    assert time.perf_counter() - started < 2, "refusing must be cheap"
    error = assert_refused(response, 400, "GRAPHQL_VALIDATION")
    assert fragment in error["message"]


@pytest.mark.usefixtures("still_serving")
async def test_a_huge_first_is_a_validation_error_before_any_row_is_read(
    client, tokens, statements
):
    with statements.counting() as counter:
        response = await gql_post(
            client, tokens, {"query": "{ sessions(first: 1000000) { nodes { uuid } } }"}
        )
    error = graphql_error(response)
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["message"] == "first must be between 1 and 100, got 1000000"
    assert counter.count == 1, "only the token was looked up"


@pytest.mark.usefixtures("still_serving")
async def test_a_giant_body_is_413_before_it_is_read(client, tokens):
    declared = await client.post(
        "/graphql",
        content=b"{" + b" " * 5_000_000 + b"}",
        headers={**auth(tokens["admin"]), "Content-Type": "application/json"},
    )
    assert_refused(declared, 413, "PAYLOAD_TOO_LARGE")


MALFORMED_BODIES = {
    "empty": b"",
    "open brace": b"{",
    "truncated": b'{"query": ',
    "null": b"null",
    "number": b"42",
    "string": b'"{ viewer { role } }"',
    "empty batch": b"[]",
    "batch of numbers": b"[1, 2]",
    "query not a string": b'{"query": 5}',
    "variables not an object": b'{"query": "{ viewer { role } }", "variables": [1]}',
    "no query": b"{}",
    "invalid UTF-8 in a string": b'{"query": "{ viewer { role } }\xff\xfe"}',
    "invalid UTF-8": b"\xff\xfe\xfd",
    "deeply nested JSON": b"[" * 100_00 + b"]" * 100_00,
}


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
async def test_a_malformed_body_is_a_400(client, tokens, body):
    response = await client.post(
        "/graphql",
        content=body,
        headers={**auth(tokens["admin"]), "Content-Type": "application/json"},
    )
    assert_refused(response, 400, "VALIDATION")


OTHER_CONTENT_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/graphql",
    "application/xml",
    None,
]


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("content_type", OTHER_CONTENT_TYPES)
async def test_a_body_of_another_type_is_415(client, tokens, content_type):
    headers = auth(tokens["admin"])
    if content_type:
        headers["Content-Type"] = content_type
    response = await client.post(
        "/graphql", content=b'{"query": "{ viewer { role } }"}', headers=headers
    )
    error = assert_refused(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "application/json" in error["message"]


SESSION_FILTER = "query($f: SessionFilter) { sessions(filter: $f, first: 5) { nodes { uuid } } }"
DEVICE_FILTER = "query($f: DeviceFilter) { devices(filter: $f, first: 5) { nodes { uuid } } }"


GRAPHQL_FILTERS = (
    [(SESSION_FILTER, f) for f in ("userId", "locationId", "deviceId", "fleetId", "kind")]
    + [(SESSION_FILTER, f) for f in ("from", "to", "status")]
    + [(DEVICE_FILTER, f) for f in ("kind", "locationId", "fleetId")]
)


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("injection", SQL)
@pytest.mark.parametrize(("query", "field"), GRAPHQL_FILTERS)
async def test_sql_in_any_graphql_filter_is_refused_as_invalid_input(
    client, tokens, query, field, injection
):
    value = [injection] if field == "status" else injection
    response = await gql_post(client, tokens, {"query": query, "variables": {"f": {field: value}}})
    error = assert_refused(response, 400, "GRAPHQL_VALIDATION")
    assert "Variable '$f' has invalid value" in error["message"]


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("injection", SQL)
async def test_sql_in_cursors_and_global_ids_is_a_clear_client_error(client, tokens, injection):
    after = "query($a: String) { sessions(after: $a) { nodes { uuid } } }"
    cursor = await gql_post(client, tokens, {"query": after, "variables": {"a": injection}})
    assert graphql_error(cursor)["extensions"]["code"] == "INVALID_PAGINATION_TOKEN"
    node = await gql_post(
        client,
        tokens,
        {"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {"id": injection}},
    )
    error = graphql_error(node)
    assert error["extensions"]["code"] == "VALIDATION"
    assert "GlobalID" in error["message"]


V1_PARAMETERS = ("location_id", "page", "page_size", "from", "to", "active")
V2_PARAMETERS = ("user_id", "location_id", "status", "from", "to", "limit")
REST_PARAMETERS = [("/session/v1/device-sessions", name) for name in V1_PARAMETERS] + [
    ("/session/v2/sessions", name) for name in V2_PARAMETERS
]


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("injection", SQL)
@pytest.mark.parametrize(("path", "parameter"), REST_PARAMETERS)
async def test_sql_in_any_rest_parameter_is_a_400(client, tokens, path, parameter, injection):
    response = await client.get(path, params={parameter: injection}, headers=auth(tokens["admin"]))
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "ERRORS.VALIDATION"


def injected_paths(injection: str) -> list[str]:
    """REST paths with ``injection`` in place of each id."""
    bad = quote(injection, safe="")
    return [
        f"/session/v1/device-sessions/{bad}",
        f"/session/v1/devices/{bad}/sessions",
        f"/session/v2/users/{bad}/sessions/{SESSIONS[0].id}",
        f"/session/v2/users/{USER_A}/sessions/{bad}",
    ]


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("injection", SQL)
async def test_sql_in_rest_paths_and_tokens_is_a_400(client, tokens, injection):
    for path in injected_paths(injection):
        response = await client.get(path, headers=auth(tokens["admin"]))
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error_code"] == "ERRORS.VALIDATION"
    token = await client.get(
        "/session/v2/sessions",
        params={"pagination_token": injection},
        headers=auth(tokens["admin"]),
    )
    assert token.status_code == 400
    assert token.json()["error_code"] == "ERRORS.INVALID_PAGINATION_TOKEN"


BAD_URLS = {
    "query string": "/session/v2/sessions?status=%FF%FE",
    "path": "/session/v1/device-sessions/%FF%FE",
    "overlong UTF-8": f"/session/v1/devices/{DOCK_X}%C0%AF/sessions",
    "60 kB parameter": "/session/v2/sessions?user_id=" + "a" * 60_000,
}


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
async def test_invalid_utf8_and_huge_parameters_in_rest_urls_are_400s(client, tokens, url):
    response = await client.get(url, headers=auth(tokens["admin"]))
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "ERRORS.VALIDATION"


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("path", ["/graphql", LIST, "/healthz"])
async def test_very_long_headers_are_431(client, tokens, path):
    one_big = {**auth(tokens["admin"]), "X-Filler": "a" * 100_000}
    many = {**auth(tokens["admin"]), **{f"X-Filler-{n}": "b" * 40 for n in range(1000)}}
    for headers in (one_big, many):
        response = await client.get(path, headers=headers)
        assert response.status_code == 431, response.text
        body = response.json()
        assert body["error_code"] == "ERRORS.HEADERS_TOO_LARGE"
        assert body["correlation_id"] == response.headers["x-correlation-id"]


HOSTILE_AUTHORIZATIONS = [
    f"Bearer {token}".encode("utf-8", "surrogateescape")
    for token in ("sgw_" + "a" * 20_000, "a.b." + "c" * 20_000, "\udcff\udcfe")
]


@pytest.mark.usefixtures("still_serving")
async def test_an_oversized_or_binary_authorization_header_is_a_401(client):
    for raw in HOSTILE_AUTHORIZATIONS:
        rest = await client.get(LIST, headers={"Authorization": raw})
        assert rest.status_code == 401
        graphql = await client.post("/graphql", json=VIEWER, headers={"Authorization": raw})
        assert_refused(graphql, 401, "UNAUTHORIZED")


@contextmanager
def serving(url: str, ws: str = "none") -> Iterator[int]:
    """The gateway on a real uvicorn server on 127.0.0.1; yields its port."""
    app = create_app(settings_for(url))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_config=None, ws=ws)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def raw_exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes, return what the server answers before closing or going quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(data)
        try:
            return connection.recv(4096)
        except (TimeoutError, ConnectionResetError):
            return b""


def wire_attacks(token: str) -> dict[str, bytes]:
    """Raw bytes no HTTP client would send."""
    bearer = f"Authorization: Bearer {token}\r\n".encode()
    host = b"Host: t\r\n"
    return {
        "huge header": b"GET /session/v2/sessions HTTP/1.1\r\n"
        + host
        + b"X-Big: "
        + b"a" * 100_000
        + b"\r\n\r\n",
        "huge declared body": b"POST /graphql HTTP/1.1\r\nContent-Type: application/json\r\n"
        + host
        + bearer
        + b"Content-Length: 50000000\r\n\r\n{",
        "invalid UTF-8 path": b"GET /session/v1/device-sessions/\xff\xfe HTTP/1.1\r\n"
        + host
        + bearer
        + b"\r\n",
        "not HTTP": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
        "bad content length": b"POST /graphql HTTP/1.1\r\n" + host + b"Content-Length: -1\r\n\r\n",
    }


WIRE_STATUS = {
    "huge header": b" 431 ",
    "huge declared body": b" 413 ",
    "invalid UTF-8 path": b" 400 ",
}


def test_wire_level_garbage_is_refused_and_the_server_keeps_serving(backend, tokens):
    attacks = wire_attacks(tokens["admin"])
    expected = WIRE_STATUS
    with serving(backend.url) as port:
        for name, data in attacks.items():
            answer = raw_exchange(port, data)
            status_line = answer.split(b"\r\n", 1)[0]
            assert status_line == b"" or b" 4" in status_line, (name, status_line)
            if name in expected:
                assert expected[name] in status_line, (name, answer[:200])
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            response = client.post("/graphql", json=VIEWER, headers=auth(tokens["admin"]))
            assert response.json()["data"] == {"viewer": {"role": "admin"}}


def test_a_fault_on_a_websocket_is_logged_once_and_closes_it_with_1011(
    backend, tokens, monkeypatch, caplog
):
    async def broken(*_args):
        raise RuntimeError("a fault no client input should cause")

    monkeypatch.setattr(DocumentTransportWSHandler, "handle_connection_init", broken)
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {tokens['admin']}"}}
    with (
        serving(backend.url, ws="websockets-sansio") as port,
        ws_connect(
            f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"]
        ) as socket,
    ):
        socket.send(json.dumps(init))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
    faults = [record for record in caplog.records if record.exc_info]
    assert [record.name for record in faults] == ["session_gateway.errors"], faults
    assert faults[0].correlation_id
