"""Settings, read once from the environment and passed down; never imported as globals."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from storage.database import DEFAULT_DATABASE_URL, DatabaseOptions


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
    graphiql: bool = _setting("GRAPHIQL", True, "Serve GraphiQL at GET /graphql in a browser")
    db_pool_size: int = _setting("DB_POOL_SIZE", 10, "PostgreSQL connections kept per process")
    db_connect_timeout: float = _setting(
        "DB_CONNECT_TIMEOUT", 5.0, "Seconds to wait for a database connection"
    )
    db_statement_timeout_ms: int = _setting(
        "DB_STATEMENT_TIMEOUT_MS", 15_000, "PostgreSQL statement timeout in milliseconds"
    )
    log_level: str = _setting("LOG_LEVEL", "info", "Log level of the access and error logs")

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
            connect_timeout=self.db_connect_timeout,
            statement_timeout_ms=self.db_statement_timeout_ms,
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
