"""The GraphQL object types: sessions with their storage-or-travel details, and the catalog."""

from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry import relay

from gateway.graphql.connections import Connection, Edge, catalog_connection, page_connection
from gateway.graphql.context import Info
from gateway.graphql.enums import DeviceKind, EventName, PaymentStatus, SessionKind, SessionStatus
from gateway.graphql.execution import context_only
from gateway.graphql.prefetch import prime_sessions, settled
from loaders.sessions import Parent
from resolvers import catalog as catalog_resolvers
from resolvers import sessions as session_resolvers
from storage.records import (
    DeviceRecord,
    EventRecord,
    FleetRecord,
    LocationRecord,
    SessionRecord,
)


async def session_connection(
    info: Info, page: session_resolvers.SessionPage
) -> "Connection[Session]":
    """A GraphQL connection of a page of session records, its nested look-ups primed."""
    await prime_sessions(info, page.sessions, page.related)
    scope = info.context.scope
    edges = [
        Edge(encode_cursor=partial(page.cursor, scope, s), node=Session.from_record(s, info))
        for s in page.sessions
    ]
    return page_connection(edges, page.has_next_page, page.has_previous_page)


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
        return catalog_connection(info, page, Device)

    @strawberry.field(
        description="Sessions parked here or rentals that started or ended here, newest first"
    )
    async def sessions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection["Session"]:
        page = await session_resolvers.nested_sessions(
            info.context.scope, Parent.LOCATION, self.uuid, first=first, after=after
        )
        return await session_connection(info, page)


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
        return catalog_connection(info, page, Device)

    @strawberry.field(description="Rentals of this fleet's vehicles, newest first")
    async def sessions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection["Session"]:
        page = await session_resolvers.nested_sessions(
            info.context.scope, Parent.FLEET, self.uuid, first=first, after=after
        )
        return await session_connection(info, page)


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
    @context_only
    def location(self, info: Info) -> Location | None:
        if self.location_id is None:
            return None
        loader = info.context.scope.loaders.location
        return settled(loader, self.location_id, Location.from_record)  # type: ignore[no-any-return]

    @strawberry.field(description="The fleet of a rental vehicle; null for parking devices")
    @context_only
    def fleet(self, info: Info) -> Fleet | None:
        if self.fleet_id is None:
            return None
        loader = info.context.scope.loaders.fleet
        return settled(loader, self.fleet_id, Fleet.from_record)  # type: ignore[no-any-return]

    @strawberry.field(description="The booked or active session on this device, if any")
    async def current_session(self, info: Info) -> "Session | None":
        record = await info.context.scope.loaders.open_session.load(self.uuid)
        return Session.from_record(record, info) if record else None

    @strawberry.field(description="Sessions on this device, newest first")
    async def sessions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection["Session"]:
        page = await session_resolvers.nested_sessions(
            info.context.scope, Parent.DEVICE, self.uuid, first=first, after=after
        )
        return await session_connection(info, page)


@strawberry.type(description="Parking metadata: where the vehicle is stored")
class StorageDetails:
    location_id: strawberry.Private[UUID]
    device_id: strawberry.Private[UUID]

    @strawberry.field
    @context_only
    def location(self, info: Info) -> Location | None:
        loader = info.context.scope.loaders.location
        return settled(loader, self.location_id, Location.from_record)  # type: ignore[no-any-return]

    @strawberry.field
    @context_only
    def device(self, info: Info) -> Device | None:
        loader = info.context.scope.loaders.device
        return settled(loader, self.device_id, Device.from_record)  # type: ignore[no-any-return]


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
    @context_only
    def start_location(self, info: Info) -> Location | None:
        if self.start_location_id is None:
            return None
        loader = info.context.scope.loaders.location
        return settled(loader, self.start_location_id, Location.from_record)  # type: ignore[no-any-return]

    @strawberry.field
    @context_only
    def end_location(self, info: Info) -> Location | None:
        if self.end_location_id is None:
            return None
        loader = info.context.scope.loaders.location
        return settled(loader, self.end_location_id, Location.from_record)  # type: ignore[no-any-return]

    @strawberry.field
    @context_only
    def rental_device(self, info: Info) -> Device | None:
        loader = info.context.scope.loaders.device
        return settled(loader, self.rental_device_id, Device.from_record)  # type: ignore[no-any-return]

    @strawberry.field
    @context_only
    def rental_fleet(self, info: Info) -> Fleet | None:
        loader = info.context.scope.loaders.fleet
        return settled(loader, self.rental_fleet_id, Fleet.from_record)  # type: ignore[no-any-return]


def _events(events: list[EventRecord]) -> list[SessionEvent]:
    return [SessionEvent(name=e.name, timestamp=e.timestamp) for e in events]


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
    record: strawberry.Private[SessionRecord]

    @classmethod
    def from_record(cls, record: SessionRecord, info: Info) -> "Session":
        """The GraphQL view of a session record."""
        fee = record.fee
        return cls(
            id=str(record.id),
            uuid=record.id,
            kind=record.kind,
            status=record.status,
            user_id=record.user_id,
            access_key_id=record.access_key_id,
            created_at=record.created_at,
            updated_at=record.updated_at,
            booked_time=record.booked_time,
            booked_until_time=record.booked_until_time,
            start_time=record.start_time,
            end_time=record.end_time,
            fee=Money(currency=fee.currency, value=fee.value) if fee else None,
            payment=Payment(id=record.payment_id, status=record.payment_status)
            if record.payment_status
            else None,
            rating=Rating(rating=record.rating.rating, comment=record.rating.comment)
            if record.rating
            else None,
            uri=info.context.uris.session_v2(record.user_id, record.id),
            record=record,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Any, required: bool = False) -> list[Any]:
        """Visible sessions by global id, in order, None where missing or hidden."""
        return await _load_nodes(
            info.context.scope.loaders.session,
            node_ids,
            lambda r: cls.from_record(r, info) if r else None,
        )

    @strawberry.field(
        description="Storage details of a parking session, travel details of a rental"
    )
    @context_only
    def details(self) -> SessionDetails:
        record = self.record
        if record.kind is SessionKind.PARKING:
            return StorageDetails(
                location_id=record.storage_location_id,  # type: ignore[arg-type]
                device_id=record.storage_device_id,  # type: ignore[arg-type]
            )
        return TravelDetails(
            seconds_active=record.seconds_active,
            seconds_paused=record.seconds_paused,
            battery_used=record.battery_used,
            distance_travelled=record.distance_travelled,
            start_location_id=record.travel_start_location_id,
            end_location_id=record.travel_end_location_id,
            rental_device_id=record.rental_device_id,  # type: ignore[arg-type]
            rental_fleet_id=record.rental_fleet_id,  # type: ignore[arg-type]
        )

    @strawberry.field(description="Lifecycle events, oldest first")
    @context_only
    def events(self, info: Info) -> list[SessionEvent]:
        return settled(info.context.scope.loaders.events, self.uuid, _events)  # type: ignore[no-any-return]

    @strawberry.field(description="Devices used by the session besides its main one")
    @context_only
    def auxiliary_devices(self, info: Info) -> list[Device]:
        loader = info.context.scope.loaders.auxiliary_devices
        return settled(loader, self.uuid, _devices)  # type: ignore[no-any-return]
