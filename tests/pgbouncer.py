"""A real PgBouncer (Debian's package) in transaction mode, in front of the local PostgreSQL."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_ADMIN_DSN
from tests.live_server import free_port

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"

# Every database of the local server, reached through PgBouncer under its own name. Few
# server connections, so that one client's statements meet the servers others used.
CONFIG = """\
[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/userlist.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
server_reset_query =
logfile = {directory}/pgbouncer.log
"""


@contextmanager
def running_pgbouncer(pool_size: int = 2) -> Iterator[int]:
    """Start PgBouncer on a free port (dropping root to postgres); yields the port."""
    assert os.path.exists(PGBOUNCER), "pgbouncer is missing: apt-get install pgbouncer"
    server = make_url(POSTGRES_ADMIN_DSN)
    directory = Path(tempfile.mkdtemp(prefix="sgw-pgbouncer-"))
    directory.chmod(0o755)  # PgBouncer runs as postgres and writes its log here
    port = free_port()
    (directory / "userlist.txt").write_text(f'"{server.username}" ""\n')
    config = directory / "pgbouncer.ini"
    config.write_text(
        CONFIG.format(
            host=server.host,
            port=server.port or 5432,
            listen_port=port,
            directory=directory,
            pool_size=pool_size,
        )
    )
    as_user = ["-u", "postgres"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(directory, "postgres")
    process = subprocess.Popen(  # noqa: S603 (a fixed argument list)
        [PGBOUNCER, *as_user, str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(port, process, directory / "pgbouncer.log")
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(100):
        if process.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    text = log.read_text() if log.exists() else ""
    raise RuntimeError(f"PgBouncer did not start (status {process.poll()}):\n{text}")


def through(url: str, port: int) -> str:
    """``url`` with PgBouncer's port in place of PostgreSQL's."""
    return make_url(url).set(port=port).render_as_string(hide_password=False)
