"""Settings, read once from the environment and passed down; never imported as globals."""

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy.engine import make_url

from resolvers.context import WriteLimits
from resolvers.jwt_identity import JwtConfig
from storage.database import DEFAULT_DATABASE_URL, POOLERS, DatabaseOptions, is_sqlite

MIN_SESSION_EVENTS = 3  # book, start and end


def _setting(env: str, default: Any, help: str) -> Any:
    return field(default=default, metadata={"env": env, "help": help})


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of the gateway; each field names its environment variable."""

    database_url: str = _setting(
        "DATABASE_URL", DEFAULT_DATABASE_URL, "SQLAlchemy URL of the session store"
    )
    public_base_url: str = _setting(
        "PUBLIC_BASE_URL", "http://127.0.0.1:8000", "Base of the absolute `uri` fields"
    )
    pagination_secret: str = _setting(
        "PAGINATION_SECRET",
        "",
        "Key that signs pagination tokens; empty: generated once and kept in the database",
    )
    graphiql: bool = _setting(
        "GRAPHIQL", True, "Serve GraphiQL at GET /graphql in a browser, and the dashboard"
    )
    graphiql_demo_token: str = _setting(
        "GRAPHIQL_DEMO_TOKEN",
        "",
        "Token GraphiQL's header editor starts with; set by `serve --demo`, never by hand",
    )
    database_pooler: str = _setting(
        "DATABASE_POOLER",
        "",
        "`pgbouncer`: DATABASE_URL is PgBouncer in transaction mode; empty: PostgreSQL itself",
    )
    database_listen_url: str = _setting(
        "DATABASE_LISTEN_URL",
        "",
        "PostgreSQL URL of the live-update listener, never a pooler; empty: DATABASE_URL",
    )
    database_replica_urls: str = _setting(
        "DATABASE_REPLICA_URLS",
        "",
        "Comma-separated PostgreSQL URLs of streaming replicas that serve reads; empty: none",
    )
    replica_max_lag_seconds: float = _setting(
        "REPLICA_MAX_LAG_SECONDS",
        5.0,
        "A replica lagging more leaves the rotation; it returns at half this",
    )
    replica_check_seconds: float = _setting(
        "REPLICA_CHECK_SECONDS", 1.0, "How often each process checks its replicas' lag"
    )
    db_pool_size: int = _setting("DB_POOL_SIZE", 20, "Database connections kept per process")
    db_max_overflow: int = _setting(
        "DB_MAX_OVERFLOW",
        20,
        "Connections a process may open beyond DB_POOL_SIZE, closed after one use",
    )
    workers: int = _setting(
        "WEB_CONCURRENCY",
        1,
        "Gateway processes sharing the database (`serve --workers` sets it), for the "
        "start-up check of PostgreSQL's `max_connections`",
    )
    db_connect_timeout: float = _setting(
        "DB_CONNECT_TIMEOUT", 5.0, "Seconds to wait for a database connection"
    )
    db_statement_timeout_ms: int = _setting(
        "DB_STATEMENT_TIMEOUT_MS", 15_000, "PostgreSQL statement timeout in milliseconds"
    )
    log_level: str = _setting("LOG_LEVEL", "info", "Log level of the access and error logs")
    otel_endpoint: str = _setting(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "",
        "OTLP/HTTP collector base URL for OpenTelemetry traces; empty: tracing off",
    )
    otel_service_name: str = _setting(
        "OTEL_SERVICE_NAME", "session-gateway", "Service name on exported traces"
    )
    # Identity: JWT access tokens besides the opaque sgw_ tokens.
    jwt_secret: str = _setting(
        "JWT_SECRET", "", "Shared secret (32+ bytes) of HS256 access tokens; empty: HS256 off"
    )
    jwt_jwks_url: str = _setting(
        "JWT_JWKS_URL", "", "URL of the issuer's JWKS (RS256/ES256 keys); empty: not used"
    )
    jwt_jwks_file: str = _setting(
        "JWT_JWKS_FILE", "", "Path of a JWKS file (RS256/ES256 keys); wins over JWT_JWKS_URL"
    )
    jwt_issuer: str = _setting("JWT_ISSUER", "", "Required `iss` of JWTs; empty: not checked")
    jwt_audience: str = _setting("JWT_AUDIENCE", "", "Required `aud` of JWTs; empty: not checked")
    jwt_leeway_seconds: int = _setting(
        "JWT_LEEWAY_SECONDS", 30, "Clock skew allowed when checking `exp` and `nbf`"
    )
    jwt_role_claim: str = _setting(
        "JWT_ROLE_CLAIM", "role", "Claim holding user, operator or admin; absent: user"
    )
    jwt_user_id_claim: str = _setting(
        "JWT_USER_ID_CLAIM", "sub", "Claim holding a user token's user id (a UUID)"
    )
    jwt_locations_claim: str = _setting(
        "JWT_LOCATIONS_CLAIM", "location_ids", "Claim listing an operator's location ids"
    )
    jwt_fleets_claim: str = _setting(
        "JWT_FLEETS_CLAIM", "fleet_ids", "Claim listing an operator's fleet ids"
    )
    jwks_cache_seconds: int = _setting(
        "JWKS_CACHE_SECONDS", 300, "Seconds a fetched JWKS is used before it is fetched again"
    )
    jwks_min_refresh_seconds: int = _setting(
        "JWKS_MIN_REFRESH_SECONDS",
        30,
        "Least seconds between JWKS fetches triggered by an unknown `kid`",
    )
    # GraphQL limits, checked before anything executes.
    graphql_max_depth: int = _setting(
        "GRAPHQL_MAX_DEPTH", 10, "Deepest field nesting a GraphQL operation may have"
    )
    graphql_max_aliases: int = _setting(
        "GRAPHQL_MAX_ALIASES", 20, "Most aliases a GraphQL document may use"
    )
    graphql_max_tokens: int = _setting(
        "GRAPHQL_MAX_TOKENS", 2000, "Most lexical tokens a GraphQL document may have"
    )
    graphql_max_body_bytes: int = _setting(
        "GRAPHQL_MAX_BODY_BYTES", 65536, "Largest /graphql request body, in bytes"
    )
    graphql_max_cost: int = _setting(
        "GRAPHQL_MAX_COST", 50_000, "Most nodes one GraphQL operation may request (its cost)"
    )
    graphql_max_batch: int = _setting(
        "GRAPHQL_MAX_BATCH", 10, "Most operations in one batched (JSON array) request; 0: off"
    )
    graphql_introspection: bool = _setting(
        "GRAPHQL_INTROSPECTION", True, "Answer introspection queries (turn off in production)"
    )
    graphql_planner: bool = _setting(
        "GRAPHQL_PLANNER",
        True,
        "Run read operations on the planned lane; false leaves every operation to the "
        'reference path (counted with reason "disabled")',
    )
    # Write quotas.
    session_max_events: int = _setting(
        "SESSION_MAX_EVENTS",
        1000,
        "Most lifecycle events one session may have, its end included (0, or at least 3); "
        "0: no limit",
    )
    max_open_sessions_per_user: int = _setting(
        "MAX_OPEN_SESSIONS_PER_USER",
        5,
        "Most booked and active sessions one rider may have at once; 0: no limit",
    )
    # Persisted documents: automatic persisted queries and trusted documents.
    trusted_documents_only: bool = _setting(
        "TRUSTED_DOCUMENTS_ONLY",
        False,
        "Run only documents registered with `session-gateway documents register`",
    )
    apq_max_documents: int = _setting(
        "APQ_MAX_DOCUMENTS",
        200,
        "Most documents each principal may persist (automatic persisted queries); 0: none",
    )
    # Rate limiting, shared by REST and GraphQL.
    rate_limit_burst: int = _setting(
        "RATE_LIMIT_BURST", 100_000, "Token bucket size per principal or client IP; 0: off"
    )
    rate_limit_per_second: float = _setting(
        "RATE_LIMIT_PER_SECOND", 1000.0, "Tokens added back to each bucket per second"
    )
    redis_url: str = _setting(
        "REDIS_URL", "", "Redis holding the buckets, shared by processes; empty: in memory"
    )
    redis_key_prefix: str = _setting(
        "REDIS_KEY_PREFIX", "session-gateway:ratelimit:", "Prefix of the bucket keys in Redis"
    )
    max_header_bytes: int = _setting(
        "MAX_HEADER_BYTES", 32768, "Largest total size of a request's headers, in bytes"
    )
    request_header_timeout: float = _setting(
        "REQUEST_HEADER_TIMEOUT",
        10.0,
        "Seconds a client has to send a request's headers, else 408 and closed; 0: no limit",
    )
    request_body_timeout: float = _setting(
        "REQUEST_BODY_TIMEOUT",
        30.0,
        "Seconds a client has to send a request's body, else 408; 0: no limit",
    )
    forwarded_allow_ips: str = _setting(
        "FORWARDED_ALLOW_IPS",
        "",
        "Proxies (comma-separated addresses or networks, `*` for any) whose "
        "X-Forwarded-For/-Proto are believed; empty: none",
    )
    # Live updates (subscriptions over WebSockets).
    live_updates: str = _setting(
        "LIVE_UPDATES",
        "postgres",
        "What carries change notices between processes: `postgres` (NOTIFY) or `redis`",
    )
    live_change_retention_seconds: int = _setting(
        "LIVE_CHANGE_RETENTION_SECONDS",
        3600,
        "How long recorded changes are kept for processes catching up after an outage",
    )
    ws_max_sockets_per_principal: int = _setting(
        "WS_MAX_SOCKETS_PER_PRINCIPAL", 10, "Open WebSockets per principal and process; 0: no cap"
    )
    ws_max_subscriptions_per_principal: int = _setting(
        "WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL",
        100,
        "Open subscriptions per principal and process; 0: no cap",
    )
    ws_token_check_seconds: float = _setting(
        "WS_TOKEN_CHECK_SECONDS",
        10.0,
        "How often an open WebSocket checks that its token is still valid",
    )

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if number and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{item.metadata['env']}={value!r} must be a number >= 0")
        if self.workers < 1:
            raise ValueError(f"WEB_CONCURRENCY={self.workers} must be at least 1")
        if self.database_pooler not in POOLERS:
            raise ValueError(f"DATABASE_POOLER={self.database_pooler!r} must be empty or pgbouncer")
        if (
            self.database_pooler
            and self.live_updates == "postgres"
            and not (is_sqlite(self.database_url) or self.database_listen_url)
        ):
            raise ValueError(
                "DATABASE_POOLER=pgbouncer with LIVE_UPDATES=postgres needs DATABASE_LISTEN_URL: "
                "live updates LISTEN on a connection of their own, straight to PostgreSQL"
            )
        for url in self.replica_urls():
            if is_sqlite(self.database_url) or make_url(url).get_backend_name() != "postgresql":
                raise ValueError(
                    "DATABASE_REPLICA_URLS names PostgreSQL streaming replicas of a "
                    f"PostgreSQL DATABASE_URL; {make_url(url)!r} is not one"
                )
        if self.replica_urls() and not self.replica_check_seconds:
            raise ValueError("REPLICA_CHECK_SECONDS must be above 0 while replicas are set")
        if 0 < self.session_max_events < MIN_SESSION_EVENTS:
            raise ValueError(
                f"SESSION_MAX_EVENTS={self.session_max_events} must be 0 or at least "
                f"{MIN_SESSION_EVENTS}: a booking needs room to start and end"
            )
        if self.rate_limit_burst and not self.rate_limit_per_second:
            raise ValueError("RATE_LIMIT_PER_SECOND must be above 0 while RATE_LIMIT_BURST is set")
        if self.live_updates not in ("postgres", "redis"):
            raise ValueError(f"LIVE_UPDATES={self.live_updates!r} must be postgres or redis")
        if self.live_updates == "redis" and not self.redis_url:
            raise ValueError("LIVE_UPDATES=redis needs REDIS_URL")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read every setting from ``environ`` (the process environment by default)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = environ.get(item.metadata["env"])
            if raw is None or raw == "":
                continue
            values[item.name] = _parse(item.metadata["env"], raw, type(item.default))
        return cls(**values)

    def database_options(self) -> DatabaseOptions:
        """The connection options of the session store."""
        return DatabaseOptions(
            pool_size=self.db_pool_size,
            max_overflow=self.db_max_overflow,
            connect_timeout=self.db_connect_timeout,
            statement_timeout_ms=self.db_statement_timeout_ms,
            pooler=self.database_pooler,
        )

    def server_connections(self) -> int:
        """PostgreSQL connections every process together may open at most.

        Each process: its pool with its overflow, and one listener for live updates
        (``LIVE_UPDATES=postgres``). Behind PgBouncer only the listeners reach
        PostgreSQL; PgBouncer's own pool sizes count for the rest.
        """
        pooled = 0 if self.database_pooler else self.db_pool_size + self.db_max_overflow
        listener = 1 if self.live_updates == "postgres" else 0
        return self.workers * (pooled + listener)

    def replica_urls(self) -> list[str]:
        """The replicas' URLs, in the order given."""
        return [url.strip() for url in self.database_replica_urls.split(",") if url.strip()]

    def listen_url(self) -> str:
        """The URL the live-update listener connects to."""
        return self.database_listen_url or self.database_url

    def write_limits(self) -> WriteLimits:
        """The quotas on what writes may accumulate."""
        return WriteLimits(
            max_session_events=self.session_max_events,
            max_open_sessions=self.max_open_sessions_per_user,
        )

    def jwt_config(self) -> JwtConfig:
        """Which JWTs are accepted and how their claims map to a principal."""
        return JwtConfig(
            secret=self.jwt_secret,
            jwks_url=self.jwt_jwks_url,
            jwks_file=self.jwt_jwks_file,
            issuer=self.jwt_issuer,
            audience=self.jwt_audience,
            leeway_seconds=float(self.jwt_leeway_seconds),
            role_claim=self.jwt_role_claim,
            user_id_claim=self.jwt_user_id_claim,
            locations_claim=self.jwt_locations_claim,
            fleets_claim=self.jwt_fleets_claim,
            jwks_max_age_seconds=float(self.jwks_cache_seconds),
            jwks_min_refresh_seconds=float(self.jwks_min_refresh_seconds),
        )


def _parse(name: str, raw: str, kind: type) -> Any:
    if kind is bool:
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off"}:
            return False
        raise ValueError(f"{name}={raw!r} is not a boolean (true/false)")
    try:
        return kind(raw)
    except ValueError as error:
        raise ValueError(f"{name}={raw!r} is not a valid {kind.__name__}") from error
