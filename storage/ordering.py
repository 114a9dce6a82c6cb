"""The orders a session list can take, and the keyset conditions that page through them.

A list is ordered by one key column, then by id: ``(key, id)`` ascending or descending.
Nulls of a key sort as greater than every value, as in PostgreSQL and in PostGraphile's
and Hasura's default orders: last when ascending, first when descending. Both
databases get the same order because it is spelled out (``NULLS LAST``/``NULLS FIRST``).

A position is a row's ``(key, id)``. The rows beyond a position are given as disjoint
AND-only alternatives whose union they are: a nullable key splits them into the rows
with a value and the rows without, so that each alternative is one range of the
``(key, id)`` index and can stop after a page (an OR across them could not).
"""

import uuid
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, UnaryExpression, bindparam, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from storage.models import Session


class SessionOrder(StrEnum):
    """How a session list is ordered: a key and a direction; the id breaks ties."""

    REFERENCE_TIME_DESC = "reference_time_desc"
    REFERENCE_TIME_ASC = "reference_time_asc"
    START_TIME_DESC = "start_time_desc"
    START_TIME_ASC = "start_time_asc"
    END_TIME_DESC = "end_time_desc"
    END_TIME_ASC = "end_time_asc"
    CREATED_AT_DESC = "created_at_desc"
    CREATED_AT_ASC = "created_at_asc"
    FEE_DESC = "fee_desc"
    FEE_ASC = "fee_asc"


DEFAULT_ORDER = SessionOrder.REFERENCE_TIME_DESC

# Each key's column; the fee is ordered by its amount in minor units (currencies as they are).
_KEYS: dict[str, InstrumentedAttribute[Any]] = {
    "reference_time": Session.reference_time,
    "start_time": Session.start_time,
    "end_time": Session.end_time,
    "created_at": Session.created_at,
    "fee": Session.fee_minor,
}
_ID = Session.id.type

Alternatives = list[list[ColumnElement[bool]]]


@dataclass(frozen=True, slots=True)
class Ordering:
    """One ``SessionOrder`` as SQL: its ORDER BY and the keyset conditions paging it."""

    order: SessionOrder
    field: str  # the column (and SessionRow field) of the key
    descending: bool
    nullable: bool
    timestamp: bool  # the key is a timestamp (else an integer)

    @classmethod
    def of(cls, order: SessionOrder) -> "Ordering":
        """The ordering of ``order``."""
        key, _, direction = order.value.rpartition("_")
        column = _KEYS[key]
        return cls(
            order,
            column.key,
            direction == "desc",
            bool(column.nullable),
            column.key != "fee_minor",
        )

    def key_of(self, row: Any) -> Any:
        """A row's key, as a cursor holds it: an aware timestamp, an integer or None."""
        value = getattr(row, self.field)
        if self.timestamp and value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    def order_by(
        self, backwards: bool = False, source: Any = None
    ) -> tuple[UnaryExpression[Any], ...]:
        """The list order (``backwards``: its reverse), on the table or a sub-select's columns."""
        key, id_ = self._columns(source)
        if self.descending != backwards:
            if self.nullable:
                return (key.desc().nulls_first(), id_.desc())
            return (key.desc(), id_.desc())
        if self.nullable:
            return (key.asc().nulls_last(), id_.asc())
        return (key.asc(), id_.asc())

    def beyond(self, name: str, key_is_null: bool, backwards: bool = False) -> Alternatives:
        """The rows after the position bound as ``<name>_key`` and ``<name>_id`` in list order.

        ``backwards``: before it instead. ``key_is_null`` tells which statement serves the
        position (the bound key is then unused). The alternatives come in list order:
        every row of the first comes before every row of the second.
        """
        greater = self.descending == backwards
        return self._greater(name, key_is_null) if greater else self._less(name, key_is_null)

    def _greater(self, name: str, null: bool) -> Alternatives:
        key, id_ = self._columns(None)
        if null:
            return [[key.is_(None), id_ > _bound_id(name)]]
        alternatives: Alternatives = [[tuple_(key, id_) > self._position(name)]]
        if self.nullable:
            alternatives.append([key.is_(None)])
        return alternatives

    def _less(self, name: str, null: bool) -> Alternatives:
        key, id_ = self._columns(None)
        if null:
            return [[key.is_(None), id_ < _bound_id(name)], [key.is_not(None)]]
        return [[tuple_(key, id_) < self._position(name)]]

    def _position(self, name: str) -> ColumnElement[Any]:
        key_type = _KEYS[self.order.value.rpartition("_")[0]].type
        position: ColumnElement[Any] = tuple_(
            bindparam(f"{name}_key", type_=key_type), _bound_id(name)
        )
        return position

    def _columns(self, source: Any) -> tuple[Any, Any]:
        if source is None:
            return Session.__table__.c[self.field], Session.__table__.c.id
        return source.c[self.field], source.c.id

    def params(self, name: str, key: Any, id_: uuid.UUID) -> dict[str, Any]:
        """The values ``beyond`` binds for a position."""
        return {f"{name}_key": key, f"{name}_id": id_}


def _bound_id(name: str) -> BindParameter[uuid.UUID]:
    return bindparam(f"{name}_id", type_=_ID)


ORDERINGS = {order: Ordering.of(order) for order in SessionOrder}


def combine(*parts: Alternatives) -> Alternatives:
    """The alternatives of an AND of alternatives (their cross product)."""
    combined: Alternatives = [[]]
    for alternatives in parts:
        combined = [a + b for a in combined for b in alternatives]
    return combined
