"""Input types: the filters of the list fields."""

from datetime import date
from uuid import UUID

import strawberry

from gateway.graphql.enums import DeviceKind, SessionKind, SessionStatus
from resolvers import catalog as catalog_resolvers
from resolvers import sessions as session_resolvers


@strawberry.input(description="Narrows a session list; the parts combine with AND")
class SessionFilter:
    user_id: UUID | None = None
    location_id: UUID | None = strawberry.field(
        default=None, description="Parking location, or a rental's start or end location"
    )
    device_id: UUID | None = None
    fleet_id: UUID | None = None
    status: list[SessionStatus] | None = strawberry.field(
        default=None, description="Any of these statuses"
    )
    kind: SessionKind | None = None
    from_: date | None = strawberry.field(
        default=None, name="from", description="First UTC day of the reference time, inclusive"
    )
    to: date | None = strawberry.field(
        default=None, description="Last UTC day of the reference time, inclusive"
    )

    def to_resolver_filter(self) -> session_resolvers.SessionFilter:
        """The resolver-level filter."""
        return session_resolvers.SessionFilter(
            user_id=self.user_id,
            location_id=self.location_id,
            device_id=self.device_id,
            fleet_id=self.fleet_id,
            statuses=frozenset(self.status or ()),
            kinds=frozenset([self.kind]) if self.kind else frozenset(),
            from_date=self.from_,
            to_date=self.to,
        )


@strawberry.input(description="Narrows a device list")
class DeviceFilter:
    kind: DeviceKind | None = None
    location_id: UUID | None = None
    fleet_id: UUID | None = None

    def to_resolver_filter(self) -> catalog_resolvers.DeviceFilter:
        """The resolver-level filter."""
        return catalog_resolvers.DeviceFilter(
            kind=self.kind, location_id=self.location_id, fleet_id=self.fleet_id
        )
