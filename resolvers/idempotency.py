"""Idempotency keys: a repeated mutation with the same key and input is answered, not redone.

The key is reserved before the mutation runs, so two requests racing with one key never
both act: the second is told the first is still in progress. Once the mutation is done,
its outcome (the session it produced, or the domain error it met) is kept under the
caller and the key for at least 24 hours. A repeat with the same input gets the session
as it is now, or the same error; the same key with other input is refused. Outcomes
worth retrying (a write conflict, a full quota, an outage, a fault) are not kept: the
reservation is dropped so that the retry runs for real.
"""

import contextlib
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from resolvers.context import RequestScope
from resolvers.errors import (
    Conflict,
    DomainError,
    IdempotencyKeyReused,
    InvalidInput,
    LimitReached,
    NotFound,
    Unavailable,
)
from resolvers.sessions import fetch_visible_session
from storage.models import IdempotencyKey
from storage.records import SessionRow

RETENTION = timedelta(hours=48)
ABANDONED = timedelta(minutes=2)  # a reservation this old belongs to a request that died
MAX_KEY_LENGTH = 200
IN_PROGRESS: dict[str, Any] = {"in_progress": True}
RETRYABLE = (Conflict, LimitReached, Unavailable)


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


def _subject(request: RequestScope) -> str:
    # A digest has a fixed length whatever the identity provider's subject looks like.
    return hashlib.sha256(request.principal.subject.encode()).hexdigest()


async def _replay(request: RequestScope, outcome: dict[str, Any]) -> SessionRow:
    if outcome.get("in_progress"):
        raise Conflict("a request with this idempotency key is still in progress; retry")
    if "error" in outcome:
        raise _error_classes().get(outcome["error"], DomainError)(outcome["message"])
    session = await fetch_visible_session(request, uuid.UUID(outcome["session_id"]))
    if session is None:
        raise NotFound(f"session {outcome['session_id']} not found")
    return session


async def _reserve(request: RequestScope, subject: str, key: str, digest: str) -> bool:
    """Claim the key for this request; False when another request holds it already."""
    now = datetime.now(UTC)
    try:
        async with request.write() as connection:
            await connection.execute(
                delete(IdempotencyKey).where(IdempotencyKey.created_at < now - RETENTION)
            )
            await connection.execute(
                insert(IdempotencyKey).values(
                    subject=subject,
                    key=key,
                    request_hash=digest,
                    outcome=IN_PROGRESS,
                    created_at=now,
                )
            )
    except IntegrityError:
        return False
    return True


async def run_once(
    request: RequestScope,
    key: str | None,
    operation: str,
    arguments: dict[str, Any],
    action: Callable[[], Awaitable[SessionRow]],
) -> SessionRow:
    """Run ``action`` unless this caller already ran it under ``key``; then replay.

    Every mutation comes here first: from now on its reads run on the primary.
    """
    await request.for_writing()
    if key is None:
        return await action()
    if not 1 <= len(key) <= MAX_KEY_LENGTH or "\x00" in key:
        raise InvalidInput(f"an idempotency key has 1 to {MAX_KEY_LENGTH} printable characters")
    subject, digest = _subject(request), request_hash(operation, arguments)
    this_key = (IdempotencyKey.subject == subject) & (IdempotencyKey.key == key)
    if not await _reserve(request, subject, key, digest):
        lookup = select(
            IdempotencyKey.request_hash, IdempotencyKey.outcome, IdempotencyKey.created_at
        ).where(this_key)
        rows = await request.reads.rows(lookup)
        if not rows:  # the holder gave the key up between our insert and this read
            raise Conflict("a request with this idempotency key is still in progress; retry")
        held_digest, outcome, created_at = rows[0]
        if held_digest != digest:
            raise IdempotencyKeyReused(f"idempotency key {key!r} was used for another request")
        abandoned = created_at < datetime.now(UTC) - ABANDONED
        if not (outcome.get("in_progress") and abandoned):
            return await _replay(request, outcome)
        # The request that reserved the key died before finishing: take the key over.
        await _release(request, this_key & (IdempotencyKey.created_at == created_at))
        if not await _reserve(request, subject, key, digest):
            raise Conflict("a request with this idempotency key is still in progress; retry")
    try:
        session = await action()
    except DomainError as error:
        if isinstance(error, RETRYABLE):
            await _release(request, this_key)
        else:
            await _record(request, this_key, {"error": error.code, "message": error.message})
        raise
    except BaseException:
        with contextlib.suppress(Exception):
            await _release(request, this_key)
        raise
    await _record(request, this_key, {"session_id": str(session.id)})
    return session


async def _record(request: RequestScope, this_key: Any, outcome: dict[str, Any]) -> None:
    async with request.write() as connection:
        await connection.execute(update(IdempotencyKey).where(this_key).values(outcome=outcome))


async def _release(request: RequestScope, this_key: Any) -> None:
    async with request.write() as connection:
        await connection.execute(delete(IdempotencyKey).where(this_key))
