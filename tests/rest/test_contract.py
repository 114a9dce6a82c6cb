"""Every body has exactly the documented shape: key sets, nested objects, value types, formats."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.dataset import DOCK_X, LOCKER_X, UNUSED_ID, USER_A
from tests.rest.data import session

EXAMPLES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "documented_examples.json").read_text()
)
NULLABLE: dict[str, list[str]] = EXAMPLES["nullable"]
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DECIMAL = re.compile(r"\d+(\.\d+)?")
TIMESTAMP_KEYS = {"start_time", "end_time", "booked_time", "booked_until_time", "timestamp"}
UUID_KEYS = {"id", "user_id", "access_key_id", "correlation_id"}


def assert_shape(actual: Any, example: Any, where: str, nullable: list[str]) -> None:
    """``actual`` has the example's keys exactly, recursively, with the example's value types."""
    if isinstance(example, dict):
        assert isinstance(actual, dict), where
        assert set(actual) == set(example), f"{where}: {sorted(set(actual) ^ set(example))}"
        for key, value in example.items():
            if actual[key] is None:
                assert key in nullable, f"{where}.{key} is null"
                continue
            assert_shape(actual[key], value, f"{where}.{key}", NULLABLE.get(key, []))
            assert_format(key, actual[key], where)
    elif isinstance(example, list):
        assert isinstance(actual, list), where
        for n, item in enumerate(actual):
            assert_shape(item, example[0], f"{where}[{n}]", [])
    elif isinstance(example, bool | str):
        assert type(actual) is type(example), f"{where}: {actual!r}"
    else:
        assert isinstance(actual, int | float) and not isinstance(actual, bool), where


def assert_list_shape(body: Any, list_name: str, session_name: str) -> None:
    """A list envelope and each of its sessions have the documented shapes."""
    envelope = {**EXAMPLES[list_name], "data": []}
    assert_shape({**body, "data": []}, envelope, list_name, NULLABLE.get(list_name, []))
    for n, item in enumerate(body["data"]):
        where = f"{list_name}.data[{n}]"
        assert_shape(item, EXAMPLES[session_name], where, NULLABLE[session_name])


def assert_format(key: str, value: Any, where: str) -> None:
    """Timestamps are RFC 3339 UTC with Z, ids lowercase UUIDs, money a decimal string."""
    if key in TIMESTAMP_KEYS:
        assert TIMESTAMP.fullmatch(value), f"{where}.{key} = {value!r}"
    if key in UUID_KEYS:
        assert UUID.fullmatch(value), f"{where}.{key} = {value!r}"
    if key == "fee":
        assert DECIMAL.fullmatch(value["value"]), f"{where}.fee = {value!r}"
    if key == "uri" or key.endswith("uri"):
        assert value.startswith("https://gateway.test/"), f"{where}.{key} = {value!r}"


async def test_the_v2_list_has_the_documented_shape(rest, tokens):
    body = await rest.ok("/session/v2/sessions?limit=5", tokens["admin"])
    assert_list_shape(body, "v2_list", "v2_session")


async def test_the_v2_list_covers_every_nested_object_of_the_documentation(rest, tokens):
    body = await rest.ok("/session/v2/sessions", tokens["admin"])
    assert_list_shape(body, "v2_list", "v2_session")
    sessions = body["data"]
    for key in ("fee", "rating", "storage", "travel", "payment", "booked_time", "end_time"):
        assert any(s[key] is not None for s in sessions), key
        assert any(s[key] is None for s in sessions), key
    assert any(s["auxiliary_devices"] for s in sessions)
    assert {e["name"] for s in sessions for e in s["events"]} == {
        "book", "start", "end", "pause", "resume"
    }  # fmt: skip


@pytest.mark.parametrize("n", [101, 105, 107, 108])
async def test_a_v2_session_has_the_documented_shape(rest, tokens, n):
    s = session(n)
    body = await rest.ok(f"/session/v2/users/{s.user_id}/sessions/{s.id}", tokens["admin"])
    assert_shape(body, EXAMPLES["v2_session"], "v2 session", NULLABLE["v2_session"])


async def test_the_v1_list_has_the_documented_shape(rest, tokens):
    for active in ("true", "false"):
        body = await rest.ok(f"/session/v1/device-sessions?active={active}", tokens["admin"])
        assert body["data"]
        assert_list_shape(body, "v1_list", "v1_session")


@pytest.mark.parametrize(
    "url",
    [
        f"/session/v1/device-sessions/{session(101).id}",
        f"/session/v1/device-sessions/{session(104).id}",
        f"/session/v1/devices/{LOCKER_X}/sessions",
        f"/session/v1/devices/{DOCK_X}/sessions",
    ],
)
async def test_a_v1_session_has_the_documented_shape(rest, tokens, url):
    body = await rest.ok(url, tokens["admin"])
    assert_shape(body, EXAMPLES["v1_session"], "v1 session", NULLABLE["v1_session"])


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/session/v1/device-sessions?page=0", 400),
        (f"/session/v1/device-sessions/{UNUSED_ID}", 404),
        (f"/session/v1/devices/{UNUSED_ID}/sessions", 404),
        ("/session/v2/sessions?limit=0", 400),
        (f"/session/v2/users/{USER_A}/sessions/{UNUSED_ID}", 404),
        ("/session/v2/sessions?pagination_token=forged", 400),
    ],
)
async def test_an_error_has_the_documented_envelope(rest, tokens, url, status):
    response = await rest.get(url, tokens["admin"])
    assert response.status_code == status
    body = response.json()
    assert_shape(body, EXAMPLES["error"], "error", [])
    assert body["status_code"] == status
    assert body["correlation_id"] == response.headers["x-correlation-id"]
    assert body["error_code"].startswith("ERRORS.")


async def test_money_is_a_decimal_string_with_the_minor_unit_digits(rest, tokens):
    body = await rest.ok("/session/v2/sessions?status=ended", tokens["admin"])
    fees = {s["id"][-3:]: s["fee"] for s in body["data"] if s["fee"]}
    assert fees == {
        "101": {"currency": "EUR", "value": "2.50"},
        "105": {"currency": "EUR", "value": "3.75"},
        "110": {"currency": "USD", "value": "1.75"},
        "111": {"currency": "EUR", "value": "0.00"},
    }


async def test_ratings_are_strings_and_comments_may_be_null(rest, tokens):
    body = await rest.ok("/session/v2/sessions?status=ended", tokens["admin"])
    ratings = {s["id"][-3:]: s["rating"] for s in body["data"] if s["rating"]}
    assert ratings == {
        "101": {"rating": "5", "comment": "Dry and safe"},
        "110": {"rating": "2", "comment": None},
    }
