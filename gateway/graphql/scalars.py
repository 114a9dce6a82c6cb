"""Scalar overrides: timestamps render exactly as they do in the REST API."""

from datetime import datetime

import strawberry
from strawberry.types.scalar import ScalarDefinition

from gateway.formats import format_timestamp, parse_timestamp

DATETIME = strawberry.scalar(
    name="DateTime",
    description="An RFC 3339 timestamp, rendered in UTC with a Z suffix",
    serialize=format_timestamp,
    parse_value=parse_timestamp,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {datetime: DATETIME}
