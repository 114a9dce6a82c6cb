"""A real streaming replica of the local PostgreSQL cluster: ``pg_basebackup -R``, ``pg_ctl``.

The replica copies the whole cluster into a temporary directory and streams its WAL,
so every database the tests create on the primary appears on it too. It runs on a free
port as the postgres user (root drops to it), and is stopped and removed afterwards.
The primary's pg_hba.conf needs ``host replication all 127.0.0.1/32 trust``: added,
and the configuration reloaded, when it is missing (as ``.ci/run`` does).
"""

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_ADMIN_DSN
from tests.live_server import free_port

REPLICATION_LINE = "host replication all 127.0.0.1/32 trust"
_REPLICATION = re.compile(r"^\s*host\s+replication\s+all\s+127\.0\.0\.1/32\s+trust\b", re.M)
# Settings a hot standby must hold at least as high as its primary.
_AT_LEAST_PRIMARY = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)
CONFIG = """\
port = {port}
listen_addresses = '127.0.0.1'
unix_socket_directories = '{directory}'
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 5s
wal_receiver_status_interval = 1s
shared_buffers = 32MB
fsync = off
{inherited}
"""
HBA = """\
local all all trust
host all all 127.0.0.1/32 trust
"""


def _admin() -> tuple[str, int, str]:
    server = make_url(POSTGRES_ADMIN_DSN)
    return server.host or "127.0.0.1", server.port or 5432, server.username or "postgres"


def sql(query: str, port: int | None = None) -> str:
    """One value from the primary (or the server on ``port``), through psql."""
    host, primary_port, user = _admin()
    target = ["-h", host, "-p", str(port or primary_port), "-U", user, "-d", "postgres"]
    result = subprocess.run(  # noqa: S603 (a fixed argument list)
        [_bin("psql"), *target, "-Atqc", query],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"psql {query!r} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def allow_replication() -> None:
    """Add the replication line to the primary's pg_hba.conf if missing, and reload."""
    level = sql("SHOW wal_level")
    senders = int(sql("SHOW max_wal_senders"))
    if level not in ("replica", "logical") or senders < 1:
        raise RuntimeError(
            f"the local cluster cannot stream WAL (wal_level={level}, max_wal_senders="
            f"{senders}): set wal_level=replica and max_wal_senders >= 1, then restart it"
        )
    hba = Path(sql("SHOW hba_file"))
    if _REPLICATION.search(hba.read_text()):
        return
    with hba.open("a") as file:
        file.write(f"\n# streaming replicas of the test suite\n{REPLICATION_LINE}\n")
    sql("SELECT pg_reload_conf()")


def _bin(name: str) -> str:
    """The newest installed PostgreSQL's program ``name`` (Debian's layout), else on PATH."""
    found = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3])
    )
    return str(found[-1]) if found else shutil.which(name) or name


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class StreamingReplica:
    """A hot standby of the local cluster on ``port``."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.data = directory / "data"
        self.log = directory / "postgres.log"

    def url(self, primary_url: str) -> str:
        """``primary_url`` (a database of the primary) on this replica."""
        return make_url(primary_url).set(port=self.port).render_as_string(hide_password=False)

    def start(self) -> None:
        """Start the server; raises with its log when it does not come up."""
        self._pg_ctl("start", "-w", "-t", "120", "-l", str(self.log))
        for _ in range(600):
            try:
                if sql("SELECT pg_is_in_recovery()", self.port) == "t":
                    return
            except RuntimeError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the replica did not accept connections:\n{self._log_tail()}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: as if it crashed)."""
        self._pg_ctl("stop", "-w", "-m", mode)

    def pause_replay(self) -> None:
        """Stop applying WAL: the replica keeps receiving, and falls behind."""
        sql("SELECT pg_wal_replay_pause()", self.port)

    def resume_replay(self) -> None:
        """Apply WAL again."""
        sql("SELECT pg_wal_replay_resume()", self.port)

    def catch_up(self, timeout: float = 60.0) -> None:
        """Wait until the replica has replayed the primary's WAL as of now."""
        target = sql("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn", self.port) == "t":
                return
            time.sleep(0.05)
        raise RuntimeError(f"the replica did not replay up to {target} in {timeout} s")

    def _pg_ctl(self, *arguments: str) -> None:
        command = _as_postgres([_bin("pg_ctl"), "-D", str(self.data), *arguments])
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode:
            raise RuntimeError(
                f"pg_ctl {arguments[0]} failed: {result.stdout}{result.stderr}\n{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        return self.log.read_text()[-4000:] if self.log.exists() else "(no log)"


@contextmanager
def streaming_replica() -> Iterator[StreamingReplica]:
    """A hot standby of the local cluster, caught up; stopped and removed afterwards."""
    allow_replication()
    host, primary_port, user = _admin()
    directory = Path(tempfile.mkdtemp(prefix="sgw-replica-"))
    directory.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    replica = StreamingReplica(directory, free_port())
    try:
        backup = subprocess.run(  # noqa: S603 (a fixed argument list)
            _as_postgres(
                [
                    *(_bin("pg_basebackup"), "-h", host, "-p", str(primary_port), "-U", user),
                    *("-D", str(replica.data), "-R", "-X", "stream", "-c", "fast", "--no-sync"),
                ]
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if backup.returncode:
            raise RuntimeError(f"pg_basebackup failed: {backup.stderr.strip()}")
        inherited = "\n".join(f"{name} = {sql(f'SHOW {name}')}" for name in _AT_LEAST_PRIMARY)
        (replica.data / "postgresql.conf").write_text(
            CONFIG.format(port=replica.port, directory=directory, inherited=inherited)
        )
        (replica.data / "pg_hba.conf").write_text(HBA)
        if os.geteuid() == 0:
            for name in ("postgresql.conf", "pg_hba.conf"):
                shutil.chown(replica.data / name, "postgres")
        replica.start()
        try:
            replica.catch_up()
            yield replica
        finally:
            replica.stop("immediate")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
