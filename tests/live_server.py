"""A real gateway process on a free loopback port, for tests that need real HTTP and WebSockets."""

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

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
    database_url: str, *, args: Sequence[str] = (), **env: str
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """Like ``live_server``, also yielding the process, for tests that signal it."""
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
        stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                if process.returncode is not None:
                    break
                try:
                    if (await client.get(f"{base}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError(f"the gateway on {base} did not become ready")
        if process.returncode is not None:
            stderr = (await process.stderr.read()).decode() if process.stderr else ""
            raise RuntimeError(f"the gateway exited with {process.returncode}: {stderr}")
        yield base, process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
