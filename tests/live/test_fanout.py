"""Fan-out by change: two gateway processes, many subscriptions, each change read once."""

import asyncio

from resolvers.commands import start_session
from tests.fixtures.dataset import LOC_X, LOC_Y, USER_A, USER_B, add_device
from tests.live.clients import (
    Inbox,
    metric,
    open_socket,
    subscribe,
    wait_for_subscriptions,
    writer_scope,
)
from tests.live_server import live_server

PRINCIPALS = ("admin", "user_b", "operator_x")
SOCKETS_PER_PRINCIPAL = 2
SUBSCRIPTIONS_PER_SOCKET = 20
CHANGES = 30
STATEMENTS = "session_gateway_db_statements_total"


def visible(principal: str, change: tuple) -> bool:
    user, location = change
    return {
        "admin": True,
        "user_b": user == USER_B,
        "operator_x": location == LOC_X,
    }[principal]


async def test_each_subscriber_gets_exactly_its_changes_in_order_for_statements_per_change(
    database,
):
    url, tokens, engine, env = database
    places = {LOC_X: [], LOC_Y: []}
    plan = [(USER_A if i % 3 == 0 else USER_B, LOC_X if i % 2 else LOC_Y) for i in range(CHANGES)]
    for _, location in plan:
        places[location].append(await add_device(engine, "locker", location=location))
    async with live_server(url, **env) as first, live_server(url, **env) as second:
        inboxes: list[tuple[str, Inbox]] = []
        for base in (first, second):
            for principal in PRINCIPALS:
                for _ in range(SOCKETS_PER_PRINCIPAL):
                    inbox = Inbox(await open_socket(base, tokens[principal]))
                    for n in range(SUBSCRIPTIONS_PER_SOCKET):
                        only_b = {"filter": {"userId": str(USER_B)}} if n % 2 else None
                        await subscribe(inbox.socket, str(n), only_b)
                    inboxes.append((principal, inbox))
        per_process = len(PRINCIPALS) * SOCKETS_PER_PRINCIPAL * SUBSCRIPTIONS_PER_SOCKET
        await wait_for_subscriptions(first, per_process)
        await wait_for_subscriptions(second, per_process)
        before = [await metric(base, STATEMENTS) for base in (first, second)]

        made: list[tuple[str, tuple]] = []
        async with writer_scope(engine, env) as writer:
            for user, location in plan:
                device = places[location].pop()
                record = await start_session(writer, device_id=device, user_id=user)
                made.append((str(record.id), (user, location)))

        def expected(principal: str, filtered: bool) -> list[str]:
            return [
                session_id
                for session_id, change in made
                if visible(principal, change) and (not filtered or change[0] == USER_B)
            ]

        for principal, inbox in inboxes:
            for n in range(SUBSCRIPTIONS_PER_SOCKET):
                want = expected(principal, bool(n % 2))
                await inbox.wait_for(lambda i=inbox, n=n, w=want: len(i.updates(str(n))) >= len(w))
                got = inbox.updates(str(n))
                assert [u["uuid"] for u in got] == want, (principal, n)
                assert all(
                    u["status"] == "ACTIVE" and u["events"] == [{"name": "START"}] for u in got
                )
        await asyncio.sleep(0.3)  # nothing more arrives
        for principal, inbox in inboxes:
            for n in range(SUBSCRIPTIONS_PER_SOCKET):
                assert len(inbox.updates(str(n))) == len(expected(principal, bool(n % 2)))

        # Each process reads a change once, and once per principal what the selections
        # nest (events): a bound that does not grow with the number of subscribers.
        after = [await metric(base, STATEMENTS) for base in (first, second)]
        bound = CHANGES * (1 + len(PRINCIPALS)) + 2
        for spent in (a - b for a, b in zip(after, before, strict=True)):
            assert spent <= bound, f"{spent} statements for {CHANGES} changes"
        for _, inbox in inboxes:
            await inbox.close()
