"""Assembly: ``create_app(settings)`` builds the Starlette app; its lifespan owns the engine."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from opentelemetry.sdk.trace.export import SpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.config import Settings
from gateway.errors import CODE_BY_HTTP_STATUS, envelope_response, error_response
from gateway.graphql.view import graphql_routes
from gateway.limits import HeaderLimit
from gateway.metrics import Metrics
from gateway.middleware import RequestMiddleware, correlation_id_of
from gateway.ratelimit import RateLimitHeaders, open_buckets
from gateway.responses import JSONResponse
from gateway.rest.routes import rest_routes
from gateway.sockets import SocketRegistry
from gateway.state import GatewayState
from gateway.tracing import tracer_provider, tracing_middleware
from resolvers.clock import Clock, utc_now
from resolvers.cursors import CursorCodec
from resolvers.errors import DomainError
from resolvers.jwt_identity import JwtVerifier
from resolvers.live import LiveFeed
from storage.database import (
    READS_BY_PATH,
    compiled_statements,
    count_statements,
    create_engine,
    ping,
    server_max_connections,
)
from storage.migrate import is_at_head
from storage.replicas import ReadRouter, RedisWriteMemory
from storage.secrets import shared_secret
from storage.updates import create_update_bus

logger = logging.getLogger("session_gateway.database")


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    code = CODE_BY_HTTP_STATUS.get(error.status_code, "VALIDATION")
    message = {
        "NOT_FOUND": f"no resource at {request.url.path}",
        "METHOD_NOT_ALLOWED": f"{request.method} is not allowed on {request.url.path}",
    }.get(code, str(error.detail))
    return envelope_response(code, message, correlation_id_of(request.scope), error.headers)


async def _domain_error(request: Request, error: Exception) -> Response:
    return error_response(error, correlation_id_of(request.scope))


async def warn_of_connection_budget(engine: AsyncEngine, settings: Settings) -> None:
    """Log a warning when the processes may open more connections than PostgreSQL allows."""
    limit = await server_max_connections(engine)
    wanted = settings.server_connections()
    if limit is not None and wanted > limit:
        logger.warning(
            "%d processes (WEB_CONCURRENCY) may open %d PostgreSQL connections "
            "(DB_POOL_SIZE=%d + DB_MAX_OVERFLOW=%d each, and one listener) but the "
            "server's max_connections is %d: lower them, or raise max_connections",
            settings.workers,
            wanted,
            settings.db_pool_size,
            settings.db_max_overflow,
            limit,
        )


async def healthz(_request: Request) -> Response:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """The process can reach its database, and changes from every process reach it.

    With read replicas the body lists each one's state and lag; a replica out of
    rotation does not make the process unready, since the primary serves its reads.
    """
    state = GatewayState.of(request)
    replicas = {"replicas": state.router.report()} if state.router is not None else {}
    try:
        await ping(state.engine)
        if not state.live.ready:
            raise RuntimeError("live updates are interrupted")
    except Exception:
        return JSONResponse(
            {"status": "unavailable", **replicas}, status_code=503, headers={"Retry-After": "5"}
        )
    return JSONResponse({"status": "ready", **replicas})


def open_router(engine: AsyncEngine, settings: Settings) -> ReadRouter | None:
    """The read replicas of ``DATABASE_REPLICA_URLS``, None without any."""
    urls = settings.replica_urls()
    if not urls:
        return None
    router = ReadRouter(
        engine,
        urls,
        settings.database_options(),
        max_lag_seconds=settings.replica_max_lag_seconds,
        check_seconds=settings.replica_check_seconds,
    )
    if settings.redis_url:
        router.memory = RedisWriteMemory(
            router.remember_seconds, settings.redis_url, settings.redis_key_prefix
        )
    elif settings.workers > 1:
        logger.warning(
            "%d processes (WEB_CONCURRENCY) read from replicas without REDIS_URL: a "
            "principal reads its own writes from replicas only through the process that "
            "wrote them; set REDIS_URL so that every process knows what each one wrote",
            settings.workers,
        )
    return router


def serving_app() -> Starlette:
    """The app ``session-gateway serve`` runs in each worker process."""
    return create_app(freeze_heap=True)


def create_app(
    settings: Settings | None = None,
    *,
    span_exporter: SpanExporter | None = None,
    freeze_heap: bool = False,
    clock: Clock = utc_now,
) -> Starlette:
    """The gateway as an ASGI app; nothing connects until the lifespan starts.

    Traces go to the configured OTLP collector, or to ``span_exporter`` when given;
    commands read the time from ``clock`` (tests pass one they can advance).
    With ``freeze_heap`` (a serving process) everything alive once start-up is done
    (modules, the schema, the engine) moves out of the garbage collector's sight, so
    that collections prompted by request garbage no longer walk it.
    """
    settings = settings or Settings.from_env()
    metrics = Metrics()
    tracing = tracer_provider(settings, span_exporter)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url, settings.database_options())
        try:
            if not await is_at_head(engine):
                raise RuntimeError(
                    "the database is not migrated to the newest schema: "
                    "run `session-gateway migrate` first"
                )
            await warn_of_connection_budget(engine, settings)
            key = settings.pagination_secret or await shared_secret(engine, "pagination")
            remove_counter = count_statements(engine, metrics.count_statement)
            codec = CursorCodec(key.encode())
            live = LiveFeed(
                engine,
                create_update_bus(
                    engine,
                    settings.live_updates,
                    settings.redis_url,
                    settings.redis_key_prefix,
                    settings.listen_url(),
                ),
                codec,
                metrics.observe_batch,
                timedelta(seconds=settings.live_change_retention_seconds),
            )
            jwt_config = settings.jwt_config()
            jwt = JwtVerifier(jwt_config) if jwt_config.enabled else None
            buckets = await open_buckets(settings)
            await live.start()
            router = open_router(engine, settings)
            if router is not None:
                await router.start()
                metrics.watch_replicas(router)
            pool = engine.sync_engine.pool
            metrics.watch(
                lambda: int(getattr(pool, "checkedout", lambda: 0)()),
                lambda: live.subscriber_count,
            )
            metrics.watch_reads(compiled_statements, READS_BY_PATH)
            sockets = SocketRegistry(
                settings.ws_max_sockets_per_principal, settings.ws_max_subscriptions_per_principal
            )
            stop_revocations = live.bus.on_revocation(sockets.revoke)
            app.state.gateway = GatewayState(
                settings, engine, codec, metrics, live, sockets, jwt, buckets, clock, router=router
            )
            if freeze_heap:
                gc.collect()
                gc.freeze()
                # A page answer allocates tens of thousands of short-lived objects: collect
                # the youngest generation every 10,000 allocations instead of every 700.
                gc.set_threshold(10_000, 10, 10)
            try:
                yield
            finally:
                stop_revocations()
                if router is not None:
                    await router.stop()
                await live.stop()
                remove_counter()
                if buckets is not None:
                    await buckets.close()
        finally:
            await engine.dispose()
            if tracing is not None:
                tracing.shutdown()

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics.response),
        *graphql_routes(settings),
        *rest_routes(),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(RequestMiddleware, metrics=metrics),
            *(tracing_middleware(tracing) if tracing else []),
            Middleware(HeaderLimit, max_bytes=settings.max_header_bytes),
            Middleware(RateLimitHeaders),
        ],
        exception_handlers={HTTPException: _http_error, DomainError: _domain_error},
    )
    # "/session/v2/sessions/" is not a documented path: a 404, not a redirect.
    app.router.redirect_slashes = False
    return app
