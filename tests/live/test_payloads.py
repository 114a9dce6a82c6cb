"""Payloads built once per selection on the planned lane are exactly the reference path's."""

import asyncio
import json

from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from gateway.graphql.limits import GraphQLLimits
from gateway.graphql.planning import PlannedReads, PlannedSubscription
from gateway.graphql.schema import schema
from resolvers.live import Update
from storage.database import write_transaction
from tests.fixtures.dataset import SESSIONS, USER_A
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
        # Another principal's subscribers get the same payloads of what they may see.
        rider = Inbox(await open_socket(planned, tokens["user_a"]))
        message = {"id": "more", "type": "subscribe", "payload": {"query": EVERYTHING}}
        message["payload"]["variables"] = {"more": True}
        await rider.socket.send(json.dumps(message))
        await wait_for_subscriptions(planned, 4)
        await wait_for_subscriptions(reference, 3)

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
        riders = [u for u in built if u["userId"] == str(USER_A)]
        await rider.wait_for(lambda: len(changed(rider, "more")) >= len(riders))
        assert changed(rider, "more") == riders
        await rider.close()

        events = len(SESSIONS) * 3 + len(riders)
        assert await metric(planned, EXECUTIONS + '{lane="planned",reason=""}') == events
        assert await metric(reference, EXECUTIONS + '{lane="reference",reason="disabled"}') == (
            len(SESSIONS) * 3
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


async def test_the_principals_of_a_change_share_a_payload_only_when_a_selection_shows_them_alike():
    updates = [Update(scope=None, row=None) for _ in range(2)]  # two principals
    updates[1].everyone = updates[0].everyone  # of one change
    builds: list[str] = []

    async def build(name: str) -> dict:
        builds.append(name)
        return {"built": name}

    for update in updates:
        await update.payload("alike", lambda: build("alike"), everyone=True)
        await update.payload("own", lambda: build("own"))
    assert builds == ["alike", "own", "own"]


def plan_of(document: str, variables: dict | None = None):
    parsed = parse(document)
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return PlannedReads(schema, GraphQLLimits()).subscription(
        operations[0], fragments, variables or {}
    )


def test_a_selection_shows_every_principal_the_same_unless_it_reaches_visible_sessions_or_pages():
    alike = plan_of(EVERYTHING, {"more": True})
    assert isinstance(alike, PlannedSubscription) and alike.for_everyone
    for nested in (
        "details { ... on StorageDetails { device { currentSession { uuid } } } }",
        "details { ... on StorageDetails { location { sessions { nodes { uuid } } } } }",
        "details { ... on StorageDetails { location { devices { edges { cursor } } } } }",
    ):
        planned = plan_of(f"subscription {{ sessionUpdated {{ uuid {nested} }} }}")
        assert isinstance(planned, PlannedSubscription) and not planned.for_everyone, nested
