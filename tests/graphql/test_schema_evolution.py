"""The schema only breaks clients after a recorded deprecation period."""

import re
from pathlib import Path

from graphql import build_schema, find_breaking_changes

from gateway.graphql.schema import schema

ROOT = Path(__file__).resolve().parents[2]
RECORDED = re.compile(r"^- BREAKING: (?P<change>.+) \(deprecated since \d{4}-\d{2}-\d{2}\)$")


def recorded_breaking_changes() -> set[str]:
    lines = (ROOT / "CHANGELOG.md").read_text().splitlines()
    return {m["change"] for line in lines if (m := RECORDED.match(line.strip()))}


def breaking_changes(old_sdl: str, new_sdl: str) -> list[str]:
    changes = find_breaking_changes(build_schema(old_sdl), build_schema(new_sdl))
    return [change.description for change in changes]


def test_no_unrecorded_breaking_change_since_the_last_release():
    released = (ROOT / "docs" / "schema" / "released.graphql").read_text()
    unrecorded = set(breaking_changes(released, schema.as_str())) - recorded_breaking_changes()
    assert not unrecorded, f"breaking changes without a deprecation record: {sorted(unrecorded)}"


def test_the_check_catches_a_removed_field():
    released = (ROOT / "docs" / "schema" / "released.graphql").read_text()
    without_uri = re.sub(r'  """[^"]*"""\n  uri: String!\n', "", released, count=1)
    assert without_uri != released
    assert any("uri" in change for change in breaking_changes(released, without_uri))
