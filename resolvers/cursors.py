"""Opaque cursors, signed so that a client can neither forge them nor reuse them elsewhere.

A cursor names a position in an ordered list and carries the ``scope`` it was issued
for: a fingerprint of the list and its filters. The text is
``base64url(json [scope, key...]) "." base64url(HMAC-SHA256(payload)[:16])``.
"""

import base64
import binascii
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from resolvers.errors import InvalidPaginationToken

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Position:
    """A session's place in an ordered list: its key (a time, an amount or None), then its id."""

    key: datetime | int | None
    id: uuid.UUID


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fingerprint(*parts: object) -> str:
    """A short stable digest of a list's name and filters, to bind cursors to them."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


class CursorCodec:
    """Issues and checks signed cursors with one key shared by every gateway process."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the cursor signing key must be at least 16 bytes")
        self._key = key

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:16]

    def _encode(self, scope: str, *key: object) -> str:
        payload = orjson.dumps([scope, *key])
        return f"{_b64encode(payload)}.{_b64encode(self._sign(payload))}"

    def _decode(self, token: str, scope: str) -> list[object]:
        body, _, signature = token.partition(".")
        try:
            payload = _b64decode(body)
            valid = hmac.compare_digest(_b64decode(signature), self._sign(payload))
        except (binascii.Error, ValueError) as error:
            raise InvalidPaginationToken(f"pagination token {token[:40]!r} is malformed") from error
        if not valid:
            raise InvalidPaginationToken("the pagination token was not issued by this service")
        # The signature holds, so the payload is one this codec wrote.
        data: list[object] = orjson.loads(payload)
        if data[0] != scope:
            raise InvalidPaginationToken(
                "the pagination token belongs to a different query; "
                "repeat the filters and the order that the first page was fetched with"
            )
        return data[1:]

    def encode_position(self, position: Position, scope: str) -> str:
        """A cursor for a session's position in the list described by ``scope``.

        A timestamp key is written in microseconds since the epoch, as it always was.
        """
        key = position.key
        if isinstance(key, datetime):
            key = (key - _EPOCH) // _MICROSECOND
        return self._encode(scope, key, position.id.hex)

    def decode_position(self, token: str, scope: str, *, timestamp: bool = True) -> Position:
        """The session position a cursor names; refuses forged or foreign cursors.

        ``timestamp``: the list's key is a time (else an integer); either may be null.
        """
        key, id_hex = self._decode(token, scope)
        if not (key is None or isinstance(key, int)):  # the scope fixes the order's kind
            raise InvalidPaginationToken("the pagination token belongs to a different query")
        value = _EPOCH + key * _MICROSECOND if timestamp and key is not None else key
        return Position(value, uuid.UUID(hex=str(id_hex)))

    def encode_id(self, id_: uuid.UUID, scope: str) -> str:
        """A cursor for a row of a list ordered by id."""
        return self._encode(scope, id_.hex)

    def decode_id(self, token: str, scope: str) -> uuid.UUID:
        """The row id a cursor names; refuses forged or foreign cursors."""
        (id_hex,) = self._decode(token, scope)
        return uuid.UUID(hex=str(id_hex))
