"""Visibility comes from the shared resolvers: hidden sessions are 404s and never listed."""

import pytest

from tests.fixtures.dataset import (
    DOCK_X,
    LOCKER_X,
    SESSIONS,
    TOKEN_SUBJECTS,
    USER_A,
    USER_B,
    visible_to,
)
from tests.rest.data import newest_first, session

SUBJECTS = list(TOKEN_SUBJECTS)


async def test_user_b_gets_404_for_user_a_session_through_v1_and_v2(rest, tokens):
    s = session(101)
    assert s.user_id == USER_A
    for url in (
        f"/session/v1/device-sessions/{s.id}",
        f"/session/v2/users/{USER_A}/sessions/{s.id}",
        f"/session/v2/users/{USER_B}/sessions/{s.id}",
        f"/session/v1/devices/{DOCK_X}/sessions",
    ):
        response = await rest.get(url, tokens["user_b"])
        assert response.status_code == 404, url
        assert response.json()["error_code"] == "ERRORS.NOT_FOUND"
    assert (await rest.get(f"/session/v1/device-sessions/{s.id}", tokens["user_a"])).is_success


async def test_a_device_answers_only_with_a_session_the_caller_may_see(rest, tokens):
    # Locker X's latest session is A's; B only sees its own older one there.
    body = await rest.ok(f"/session/v1/devices/{LOCKER_X}/sessions", tokens["user_b"])
    assert body["id"] == str(session(109).id)


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_the_v2_list_holds_exactly_the_visible_sessions(rest, tokens, subject):
    body = await rest.ok("/session/v2/sessions?limit=1000", tokens[subject])
    visible = visible_to(subject)
    assert [s["id"] for s in body["data"]] == newest_first([s for s in SESSIONS if s.id in visible])


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("active", ["true", "false"])
async def test_the_v1_list_holds_exactly_the_visible_parking_sessions(
    rest, tokens, subject, active
):
    body = await rest.ok(f"/session/v1/device-sessions?active={active}", tokens[subject])
    status = "active" if active == "true" else "ended"
    expected = [
        s
        for s in SESSIONS
        if s.id in visible_to(subject) and s.kind == "parking" and s.status == status
    ]
    assert [s["id"] for s in body["data"]] == newest_first(expected)


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_every_session_is_found_exactly_when_visible(rest, tokens, subject):
    visible = visible_to(subject)
    for s in SESSIONS:
        response = await rest.get(f"/session/v2/users/{s.user_id}/sessions/{s.id}", tokens[subject])
        assert response.status_code == (200 if s.id in visible else 404), (subject, s.id)


async def test_filtering_by_another_user_shows_nothing_to_a_rider(rest, tokens):
    body = await rest.ok(f"/session/v2/sessions?user_id={USER_A}", tokens["user_b"])
    assert body["data"] == []
