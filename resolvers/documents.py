"""Persisted GraphQL documents: automatic persisted queries (APQ) and trusted documents.

A document is known by the SHA-256 of its text (64 lowercase hex digits). An operation
may carry Apollo's ``extensions.persistedQuery = {"version": 1, "sha256Hash": ...}``:

- the hash alone: the stored document runs, or ``PERSISTED_QUERY_NOT_FOUND`` (message
  ``PersistedQueryNotFound``) asks the client to send it again with the document;
- the hash and the document: the hash must be the document's; the document runs, and
  once it has validated it is kept for every process (``Admitted.register``).

In trusted-documents mode only documents an operator registered run, whether sent by
hash or in full, and clients cannot add any. Documents live in the database; each
process keeps the ones it has read in a bounded cache.
"""

import hashlib
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.errors import DocumentNotTrusted, InvalidPersistedQuery, PersistedQueryNotFound
from storage.documents import count_owned_documents, find_document, save_document

_HASH_SHAPE = re.compile(r"[0-9a-f]{64}")
CACHE_CHARACTERS = 8_000_000  # the bodies one process keeps in memory, at most
NOT_TRUSTED_MESSAGE = (
    "this server runs only registered documents (trusted-documents mode); "
    "register this one with `session-gateway documents register`"
)


def document_hash(body: str) -> str:
    """The SHA-256 of a document's text (UTF-8), as 64 lowercase hex digits."""
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class DocumentPolicy:
    """Which documents may run and whether clients may persist new ones."""

    trusted_only: bool = False
    max_client_documents: int = 200  # per principal; 0: clients persist none


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A persisted document."""

    body: str
    trusted: bool


@dataclass(frozen=True, slots=True)
class Admitted:
    """The document an operation runs, and the hash to persist it under if it validates."""

    query: str | None
    register: str | None = None


class DocumentStore:
    """The persisted documents of one database, read through an in-process cache.

    A stored body never changes (its hash is its name), so a cached one stays right;
    only ``trusted`` can change, from false to true, so an untrusted entry is read again
    whenever trust decides the answer.
    """

    def __init__(self, engine: AsyncEngine, cache_characters: int = CACHE_CHARACTERS) -> None:
        self.engine = engine
        self.cache_characters = cache_characters
        self._cache: OrderedDict[str, StoredDocument] = OrderedDict()
        self._cached_characters = 0

    async def get(self, digest: str, *, need_trusted: bool = False) -> StoredDocument | None:
        """The document with hash ``digest``, if any process persisted it."""
        cached = self._cache.get(digest)
        if cached is not None and (cached.trusted or not need_trusted):
            self._cache.move_to_end(digest)
            return cached
        row = await find_document(self.engine, digest)
        if row is None:
            return None
        document = StoredDocument(body=row[0], trusted=row[1])
        self._remember(digest, document)
        return document

    async def register(self, body: str) -> str:
        """Persist an operator's document as trusted; returns its hash."""
        digest = document_hash(body)
        await save_document(self.engine, digest, body, trusted=True)
        self._remember(digest, StoredDocument(body, trusted=True))
        return digest

    async def persist(self, digest: str, body: str, owner: str, max_documents: int) -> bool:
        """Persist a client's document unless ``owner`` already persisted ``max_documents``.

        ``owner`` names the principal (a digest); the quota is each principal's, so no
        client can fill the store for the others.
        """
        if digest in self._cache:
            return False
        if await count_owned_documents(self.engine, owner) >= max_documents:
            return False  # the document still ran; the client keeps sending it in full
        await save_document(self.engine, digest, body, trusted=False, owner=owner)
        self._remember(digest, StoredDocument(body, trusted=False))
        return True

    def _remember(self, digest: str, document: StoredDocument) -> None:
        if len(document.body) > self.cache_characters:
            return
        previous = self._cache.pop(digest, None)
        if previous is not None:
            self._cached_characters -= len(previous.body)
        self._cache[digest] = document
        self._cached_characters += len(document.body)
        while self._cached_characters > self.cache_characters:
            _, evicted = self._cache.popitem(last=False)
            self._cached_characters -= len(evicted.body)


def _persisted_hash(persisted: Any) -> str:
    if not isinstance(persisted, Mapping):
        raise InvalidPersistedQuery("extensions.persistedQuery must be an object")
    version = persisted.get("version")
    if type(version) is not int or version != 1:
        raise InvalidPersistedQuery(f"Unsupported persisted query version {version!r}")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _HASH_SHAPE.fullmatch(digest):
        raise InvalidPersistedQuery(
            "extensions.persistedQuery.sha256Hash must be a SHA-256: 64 lowercase hex digits"
        )
    return digest


async def _require_trusted(store: DocumentStore, digest: str) -> StoredDocument:
    document = await store.get(digest, need_trusted=True)
    if document is None or not document.trusted:
        raise DocumentNotTrusted(NOT_TRUSTED_MESSAGE)
    return document


async def admit_document(
    store: DocumentStore,
    policy: DocumentPolicy,
    query: str | None,
    extensions: Mapping[str, Any] | None,
) -> Admitted:
    """The document an operation may run, from its text or its persisted query hash."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        if policy.trusted_only and query:
            await _require_trusted(store, document_hash(query))
        return Admitted(query)
    digest = _persisted_hash(persisted)
    if not query:
        if policy.trusted_only:
            return Admitted((await _require_trusted(store, digest)).body)
        document = await store.get(digest)
        if document is None:
            raise PersistedQueryNotFound()
        return Admitted(document.body)
    if document_hash(query) != digest:
        raise InvalidPersistedQuery("provided sha does not match query")
    if policy.trusted_only:
        await _require_trusted(store, digest)
        return Admitted(query)
    if policy.max_client_documents and await store.get(digest) is None:
        return Admitted(query, register=digest)
    return Admitted(query)
