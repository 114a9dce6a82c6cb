"""The checked-in SDL is the public contract: it must equal what the code builds."""

from pathlib import Path

from gateway.graphql.schema import schema

ROOT = Path(__file__).resolve().parents[2]


def test_schema_graphql_is_up_to_date():
    checked_in = (ROOT / "schema.graphql").read_text()
    assert checked_in.strip() == schema.as_str().strip(), (
        "schema.graphql is stale: run `make schema` and commit it"
    )


def test_session_details_is_a_union_of_storage_and_travel():
    sdl = schema.as_str()
    assert "union SessionDetails = StorageDetails | TravelDetails" in sdl
    for node in ("Session", "Device", "Location", "Fleet"):
        assert f"type {node} implements Node" in sdl
