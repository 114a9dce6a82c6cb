"""Read replicas: which one may serve a request's reads, and what each principal last wrote.

With ``DATABASE_REPLICA_URLS`` set, an HTTP request's reads (GraphQL queries, REST GETs)
start on a streaming replica in rotation. Writes, every read of a request that writes
(a mutation), WebSockets and the live-update feed stay on the primary.

**Read-your-writes, by LSN.** When a write commits, the primary's WAL position
(``pg_current_wal_lsn()``, read on the same request's connection right after the
commit) is remembered for the principal who wrote (``Principal.owner``: a rider, or a
token). A later request of that principal reads from a replica only if the replica's
replayed position (``pg_last_wal_replay_lsn()``, as last checked) is at or past it;
otherwise from the primary. The position is kept in this process and, with a Redis
(``REDIS_URL``), in Redis too, so every process knows it: one ``GET`` per request that
would read from a replica. If Redis does not answer, such a request reads from the
primary. A position is kept for ``REPLICA_MAX_LAG_SECONDS`` plus two checks and a
second: by then every replica still in rotation has replayed it (below).

**Rotation.** Every ``REPLICA_CHECK_SECONDS`` each process samples the primary's WAL
position and asks every replica for its replayed one. A replica's lag is the age of the
newest primary sample it has replayed (0 once it has replayed the newest), so an idle
primary does not make a replica look late. A replica that does not answer, is not in
recovery, or lags more than ``REPLICA_MAX_LAG_SECONDS`` leaves the rotation; it returns
once it answers and lags at most half that. A read that meets a failed replica marks it
down at once and runs again on the primary, so the request does not fail.
"""

import asyncio
import collections
import contextlib
import itertools
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import DatabaseOptions, Reads, create_engine, fetch_rows

logger = logging.getLogger("session_gateway.replicas")

# A position no replica reaches: what a principal's last write is when it cannot be known.
UNKNOWN = (1 << 64) - 1
_PRIMARY_LSN = text("SELECT pg_current_wal_lsn()::text")
_REPLICA_LSN = text("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")
# A hot standby cancels a query that conflicts with the WAL it replays: a retry on the
# primary answers it, and the replica stays in rotation.
_RECOVERY_CONFLICT = "40001"


def parse_lsn(value: str | None) -> int:
    """A WAL position as PostgreSQL prints it (``16/B374D848``) as a number."""
    if not value:
        return 0
    high, _, low = value.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def replica_name(url: str) -> str:
    """A replica's label in metrics and /readyz: host, port and database, never a password."""
    parsed = make_url(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


@dataclass(slots=True)
class Replica:
    """One replica and what its last check found."""

    name: str
    engine: AsyncEngine
    in_rotation: bool = False
    state: str = "down"  # "up" (in rotation), "lagging" or "down"
    replayed: int = 0  # pg_last_wal_replay_lsn() at the last check
    lag_seconds: float = math.inf
    lag_bytes: int = 0
    error: str = "not checked yet"

    def report(self) -> dict[str, object]:
        """Its state as /readyz shows it."""
        report: dict[str, object] = {"name": self.name, "state": self.state}
        if math.isfinite(self.lag_seconds):
            report["lagSeconds"] = round(self.lag_seconds, 3)
            report["lagBytes"] = self.lag_bytes
        if self.error:
            report["error"] = self.error
        return report


class WriteMemory:
    """The WAL position of each principal's last write, for ``ttl`` seconds, in this process."""

    MAX_PRINCIPALS = 100_000

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._written: collections.OrderedDict[str, tuple[int, float]] = collections.OrderedDict()

    async def written(self, owner: str) -> int:
        """The position of ``owner``'s last write still remembered; 0 if none."""
        found = self._written.get(owner)
        if found is None:
            return 0
        if found[1] < time.monotonic():
            del self._written[owner]
            return 0
        return found[0]

    async def remember(self, owner: str, lsn: int) -> None:
        """Remember that ``owner`` wrote up to ``lsn`` (never moving backwards)."""
        held = await self.written(owner)
        self._written[owner] = (max(lsn, held), time.monotonic() + self.ttl)
        self._written.move_to_end(owner)
        while len(self._written) > self.MAX_PRINCIPALS:
            self._written.popitem(last=False)

    async def close(self) -> None:
        """Release what it holds."""


# Keeps the larger of two positions: 16 hex digits compare as strings as they do as numbers.
_REMEMBER = """
local held = redis.call('GET', KEYS[1])
if not held or held < ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
"""


class RedisWriteMemory(WriteMemory):
    """A ``WriteMemory`` shared through Redis by every process, and kept locally too."""

    def __init__(self, ttl: float, url: str, prefix: str, timeout: float = 1.0) -> None:
        super().__init__(ttl)
        self.prefix = prefix
        self._client: Redis = Redis.from_url(url, socket_timeout=timeout)
        self._script = self._client.register_script(_REMEMBER)

    def _key(self, owner: str) -> str:
        return f"{self.prefix}written:{owner}"

    async def written(self, owner: str) -> int:
        """The later of this process's and Redis's; ``UNKNOWN`` when Redis does not answer."""
        local = await super().written(owner)
        try:
            shared = await self._client.get(self._key(owner))
        except (RedisError, OSError) as error:
            logger.warning("could not read a principal's last write from Redis: %s", error)
            return UNKNOWN
        return max(local, int(shared, 16) if shared else 0)

    async def remember(self, owner: str, lsn: int) -> None:
        """Remember locally and in Redis (a failure there is logged, not raised)."""
        await super().remember(owner, lsn)
        try:
            await self._script(
                keys=[self._key(owner)], args=[f"{lsn:016x}", math.ceil(self.ttl * 1000)]
            )
        except (RedisError, OSError) as error:
            logger.warning("could not keep a principal's last write in Redis: %s", error)

    async def close(self) -> None:
        """Close the Redis connections."""
        await self._client.aclose()


@dataclass(slots=True)
class _Samples:
    """The primary's WAL position over the last while, to tell a replica's lag in seconds."""

    keep_seconds: float
    points: collections.deque[tuple[float, int]] = field(default_factory=collections.deque)

    def add(self, at: float, lsn: int) -> None:
        self.points.append((at, lsn))
        while self.points and self.points[0][0] < at - self.keep_seconds:
            self.points.popleft()

    def lag(self, replayed: int, now: float) -> float:
        """Seconds behind: 0 once ``replayed`` reaches the newest sample.

        Else how long ago the primary was where the replica is (between two samples, in
        proportion).
        """
        points = self.points
        if not points or replayed >= points[-1][1]:
            return 0.0
        later = points[-1]
        for at, lsn in reversed(points):
            if lsn <= replayed:
                share = (replayed - lsn) / max(later[1] - lsn, 1)
                return now - (at + share * (later[0] - at))
            later = (at, lsn)
        return now - points[0][0]  # behind every sample: at least as old as the history


class ReadRouter:
    """The primary and its replicas: where a request's reads go, and which replicas serve."""

    def __init__(
        self,
        primary: AsyncEngine,
        replica_urls: Sequence[str],
        options: DatabaseOptions,
        *,
        max_lag_seconds: float,
        check_seconds: float,
        memory: WriteMemory | None = None,
    ) -> None:
        self.primary = primary
        self.max_lag_seconds = max_lag_seconds
        self.check_seconds = check_seconds
        self.check_timeout = max(options.connect_timeout, check_seconds)
        self.replicas = [Replica(replica_name(u), create_engine(u, options)) for u in replica_urls]
        self.memory = memory or WriteMemory(self.remember_seconds)
        self.reads_by_target = {"primary": 0, "replica": 0}
        self._turn = itertools.count()
        self._samples = _Samples(2 * max_lag_seconds + 4 * check_seconds)
        self._task: asyncio.Task[None] | None = None

    @property
    def remember_seconds(self) -> float:
        """How long a principal's write is remembered: past it, replicas in rotation have it.

        A replica in rotation has replayed the primary's WAL of at least
        ``max_lag_seconds`` ago as sampled, and its state is at most a check old.
        """
        return self.max_lag_seconds + 2 * self.check_seconds + 1.0

    def replica(self) -> AsyncEngine:
        """A replica in rotation (in turn), or the primary when none is."""
        serving = [r for r in self.replicas if r.in_rotation]
        if not serving:
            return self.primary
        return serving[next(self._turn) % len(serving)].engine

    async def engine_for(self, owner: str, current: AsyncEngine) -> AsyncEngine:
        """Where ``owner``'s reads go: a replica that has replayed its last write.

        ``current`` when it has, else another that has, else the primary.
        """
        written = await self.memory.written(owner)
        if not written:
            return current
        serving = [r for r in self.replicas if r.in_rotation and r.replayed >= written]
        for replica in serving:
            if replica.engine is current:
                return current
        return serving[0].engine if serving else self.primary

    async def wrote(self, owner: str, reads: Reads) -> None:
        """Remember the primary's WAL position for ``owner``, read right after its commit.

        The write has committed whatever happens here: if the position cannot be read,
        ``owner`` reads from the primary until the memory forgets.
        """
        try:
            [row] = await reads.rows(_PRIMARY_LSN)
            lsn = parse_lsn(row[0])
        except Exception as error:
            logger.warning("could not read the WAL position after a write: %s", error)
            lsn = UNKNOWN
        await self.memory.remember(owner, lsn)

    def counted(self, engine: AsyncEngine) -> None:
        """Count one read run on ``engine``."""
        self.reads_by_target["primary" if engine is self.primary else "replica"] += 1

    def failed(self, engine: AsyncEngine, error: BaseException) -> None:
        """A read on ``engine`` failed: unless it was a recovery conflict, take it out."""
        if getattr(error.__cause__ or error, "sqlstate", None) == _RECOVERY_CONFLICT:
            return
        for replica in self.replicas:
            if replica.engine is engine and replica.in_rotation:
                self._take_out(replica, "down", f"a read failed: {error}")

    async def start(self) -> None:
        """Check every replica once, then keep checking them in the background."""
        if not self.replicas:
            return
        await self.check()
        for replica in self.replicas:
            if not replica.in_rotation:
                logger.warning(
                    "replica %s is not in rotation (%s): reads go elsewhere until it is",
                    replica.name,
                    replica.error or replica.state,
                )
        self._task = asyncio.create_task(self._keep_checking(), name="replica checks")

    async def stop(self) -> None:
        """Stop checking, and close the replicas' pools and the memory."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for replica in self.replicas:
            await replica.engine.dispose()
        await self.memory.close()

    async def _keep_checking(self) -> None:
        while True:
            await asyncio.sleep(self.check_seconds)
            try:
                await self.check()
            except Exception:  # never let the checks stop
                logger.exception("checking the replicas failed")

    async def check(self) -> None:
        """Sample the primary's WAL position, then ask each replica how far it replayed."""
        try:
            async with asyncio.timeout(self.check_timeout):
                [row] = await fetch_rows(self.primary, _PRIMARY_LSN)
            self._samples.add(time.monotonic(), parse_lsn(row[0]))
        except Exception as error:  # the primary's outage is /readyz's business
            logger.debug("could not read the primary's WAL position: %s", error)
        await asyncio.gather(*(self._check(replica) for replica in self.replicas))

    async def _check(self, replica: Replica) -> None:
        try:
            async with asyncio.timeout(self.check_timeout):
                [(recovering, replayed)] = await fetch_rows(replica.engine, _REPLICA_LSN)
        except Exception as error:
            self._take_out(replica, "down", f"{type(error).__name__}: {error}")
            return
        if not recovering:
            self._take_out(replica, "down", "not a standby: pg_is_in_recovery() is false")
            return
        now = time.monotonic()
        replica.replayed = parse_lsn(replayed)
        replica.lag_seconds = self._samples.lag(replica.replayed, now)
        newest = self._samples.points[-1][1] if self._samples.points else replica.replayed
        replica.lag_bytes = max(newest - replica.replayed, 0)
        limit = self.max_lag_seconds if replica.in_rotation else self.max_lag_seconds / 2
        if replica.lag_seconds > limit:
            self._take_out(replica, "lagging", "")
            return
        if not replica.in_rotation:
            if replica.state == "down":  # connections pooled before it went are dead
                await replica.engine.dispose()
            logger.warning(
                "replica %s is back in rotation (lag %.1f s)", replica.name, replica.lag_seconds
            )
        replica.in_rotation, replica.state, replica.error = True, "up", ""

    def _take_out(self, replica: Replica, state: str, error: str) -> None:
        if replica.in_rotation:
            logger.warning(
                "replica %s leaves the rotation (%s): %s",
                replica.name,
                state,
                error or f"lag {replica.lag_seconds:.1f} s",
            )
        replica.in_rotation, replica.state, replica.error = False, state, error
        if state == "down":
            replica.lag_seconds, replica.lag_bytes = math.inf, 0

    def report(self) -> list[dict[str, object]]:
        """Every replica's state, for /readyz."""
        return [replica.report() for replica in self.replicas]
