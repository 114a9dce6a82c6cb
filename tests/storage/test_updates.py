"""The update bus: bounded per-subscriber queues that never block a writer."""

import uuid

from storage.updates import QUEUE_SIZE, UpdateBus


async def test_every_subscriber_gets_every_committed_notice():
    bus = UpdateBus()
    changed = uuid.uuid4()
    async with bus.subscribe() as first, bus.subscribe() as second:
        bus.committed(changed)
        assert first.get_nowait() == changed
        assert second.get_nowait() == changed


async def test_a_slow_subscriber_loses_its_oldest_notices_instead_of_blocking():
    bus = UpdateBus()
    ids = [uuid.uuid4() for _ in range(QUEUE_SIZE + 10)]
    async with bus.subscribe() as queue:
        for session_id in ids:
            bus.committed(session_id)  # never waits, however far behind the reader is
        assert queue.qsize() == QUEUE_SIZE
        assert queue.get_nowait() == ids[10]


async def test_a_closed_subscription_is_forgotten():
    bus = UpdateBus()
    async with bus.subscribe():
        assert bus.subscriber_count == 1
    assert bus.subscriber_count == 0
    bus.committed(uuid.uuid4())  # nobody listening: nothing to do, nothing kept
