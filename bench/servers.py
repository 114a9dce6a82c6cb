"""The servers under load, each its own process group, and their memory.

Every server is started by the bench, in a new session (process group), and stopped by
signalling that group: the bench ends only what it started.
"""

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

from bench.tools import NODE, POSTGRAPHILE_CLI, ROOT, log

GATEWAY = str(ROOT / ".venv" / "bin" / "session-gateway")
PUBLIC_BASE_URL = "http://127.0.0.1:8000"  # what `uri` fields say; the same for every server


_LIVE: "set[Server]" = set()


def stop_all() -> None:
    """Stop every server this process started and has not stopped yet."""
    for server in list(_LIVE):
        server.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    token: str | None = None,
    timeout: float = 60,
) -> tuple[int, bytes]:
    """One request to 127.0.0.1:port; the status and the body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def http_json(port: int, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    raw = None if body is None else json.dumps(body).encode()
    status, content = http_request(port, method, path, raw, token)
    if status != 200:
        raise RuntimeError(f"{method} {path} answered {status}: {content[:300]!r}")
    return json.loads(content)


class Server:
    """One server process (group) on a port of 127.0.0.1."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        port: int,
        ready: Callable[["Server"], bool],
        log_path: Path,
        workers: Callable[["Server"], list[psutil.Process]] | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.port = port
        self._ready = ready
        self._workers = workers
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> "Server":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as output:
            self.process = subprocess.Popen(
                self.argv,
                env={**os.environ, **self.env},
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _LIVE.add(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {self.log_path}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if self._ready(self):
                    log(f"{self.name} is up on 127.0.0.1:{self.port} (pid {self.process.pid})")
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not get ready in {timeout:.0f} s: see {self.log_path}")

    def workers(self) -> list[psutil.Process]:
        """The processes that serve requests (the uvicorn workers, or the one process)."""
        if self.process is None:
            return []
        if self._workers is not None:
            return self._workers(self)
        try:
            return [psutil.Process(self.process.pid)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        process, self.process = self.process, None
        _LIVE.discard(self)
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _uvicorn_workers(server: Server) -> list[psutil.Process]:
    assert server.process is not None
    try:
        main = psutil.Process(server.process.pid)
        children = main.children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    # uvicorn --workers N spawns N processes (multiprocessing "spawn"); N = 1 serves inline.
    spawned = []
    for child in children:
        with contextlib.suppress(psutil.Error):
            if any("spawn_main" in part for part in child.cmdline()):
                spawned.append(child)
    return spawned or [main]


def gateway(
    database_url: str,
    workers: int,
    log_dir: Path,
    label: str = "gateway",
    extra_env: dict[str, str] | None = None,
) -> Server:
    """``session-gateway serve --workers N`` with production settings (and ``extra_env``)."""
    port = free_port()
    env = {
        "DATABASE_URL": database_url,
        "GRAPHIQL": "false",
        "GRAPHQL_INTROSPECTION": "false",
        "LOG_LEVEL": "warning",
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "PAGINATION_SECRET": "",
        # The token bucket stays on (its cost is part of every request) but never refuses:
        # the bench measures capacity, not the configured per-client limit.
        "RATE_LIMIT_BURST": "1000000000",
        "RATE_LIMIT_PER_SECOND": "1000000000",
        # Likewise the open-session quota is checked but never refuses: the demo data's
        # busiest riders already hold more open sessions than the default allows.
        "MAX_OPEN_SESSIONS_PER_USER": "1000000",
        **(extra_env or {}),
    }
    argv = [GATEWAY, "serve", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--workers", str(workers)]
    return Server(
        label,
        argv,
        env,
        port,
        lambda s: http_request(s.port, "GET", "/readyz", timeout=2)[0] == 200,
        log_dir / f"{label}.log",
        _uvicorn_workers,
    )


def postgraphile(dsn: str, log_dir: Path) -> Server:
    """PostGraphile 5 (amber preset) on the Node.js 22 under bench/node_modules."""
    port = free_port()
    env = {
        "BENCH_PG_URL": dsn,
        "BENCH_PG_PORT": str(port),
        "BENCH_PG_HOST": "127.0.0.1",
        "NODE_ENV": "production",
        "GRAPHILE_ENV": "production",
    }
    config = ROOT / "bench" / "postgraphile" / "graphile.config.mjs"
    argv = [str(NODE), str(POSTGRAPHILE_CLI), "-C", str(config)]
    body = b'{"query":"{ __typename }"}'
    return Server(
        "postgraphile",
        argv,
        env,
        port,
        lambda s: http_request(s.port, "POST", "/graphql", body, timeout=2)[0] == 200,
        log_dir / "postgraphile.log",
    )


def baseline(dsn: str, log_dir: Path) -> Server:
    """bench/baseline.py under uvicorn, one process, like a one-worker gateway."""
    port = free_port()
    env = {"BASELINE_DATABASE_URL": dsn, "PUBLIC_BASE_URL": PUBLIC_BASE_URL}
    argv = [sys.executable, "-m", "uvicorn", "bench.baseline:create_app", "--factory"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    argv += ["--no-access-log"]
    return Server(
        "baseline",
        argv,
        env,
        port,
        lambda s: http_request(s.port, "GET", "/healthz", timeout=2)[0] == 200,
        log_dir / "baseline.log",
    )


class RssMonitor:
    """Samples the resident memory of a server's workers in a background thread."""

    def __init__(
        self,
        server: Server,
        interval: float = 0.25,
        database: str | None = None,
        paused: bool = False,
    ) -> None:
        self.server = server
        self.interval = interval
        # PostgreSQL backends of this database: the last CPU time seen of each, so that a
        # backend that exits between two samples (pool overflow) still counts.
        self.database = database
        self._backends: dict[int, float] = {}
        self.samples: list[tuple[float, dict[int, int]]] = []
        self._peak: dict[int, int] = {}
        self._stop = threading.Event()
        self._active = threading.Event()  # cleared: sample nothing (an idle server's monitor)
        if not paused:
            self._active.set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()

    def _sample(self) -> dict[int, int]:
        rss = {}
        for worker in self.server.workers():
            with contextlib.suppress(psutil.Error):
                rss[worker.pid] = worker.memory_info().rss
        return rss

    def _poll_backends(self) -> None:
        if not self.database:
            return
        marker = f" {self.database} "
        for process in psutil.process_iter(["name", "cmdline"]):
            try:
                if process.info["name"] != "postgres":
                    continue
                if marker not in " ".join(process.info["cmdline"] or []) + " ":
                    continue
                times = process.cpu_times()
            except psutil.Error:
                continue
            with self._lock:
                self._backends[process.pid] = times.user + times.system

    def backend_cpu(self) -> float:
        """CPU seconds of this database's backends seen so far (exited ones included)."""
        self._poll_backends()
        with self._lock:
            return sum(self._backends.values())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if not self._active.is_set():
                continue
            self._poll_backends()
            rss = self._sample()
            with self._lock:
                self.samples.append((time.monotonic() - self._started, rss))
                for pid, value in rss.items():
                    self._peak[pid] = max(self._peak.get(pid, 0), value)

    @contextlib.contextmanager
    def sampling(self) -> Iterator[None]:
        """Sample while the block runs, even if the monitor was started paused."""
        active = self._active.is_set()
        self._active.set()
        try:
            yield
        finally:
            if not active:
                self._active.clear()

    def reset_peak(self) -> None:
        with self._lock:
            self._peak = self._sample()

    def peak(self) -> dict[int, int]:
        """The highest RSS of each worker since the last reset, in bytes."""
        with self._lock:
            current = self._sample()
            for pid, value in current.items():
                self._peak[pid] = max(self._peak.get(pid, 0), value)
            return dict(self._peak)

    def __enter__(self) -> "RssMonitor":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def running(
    server: Server, interval: float = 0.25, database: str | None = None, paused: bool = False
) -> Iterator[tuple[Server, RssMonitor]]:
    """Start the server and its monitor (paused: sampling only in ``monitor.sampling()``);
    stop both afterwards, whatever happens."""
    try:
        server.start()
        with RssMonitor(server, interval, database, paused) as monitor:
            yield server, monitor
    finally:
        server.stop()
