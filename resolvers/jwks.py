"""The public keys of a JWT issuer: a JWKS document from a file or URL, cached per process.

The key set is read on first use and again when it is older than ``max_age``. A token
naming a key id the cache does not know triggers one early refresh (the issuer may have
rotated its keys), but at most once per ``min_refresh_interval``: otherwise a flood of
tokens with made-up key ids would turn into a flood of requests to the issuer.
"""

import asyncio
import json
import logging
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWTError

from resolvers.errors import Unavailable

logger = logging.getLogger("session_gateway.identity")

MAX_DOCUMENT_BYTES = 1_000_000


class KeySetError(Exception):
    """The key set could not be read or holds no usable key."""


def parse_key_set(document: bytes) -> dict[str | None, PyJWK]:
    """The usable keys of a JWKS document by key id (``None`` for a key without one)."""
    try:
        keys = PyJWKSet.from_dict(json.loads(document)).keys
    except (ValueError, TypeError, AttributeError, PyJWTError) as error:
        raise KeySetError(f"not a usable JWKS document: {error}") from error
    return {key.key_id: key for key in keys}


def read_key_set(url: str, path: str, timeout: float) -> bytes:
    """The raw JWKS document from ``path`` if set, else fetched from ``url`` (blocking)."""
    if path:
        try:
            return Path(path).read_bytes()[:MAX_DOCUMENT_BYTES]
        except OSError as error:
            raise KeySetError(f"cannot read {path}: {error}") from error
    if not url.startswith(("https://", "http://")):
        raise KeySetError(f"JWKS URL {url!r} is not http(s)")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 (scheme checked above)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body: bytes = response.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as error:
        raise KeySetError(f"cannot fetch {url}: {error}") from error
    if len(body) > MAX_DOCUMENT_BYTES:
        raise KeySetError(f"the JWKS document at {url} is larger than {MAX_DOCUMENT_BYTES} bytes")
    return body


class JwksCache:
    """The issuer's signing keys, read lazily, cached, and refreshed on an unknown key id."""

    def __init__(
        self,
        *,
        url: str = "",
        path: str = "",
        max_age: float = 300.0,
        min_refresh_interval: float = 30.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (url or path):
            raise ValueError("a JWKS cache needs a URL or a file")
        self.url = url
        self.path = path
        self.max_age = max_age
        self.min_refresh_interval = min_refresh_interval
        self.timeout = timeout
        self.clock = clock
        self.fetches = 0
        self._keys: Mapping[str | None, PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> PyJWK | None:
        """The key a token's ``kid`` names, or ``None`` when the issuer has no such key."""
        refreshed = False
        if self._fetched_at is None or self.clock() - self._fetched_at >= self.max_age:
            await self._refresh()
            refreshed = True
        found = self._pick(kid)
        if found is None and not refreshed and self._may_refresh():
            await self._refresh()
            found = self._pick(kid)
        if found is None and not self._keys:
            raise Unavailable("the token signing keys cannot be loaded; retry shortly")
        return found

    def _may_refresh(self) -> bool:
        return self._fetched_at is None or (
            self.clock() - self._fetched_at >= self.min_refresh_interval
        )

    def _pick(self, kid: str | None) -> PyJWK | None:
        if kid is None:
            # A token without a kid can only mean the issuer's one key.
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        started = self._fetched_at
        async with self._lock:
            if self._fetched_at != started:
                return  # another request refreshed while this one waited
            try:
                document = await asyncio.to_thread(read_key_set, self.url, self.path, self.timeout)
                self._keys = parse_key_set(document)
            except KeySetError as error:
                # Keep serving the keys already known; the issuer may be briefly down.
                logger.error("JWKS refresh failed: %s", error)
            finally:
                self.fetches += 1
                # Failed refreshes count too, so an unreachable issuer is not hammered.
                self._fetched_at = self.clock()
