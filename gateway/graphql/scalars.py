"""Scalar overrides: timestamps and amounts print exactly as they do in the REST API."""

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry.types.scalar import ScalarDefinition

from planner.formats import format_decimal, format_timestamp, parse_timestamp

DATETIME = strawberry.scalar(
    name="DateTime",
    description="An RFC 3339 timestamp, rendered in UTC with a Z suffix",
    serialize=format_timestamp,
    parse_value=parse_timestamp,
)

DECIMAL = strawberry.scalar(
    name="Decimal",
    description="Decimal (fixed-point)",
    serialize=format_decimal,
    parse_value=Decimal,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {datetime: DATETIME, Decimal: DECIMAL}
