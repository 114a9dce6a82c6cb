"""A real gateway process on a free loopback port, for tests that need real HTTP and WebSockets."""

import asyncio
import os
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def live_server(
    database_url: str, *, args: Sequence[str] = (), **env: str
) -> AsyncIterator[str]:
    """Run ``session-gateway serve [args]`` over ``database_url``; yields its base URL."""
    async with live_process(database_url, args=args, **env) as (base, _process):
        yield base


@asynccontextmanager
async def live_process(
    database_url: str, *, args: Sequence[str] = (), log: Path | None = None, **env: str
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """Like ``live_server``, also yielding the process, for tests that signal it.

    The server's log (its stderr) goes to the file ``log``, or to a temporary one: a pipe
    nobody reads would stop the server once its buffer is full.
    """
    with tempfile.TemporaryDirectory() as scratch:
        log = log or Path(scratch) / "server.log"
        with log.open("wb") as log_file:
            port = free_port()
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gateway.cli",
                "serve",
                "--port",
                str(port),
                *args,
                env={**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "warning", **env},
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log_file,
            )
            try:
                base = await _ready(process, port, log)
                yield base, process
            finally:
                if process.returncode is None:
                    process.terminate()
                    try:
                        await asyncio.wait_for(process.wait(), 15)
                    except TimeoutError:
                        process.kill()
                        await process.wait()


async def _ready(process: asyncio.subprocess.Process, port: int, log: Path) -> str:
    """The base URL once the server answers /readyz; raises with its log if it exits."""
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            if process.returncode is not None:
                break
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return base
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    if process.returncode is not None:
        stderr = await asyncio.to_thread(log.read_text, errors="replace")
        raise RuntimeError(f"the gateway exited with {process.returncode}: {stderr}")
    raise RuntimeError(f"the gateway on {base} did not become ready")
