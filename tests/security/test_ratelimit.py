"""Rate limiting in one process: one bucket per principal (per IP without a token), shared by
REST and GraphQL, a GraphQL request drawing its cost, RateLimit-* and Retry-After headers."""

import uuid

import pytest

from gateway.buckets import MemoryBuckets
from resolvers.identity import create_token
from storage.database import create_engine
from storage.enums import Role
from tests.conftest import auth
from tests.fixtures.dataset import FLEET_F, USER_A, add_device
from tests.security.gateways import gateway, graphql_error

REST = "/session/v2/sessions?limit=1"
VIEWER = {"query": "{ viewer { role } }"}
THIRTY = {"query": "{ sessions(first: 30) { nodes { uuid } } }"}
SLOW = 0.001  # tokens per second: nothing refills during a test


def remaining(response) -> int:
    return int(response.headers["ratelimit-remaining"])


async def test_rest_and_graphql_draw_from_one_bucket_until_it_is_empty(backend, tokens):
    headers = auth(tokens["operator_x"])
    async with gateway(backend.url, rate_limit_burst=5, rate_limit_per_second=SLOW) as (_, c):
        answers = [await c.get(REST, headers=headers) for _ in range(3)]
        answers.append(await c.post("/graphql", json=VIEWER, headers=headers))
        answers.append(await c.get(REST, headers=headers))
        rest_refused = await c.get(REST, headers=headers)
        graphql_refused = await c.post("/graphql", json=VIEWER, headers=headers)
    assert [a.status_code for a in answers] == [200] * 5
    assert [remaining(a) for a in answers] == [4, 3, 2, 1, 0]
    assert answers[0].headers["ratelimit-limit"] == "5"
    assert answers[0].headers["ratelimit-policy"] == "5;w=5000"
    assert int(answers[0].headers["ratelimit-reset"]) > 0

    assert rest_refused.status_code == 429
    body = rest_refused.json()
    assert body["error_code"] == "ERRORS.RATE_LIMITED"
    assert body["status_code"] == 429
    assert body["correlation_id"] == rest_refused.headers["x-correlation-id"]
    assert int(rest_refused.headers["retry-after"]) >= 1
    assert remaining(rest_refused) == 0

    assert graphql_refused.status_code == 429
    assert graphql_error(graphql_refused)["extensions"]["code"] == "RATE_LIMITED"
    assert int(graphql_refused.headers["retry-after"]) >= 1


async def test_a_graphql_request_draws_its_query_cost(backend, tokens):
    headers = auth(tokens["admin"])
    async with gateway(backend.url, rate_limit_burst=50, rate_limit_per_second=SLOW) as (_, c):
        first = await c.post("/graphql", json=THIRTY, headers=headers)
        second = await c.post("/graphql", json=THIRTY, headers=headers)
        rest = await c.get(REST, headers=headers)
    assert first.status_code == 200
    assert first.json()["extensions"]["cost"]["requested"] == 30
    assert remaining(first) == 20
    # The second pays 1 on arrival (19 left) and cannot pay the other 29: nothing runs.
    assert second.status_code == 429
    error = graphql_error(second)
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert "costs 29" in error["message"]
    assert "data" not in second.json()
    assert second.json()["extensions"]["cost"] == {"requested": 30, "actual": 0, "maximum": 50_000}
    assert remaining(second) == 19
    assert int(second.headers["retry-after"]) >= 1
    assert rest.status_code == 200 and remaining(rest) == 18


async def test_each_principal_has_its_own_bucket_and_a_users_tokens_share_one(backend, tokens):
    engine = create_engine(backend.url)
    try:
        second_token_of_a = await create_token(engine, Role.USER, user_id=USER_A, label="2nd")
    finally:
        await engine.dispose()
    async with gateway(backend.url, rate_limit_burst=2, rate_limit_per_second=SLOW) as (_, c):
        a1 = await c.get(REST, headers=auth(tokens["user_a"]))
        a2 = await c.get(REST, headers=auth(second_token_of_a))
        a3 = await c.get(REST, headers=auth(tokens["user_a"]))
        b1 = await c.get(REST, headers=auth(tokens["user_b"]))
        admin = await c.get(REST, headers=auth(tokens["admin"]))
    assert [a1.status_code, a2.status_code, a3.status_code] == [200, 200, 429]
    assert b1.status_code == 200 and remaining(b1) == 1
    assert admin.status_code == 200


async def test_requests_without_a_valid_token_draw_from_the_client_address(backend, tokens):
    async with gateway(backend.url, rate_limit_burst=3, rate_limit_per_second=SLOW) as (_, c):
        anonymous = [await c.get(REST) for _ in range(2)]
        anonymous.append(await c.post("/graphql", json=VIEWER, headers=auth("sgw_" + "x" * 43)))
        refused_rest = await c.get(REST)
        refused_graphql = await c.post("/graphql", json=VIEWER)
        with_token = await c.get(REST, headers=auth(tokens["admin"]))
    assert [a.status_code for a in anonymous] == [401, 401, 401]
    assert refused_rest.status_code == 429
    assert refused_rest.json()["error_code"] == "ERRORS.RATE_LIMITED"
    assert refused_graphql.status_code == 429
    assert graphql_error(refused_graphql)["extensions"]["code"] == "RATE_LIMITED"
    assert with_token.status_code == 200


async def test_the_default_limits_are_generous_and_reported(client, tokens):
    response = await client.get(REST, headers=auth(tokens["admin"]))
    assert response.headers["ratelimit-limit"] == "100000"
    assert response.headers["ratelimit-policy"] == "100000;w=100"
    assert "retry-after" not in response.headers


async def test_rate_limiting_can_be_turned_off(backend, tokens):
    async with gateway(backend.url, rate_limit_burst=0) as (_, c):
        response = await c.get(REST, headers=auth(tokens["admin"]))
    assert response.status_code == 200
    assert "ratelimit-limit" not in response.headers


async def test_health_and_metrics_are_not_rate_limited(backend):
    async with gateway(backend.url, rate_limit_burst=1, rate_limit_per_second=SLOW) as (_, c):
        answers = [await c.get("/healthz") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_memory_buckets_refill_at_their_rate_and_say_when_to_retry():
    clock = Clock()
    buckets = MemoryBuckets(burst=10, per_second=2, clock=clock)
    assert (await buckets.take("k", 8)).remaining == 2
    refused = await buckets.take("k", 5)
    assert not refused.allowed and refused.remaining == 2
    assert refused.retry_after(5) == 2  # 3 more tokens at 2 per second
    assert refused.reset_seconds == 4  # 8 tokens to full
    clock.now += 1.5
    allowed = await buckets.take("k", 5)
    assert allowed.allowed and allowed.remaining == 0
    clock.now += 100
    assert (await buckets.take("k", 0.5)).remaining == 9.5  # never above the burst


async def test_an_owed_draw_is_taken_even_into_debt_which_refills():
    clock = Clock()
    buckets = MemoryBuckets(burst=10, per_second=2, clock=clock)
    await buckets.take("k", 8)
    owed = await buckets.take("k", 6, owed=True)
    assert owed.allowed and owed.remaining == -4
    assert not (await buckets.take("k", 1)).allowed
    clock.now += 2.5  # 5 tokens back: the debt of 4, then 1
    assert (await buckets.take("k", 1)).allowed


async def test_a_draw_larger_than_the_bucket_waits_for_a_full_one():
    clock = Clock()
    buckets = MemoryBuckets(burst=10, per_second=1, clock=clock)
    assert (await buckets.take("k", 50)).allowed  # drains the full bucket
    refused = await buckets.take("k", 50)
    assert not refused.allowed and refused.retry_after(50) == 10


async def test_idle_full_buckets_are_swept_from_memory():
    clock = Clock()
    buckets = MemoryBuckets(burst=10, per_second=10, clock=clock)
    for n in range(MemoryBuckets.SWEEP_EVERY - 1):
        await buckets.take(f"caller-{n}", 1)
    clock.now += 5  # every bucket is full again after 1 s
    await buckets.take("last", 1)
    assert list(buckets._buckets) == ["last"]


async def test_an_operation_of_a_batch_pays_for_itself_whichever_lane_runs_it(backend, tokens):
    # The first operation runs planned and pays; the second is too dear for what is left
    # and must be refused on the reference path too, not run for free.
    headers = auth(tokens["admin"])
    expensive = {"query": "{ sessions(first: 80) { nodes { uuid } } }"}
    cheap = {"query": "{ sessions(first: 2) { nodes { uuid } } }"}
    async with gateway(backend.url, rate_limit_burst=50, rate_limit_per_second=SLOW) as (_, c):
        response = await c.post("/graphql", json=[cheap, expensive], headers=headers)
    first, second = response.json()
    assert "errors" not in first
    assert second["data"] is None
    assert second["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


PAUSE = 'pauseSession(sessionId: "00000000-0000-0000-0000-000000000999") { __typename }'


async def test_each_mutation_field_is_charged_aliases_included(backend, tokens):
    headers = auth(tokens["admin"])
    aliased = {"query": "mutation { " + " ".join(f"m{i}: {PAUSE}" for i in range(20)) + " }"}
    async with gateway(backend.url, rate_limit_burst=50, rate_limit_per_second=SLOW) as (_, c):
        response = await c.post("/graphql", json=aliased, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["extensions"]["cost"]["requested"] == 20
    assert remaining(response) == 30


async def test_each_operation_of_a_batch_is_charged(backend, tokens):
    headers = auth(tokens["admin"])
    batch = [{"query": f"mutation {{ {PAUSE} }}"} for _ in range(5)]
    async with gateway(backend.url, rate_limit_burst=50, rate_limit_per_second=SLOW) as (_, c):
        response = await c.post("/graphql", json=batch, headers=headers)
        after = await c.get(REST, headers=headers)
    assert response.status_code == 200, response.text
    assert remaining(after) == 50 - 5 - 1


@pytest.mark.parametrize("planner", [True, False])
async def test_events_beyond_their_estimate_are_drawn_after_the_response(writable, planner):
    rider = uuid.uuid4()
    engine = create_engine(writable.url)
    try:
        token = await create_token(engine, Role.USER, user_id=rider)
        scooter = await add_device(engine, "e_scooter", fleet=FLEET_F)
    finally:
        await engine.dispose()
    start = f'mutation {{ startSession(deviceId: "{scooter}") {{ ... on Session {{ id uuid }} }} }}'
    started = await writable.client.post("/graphql", json={"query": start}, headers=auth(token))
    session = started.json()["data"]["startSession"]
    for step in ["pauseSession", "resumeSession"] * 20:  # 41 events in all
        mutation = f'mutation {{ {step}(sessionId: "{session["uuid"]}") {{ __typename }} }}'
        await writable.client.post("/graphql", json={"query": mutation}, headers=auth(token))
    read = {
        "query": "query($id: ID!) { node(id: $id) { ... on Session { events { name } } } }",
        "variables": {"id": session["id"]},
    }
    settings = {"rate_limit_burst": 500, "rate_limit_per_second": SLOW, "graphql_planner": planner}
    async with gateway(writable.url, **settings) as (_, c):
        response = await c.post("/graphql", json=read, headers=auth(token))
        after = await c.get(REST, headers=auth(token))
    assert len(response.json()["data"]["node"]["events"]) == 41
    assert response.json()["extensions"]["cost"] == {
        "requested": 21,
        "actual": 42,
        "maximum": 50_000,
    }
    # 1 on arrival, 20 more before it ran (21 requested), 21 more after (42 returned).
    assert remaining(response) == 500 - 42
    assert remaining(after) == 500 - 43
