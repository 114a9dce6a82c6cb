"""OpenTelemetry tracing, off unless a collector is configured: one server span per request.

Spans carry the method, route template, status and correlation id, so a trace can be
found from a client's error report. Export is batched in the background and never slows
a request; with no endpoint configured nothing is created at all.
"""

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config import Settings


def tracer_provider(
    settings: Settings, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """The provider exporting to the configured collector (or ``exporter``), else None."""
    if exporter is None:
        if not settings.otel_endpoint:
            return None
        exporter = OTLPSpanExporter(endpoint=settings.otel_endpoint.rstrip("/") + "/v1/traces")
    resource = Resource.create({"service.name": settings.otel_service_name})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


class TracingMiddleware:
    """Wraps every HTTP request in a server span named after its route template."""

    def __init__(self, app: ASGIApp, provider: TracerProvider) -> None:
        self.app = app
        self.tracer = provider.get_tracer("session_gateway")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        with self.tracer.start_as_current_span(method, kind=SpanKind.SERVER) as span:
            status = 500

            async def send_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await self.app(scope, receive, send_status)
            finally:
                route = getattr(scope.get("route"), "path", "unmatched")
                span.update_name(f"{method} {route}")
                span.set_attribute("http.request.method", method)
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                correlation_id = scope.get("state", {}).get("correlation_id")
                if correlation_id:
                    span.set_attribute("session_gateway.correlation_id", correlation_id)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
