"""The bad-input catalogue: each mistake gets its documented status, code and envelope."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import OperationalError

from gateway.rest import v1, v2
from resolvers.identity import create_token
from storage.database import create_engine
from storage.enums import Role
from tests.fixtures.dataset import UNUSED_ID, USER_A
from tests.rest.data import session

S101 = session(101).id
V1_LIST = "/session/v1/device-sessions"
V2_LIST = "/session/v2/sessions"
PATHS = [
    V1_LIST,
    f"/session/v1/device-sessions/{S101}",
    f"/session/v1/devices/{UNUSED_ID}/sessions",
    V2_LIST,
    f"/session/v2/users/{USER_A}/sessions/{S101}",
]
BAD_IDS = [
    f"/session/v1/device-sessions/{S101.hex}",
    f"/session/v1/device-sessions/{{{S101}}}",
    f"/session/v1/device-sessions/urn:uuid:{S101}",
    "/session/v1/device-sessions/101",
    "/session/v1/devices/not-a-device/sessions",
    f"/session/v2/users/me/sessions/{S101}",
    f"/session/v2/users/{USER_A}/sessions/{S101}0",
    f"{V1_LIST}?location_id=x",
    f"{V2_LIST}?location_id=",
    f"{V2_LIST}?user_id=00000000-0000-0000-0000-00000000000g",
]
BAD_QUERIES = [
    *(f"{path}?{q}" for path in (V1_LIST, V2_LIST) for q in (
        "from=2025-13-01", "from=2025-02-30", "from=20250115", "from=2025-1-5", "to=yesterday",
        "to=2025-01-15T00:00:00Z", "from=2025-01-16&to=2025-01-15", "from=")),
    *(f"{V1_LIST}?{q}" for q in (
        "page=0", "page=-1", "page=1.5", "page=abc", "page=", "page=%2B1", "page=2147483648",
        "page_size=0", "page_size=1001", "page_size=abc", "page_size=1e2",
        "active=yes", "active=True", "active=1", "active=", "page=1&page=1",
        "active=true&active=false", "pageSize=10", "pagination_token=x", "status=active")),
    *(f"{V2_LIST}?{q}" for q in (
        "limit=0", "limit=1001", "limit=abc", "limit=-5", "limit= 5", "limit=99999999999999999999",
        "status=booked", "status=ACTIVE", "status=", "status=active,ended",
        "limit=1&limit=2", "status=active&status=ended", "from=2025-01-01&from=2025-01-02",
        "page=1", "user=x")),
    f"/session/v1/device-sessions/{S101}?page=1",
    f"/session/v2/users/{USER_A}/sessions/{S101}?limit=1",
]  # fmt: skip
UNKNOWN_PATHS = [
    "/session/v3/sessions",
    "/session/v2/session",
    "/session/v2/users",
    f"/session/v2/users/{USER_A}/sessions",
    f"/session/v1/device-sessions/{S101}/events",
    "/session",
    "/sessions/v2/sessions",
]


def assert_envelope(response, status: int, code: str) -> None:
    """The documented error envelope with this status and code, echoing the correlation id."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error_message", "status_code", "correlation_id", "error_code"}
    assert body["status_code"] == status
    assert body["error_code"] == f"ERRORS.{code}"
    assert body["error_message"]
    assert body["correlation_id"] == response.headers["x-correlation-id"]
    assert uuid.UUID(body["correlation_id"])
    assert "Traceback" not in body["error_message"] and "SELECT" not in body["error_message"]


@pytest.mark.parametrize("url", BAD_IDS + BAD_QUERIES)
async def test_a_malformed_parameter_is_a_400_before_any_database_round_trip(
    rest, tokens, statements, url
):
    with statements.counting():
        response = await rest.get(url, tokens["admin"])
    assert_envelope(response, 400, "VALIDATION")
    assert statements.count == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=-1", "limit must be between 1 and 1000, got -1"),
        ("limit=0", "limit must be between 1 and 1000, got 0"),
        ("limit=-0", "limit must be between 1 and 1000, got -0"),
        ("limit=--1", "limit '--1' is not an integer"),
        ("limit=%2B1", "limit '+1' is not an integer"),
    ],
)
async def test_an_integer_out_of_range_is_called_out_of_range_not_malformed(
    rest, tokens, query, message
):
    response = await rest.get(f"{V2_LIST}?{query}", tokens["admin"])
    assert_envelope(response, 400, "VALIDATION")
    assert response.json()["error_message"] == message


async def test_a_date_range_ending_before_it_starts_names_both_dates(rest, tokens):
    response = await rest.get(f"{V2_LIST}?from=2025-01-16&to=2025-01-15", tokens["admin"])
    assert "2025-01-16" in response.json()["error_message"]


async def _token_of(rest, token: str, query: str) -> str:
    body = await rest.ok(f"{V2_LIST}?{query}", token)
    assert body["pagination_token"]
    return body["pagination_token"]


@pytest.mark.parametrize(
    "other_query",
    ["status=active&limit=2", "limit=2&from=2025-01-01", f"limit=2&user_id={USER_A}", "limit=2"],
)
async def test_a_token_from_another_filter_set_is_refused(rest, tokens, other_query):
    token = await _token_of(rest, tokens["admin"], "status=ended&limit=2")
    response = await rest.get(f"{V2_LIST}?{other_query}&pagination_token={token}", tokens["admin"])
    assert_envelope(response, 400, "INVALID_PAGINATION_TOKEN")


async def test_a_forged_or_truncated_token_is_refused(rest, tokens):
    token = await _token_of(rest, tokens["admin"], "limit=2")
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    for bad in (flipped, token[:-3], token.split(".")[0], "x", "....", "%00"):
        response = await rest.get(f"{V2_LIST}?limit=2&pagination_token={bad}", tokens["admin"])
        assert_envelope(response, 400, "INVALID_PAGINATION_TOKEN")


@pytest.mark.parametrize("url", UNKNOWN_PATHS)
async def test_an_unknown_path_is_a_404_envelope(rest, tokens, url):
    assert_envelope(await rest.get(url, tokens["admin"]), 404, "NOT_FOUND")


OTHER_METHODS = ["POST", "PUT", "PATCH", "DELETE"]


@pytest.mark.parametrize("method", OTHER_METHODS)
@pytest.mark.parametrize("url", PATHS)
async def test_another_method_on_a_get_path_is_a_405_envelope(rest, tokens, method, url):
    response = await rest.request(method, url, tokens["admin"], json={})
    assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["allow"]


BAD_AUTHORIZATIONS = [None, "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Bearer not-a-token",
                      "Bearer sgw_" + "x" * 43, "bearer", "Token sgw_" + "x" * 43]  # fmt: skip


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATIONS)
@pytest.mark.parametrize("url", PATHS)
async def test_a_missing_or_bad_bearer_token_is_a_401_with_a_challenge(rest, url, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = await rest.get(url, headers=headers)
    assert_envelope(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_an_expired_token_is_a_401(rest, backend):
    engine = create_engine(backend.url)
    try:
        past = datetime(2020, 1, 1, tzinfo=UTC)
        token = await create_token(engine, Role.ADMIN, label="expired", expires_at=past)
    finally:
        await engine.dispose()
    for url in PATHS:
        assert_envelope(await rest.get(url, token), 401, "UNAUTHORIZED")


async def test_a_uuid_correlation_id_is_echoed_and_anything_else_replaced(rest, tokens):
    mine = str(uuid.uuid4())
    for url in (f"{V1_LIST}?page=0", f"/session/v2/users/{USER_A}/sessions/{UNUSED_ID}"):
        response = await rest.get(url, tokens["admin"], headers={"X-Correlation-ID": mine})
        assert response.json()["correlation_id"] == response.headers["x-correlation-id"] == mine
        response = await rest.get(url, tokens["admin"], headers={"X-Correlation-ID": "abc"})
        assert response.json()["correlation_id"] != "abc"
        assert uuid.UUID(response.headers["x-correlation-id"])
    ok = await rest.get(V2_LIST, tokens["admin"], headers={"X-Correlation-ID": mine})
    assert ok.headers["x-correlation-id"] == mine


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        (RuntimeError("boom at SELECT * FROM sessions"), 500, "INTERNAL"),
        (OperationalError("SELECT 1", {}, OSError("connection refused")), 503, "UNAVAILABLE"),
    ],
)
async def test_a_fault_is_an_envelope_without_its_details(
    rest, tokens, monkeypatch, fault, status, code
):
    async def broken(*_args, **_kwargs):
        raise fault

    monkeypatch.setattr(v1, "list_session_rows_by_page_number", broken)
    monkeypatch.setattr(v2, "list_session_rows", broken)
    for url in (V1_LIST, V2_LIST):
        response = await rest.get(url, tokens["admin"])
        assert_envelope(response, status, code)
        assert "refused" not in response.text and "boom" not in response.text
        assert ("deprecation" in response.headers) is url.startswith("/session/v1")
        if status == 503:
            assert response.headers["retry-after"]


@pytest.mark.parametrize(
    ("query", "other_query"),
    [
        ("limit=1&from=2020-01-01", "limit=1&from=2020-01-02"),
        ("limit=1&to=2030-01-01", "limit=1&to=2030-01-02"),
        (f"limit=1&user_id={USER_A}", f"limit=1&user_id={uuid.UUID(int=7)}"),
    ],
)
async def test_a_token_is_bound_to_the_filter_values_not_only_to_which_are_set(
    rest, tokens, query, other_query
):
    token = await _token_of(rest, tokens["admin"], query)
    response = await rest.get(f"{V2_LIST}?{other_query}&pagination_token={token}", tokens["admin"])
    assert_envelope(response, 400, "INVALID_PAGINATION_TOKEN")
