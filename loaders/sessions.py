"""Loaders for sessions and what hangs off them: events, auxiliary devices, nested lists.

Loaders that return sessions take ``visible``, the caller's visibility condition, so a
hidden session is never loaded at all; the resolvers decide what that condition is.
"""

import uuid
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
)

from loaders.base import (
    BatchLoader,
    K,
    Reads,
    V,
    Visibility,
    in_key_order,
)
from storage.enums import SessionStatus
from storage.models import Session
from storage.ordering import DEFAULT_ORDER, ORDERINGS, SessionOrder
from storage.queries import (
    SESSION_ROW_COLUMNS,
    in_keys,
    select_session_rows,
    session_row_columns,
)
from storage.records import SessionRow


class VisibleSessionsLoader(BatchLoader[K, V]):
    """A loader of sessions the caller may see, its statement built once per shape."""

    statements: ClassVar[dict[Hashable, Select[Any]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.statements = {}

    def __init__(self, reads: Reads, visibility: Visibility) -> None:
        super().__init__()
        self.reads = reads
        self.visibility = visibility

    def build(self, dialect: str, visible: ColumnElement[bool], *extra: Any) -> Select[Any]:
        """The statement for ``dialect`` and a visibility condition (values bound by name)."""
        raise NotImplementedError

    async def fetch(self, params: dict[str, Any], *extra: Hashable) -> Sequence[Any]:
        """Run this loader's statement (built on first use) with ``params``."""
        dialect = self.reads.dialect
        shape = (dialect, self.visibility.shape, *extra)
        statement = self.statements.get(shape)
        if statement is None:
            statement = self.build(dialect, self.visibility.condition, *extra)
            self.statements[shape] = statement
        return await self.reads.rows(statement, {**self.visibility.params, **params})


class SessionByIdLoader(VisibleSessionsLoader[uuid.UUID, SessionRow | None]):
    """Sessions by id as stored rows with their events, among those the caller may see."""

    def build(self, dialect: str, visible: ColumnElement[bool], *extra: Any) -> Select[Any]:
        """Rows by id."""
        return select_session_rows(dialect).where(in_keys(Session.id, "keys", dialect), visible)

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[SessionRow | None]:
        """One SELECT for every session asked for in this tick."""
        rows = await self.fetch({"keys": list(keys)})
        return in_key_order(keys, {row[0]: SessionRow._make(row) for row in rows})


class OpenSessionByDeviceLoader(VisibleSessionsLoader[uuid.UUID, SessionRow | None]):
    """The booked or active session of each device, among those the caller may see."""

    def build(self, dialect: str, visible: ColumnElement[bool], *extra: Any) -> Select[Any]:
        """Open sessions parked in or riding the devices."""
        return select_session_rows(dialect).where(
            Session.status.in_(_literal([SessionStatus.BOOKED.value, SessionStatus.ACTIVE.value])),
            in_keys(Session.storage_device_id, "keys", dialect)
            | in_keys(Session.rental_device_id, "keys", dialect),
            visible,
        )

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[SessionRow | None]:
        """One SELECT over both device columns; at most one open session per device."""
        by_device: dict[uuid.UUID, SessionRow] = {}
        for fetched in await self.fetch({"keys": list(keys)}):
            row = SessionRow._make(fetched)
            by_device[row.storage_device_id or row.rental_device_id] = row  # type: ignore[index]
        return in_key_order(keys, by_device)


def _literal(values: list[str]) -> BindParameter[Any]:
    """Values written into the SQL, not bound.

    A generic plan then knows them and can use the partial indexes on open sessions
    (``status IN ('booked', 'active')``).
    """
    return bindparam("literal_values", values, expanding=True, literal_execute=True)


class Parent(StrEnum):
    """What a nested session list hangs off."""

    DEVICE = "device"
    LOCATION = "location"
    FLEET = "fleet"


_PARENT_COLUMNS = {
    Parent.DEVICE: (Session.storage_device_id, Session.rental_device_id),
    Parent.LOCATION: (
        Session.storage_location_id,
        Session.travel_start_location_id,
        Session.travel_end_location_id,
    ),
    Parent.FLEET: (Session.rental_fleet_id,),
}


@dataclass(frozen=True, slots=True)
class NestedPageKey:
    """One nested list: the parent, the page size, where the page starts, and its order."""

    parent: Parent
    parent_id: uuid.UUID
    limit: int
    after: tuple[Any, uuid.UUID] | None = None
    order: SessionOrder = DEFAULT_ORDER


class SessionsByParentLoader(VisibleSessionsLoader[NestedPageKey, list[SessionRow]]):
    """The first sessions of many devices, locations or fleets in one query per batch.

    Each key gets ``limit`` rows at most (callers ask for one more than the page size to
    learn whether a next page exists), ranked per parent with a window function.
    """

    async def batch_load_fn(self, keys: Sequence[NestedPageKey]) -> list[list[SessionRow]]:
        """One query per (parent kind, page size, start, order): one for a typical page."""
        groups: dict[tuple[Parent, int, Any, SessionOrder], list[uuid.UUID]] = {}
        for key in keys:
            groups.setdefault((key.parent, key.limit, key.after, key.order), []).append(
                key.parent_id
            )
        found: dict[NestedPageKey, list[SessionRow]] = {}
        for (parent, limit, after, order), parent_ids in groups.items():
            loaded = await self._load_group(parent, limit, after, order, parent_ids)
            for parent_id, records in loaded.items():
                found[NestedPageKey(parent, parent_id, limit, after, order)] = records
        return [found.get(key, []) for key in keys]

    def build(self, dialect: str, visible: ColumnElement[bool], *extra: Any) -> Select[Any]:
        """The first ``page_limit`` sessions of each parent.

        ``extra``: the parent kind, the order, and whether the page starts after a
        position (None: it does not; else whether the position's key is null).
        """
        parent, order, after_null = extra
        ordering = ORDERINGS[order]
        ranked = []
        for column in _PARENT_COLUMNS[parent]:
            conditions = [in_keys(column, "parent_ids", dialect), visible]
            if after_null is not None:
                beyond = ordering.beyond("after", after_null)
                conditions.append(or_(*(and_(*alternative) for alternative in beyond)))
            ranked.append(
                select(
                    column.label("parent_id"),
                    *SESSION_ROW_COLUMNS,
                    func.row_number()
                    .over(partition_by=column, order_by=ordering.order_by())
                    .label("rank"),
                ).where(*conditions)
            )
        # A rental can start and end at the same location: de-duplicate per parent.
        union = (
            ranked[0].union_all(*ranked[1:]).subquery() if len(ranked) > 1 else ranked[0].subquery()
        )
        return (
            select(union.c.parent_id, *session_row_columns(union, dialect))
            .where(union.c.rank <= bindparam("page_limit", type_=Integer))
            .order_by(union.c.parent_id, *ordering.order_by(source=union))
        )

    async def _load_group(
        self,
        parent: Parent,
        limit: int,
        after: tuple[Any, uuid.UUID] | None,
        order: SessionOrder,
        parent_ids: list[uuid.UUID],
    ) -> dict[uuid.UUID, list[SessionRow]]:
        params: dict[str, Any] = {"parent_ids": parent_ids, "page_limit": limit}
        if after is not None:
            params.update(ORDERINGS[order].params("after", *after))
        after_null = None if after is None else after[0] is None
        fetched_rows = await self.fetch(params, parent, order, after_null)
        result: dict[uuid.UUID, list[SessionRow]] = {}
        seen: set[tuple[uuid.UUID, uuid.UUID]] = set()
        for fetched in fetched_rows:
            parent_id, row = fetched[0], SessionRow._make(fetched[1:])
            if (parent_id, row.id) in seen:
                continue
            seen.add((parent_id, row.id))
            rows = result.setdefault(parent_id, [])
            if len(rows) < limit:
                rows.append(row)
        return result


class SessionCountByParentLoader(VisibleSessionsLoader[tuple[Parent, uuid.UUID], int]):
    """How many visible sessions each device, location or fleet has: one query per kind."""

    def build(self, dialect: str, visible: ColumnElement[bool], *extra: Any) -> Select[Any]:
        """The count per parent of the kind ``extra[0]`` (a session counts once per parent)."""
        (parent,) = extra
        pairs = [
            select(column.label("parent_id"), Session.id).where(
                in_keys(column, "parent_ids", dialect), visible
            )
            for column in _PARENT_COLUMNS[parent]
        ]
        # UNION, not UNION ALL: a rental that starts and ends at one location counts once.
        union = (pairs[0].union(*pairs[1:]) if len(pairs) > 1 else pairs[0]).subquery()
        return select(union.c.parent_id, func.count()).group_by(union.c.parent_id)

    async def batch_load_fn(self, keys: Sequence[tuple[Parent, uuid.UUID]]) -> list[int]:
        """One statement per parent kind asked for in this tick."""
        by_kind: dict[Parent, list[uuid.UUID]] = {}
        for parent, parent_id in keys:
            by_kind.setdefault(parent, []).append(parent_id)
        counts: dict[tuple[Parent, uuid.UUID], int] = {}
        for parent, parent_ids in by_kind.items():
            for parent_id, count in await self.fetch({"parent_ids": parent_ids}, parent):
                counts[(parent, parent_id)] = count
        return [counts.get(key, 0) for key in keys]
