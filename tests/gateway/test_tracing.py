"""OpenTelemetry: off by default; when on, one server span per request with its route."""

import uuid

from asgi_lifespan import LifespanManager
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.app import create_app
from gateway.config import Settings
from tests.conftest import auth, in_process_client


def test_tracing_is_off_unless_a_collector_is_configured():
    from gateway.tracing import tracer_provider

    assert tracer_provider(Settings()) is None
    assert tracer_provider(Settings(otel_endpoint="http://127.0.0.1:4318")) is not None


async def traced(backend, path: str, **headers: str):
    """The response to GET ``path`` through a traced gateway, and the span it made."""
    exporter = InMemorySpanExporter()
    settings = Settings(database_url=backend.url, pagination_secret="tracing-key-0123456789")
    app = create_app(settings, span_exporter=exporter)
    correlation = str(uuid.uuid4())
    headers = {**auth(backend.tokens["admin"]), "X-Correlation-ID": correlation, **headers}
    async with LifespanManager(app), in_process_client(app) as client:
        response = await client.get(path, headers=headers)
    spans = exporter.get_finished_spans()  # the lifespan's end flushed them
    (span,) = [
        s for s in spans if s.attributes.get("session_gateway.correlation_id") == correlation
    ]
    return response, span


async def test_each_request_becomes_a_server_span_with_its_route(backend):
    response, span = await traced(backend, "/session/v2/sessions?limit=1")
    assert response.status_code == 200
    assert span.name == "GET /session/v2/sessions"
    assert span.attributes["http.status_code"] == 200
    assert span.attributes["http.route"] == "/session/v2/sessions"
    assert span.parent is None  # no traceparent: a trace of its own


TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


async def test_a_request_with_a_traceparent_joins_the_callers_trace(backend):
    path = f"/session/v2/users/{uuid.uuid4()}/sessions/x"
    response, span = await traced(backend, path, traceparent=f"00-{TRACE_ID}-{PARENT_ID}-01")
    assert response.status_code == 400
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None and format(span.parent.span_id, "016x") == PARENT_ID
    assert span.name == "GET /session/v2/users/{user_id}/sessions/{session_id}"
