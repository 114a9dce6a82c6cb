"""Schemathesis fuzzes every operation of the served OpenAPI document; no 5xx, all conform.

The app (and its database engine) lives on the test session's event loop, so the
Hypothesis loop runs in a worker thread and hands each request back to that event loop
through the in-process httpx client, instead of letting Schemathesis start its own
ASGI loop.
"""

import asyncio
import time
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import auth
from tests.rest.conftest import BASE_URL

MAX_EXAMPLES = 25
# Positive-data acceptance is left out on purpose: a schema-valid pagination_token that
# this gateway did not sign, or from after to, is rightly a 400.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _fuzz(operation: Any, mode: GenerationMode, send: Any, token: str) -> int:
    """Run Hypothesis over one operation in one generation mode; returns the requests sent."""
    sent = 0

    # Fixed headers are never mutated, so a negative case is never "negative" only by lacking
    # the token (the bad-input tests cover missing and malformed tokens).
    @given(case=operation.as_strategy(generation_mode=mode, headers=auth(token)))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def run(case: schemathesis.Case) -> None:
        nonlocal sent
        kwargs = case.as_transport_kwargs(base_url=BASE_URL)
        response = send(kwargs)
        sent += 1
        case.validate_response(response, checks=CHECKS, headers=kwargs["headers"])

    run()
    return sent


async def test_every_operation_survives_fuzzing(client: httpx.AsyncClient, tokens) -> None:
    document = (await client.get("/session/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 5
    loop = asyncio.get_running_loop()

    def send(kwargs: dict[str, Any]) -> httpx.Response:
        request = client.request(
            kwargs["method"], kwargs["url"], params=kwargs.get("params"), headers=kwargs["headers"]
        )
        return asyncio.run_coroutine_threadsafe(request, loop).result(timeout=30)

    started = time.perf_counter()
    total = 0
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            total += await asyncio.to_thread(_fuzz, operation, mode, send, tokens["admin"])
    print(f"fuzzed {total} requests in {time.perf_counter() - started:.1f}s")
    assert total >= len(operations)
