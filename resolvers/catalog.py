"""Reading the catalog: locations, fleets and devices, visible to every authenticated caller.

The catalog is what riders need to find a dock or a vehicle, so it is not secret; the
sessions hanging off it are filtered by the caller's visibility like every other list.
"""

import uuid
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, select

from loaders.catalog import (
    DeviceByIdLoader,
    DevicePageKey,
    FleetByIdLoader,
    LocationByIdLoader,
)
from resolvers.context import RequestScope
from resolvers.cursors import fingerprint
from resolvers.sessions import check_page_size
from storage.enums import DeviceKind
from storage.models import Device
from storage.records import DeviceRecord, FleetRecord, LocationRecord

T = TypeVar("T", LocationRecord, FleetRecord, DeviceRecord)


@dataclass(frozen=True, slots=True)
class CatalogPage(Generic[T]):
    """One page of a catalog list ordered by id."""

    items: Sequence[T]
    has_next_page: bool
    has_previous_page: bool
    scope: str
    total_count: int | None = None  # the length of the whole list, when asked for

    def cursor(self, request: RequestScope, item: T) -> str:
        """The cursor after which the list continues past ``item``."""
        return request.cursors.encode_id(item.id, self.scope)


@dataclass(frozen=True, slots=True)
class DeviceFilter:
    """What a device list is narrowed to."""

    kind: DeviceKind | None = None
    location_id: uuid.UUID | None = None
    fleet_id: uuid.UUID | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """The filter as SQL conditions, its values bound by name (``params``)."""
        conditions: list[ColumnElement[bool]] = []
        if self.kind:
            conditions.append(Device.kind == bindparam("kind", type_=Device.kind.type))
        if self.location_id:
            conditions.append(Device.location_id == bindparam("location_id", type_=_ID))
        if self.fleet_id:
            conditions.append(Device.fleet_id == bindparam("fleet_id", type_=_ID))
        return conditions

    def shape(self) -> Hashable:
        """What the SQL of ``conditions`` depends on, apart from ``params``."""
        return (self.kind is None, self.location_id is None, self.fleet_id is None)

    def params(self) -> dict[str, Any]:
        """The values ``conditions`` binds."""
        return {
            "kind": self.kind.value if self.kind else None,
            "location_id": self.location_id,
            "fleet_id": self.fleet_id,
        }


_ID = Device.id.type
# Page statements by (table, dialect, filter shape, has a start): built once each.
_PAGES: dict[Hashable, Select[Any]] = {}


async def _page(
    request: RequestScope,
    loader: type[LocationByIdLoader | FleetByIdLoader | DeviceByIdLoader],
    scope: str,
    first: int | None,
    after: str | None,
    device_filter: DeviceFilter | None = None,
) -> CatalogPage[Any]:
    size = check_page_size("first", first, 100)
    after_id = request.cursors.decode_id(after, scope) if after else None
    filter_shape = device_filter.shape() if device_filter else None
    key = (loader, request.reads.dialect, filter_shape, after_id is None)
    statement = _PAGES.get(key)
    if statement is None:
        id_column = loader.columns[0]
        conditions = device_filter.conditions() if device_filter else []
        if after_id is not None:
            conditions.append(id_column > bindparam("after", type_=_ID))
        statement = _PAGES[key] = (
            select(*loader.columns)
            .where(*conditions)
            .order_by(id_column)
            .limit(bindparam("page_limit", type_=Integer))
        )
    params = {**(device_filter.params() if device_filter else {}), "after": after_id}
    rows = await request.reads.rows(statement, {**params, "page_limit": size + 1})
    items = [loader.convert(row) for row in rows[:size]]
    return CatalogPage(items, len(rows) > size, after is not None, scope)


async def list_locations(
    request: RequestScope, *, first: int | None = None, after: str | None = None
) -> CatalogPage[LocationRecord]:
    """A page of locations ordered by id."""
    return await _page(request, LocationByIdLoader, fingerprint("locations"), first, after)


async def list_fleets(
    request: RequestScope, *, first: int | None = None, after: str | None = None
) -> CatalogPage[FleetRecord]:
    """A page of fleets ordered by id."""
    return await _page(request, FleetByIdLoader, fingerprint("fleets"), first, after)


async def list_devices(
    request: RequestScope,
    device_filter: DeviceFilter,
    *,
    first: int | None = None,
    after: str | None = None,
) -> CatalogPage[DeviceRecord]:
    """A page of devices matching the filter, ordered by id."""
    scope = fingerprint("devices", device_filter)
    return await _page(request, DeviceByIdLoader, scope, first, after, device_filter)


async def nested_devices(
    request: RequestScope,
    *,
    location_id: uuid.UUID | None = None,
    fleet_id: uuid.UUID | None = None,
    first: int | None = None,
    after: str | None = None,
) -> CatalogPage[DeviceRecord]:
    """A page of one location's or fleet's devices, batched with its siblings per request."""
    size = check_page_size("first", first, 100)
    parent_id = fleet_id or location_id
    assert parent_id is not None, "pass a location or a fleet"
    scope = fingerprint("nested-devices", fleet_id is not None, parent_id)
    start = request.cursors.decode_id(after, scope) if after else None
    key = DevicePageKey(fleet_id is not None, parent_id, size + 1, start)
    devices = await request.loaders.devices_by_parent.load(key)
    return CatalogPage(devices[:size], len(devices) > size, after is not None, scope)


_COUNTS: dict[Hashable, Select[Any]] = {}
_TABLES: dict[str, type[LocationByIdLoader | FleetByIdLoader | DeviceByIdLoader]] = {
    "locations": LocationByIdLoader,
    "fleets": FleetByIdLoader,
    "devices": DeviceByIdLoader,
}


async def count_catalog(
    request: RequestScope, name: str, device_filter: DeviceFilter | None = None
) -> int:
    """How many locations, fleets or devices (``name``) there are, matching the filter."""
    loader = _TABLES[name]
    filter_shape = device_filter.shape() if device_filter else None
    key = (loader, request.reads.dialect, filter_shape)
    statement = _COUNTS.get(key)
    if statement is None:
        conditions = device_filter.conditions() if device_filter else []
        statement = _COUNTS[key] = (
            select(func.count()).select_from(loader.columns[0].table).where(*conditions)
        )
    rows = await request.reads.rows(statement, device_filter.params() if device_filter else {})
    return int(rows[0][0])


async def count_nested_devices(
    request: RequestScope, by_fleet: bool, parent_ids: Sequence[uuid.UUID]
) -> list[int]:
    """How many devices each location (or fleet) has: batched per request."""
    return await request.loaders.device_counts.load_many([(by_fleet, i) for i in parent_ids])
