"""Payloads built once per selection on the planned lane are exactly the reference path's."""

import asyncio
import json

from resolvers.live import Update
from storage.database import write_transaction
from tests.fixtures.dataset import SESSIONS
from tests.live.clients import Inbox, metric, open_socket, wait_for_subscriptions, writer_scope
from tests.live_server import live_server

# Every field of a session, its union both ways, fragments, aliases, type names, and
# a directive that reads a variable: what a subscriber may select.
EVERYTHING = """
subscription Everything($more: Boolean!) {
  changed: sessionUpdated {
    __typename id uuid kind status userId accessKeyId createdAt updatedAt bookedTime
    bookedUntilTime startTime endTime uri
    fee { currency value }
    payment { id status }
    rating { rating comment }
    events @include(if: $more) { name timestamp }
    auxiliaryDevices { id uuid kind name location { name } fleet { name } }
    details {
      __typename
      ... on StorageDetails { location { ...Place } device { kind name } }
      ... on TravelDetails {
        secondsActive secondsPaused batteryUsed distanceTravelled
        startLocation { ...Place } endLocation { ...Place }
        rentalDevice { name } rentalFleet { id name }
      }
    }
  }
}
fragment Place on Location { id uuid name timeZone }
"""
EXECUTIONS = "session_gateway_graphql_executions_total"


async def test_planned_payloads_equal_the_reference_paths_and_a_directive_variable_matters(
    database,
):
    url, tokens, engine, env = database
    env = {**env, "PUBLIC_BASE_URL": "https://gateway.test"}  # the same session URLs
    async with (
        live_server(url, **env) as planned,
        live_server(url, GRAPHQL_PLANNER="false", **env) as reference,
    ):
        inboxes = {}
        for base in (planned, reference):
            inbox = Inbox(await open_socket(base, tokens["admin"]))
            for op_id, more in (("more", True), ("less", False), ("again", True)):
                payload = {"query": EVERYTHING, "variables": {"more": more}}
                message = {"id": op_id, "type": "subscribe", "payload": payload}
                await inbox.socket.send(json.dumps(message))
            inboxes[base] = inbox
            await wait_for_subscriptions(base, 3)

        async with writer_scope(engine, env) as writer:
            async with write_transaction(engine) as connection:
                for session in SESSIONS:  # as a write records and announces its change
                    await writer.updates.publish_in(connection, session.id)
            await writer.updates.committed()

        def changed(inbox: Inbox, op_id: str) -> list[dict]:
            return [
                m["payload"]["data"]["changed"]
                for m in inbox.received[op_id]
                if m["type"] == "next" and m["payload"].get("data")
            ]

        for inbox in inboxes.values():
            for op_id in ("more", "less", "again"):
                await inbox.wait_for(lambda i=inbox, o=op_id: len(changed(i, o)) >= len(SESSIONS))
        await asyncio.sleep(0.3)  # nothing more arrives

        built = changed(inboxes[planned], "more")
        assert [update["uuid"] for update in built] == [str(s.id) for s in SESSIONS]
        assert built == changed(inboxes[reference], "more")
        assert changed(inboxes[planned], "again") == built
        assert changed(inboxes[planned], "less") == changed(inboxes[reference], "less")
        assert all("events" not in update for update in changed(inboxes[planned], "less"))
        assert all(update["events"] for update in built if update["status"] != "PENDING")
        assert {update["details"]["__typename"] for update in built} == {
            "StorageDetails",
            "TravelDetails",
        }
        assert any(update["auxiliaryDevices"] for update in built)
        for inbox in inboxes.values():
            assert not any(inbox.errors(op_id) for op_id in ("more", "less", "again"))

        events = len(SESSIONS) * 3
        assert await metric(planned, EXECUTIONS + '{lane="planned",reason=""}') == events
        assert await metric(reference, EXECUTIONS + '{lane="reference",reason="disabled"}') == (
            events
        )
        for inbox in inboxes.values():
            await inbox.close()


async def test_a_payload_is_built_once_per_key_for_every_subscriber_that_asks():
    update = Update(scope=None, row=None)  # what the build reads does not matter here
    builds: list[str] = []
    release = asyncio.Event()

    async def build(key: str) -> dict:
        builds.append(key)
        await release.wait()
        return {"built": key}

    def ask(key: str) -> asyncio.Task:
        return asyncio.create_task(update.payload(key, lambda: build(key)))

    first, *others = [ask("a") for _ in range(5)]
    other_selection = ask("b")
    await asyncio.sleep(0)
    first.cancel()  # the subscriber that started the build goes away
    release.set()
    results = await asyncio.gather(*others, other_selection)
    assert builds == ["a", "b"]
    assert results[:4] == [{"built": "a"}] * 4
    assert all(result is results[0] for result in results[:4])  # the same data, shared
    assert results[4] == {"built": "b"}
