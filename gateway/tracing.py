"""OpenTelemetry tracing, off unless a collector is configured: one server span per request.

OpenTelemetry's ASGI instrumentation makes the server span: it joins the caller's trace
when the request carries a W3C ``traceparent`` (and ``tracestate``), and records the
method, status and an error status for 5xx. ``RouteSpan`` then names the span after the
route template (``GET /session/v2/sessions/{id}`` rather than one name per id) and adds
the correlation id, so a trace can be found from a client's error report. Export is
batched in the background and never slows a request; with no endpoint configured
nothing is created at all.
"""

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from starlette.middleware import Middleware
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


def tracing_middleware(provider: TracerProvider) -> list[Middleware]:
    """The server span of every request, then its route name (outermost first)."""
    return [
        # Only the request's span: no child span for every receive and send message.
        Middleware(
            OpenTelemetryMiddleware, tracer_provider=provider, exclude_spans=["receive", "send"]
        ),
        Middleware(RouteSpan),
    ]


class RouteSpan:
    """Names the current server span after the route template and adds the correlation id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_named(message: Message) -> None:
            # The instrumentation ends the span with the response's last byte: name it first.
            if message["type"] == "http.response.start":
                span = trace.get_current_span()
                route = getattr(scope.get("route"), "path", "unmatched")
                span.update_name(f"{scope['method']} {route}")
                span.set_attribute("http.route", route)
                correlation_id = scope.get("state", {}).get("correlation_id")
                if correlation_id:
                    span.set_attribute("session_gateway.correlation_id", correlation_id)
            await send(message)

        await self.app(scope, receive, send_named)
