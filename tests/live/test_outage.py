"""A cut between a gateway and its bus (PostgreSQL or Redis): reported, then caught up."""

import asyncio

import httpx

from resolvers.commands import start_session
from tests.fault_proxy import FaultProxy
from tests.fixtures.dataset import LOC_X, USER_A, USER_B, add_device
from tests.live.clients import (
    Inbox,
    open_socket,
    subscribe,
    wait_for_subscriptions,
    writer_scope,
)
from tests.live_server import live_server

CUT_SECONDS = 4


async def ready(base: str) -> bool:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{base}/readyz", timeout=5)).status_code == 200


async def test_changes_made_during_a_cut_are_delivered_once_the_bus_is_back(database):
    """The cut is between the gateway and what carries its notices: PostgreSQL or Redis."""
    url, tokens, engine, env = database
    admin = tokens["admin"]
    redis = env["LIVE_UPDATES"] == "redis"
    proxy = FaultProxy(target_port=6379 if redis else 5432)
    await proxy.start()
    settings = dict(env, DB_CONNECT_TIMEOUT="1", DB_STATEMENT_TIMEOUT_MS="2000")
    if redis:
        settings["REDIS_URL"] = f"redis://127.0.0.1:{proxy.port}/0"
    else:
        url = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    devices = [await add_device(engine, "locker", location=LOC_X) for _ in range(2)]
    # The writer reaches the database and Redis directly, not through the proxy.
    try:
        async with live_server(url, **settings) as base, writer_scope(engine, env) as writer:
            old = Inbox(await open_socket(base, admin))
            await subscribe(old.socket, "old")
            await wait_for_subscriptions(base, 1)

            await proxy.cut()
            async with asyncio.timeout(10):
                while await ready(base):  # noqa: ASYNC110 (another process)
                    await asyncio.sleep(0.1)
            await old.wait_for(lambda: old.errors("old"))
            error = old.errors("old")[0]
            assert error["extensions"]["code"] == "UNAVAILABLE"
            assert error["extensions"]["correlationId"]
            assert "interrupted" in error["message"]
            during = await start_session(writer, device_id=devices[0], user_id=USER_A)
            await asyncio.sleep(CUT_SECONDS)

            await proxy.restore()
            await old.wait_for(lambda: old.updates("old"), seconds=5)
            assert [u["uuid"] for u in old.updates("old")] == [str(during.id)]
            async with asyncio.timeout(5):
                while not await ready(base):  # noqa: ASYNC110 (another process)
                    await asyncio.sleep(0.1)

            new = Inbox(await open_socket(base, admin))
            await subscribe(new.socket, "new")
            await wait_for_subscriptions(base, 2)
            after = await start_session(writer, device_id=devices[1], user_id=USER_B)
            await old.wait_for(lambda: len(old.updates("old")) == 2, seconds=5)
            await new.wait_for(lambda: new.updates("new"), seconds=5)
            assert old.updates("old")[1]["uuid"] == str(after.id)
            assert [u["uuid"] for u in new.updates("new")] == [str(after.id)]
            await old.close()
            await new.close()
    finally:
        await proxy.cut()
