"""The GraphQL object types: sessions with their storage-or-travel details, and the catalog."""

from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry import relay

from gateway.graphql.connections import (
    Connection,
    Counter,
    Edge,
    catalog_connection,
    page_connection,
)
from gateway.graphql.context import Info
from gateway.graphql.enums import (
    DeviceKind,
    EventName,
    PaymentStatus,
    SessionKind,
    SessionOrder,
    SessionStatus,
)
from loaders.sessions import Parent
from resolvers import catalog as catalog_resolvers
from resolvers import sessions as session_resolvers
from resolvers import stats as stats_resolvers
from storage.records import (
    EVENT_NAMES,
    PAYMENT_STATUSES,
    SESSION_KINDS,
    SESSION_STATUSES,
    DeviceRecord,
    FleetRecord,
    LocationRecord,
    SessionRow,
    utc,
)


def session_connection(
    info: Info, page: session_resolvers.SessionRowPage, count: Counter
) -> "Connection[Session]":
    """A GraphQL connection of a page of session rows."""
    scope = info.context.scope
    edges = [
        Edge(encode_cursor=partial(page.cursor, scope, row), node=Session.from_row(row, info))
        for row in page.rows
    ]
    return page_connection(edges, page.has_next_page, page.has_previous_page, count)


ORDER_BY = strawberry.argument(
    description="One order (a list, as in PostGraphile); default REFERENCE_TIME_DESC"
)
OrderBy = Annotated[list[SessionOrder] | None, ORDER_BY]


def _nested_connection(info: Info, parent: Parent, parent_id: UUID) -> Counter:
    async def count(_estimate: bool) -> int:
        scope = info.context.scope
        return (await session_resolvers.count_nested_sessions(scope, parent, [parent_id]))[0]

    return count


def _device_count(info: Info, by_fleet: bool, parent_id: UUID) -> Counter:
    async def count(_estimate: bool) -> int:
        scope = info.context.scope
        return (await catalog_resolvers.count_nested_devices(scope, by_fleet, [parent_id]))[0]

    return count


def _uuids(node_ids: Any) -> list[UUID | None]:
    result: list[UUID | None] = []
    for node_id in node_ids:
        try:
            result.append(UUID(str(node_id)))
        except ValueError:
            result.append(None)
    return result


async def _load_nodes(loader: Any, node_ids: Any, convert: Any) -> list[Any]:
    keys = _uuids(node_ids)
    records = await loader.load_many([k for k in keys if k is not None])
    found = iter(records)
    return [convert(next(found)) if key is not None else None for key in keys]


@strawberry.type(description="An exact amount of money")
class Money:
    currency: str = strawberry.field(description="ISO 4217 currency code")
    value: Decimal = strawberry.field(
        description="The amount in the currency's minor unit precision"
    )


@strawberry.type(description="The payment of a paid session")
class Payment:
    id: UUID | None
    status: PaymentStatus


@strawberry.type(description="A rider's rating of an ended session")
class Rating:
    rating: int
    comment: str | None


@strawberry.type(description="One step of a session's lifecycle")
class SessionEvent:
    name: EventName
    timestamp: datetime


@strawberry.type(description="A location's parking devices now, and how many are in use")
class LocationOccupancy:
    devices: int = strawberry.field(description="Parking devices at the location")
    occupied: int = strawberry.field(
        description="Of them, those holding an active session the token may see"
    )
    ratio: float | None = strawberry.field(description="occupied / devices; null without devices")


@strawberry.type(description="How much of a location's device time was occupied over a window")
class LocationUtilization:
    occupied_seconds: float = strawberry.field(
        description="Device-seconds held by sessions the token may see, clipped to the window"
    )
    available_seconds: float = strawberry.field(
        description="Devices at the location times the window's length (up to now)"
    )
    ratio: float | None = strawberry.field(
        description="occupiedSeconds / availableSeconds; null when nothing was available"
    )


@strawberry.type(description="A place with parking devices")
class Location(relay.Node):
    id: relay.NodeID[str]
    uuid: UUID
    name: str
    time_zone: str = strawberry.field(description="IANA time zone of the place")

    @classmethod
    def from_record(cls, record: LocationRecord | None) -> "Location | None":
        """The GraphQL view of a location record."""
        if record is None:
            return None
        return cls(id=str(record.id), uuid=record.id, name=record.name, time_zone=record.time_zone)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Any, required: bool = False) -> list[Any]:
        """Locations by global id, in order, None where missing."""
        return await _load_nodes(info.context.scope.loaders.location, node_ids, cls.from_record)

    @strawberry.field(description="Devices at this location")
    async def devices(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection["Device"]:
        page = await catalog_resolvers.nested_devices(
            info.context.scope, location_id=self.uuid, first=first, after=after
        )
        return catalog_connection(info, page, Device, _device_count(info, False, self.uuid))

    @strawberry.field(
        description=(
            "Sessions parked here or rentals that started or ended here, "
            "newest first unless ordered otherwise"
        )
    )
    async def sessions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        order_by: OrderBy = None,
    ) -> Connection["Session"]:
        page = await session_resolvers.nested_sessions(
            info.context.scope,
            Parent.LOCATION,
            self.uuid,
            first=first,
            after=after,
            order=order_by,
        )
        return session_connection(info, page, _nested_connection(info, Parent.LOCATION, self.uuid))

    @strawberry.field(
        description="Parking devices here now, and those in use (an active session you may see)"
    )
    async def occupancy(self, info: Info) -> LocationOccupancy:
        found = await stats_resolvers.occupancy(info.context.scope, [self.uuid])
        occupancy = found[self.uuid]
        return LocationOccupancy(
            devices=occupancy.devices, occupied=occupancy.occupied, ratio=occupancy.ratio
        )

    @strawberry.field(
        description=(
            "Occupied / available device-seconds from `from` to `to` (sessions clipped to"
            " the window, the window to now)"
        )
    )
    async def utilization(
        self,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
    ) -> LocationUtilization:
        found = await stats_resolvers.utilization(info.context.scope, [self.uuid], from_, to)
        value = found[self.uuid]
        return LocationUtilization(
            occupied_seconds=value.occupied_seconds,
            available_seconds=value.available_seconds,
            ratio=value.ratio,
        )


@strawberry.type(description="A set of rental vehicles")
class Fleet(relay.Node):
    id: relay.NodeID[str]
    uuid: UUID
    name: str

    @classmethod
    def from_record(cls, record: FleetRecord | None) -> "Fleet | None":
        """The GraphQL view of a fleet record."""
        if record is None:
            return None
        return cls(id=str(record.id), uuid=record.id, name=record.name)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Any, required: bool = False) -> list[Any]:
        """Fleets by global id, in order, None where missing."""
        return await _load_nodes(info.context.scope.loaders.fleet, node_ids, cls.from_record)

    @strawberry.field(description="Vehicles of this fleet")
    async def devices(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection["Device"]:
        page = await catalog_resolvers.nested_devices(
            info.context.scope, fleet_id=self.uuid, first=first, after=after
        )
        return catalog_connection(info, page, Device, _device_count(info, True, self.uuid))

    @strawberry.field(
        description="Rentals of this fleet's vehicles, newest first unless ordered otherwise"
    )
    async def sessions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        order_by: OrderBy = None,
    ) -> Connection["Session"]:
        page = await session_resolvers.nested_sessions(
            info.context.scope, Parent.FLEET, self.uuid, first=first, after=after, order=order_by
        )
        return session_connection(info, page, _nested_connection(info, Parent.FLEET, self.uuid))


@strawberry.type(description="A parking device at a location, or a rental vehicle of a fleet")
class Device(relay.Node):
    id: relay.NodeID[str]
    uuid: UUID
    kind: DeviceKind
    name: str
    location_id: strawberry.Private[UUID | None]
    fleet_id: strawberry.Private[UUID | None]

    @classmethod
    def from_record(cls, record: DeviceRecord | None) -> "Device | None":
        """The GraphQL view of a device record."""
        if record is None:
            return None
        return cls(
            id=str(record.id),
            uuid=record.id,
            kind=record.kind,
            name=record.name,
            location_id=record.location_id,
            fleet_id=record.fleet_id,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Any, required: bool = False) -> list[Any]:
        """Devices by global id, in order, None where missing."""
        return await _load_nodes(info.context.scope.loaders.device, node_ids, cls.from_record)

    @strawberry.field(description="Where a parking device sits; null for rental vehicles")
    async def location(self, info: Info) -> Location | None:
        return await _location(info, self.location_id)

    @strawberry.field(description="The fleet of a rental vehicle; null for parking devices")
    async def fleet(self, info: Info) -> Fleet | None:
        return await _fleet(info, self.fleet_id)

    @strawberry.field(description="The booked or active session on this device, if any")
    async def current_session(self, info: Info) -> "Session | None":
        row = await info.context.scope.loaders.open_session.load(self.uuid)
        return Session.from_row(row, info) if row else None

    @strawberry.field(description="Sessions on this device, newest first unless ordered otherwise")
    async def sessions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        order_by: OrderBy = None,
    ) -> Connection["Session"]:
        page = await session_resolvers.nested_sessions(
            info.context.scope, Parent.DEVICE, self.uuid, first=first, after=after, order=order_by
        )
        return session_connection(info, page, _nested_connection(info, Parent.DEVICE, self.uuid))


async def _location(info: Info, location_id: UUID | None) -> Location | None:
    if location_id is None:
        return None
    return Location.from_record(await info.context.scope.loaders.location.load(location_id))


async def _device(info: Info, device_id: UUID | None) -> Device | None:
    if device_id is None:
        return None
    return Device.from_record(await info.context.scope.loaders.device.load(device_id))


async def _fleet(info: Info, fleet_id: UUID | None) -> Fleet | None:
    if fleet_id is None:
        return None
    return Fleet.from_record(await info.context.scope.loaders.fleet.load(fleet_id))


@strawberry.type(description="Parking metadata: where the vehicle is stored")
class StorageDetails:
    location_id: strawberry.Private[UUID]
    device_id: strawberry.Private[UUID]

    @strawberry.field
    async def location(self, info: Info) -> Location | None:
        return await _location(info, self.location_id)

    @strawberry.field
    async def device(self, info: Info) -> Device | None:
        return await _device(info, self.device_id)


@strawberry.type(description="Rental metadata: the vehicle and the trip")
class TravelDetails:
    seconds_active: int | None
    seconds_paused: int | None
    battery_used: float | None = strawberry.field(
        description="Battery used, in percent of a charge"
    )
    distance_travelled: float | None = strawberry.field(description="Distance travelled, in metres")
    start_location_id: strawberry.Private[UUID | None]
    end_location_id: strawberry.Private[UUID | None]
    rental_device_id: strawberry.Private[UUID]
    rental_fleet_id: strawberry.Private[UUID]

    @strawberry.field
    async def start_location(self, info: Info) -> Location | None:
        return await _location(info, self.start_location_id)

    @strawberry.field
    async def end_location(self, info: Info) -> Location | None:
        return await _location(info, self.end_location_id)

    @strawberry.field
    async def rental_device(self, info: Info) -> Device | None:
        return await _device(info, self.rental_device_id)

    @strawberry.field
    async def rental_fleet(self, info: Info) -> Fleet | None:
        return await _fleet(info, self.rental_fleet_id)


def _devices(devices: list[DeviceRecord]) -> list[Device]:
    return [Device.from_record(d) for d in devices]  # type: ignore[misc]


SessionDetails = Annotated[
    StorageDetails | TravelDetails,
    strawberry.union("SessionDetails", description="Parking or rental metadata"),
]


@strawberry.type(description="A parking or rental session")
class Session(relay.Node):
    id: relay.NodeID[str]
    uuid: UUID
    kind: SessionKind
    status: SessionStatus
    user_id: UUID
    access_key_id: UUID | None
    created_at: datetime
    updated_at: datetime
    booked_time: datetime | None = strawberry.field(
        description="Null if the session had no booking"
    )
    booked_until_time: datetime | None
    start_time: datetime | None = strawberry.field(
        description="Null if the session has not started"
    )
    end_time: datetime | None = strawberry.field(description="Null if the session has not ended")
    fee: Money | None = strawberry.field(description="Null unless the session is paid and priced")
    payment: Payment | None = strawberry.field(description="Null unless the session is paid")
    rating: Rating | None
    uri: str = strawberry.field(description="The session's REST v2 URL")
    # The session as stored, events and auxiliary devices included.
    row: strawberry.Private[SessionRow]

    @classmethod
    def from_row(cls, row: SessionRow, info: Info) -> "Session":
        """The GraphQL view of a session as stored: read, written or sent live."""
        fee = row.fee
        return cls(
            id=str(row.id),
            uuid=row.id,
            kind=SESSION_KINDS[row.kind],
            status=SESSION_STATUSES[row.status],
            user_id=row.user_id,
            access_key_id=row.access_key_id,
            created_at=row.created_at.replace(tzinfo=UTC),
            updated_at=row.updated_at.replace(tzinfo=UTC),
            booked_time=utc(row.booked_time),
            booked_until_time=utc(row.booked_until_time),
            start_time=utc(row.start_time),
            end_time=utc(row.end_time),
            fee=Money(currency=fee.currency, value=fee.value) if fee else None,
            payment=Payment(id=row.payment_id, status=PAYMENT_STATUSES[row.payment_status])
            if row.payment_status
            else None,
            rating=Rating(rating=row.rating, comment=row.rating_comment)
            if row.rating is not None
            else None,
            uri=info.context.uris.session_v2(row.user_id, row.id),
            row=row,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Any, required: bool = False) -> list[Any]:
        """Visible sessions by global id, in order, None where missing or hidden."""
        return await _load_nodes(
            info.context.scope.loaders.session,
            node_ids,
            lambda row: cls.from_row(row, info) if row else None,
        )

    @strawberry.field(
        description="Storage details of a parking session, travel details of a rental"
    )
    def details(self) -> SessionDetails:
        row = self.row
        if row.kind == SessionKind.PARKING:
            return StorageDetails(
                location_id=row.storage_location_id,  # type: ignore[arg-type]
                device_id=row.storage_device_id,  # type: ignore[arg-type]
            )
        return TravelDetails(
            seconds_active=row.seconds_active,
            seconds_paused=row.seconds_paused,
            battery_used=row.battery_used,
            distance_travelled=row.distance_travelled,
            start_location_id=row.travel_start_location_id,
            end_location_id=row.travel_end_location_id,
            rental_device_id=row.rental_device_id,  # type: ignore[arg-type]
            rental_fleet_id=row.rental_fleet_id,  # type: ignore[arg-type]
        )

    @strawberry.field(description="Lifecycle events, oldest first")
    def events(self) -> list[SessionEvent]:
        return [
            SessionEvent(name=EVENT_NAMES[name], timestamp=time.replace(tzinfo=UTC))
            for name, time in self.row.events
        ]

    @strawberry.field(description="Devices used by the session besides its main one")
    async def auxiliary_devices(self, info: Info) -> list[Device]:
        loaded = await info.context.scope.loaders.device.load_many(self.row.auxiliary_device_ids)
        return _devices([d for d in loaded if d is not None])


@strawberry.type(
    description="The statistics of one group of sessions; keys not grouped by are null"
)
class SessionStats:
    kind: SessionKind | None
    status: SessionStatus | None
    user_id: UUID | None
    bucket: datetime | None = strawberry.field(
        description="Start of the time bucket (an instant, printed in UTC)"
    )
    count: int = strawberry.field(description="Sessions in the group")
    fees: list[Money] = strawberry.field(description="Fee totals, one per currency, exact")
    average_duration: float | None = strawberry.field(
        description="Mean of end minus start time, in seconds, of the sessions with both"
    )
    p50_duration: float | None = strawberry.field(
        description="Median duration in seconds (nearest rank)"
    )
    p90_duration: float | None = strawberry.field(
        description="90th percentile of the durations in seconds (nearest rank)"
    )
    distance_travelled: float | None = strawberry.field(
        description="Total distance of the rentals, in metres"
    )
    battery_used: float | None = strawberry.field(
        description="Total battery the rentals used, in percent of a charge"
    )
    first_reference_time: datetime
    last_reference_time: datetime
    location_id: strawberry.Private[UUID | None]
    device_id: strawberry.Private[UUID | None]
    fleet_id: strawberry.Private[UUID | None]

    @classmethod
    def from_group(cls, group: stats_resolvers.StatsGroup) -> "SessionStats":
        """The GraphQL view of one group's statistics."""
        return cls(
            kind=group.kind,
            status=group.status,
            user_id=group.user_id,
            bucket=group.bucket,
            count=group.count,
            fees=[Money(currency=fee.currency, value=fee.value) for fee in group.fees],
            average_duration=group.average_duration,
            p50_duration=group.p50_duration,
            p90_duration=group.p90_duration,
            distance_travelled=group.distance_travelled,
            battery_used=group.battery_used,
            first_reference_time=group.first_reference_time,
            last_reference_time=group.last_reference_time,
            location_id=group.location_id,
            device_id=group.device_id,
            fleet_id=group.fleet_id,
        )

    @strawberry.field(description="The location grouped by: where parked, or a rental's start")
    async def location(self, info: Info) -> Location | None:
        return await _location(info, self.location_id)

    @strawberry.field(description="The device grouped by: the locker or dock, or the vehicle")
    async def device(self, info: Info) -> Device | None:
        return await _device(info, self.device_id)

    @strawberry.field(description="The fleet grouped by (rentals)")
    async def fleet(self, info: Info) -> Fleet | None:
        return await _fleet(info, self.fleet_id)
