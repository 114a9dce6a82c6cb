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


async def test_each_request_becomes_a_server_span_with_its_route(backend):
    exporter = InMemorySpanExporter()
    settings = Settings(database_url=backend.url, pagination_secret="tracing-key-0123456789")
    app = create_app(settings, span_exporter=exporter)
    correlation = str(uuid.uuid4())
    async with LifespanManager(app), in_process_client(app) as client:
        headers = {**auth(backend.tokens["admin"]), "X-Correlation-ID": correlation}
        response = await client.get("/session/v2/sessions?limit=1", headers=headers)
        assert response.status_code == 200
    spans = exporter.get_finished_spans()  # the lifespan's end flushed them
    (span,) = [
        s for s in spans if s.attributes.get("session_gateway.correlation_id") == correlation
    ]
    assert span.name == "GET /session/v2/sessions"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["http.route"] == "/session/v2/sessions"
