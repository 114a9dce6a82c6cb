"""Fan-out by change: two gateway processes, many subscriptions, each change read once.

At full size: 2,000 subscriptions over 40 sockets of 3 principals while a writer makes
200 changes, on each bus (about 20 s each on two idle cores). ``bench/live_proof.py``
makes the same proof under ``make bench`` and reports delivery latency and CPU."""

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
SOCKETS = 40  # 20 per process, the principals in turn
SUBSCRIPTIONS_PER_SOCKET = 50  # 2,000 in all
CHANGES = 200
STATEMENTS = "session_gateway_db_statements_total"
SETTINGS = {
    "WS_MAX_SOCKETS_PER_PRINCIPAL": "0",
    "WS_MAX_SUBSCRIPTIONS_PER_PRINCIPAL": "0",
    "RATE_LIMIT_BURST": "100000",
    "WS_TOKEN_CHECK_SECONDS": "3600",  # no token checks among the statements counted
}


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
    env = {**env, **SETTINGS}
    places = {LOC_X: [], LOC_Y: []}
    plan = [(USER_A if i % 3 == 0 else USER_B, LOC_X if i % 2 else LOC_Y) for i in range(CHANGES)]
    for _, location in plan:
        places[location].append(await add_device(engine, "locker", location=location))
    async with live_server(url, **env) as first, live_server(url, **env) as second:
        inboxes: list[tuple[str, Inbox]] = []
        for n in range(SOCKETS):
            base, principal = (first, second)[n % 2], PRINCIPALS[n // 2 % len(PRINCIPALS)]
            inbox = Inbox(await open_socket(base, tokens[principal]))
            for op in range(SUBSCRIPTIONS_PER_SOCKET):
                only_b = {"filter": {"userId": str(USER_B)}} if op % 2 else None
                await subscribe(inbox.socket, str(op), only_b)
            inboxes.append((principal, inbox))
        per_process = SOCKETS // 2 * SUBSCRIPTIONS_PER_SOCKET
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

        def delivered(inbox: Inbox) -> int:
            return sum(len(messages) for messages in inbox.received.values())

        for principal, inbox in inboxes:
            want = sum(
                len(expected(principal, bool(op % 2))) for op in range(SUBSCRIPTIONS_PER_SOCKET)
            )
            await inbox.wait_for(lambda i=inbox, w=want: delivered(i) >= w, seconds=120)
        await asyncio.sleep(0.5)  # nothing more arrives
        for principal, inbox in inboxes:
            for op in range(SUBSCRIPTIONS_PER_SOCKET):
                got = inbox.updates(str(op))
                assert [u["uuid"] for u in got] == expected(principal, bool(op % 2)), (
                    principal,
                    op,
                )
                assert len(inbox.received[str(op)]) == len(got)  # no error, nothing else
                assert all(
                    u["status"] == "ACTIVE" and u["events"] == [{"name": "START"}] for u in got
                )

        # Each process reads the changes (with the events the selections show) in one
        # statement per read: at most one per change, whatever the number of subscribers.
        after = [await metric(base, STATEMENTS) for base in (first, second)]
        for spent in (a - b for a, b in zip(after, before, strict=True)):
            assert spent <= CHANGES + 2, f"{spent} statements for {CHANGES} changes"
        for _, inbox in inboxes:
            await inbox.close()
