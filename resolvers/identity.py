"""Bearer tokens: issuing opaque tokens and turning a presented one into a Principal.

Opaque tokens (``sgw_...``) are random, shown once, and stored only as their SHA-256
digest, so a copy of the database does not hand out working credentials. A token shaped
like a JWT (three dot-separated parts) goes to ``resolvers.jwt_identity`` when JWTs are
configured; anything else is refused as malformed.

A token's row is written once and only ever deleted, so the principal read from it stays
right for as long as the row exists. A process keeps the principals of the tokens it has
seen (``KnownTokens``); for a known token a request only has to learn that the row still
exists, and it asks that along with its first read (``Reads.require``). Nothing the
request did counts until the answer is in: the gateway checks it before any write and
before the response starts, and answers 401 when the row is gone.
"""

import contextlib
import hashlib
import re
import secrets
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, insert, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from loaders.base import Reads
from resolvers.errors import InvalidInput, Unauthenticated
from resolvers.jwt_identity import JwtVerifier
from resolvers.scope import Principal
from storage.database import write_transaction
from storage.enums import Role
from storage.models import ApiToken

TOKEN_PREFIX = "sgw_"  # noqa: S105 (a prefix, not a secret)
_TOKEN_SHAPE = re.compile(r"sgw_[A-Za-z0-9_-]{43}")
MAX_TOKEN_CHARS = 8192  # far above any real JWT; spares the decoder megabytes of junk
UNKNOWN_TOKEN = "the bearer token is not known"  # noqa: S105 (a message)


# Built once: every request runs it.
_TOKEN_BY_DIGEST = select(
    ApiToken.id,
    ApiToken.role,
    ApiToken.user_id,
    ApiToken.location_ids,
    ApiToken.fleet_ids,
    ApiToken.expires_at,
).where(ApiToken.token_hash == bindparam("digest"))


# What a request asks of a token it knows the principal of: that its row still exists.
_TOKEN_EXISTS = select(literal(1)).where(ApiToken.token_hash == bindparam("digest"))


class KnownTokens:
    """The principals of the tokens a process has read, by digest; the most recent kept."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._by_digest: OrderedDict[str, Principal] = OrderedDict()

    def get(self, digest: str) -> Principal | None:
        """The principal of a token read before, if it is still kept."""
        principal = self._by_digest.get(digest)
        if principal is not None:
            self._by_digest.move_to_end(digest)
        return principal

    def keep(self, digest: str, principal: Principal) -> None:
        """Remember a token's principal, forgetting the least recently used past ``size``."""
        self._by_digest[digest] = principal
        while len(self._by_digest) > self.size:
            self._by_digest.popitem(last=False)


def hash_token(token: str) -> str:
    """The stored digest of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(
    engine: AsyncEngine,
    role: Role,
    *,
    user_id: uuid.UUID | None = None,
    location_ids: Iterable[uuid.UUID] = (),
    fleet_ids: Iterable[uuid.UUID] = (),
    label: str = "",
    expires_at: datetime | None = None,
    replace_label: bool = False,
) -> str:
    """Issue a new token and return it; only its digest is kept.

    With ``replace_label`` the tokens issued before under the same label are revoked in
    the same transaction, so a token re-issued at every start does not pile up.
    """
    if role is Role.USER and user_id is None:
        raise InvalidInput("a user token needs a user id")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with write_transaction(engine) as connection:
        if replace_label:
            await connection.execute(delete(ApiToken).where(ApiToken.label == label))
        await connection.execute(
            insert(ApiToken).values(
                id=uuid.uuid4(),
                token_hash=hash_token(token),
                role=role.value,
                user_id=user_id,
                location_ids=sorted(str(i) for i in location_ids),
                fleet_ids=sorted(str(i) for i in fleet_ids),
                label=label,
                created_at=datetime.now(UTC),
                expires_at=expires_at,
            )
        )
    return token


async def authenticate(
    reads: Reads,
    token: str | None,
    jwt: JwtVerifier | None = None,
    known: KnownTokens | None = None,
) -> Principal:
    """The Principal a bearer token stands for; refuses missing, unknown or expired ones.

    With ``known``, a token read before is not read again: ``reads`` is asked to require
    that its row still exists, and whoever holds ``reads`` must check the answer
    (``Reads.requirement_met``) before anything the request did counts.
    """
    if not token:
        raise Unauthenticated("a bearer token is required: send Authorization: Bearer <token>")
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthenticated("the bearer token is malformed")
    if jwt is not None and not token.startswith(TOKEN_PREFIX) and token.count(".") == 2:
        return await jwt.principal(token)
    if not _TOKEN_SHAPE.fullmatch(token):
        raise Unauthenticated("the bearer token is malformed")
    digest = hash_token(token)
    principal = known.get(digest) if known is not None else None
    if principal is not None:
        if principal.has_expired():
            raise Unauthenticated("the bearer token has expired")
        reads.require(_TOKEN_EXISTS, {"digest": digest})
        return principal
    rows = await reads.rows(_TOKEN_BY_DIGEST, {"digest": digest})
    if not rows and reads.on_replica:  # issued moments ago: the replica may not have it yet
        await reads.to_primary()
        rows = await reads.rows(_TOKEN_BY_DIGEST, {"digest": digest})
    if not rows:
        raise Unauthenticated(UNKNOWN_TOKEN)
    id_, role, user_id, location_ids, fleet_ids, expires_at = rows[0]
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise Unauthenticated("the bearer token has expired")
    principal = Principal(
        expires_at=expires_at,
        role=Role(role),
        subject=str(id_),
        user_id=user_id,
        location_ids=frozenset(uuid.UUID(i) for i in location_ids),
        fleet_ids=frozenset(uuid.UUID(i) for i in fleet_ids),
    )
    if known is not None:
        known.keep(digest, principal)
    return principal


async def revoke_token(engine: AsyncEngine, reference: str) -> str | None:
    """Delete a token, named by its id or given itself; returns its id, None if unknown."""
    condition = ApiToken.token_hash == hash_token(reference)
    with contextlib.suppress(ValueError):  # not an id: the token itself
        condition = or_(condition, ApiToken.id == uuid.UUID(reference))
    async with write_transaction(engine) as connection:
        deleted = await connection.execute(delete(ApiToken).where(condition).returning(ApiToken.id))
        found = deleted.scalar_one_or_none()
    return str(found) if found is not None else None
