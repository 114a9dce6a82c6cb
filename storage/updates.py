"""Fan-out of "this session changed" notices to live subscribers, after commit.

On SQLite every subscriber lives in this process, so a committed change is handed to
them directly. On PostgreSQL the change is sent with ``pg_notify`` inside the writing
transaction, which PostgreSQL delivers only if and when it commits, to every gateway
process listening on the channel; each process then hands it to its own subscribers.

Each subscriber has a bounded queue: a slow or vanished subscriber loses its oldest
notices instead of blocking a writer or growing without bound.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

CHANNEL = "session_updates"
QUEUE_SIZE = 256
logger = logging.getLogger("session_gateway.updates")


class UpdateBus:
    """In-process fan-out; the base for the PostgreSQL bus."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[uuid.UUID]] = set()

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open in this process."""
        return len(self._queues)

    async def start(self) -> None:
        """Begin receiving notices (nothing to do in-process)."""

    async def stop(self) -> None:
        """Stop receiving notices."""

    async def publish_in(self, connection: AsyncConnection, session_id: uuid.UUID) -> None:
        """Send a notice from inside the writing transaction (nothing to do in-process)."""

    def committed(self, session_id: uuid.UUID) -> None:
        """Deliver a notice once its transaction has committed."""
        self._deliver(session_id)

    def _deliver(self, session_id: uuid.UUID) -> None:
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()  # drop the oldest: a slow reader never blocks writers
            queue.put_nowait(session_id)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator["asyncio.Queue[uuid.UUID]"]:
        """A queue of changed session ids for as long as the block runs."""
        queue: asyncio.Queue[uuid.UUID] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


class PostgresUpdateBus(UpdateBus):
    """Fan-out across processes through PostgreSQL LISTEN/NOTIFY."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._connection: Any = None

    async def start(self) -> None:
        """Open the listening connection."""
        self._connection = await asyncpg.connect(self._dsn, timeout=10)
        await self._connection.add_listener(CHANNEL, self._on_notify)

    async def stop(self) -> None:
        """Close the listening connection."""
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close(timeout=5)
            self._connection = None

    async def publish_in(self, connection: AsyncConnection, session_id: uuid.UUID) -> None:
        """Queue a notice that PostgreSQL sends when the transaction commits."""
        await connection.execute(select(func.pg_notify(CHANNEL, str(session_id))))

    def committed(self, session_id: uuid.UUID) -> None:
        """Nothing: the notice comes back through LISTEN, to this process too."""

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self._deliver(uuid.UUID(payload))
        except ValueError:
            logger.warning("ignored a malformed notice on %s", CHANNEL)


def create_update_bus(engine: AsyncEngine) -> UpdateBus:
    """The bus that fits the engine's database."""
    if engine.dialect.name == "postgresql":
        return PostgresUpdateBus(engine.url.render_as_string(hide_password=False))
    return UpdateBus()
