"""The custom scalars: each prints exactly as the REST API does and names its specification.

Every scalar carries ``@specifiedBy`` so that code generators and clients know its
format (docs/graphql.md says how to map each to a language type). Input is parsed as
strictly as REST parses the same value: a ``Date`` is ``YYYY-MM-DD`` and nothing else
Python would accept (``20250101``, ``2025-W01-1``); a ``UUID`` is hyphenated.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal

import strawberry
from strawberry.types.scalar import ScalarDefinition

from planner.formats import (
    format_decimal,
    format_timestamp,
    format_uuid,
    parse_date,
    parse_timestamp,
    parse_uuid,
)

DATETIME = strawberry.scalar(
    name="DateTime",
    description="An RFC 3339 timestamp, rendered in UTC with a Z suffix",
    specified_by_url="https://scalars.graphql.org/andimarek/date-time",
    serialize=format_timestamp,
    parse_value=parse_timestamp,
)

DATE = strawberry.scalar(
    name="Date",
    description="A calendar date, YYYY-MM-DD (RFC 3339 full-date)",
    specified_by_url="https://scalars.graphql.org/andimarek/local-date",
    serialize=date.isoformat,
    parse_value=parse_date,
)

DECIMAL = strawberry.scalar(
    name="Decimal",
    description=(
        'An exact decimal number as a string in positional notation ("2.50", never an '
        "exponent): read it into a decimal type, never a float"
    ),
    specified_by_url="https://speleotrove.com/decimal/decarith.html",
    serialize=format_decimal,
    parse_value=Decimal,
)

UUID = strawberry.scalar(
    name="UUID",
    description="A UUID in its hyphenated form (RFC 9562)",
    specified_by_url="https://www.rfc-editor.org/rfc/rfc9562",
    serialize=format_uuid,
    parse_value=parse_uuid,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {
    datetime: DATETIME,
    date: DATE,
    Decimal: DECIMAL,
    uuid.UUID: UUID,
}
