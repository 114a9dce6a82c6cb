"""What every loader shares: a short connection per batch, results in key order."""

import asyncio
from asyncio import Future
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from aiodataloader import DataLoader
from sqlalchemy import ColumnElement

from storage.database import Reads

__all__ = [
    "BatchLoader",
    "Reads",
    "Visibility",
    "in_key_order",
]

# Large IN lists hit SQLite's and asyncpg's bind-parameter limits; batches stay below.
MAX_BATCH_SIZE = 500

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def in_key_order(keys: Iterable[K], by_key: dict[K, V]) -> list[V | None]:
    """Values for ``keys`` in order, ``None`` where a key has no value."""
    return [by_key.get(key) for key in keys]


@dataclass(frozen=True, slots=True)
class Visibility:
    """Which sessions the caller may see: a condition, what its SQL depends on, its values.

    Loaders build a statement once per ``shape`` and run it with ``params``.
    """

    condition: ColumnElement[bool]
    shape: Hashable
    params: Mapping[str, Any]


class BatchLoader(DataLoader[K, V]):
    """A per-request DataLoader that also takes values a statement brought along.

    Field resolvers ``load`` one key at a time and the DataLoader batches them per tick.
    Planned reads ask for a whole level at once (``load_values``), without a future per
    key; values a page or node statement already carried are ``prime_values``: known,
    and never loaded again.
    """

    def __init__(self) -> None:
        self.known: dict[Any, Any] = {}
        self._pending: dict[Any, None] = {}
        self._dispatch: Future[None] | None = None
        self._batches: set[asyncio.Task[None]] = set()  # running, kept from the collector
        super().__init__(max_batch_size=MAX_BATCH_SIZE)

    def prime_values(self, values: Mapping[K, V]) -> None:
        """Know ``values`` without loading them (and without a future each, until asked)."""
        for key, value in values.items():
            self.known.setdefault(key, value)

    async def load_values(self, keys: Iterable[K]) -> dict[K, V]:
        """The values for ``keys``: known ones at once, the rest in one batch per tick.

        Unlike ``load_many`` this makes no future per key: every caller of this tick
        (sibling relations of a planned read) joins one batch, which fills ``known``.
        """
        keys = list(keys)
        known = self.known
        found: dict[K, V] = {}
        missing = False
        for key in keys:
            if key in known:
                found[key] = known[key]
            else:
                self._pending[key] = None
                missing = True
        if not missing:
            return found
        if self._dispatch is None:
            self._dispatch = self.loop.create_future()
            self.loop.call_soon(self._run_batch)
        await asyncio.shield(self._dispatch)
        for key in keys:
            if key not in found:
                found[key] = known[key]
        return found

    def _run_batch(self) -> None:
        dispatch, self._dispatch = self._dispatch, None
        pending, self._pending = list(self._pending), {}
        assert dispatch is not None
        task = self.loop.create_task(self._load_into_known(pending))
        self._batches.add(task)
        task.add_done_callback(self._batches.discard)

        def settle(done: "asyncio.Task[None]") -> None:
            if dispatch.done():
                return
            if done.cancelled():
                dispatch.cancel()
            elif (error := done.exception()) is not None:
                dispatch.set_exception(error)
            else:
                dispatch.set_result(None)

        task.add_done_callback(settle)

    async def _load_into_known(self, keys: list[K]) -> None:
        for start in range(0, len(keys), MAX_BATCH_SIZE):
            chunk = keys[start : start + MAX_BATCH_SIZE]
            values = await self.batch_load_fn(chunk)
            self.known.update(zip(chunk, values, strict=True))

    def load(self, key: K) -> "Future[V]":
        """The value for ``key``: known already, or loaded in this tick's batch."""
        if key in self.known:
            future: Future[V] = self.loop.create_future()
            future.set_result(self.known[key])
            return future
        return super().load(key)
