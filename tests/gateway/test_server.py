"""The served process: whose forwarded address is believed, and how long a client may dawdle."""

import asyncio
from urllib.parse import urlsplit

import httpx
import pytest

from tests.live_server import live_server

SLOW = {"RATE_LIMIT_BURST": "3", "RATE_LIMIT_PER_SECOND": "0.001"}
# Far above the limits the servers below are given: only a hang would reach it.
HANG = 30


async def statuses(base: str, forwarded: list[str]) -> list[int]:
    """Unauthenticated requests (their client address pays) claiming each address."""
    async with httpx.AsyncClient(base_url=base) as client:
        return [
            (await client.get("/session/v2/sessions", headers={"X-Forwarded-For": f})).status_code
            for f in forwarded
        ]


async def test_a_forwarded_address_is_not_believed_by_default(backend):
    async with live_server(backend.url, **SLOW) as base:
        answers = await statuses(base, [f"203.0.113.{i}" for i in range(4)])
    assert answers == [401, 401, 401, 429]  # one bucket: the real (loopback) address


async def test_a_forwarded_address_is_believed_from_a_trusted_proxy(backend):
    async with live_server(backend.url, FORWARDED_ALLOW_IPS="127.0.0.1", **SLOW) as base:
        rotated = await statuses(base, [f"203.0.113.{i}" for i in range(4)])
        repeated = await statuses(base, ["198.51.100.7"] * 4)
    assert rotated == [401, 401, 401, 401]  # each claimed address is the proxy's word
    assert repeated == [401, 401, 401, 429]


@pytest.fixture(scope="module")
async def impatient(backend):
    """A server allowing half a second for a request's headers, and as much for its body."""
    limits = {"REQUEST_HEADER_TIMEOUT": "0.5", "REQUEST_BODY_TIMEOUT": "0.5"}
    async with live_server(backend.url, **limits) as base:
        yield base


async def open_connection(base: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(base)
    return await asyncio.open_connection(url.hostname, url.port)


async def answer_of(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    return await asyncio.wait_for(reader.read(), HANG)


async def test_connections_that_never_finish_their_headers_are_answered_408_and_closed(
    impatient,
):
    silent = [await open_connection(impatient) for _ in range(50)]
    trickling = [await open_connection(impatient) for _ in range(50)]
    for _, writer in trickling:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Slow: ")
        await writer.drain()
    answers = await asyncio.gather(*(answer_of(r) for r, _ in silent + trickling))
    async with httpx.AsyncClient(base_url=impatient) as client:
        assert (await client.get("/healthz")).status_code == 200
    for _, writer in silent + trickling:
        writer.close()
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), set(answers)


async def test_a_kept_alive_connection_gets_the_header_limit_anew_for_each_request(impatient):
    reader, writer = await open_connection(impatient)
    for _ in range(3):
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HANG)
        assert head.startswith(b"HTTP/1.1 200 ")
        await asyncio.wait_for(reader.readuntil(b'"ok"}'), HANG)
        await asyncio.sleep(0.3)  # idle, within keep-alive: the header limit is not armed
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n")  # and never the blank line
    await writer.drain()
    assert (await answer_of(reader)).startswith(b"HTTP/1.1 408 ")
    writer.close()


@pytest.mark.parametrize("sent", [0, 10])
async def test_a_body_that_arrives_too_slowly_is_a_408(impatient, backend, sent):
    reader, writer = await open_connection(impatient)
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {backend.tokens['admin']}\r\n".encode()
        + b"Content-Length: 100\r\n\r\n"
        + b'{"query": '[:sent]
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HANG)
    body = await asyncio.wait_for(reader.read(4096), HANG)
    writer.close()
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b'"code":"REQUEST_TIMEOUT"' in body
    assert f"({sent} bytes came)".encode() in body
