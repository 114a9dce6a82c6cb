"""The change bus: records each change in the numbered feed and wakes every process's reader.

A write records its change in ``session_changes`` inside its own transaction (see
``storage.changes``); the bus only tells readers that there is something new to read.
Losing a notice therefore loses nothing: a reader that was cut off reads everything
after its last number once it is back.

- ``UpdateBus`` (SQLite, one process): a commit wakes this process's reader directly.
- ``PostgresUpdateBus``: ``NOTIFY`` inside the writing transaction, sent by PostgreSQL
  at commit to every process's ``LISTEN`` connection.
- ``RedisUpdateBus``: a Redis ``PUBLISH`` after commit, so writes take no NOTIFY lock.

The bus also carries token revocations, so that every process closes a revoked token's
sockets at once. A listening connection that drops is reopened with backoff; while it
is down the bus is not ``ready``.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.changes import record_change

CHANNEL = "session_updates"
REVOCATIONS = "token_revocations"
PING_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 1.0
logger = logging.getLogger("session_gateway.updates")

RevocationListener = Callable[[str], None]


async def cancel(task: "asyncio.Task[None] | None") -> None:
    """Cancel a background task and wait until it has finished."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class UpdateBus:
    """In-process notices: the bus for one process on SQLite, and the base of the others."""

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._ready = True
        self._revocation_listeners: set[RevocationListener] = set()

    @property
    def ready(self) -> bool:
        """True while notices from every process reach this one."""
        return self._ready

    async def start(self) -> None:
        """Begin receiving notices (nothing to do in-process)."""

    async def stop(self) -> None:
        """Stop receiving notices."""

    async def publish_in(self, connection: AsyncConnection, session_id: uuid.UUID) -> None:
        """Record a change to the session inside the writing transaction."""
        await record_change(connection, session_id)

    async def committed(self) -> None:
        """Announce that a transaction which recorded changes has committed."""
        self.wake()

    def wake(self) -> None:
        """Wake the reader of the feed in this process."""
        self._wake.set()

    def clear(self) -> None:
        """Forget a pending wake-up."""
        self._wake.clear()

    async def wait(self, seconds: float | None) -> None:
        """Wait until woken (or ``seconds`` pass), then clear the wake-up."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    def on_revocation(self, listener: RevocationListener) -> Callable[[], None]:
        """Call ``listener`` with each revoked token's id; returns the remover."""
        self._revocation_listeners.add(listener)
        return lambda: self._revocation_listeners.discard(listener)

    async def announce_revocation(self, token_id: str) -> None:
        """Tell every process that the token is revoked."""
        self._revoked(token_id)

    def _revoked(self, token_id: str) -> None:
        for listener in list(self._revocation_listeners):
            listener(token_id)

    def _set_ready(self, ready: bool) -> None:
        if ready != self._ready:
            logger.warning("live updates %s", "resumed" if ready else "interrupted")
        self._ready = ready
        self.wake()  # the reader reports the change, or catches up on what it missed


class _ListeningBus(UpdateBus):
    """A bus whose notices arrive on a connection that is watched and reopened with backoff."""

    def __init__(self) -> None:
        super().__init__()
        self._ready = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start listening; waits a few seconds for the first connection."""
        self._task = asyncio.create_task(self._supervise())
        for _ in range(50):
            if self._ready:
                return
            await asyncio.sleep(0.1)
        logger.error("live updates are not connected yet; retrying in the background")

    async def stop(self) -> None:
        """Stop listening."""
        await cancel(self._task)
        self._task = None

    async def _supervise(self) -> None:
        delay = 0.1
        while True:
            try:
                await self._listen(lambda: self._set_ready(True))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # any failure means: reconnect
                logger.warning("live update listener lost: %s", error)
            if self._ready:
                delay = 0.1
            self._set_ready(False)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    async def _listen(self, connected: Callable[[], None]) -> None:
        """Connect, call ``connected``, and return or raise once the connection is lost."""
        raise NotImplementedError


class PostgresUpdateBus(_ListeningBus):
    """Notices across processes through PostgreSQL LISTEN/NOTIFY."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def publish_in(self, connection: AsyncConnection, session_id: uuid.UUID) -> None:
        """Record the change and queue a notice that PostgreSQL sends when it commits."""
        await record_change(connection, session_id)
        await connection.execute(select(func.pg_notify(CHANNEL, "")))

    async def committed(self) -> None:
        """Nothing: the notice comes back through LISTEN, to this process too."""

    async def announce_revocation(self, token_id: str) -> None:
        """NOTIFY every process's listener of the revoked token."""
        connection = await asyncpg.connect(self._dsn, timeout=5)
        try:
            await connection.execute("SELECT pg_notify($1, $2)", REVOCATIONS, token_id)
        finally:
            await connection.close()

    async def _listen(self, connected: Callable[[], None]) -> None:
        connection: Any = await asyncpg.connect(self._dsn, timeout=PING_SECONDS)
        try:
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _connection: lost.set())
            await connection.add_listener(CHANNEL, self._on_notify)
            await connection.add_listener(REVOCATIONS, self._on_notify)
            connected()
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), PING_SECONDS)
                if not lost.is_set():  # a silent network loses nothing: ask
                    await connection.fetchval("SELECT 1", timeout=PING_SECONDS)
        finally:
            connection.terminate()

    def _on_notify(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        if channel == REVOCATIONS:
            self._revoked(payload)
        else:
            self.wake()


class RedisUpdateBus(_ListeningBus):
    """Notices across processes through Redis pub/sub, published after commit."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        super().__init__()
        self._url = redis_url
        self._channel = f"{prefix}{CHANNEL}"
        self._revocations = f"{prefix}{REVOCATIONS}"
        self._client: Redis = Redis.from_url(redis_url, socket_timeout=PING_SECONDS)

    async def stop(self) -> None:
        """Stop listening and close the publishing client."""
        await super().stop()
        await self._client.aclose()

    async def committed(self) -> None:
        """Publish the notice; a lost one is caught up by every reader when it reconnects."""
        self.wake()
        await self._publish(self._channel, "")

    async def announce_revocation(self, token_id: str) -> None:
        """Publish the revoked token's id to every process."""
        self._revoked(token_id)
        await self._publish(self._revocations, token_id)

    async def _publish(self, channel: str, message: str) -> None:
        try:
            await self._client.publish(channel, message)
        except Exception as error:  # the change is recorded; readers catch up on reconnect
            logger.warning("could not publish on %s: %s", channel, error)

    async def _listen(self, connected: Callable[[], None]) -> None:
        client: Redis = Redis.from_url(self._url, socket_timeout=PING_SECONDS * 2)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(self._channel, self._revocations)
            connected()
            while True:
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=PING_SECONDS
                )
                if message is None:
                    await pubsub.ping()
                    continue
                if message["type"] != "message":
                    continue
                channel = message["channel"].decode()
                if channel == self._revocations:
                    self._revoked(message["data"].decode())
                elif channel == self._channel:
                    self.wake()
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            with contextlib.suppress(Exception):
                await client.aclose()


def create_update_bus(
    engine: AsyncEngine,
    mode: str = "postgres",
    redis_url: str = "",
    prefix: str = "",
    listen_url: str = "",
) -> UpdateBus:
    """The bus that fits the database and the ``LIVE_UPDATES`` mode.

    LISTEN holds its connection for as long as the process runs: behind a pooler that
    hands out connections per transaction it would hear nothing, so ``listen_url``, when
    given, names PostgreSQL itself.
    """
    if mode == "redis":
        return RedisUpdateBus(redis_url, prefix)
    if engine.dialect.name == "postgresql":
        return PostgresUpdateBus(listen_url or engine.url.render_as_string(hide_password=False))
    return UpdateBus()
