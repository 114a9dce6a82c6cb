"""How a serving process logs: one JSON line per record on stderr, secrets redacted.

``session-gateway serve`` hands ``logging_config`` to uvicorn, which applies it in every
worker. Records of ``session_gateway.access`` are already one JSON object (see
``gateway.middleware``) and are written as they are; every other record (errors, uvicorn's
start-up and shutdown) becomes ``{"time", "level", "logger", "message"}`` plus the
request's ``correlation_id`` and, for a failure, its ``error_code`` and ``traceback``.
uvicorn's own access log is off: it writes full query strings, so a token sent as
``?access_token=`` would land in it. Whatever a record holds, bearer tokens, opaque
``sgw_`` tokens and JWTs are replaced by ``[REDACTED]`` before the line is written.
"""

import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

ACCESS_LOGGER = "session_gateway.access"
# The correlation id of the request being served, for records logged without one.
current_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

_SECRET = re.compile(
    r"(?i:bearer)\s+[^\s\"',;]+"  # an Authorization header's value, whatever the token
    r"|sgw_[A-Za-z0-9_-]{20,}"  # an opaque token (43 characters after the prefix)
    r"|eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"  # a JWT (header.payload.signature)
    r"|(?i:(?:access_token|token|jwt)=)[^&\s\"']+"  # a token in a query string
)
REDACTED = "[REDACTED]"


def redact(text: str) -> str:
    """``text`` with every bearer token, opaque token and JWT replaced by ``[REDACTED]``."""
    return _SECRET.sub(REDACTED, text)


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record, redacted; access records pass through as they are."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == ACCESS_LOGGER:
            return redact(record.getMessage())
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        correlation_id = getattr(record, "correlation_id", None) or current_correlation_id.get()
        if correlation_id:
            entry["correlation_id"] = correlation_id
        error_code = getattr(record, "error_code", None)
        if error_code:
            entry["error_code"] = error_code
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["traceback"] = record.exc_text
        return redact(orjson.dumps(entry).decode())


def logging_config(level: str) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of a serving process, at ``level``."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonLineFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "session_gateway": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            # Replaced by session_gateway.access, which never writes a query string.
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }
