"""Loaders for the catalog: locations, fleets and devices by id."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, select

from loaders.base import BatchLoader, Reads, in_key_order
from storage.enums import DeviceKind
from storage.models import Device
from storage.queries import DEVICE_COLUMNS, FLEET_COLUMNS, LOCATION_COLUMNS, in_keys
from storage.records import DeviceRecord, FleetRecord, LocationRecord

R = TypeVar("R")


_DEVICE_KINDS: dict[str, DeviceKind] = dict(DeviceKind._value2member_map_)


def device_from_row(row: Sequence[Any]) -> DeviceRecord:
    """Build a device record from a row that starts with ``DEVICE_COLUMNS``."""
    id_, kind, name, location_id, fleet_id = row[:5]
    return DeviceRecord(id_, _DEVICE_KINDS[kind], name, location_id, fleet_id)


class ByIdLoader(BatchLoader[uuid.UUID, R | None], Generic[R]):
    """Rows of one table by primary key, one SELECT per batch."""

    columns: ClassVar[tuple[Any, ...]]
    convert: Callable[[Any], Any]
    statements: ClassVar[dict[str, Select[Any]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.statements = {}

    def __init__(self, reads: Reads) -> None:
        super().__init__()
        self.reads = reads

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[R | None]:
        """One SELECT for every key asked for in this tick (built once per dialect)."""
        dialect = self.reads.dialect
        statement = self.statements.get(dialect)
        if statement is None:
            statement = select(*self.columns).where(in_keys(self.columns[0], "keys", dialect))
            self.statements[dialect] = statement
        rows = await self.reads.rows(statement, {"keys": list(keys)})
        convert = type(self).convert
        return in_key_order(keys, {row[0]: convert(row) for row in rows})


class LocationByIdLoader(ByIdLoader[LocationRecord]):
    """Locations by id."""

    columns = LOCATION_COLUMNS
    convert = staticmethod(lambda row: LocationRecord(*row))


class FleetByIdLoader(ByIdLoader[FleetRecord]):
    """Fleets by id."""

    columns = FLEET_COLUMNS
    convert = staticmethod(lambda row: FleetRecord(*row))


class DeviceByIdLoader(ByIdLoader[DeviceRecord]):
    """Devices by id."""

    columns = DEVICE_COLUMNS
    convert = staticmethod(device_from_row)


@dataclass(frozen=True, slots=True)
class DevicePageKey:
    """One nested device list: the parent location or fleet, page size, and start."""

    by_fleet: bool
    parent_id: uuid.UUID
    limit: int
    after: uuid.UUID | None = None


class DevicesByParentLoader(BatchLoader[DevicePageKey, list[DeviceRecord]]):
    """The devices of many locations or fleets, ordered by id, in one query per batch."""

    # Windowed statements by (dialect, parent kind, has a start): built once.
    statements: ClassVar[dict[tuple[str, bool, bool], Select[Any]]] = {}

    def __init__(self, reads: Reads) -> None:
        super().__init__()
        self.reads = reads

    @classmethod
    def _statement(cls, dialect: str, by_fleet: bool, after: bool) -> Select[Any]:
        statement = cls.statements.get((dialect, by_fleet, after))
        if statement is None:
            column = Device.fleet_id if by_fleet else Device.location_id
            conditions: list[ColumnElement[bool]] = [in_keys(column, "parent_ids", dialect)]
            if after:
                conditions.append(Device.id > bindparam("after", type_=Device.id.type))
            ranked = (
                select(
                    *DEVICE_COLUMNS,
                    func.row_number().over(partition_by=column, order_by=Device.id).label("rank"),
                )
                .where(*conditions)
                .subquery()
            )
            limit = bindparam("page_limit", type_=Integer)
            statement = select(ranked).where(ranked.c.rank <= limit).order_by(ranked.c.id)
            cls.statements[(dialect, by_fleet, after)] = statement
        return statement

    async def batch_load_fn(self, keys: Sequence[DevicePageKey]) -> list[list[DeviceRecord]]:
        """One windowed SELECT per (parent kind, page size, start): one for a typical page."""
        groups: dict[tuple[bool, int, uuid.UUID | None], list[uuid.UUID]] = {}
        for key in keys:
            groups.setdefault((key.by_fleet, key.limit, key.after), []).append(key.parent_id)
        found: dict[DevicePageKey, list[DeviceRecord]] = {}
        for (by_fleet, limit, after), parent_ids in groups.items():
            statement = self._statement(self.reads.dialect, by_fleet, after is not None)
            params = {"parent_ids": parent_ids, "page_limit": limit, "after": after}
            by_parent: dict[uuid.UUID | None, list[DeviceRecord]] = {}
            for row in await self.reads.rows(statement, params):
                device = device_from_row(row)
                parent = device.fleet_id if by_fleet else device.location_id
                by_parent.setdefault(parent, []).append(device)
            for parent, devices in by_parent.items():
                found[DevicePageKey(by_fleet, parent, limit, after)] = devices  # type: ignore[arg-type]
        return [found.get(key, []) for key in keys]


class DeviceCountByParentLoader(BatchLoader[tuple[bool, uuid.UUID], int]):
    """How many devices each location or fleet has (key: by fleet, parent): one query per kind."""

    statements: ClassVar[dict[tuple[str, bool], Select[Any]]] = {}

    def __init__(self, reads: Reads) -> None:
        super().__init__()
        self.reads = reads

    async def batch_load_fn(self, keys: Sequence[tuple[bool, uuid.UUID]]) -> list[int]:
        """One grouped count per parent kind asked for in this tick."""
        by_kind: dict[bool, list[uuid.UUID]] = {}
        for by_fleet, parent_id in keys:
            by_kind.setdefault(by_fleet, []).append(parent_id)
        counts: dict[tuple[bool, uuid.UUID], int] = {}
        dialect = self.reads.dialect
        for by_fleet, parent_ids in by_kind.items():
            statement = self.statements.get((dialect, by_fleet))
            if statement is None:
                column = Device.fleet_id if by_fleet else Device.location_id
                statement = self.statements[(dialect, by_fleet)] = (
                    select(column, func.count())
                    .where(in_keys(column, "parent_ids", dialect))
                    .group_by(column)
                )
            for parent_id, count in await self.reads.rows(statement, {"parent_ids": parent_ids}):
                counts[(by_fleet, parent_id)] = count
        return [counts.get(key, 0) for key in keys]
