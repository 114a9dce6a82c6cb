"""Idempotency keys: a repeated mutation with the same key and input is answered, not redone.

The first outcome (the session it produced, or the error it met) is stored under the
caller and the key for at least 24 hours. A repeat with the same input gets the session
as it is now, or the same error; the same key with other input is refused.
"""

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from loaders.base import fetch_rows
from resolvers.context import RequestScope
from resolvers.errors import DomainError, IdempotencyKeyReused, InvalidInput, NotFound
from storage.database import write_transaction
from storage.models import IdempotencyKey, Session
from storage.queries import select_sessions
from storage.records import SessionRecord

RETENTION = timedelta(hours=48)
MAX_KEY_LENGTH = 200


def _error_classes() -> dict[str, type[DomainError]]:
    classes: dict[str, type[DomainError]] = {}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        classes.setdefault(cls.code, cls)
        pending += cls.__subclasses__()
    return classes


def request_hash(operation: str, arguments: dict[str, Any]) -> str:
    """A digest of what was asked, to tell a true repeat from a reused key."""
    canonical = orjson.dumps([operation, arguments], option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(canonical).hexdigest()


async def _replay(request: RequestScope, outcome: dict[str, Any]) -> SessionRecord:
    if "error" in outcome:
        raise _error_classes().get(outcome["error"], DomainError)(outcome["message"])
    session_id = uuid.UUID(outcome["session_id"])
    statement = select_sessions().where(
        Session.id == session_id, request.principal.session_filter()
    )
    rows = await fetch_rows(request.engine, statement)
    if not rows:
        raise NotFound(f"session {session_id} not found")
    return SessionRecord.from_row(rows[0])


async def run_once(
    request: RequestScope,
    key: str | None,
    operation: str,
    arguments: dict[str, Any],
    action: Callable[[], Awaitable[SessionRecord]],
) -> SessionRecord:
    """Run ``action`` unless this caller already ran it under ``key``; then replay."""
    if key is None:
        return await action()
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise InvalidInput(f"an idempotency key has 1 to {MAX_KEY_LENGTH} characters")
    subject = request.principal.subject
    digest = request_hash(operation, arguments)
    lookup = select(IdempotencyKey.request_hash, IdempotencyKey.outcome).where(
        IdempotencyKey.subject == subject, IdempotencyKey.key == key
    )
    rows = await fetch_rows(request.engine, lookup)
    if rows:
        if rows[0].request_hash != digest:
            raise IdempotencyKeyReused(f"idempotency key {key!r} was used for another request")
        return await _replay(request, rows[0].outcome)
    error: DomainError | None = None
    try:
        session = await action()
        outcome: dict[str, Any] = {"session_id": str(session.id)}
    except DomainError as failure:
        error = failure
        outcome = {"error": failure.code, "message": failure.message}
    now = datetime.now(UTC)
    try:
        async with write_transaction(request.engine) as connection:
            await connection.execute(
                delete(IdempotencyKey).where(IdempotencyKey.created_at < now - RETENTION)
            )
            await connection.execute(
                insert(IdempotencyKey).values(
                    subject=subject, key=key, request_hash=digest, outcome=outcome, created_at=now
                )
            )
    except IntegrityError:
        # A concurrent request with the same key recorded its outcome first.
        return await _replay(request, (await fetch_rows(request.engine, lookup))[0].outcome)
    if error is not None:
        raise error
    return session
