"""A level of a planned read asks a loader once: callers of one tick share one batch."""

import asyncio

import pytest

from loaders.base import BatchLoader


class Squares(BatchLoader[int, int]):
    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.batches: list[list[int]] = []
        self.fail = fail

    async def batch_load_fn(self, keys):
        self.batches.append(list(keys))
        if self.fail:
            raise RuntimeError("the database went away")
        return [k * k for k in keys]


async def test_callers_of_one_tick_share_one_batch_and_known_values_are_not_loaded():
    loader = Squares()
    loader.prime_values({3: 9})
    first, second = await asyncio.gather(loader.load_values([1, 2, 3]), loader.load_values([2, 4]))
    assert first == {1: 1, 2: 4, 3: 9}
    assert second == {2: 4, 4: 16}
    assert loader.batches == [[1, 2, 4]]
    assert await loader.load_values([4, 1]) == {4: 16, 1: 1}  # known now: no batch
    assert len(loader.batches) == 1
    assert await loader.load(2) == 4  # the field resolvers' way finds them too


async def test_a_failed_batch_fails_every_caller_of_its_tick():
    loader = Squares(fail=True)
    results = await asyncio.gather(
        loader.load_values([1]), loader.load_values([2]), return_exceptions=True
    )
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]
    assert loader.batches == [[1, 2]]
    with pytest.raises(RuntimeError):
        await loader.load_values([5])


async def test_a_requests_loaders_are_freed_without_the_garbage_collector():
    """Watched loaders hold no reference cycle: what a request loaded dies with it.

    A cycle would leave every request's loaders, and everything their caches hold, to
    the collector's passes, which then grow with the traffic (the tails of big reads).
    """
    import gc
    import weakref

    from loaders.registry import Loaders

    observed: list[tuple[str, int]] = []
    loaders = Loaders(reads=None, visibility=None, observe_batch=lambda *b: observed.append(b))  # type: ignore[arg-type]
    watched = loaders._watched(Squares())
    assert await watched.load_values([2, 3]) == {2: 4, 3: 9}
    assert observed == [("Squares", 2)]
    gone = weakref.ref(watched)
    gc.disable()
    try:
        del watched, loaders
        assert gone() is None
    finally:
        gc.enable()
