"""Who is asking, and which sessions they may see: the one place visibility is decided."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, false, or_, true

from storage.enums import Role
from storage.models import Session


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: a rider, an operator of locations and fleets, or an admin."""

    role: Role
    subject: str
    user_id: uuid.UUID | None = None
    location_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    fleet_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    # When the credential stops being valid; long-lived connections check it per event.
    expires_at: datetime | None = None

    def has_expired(self) -> bool:
        """True once the credential this principal came from is past its expiry."""
        return self.expires_at is not None and self.expires_at <= datetime.now(UTC)

    def session_filter(self) -> ColumnElement[bool]:
        """A SQL condition true exactly for the sessions this principal may see."""
        if self.role is Role.ADMIN:
            return true()
        if self.role is Role.USER:
            return Session.user_id == self.user_id if self.user_id else false()
        conditions: list[ColumnElement[bool]] = []
        if self.location_ids:
            locations = sorted(self.location_ids)
            conditions += [
                Session.storage_location_id.in_(locations),
                Session.travel_start_location_id.in_(locations),
                Session.travel_end_location_id.in_(locations),
            ]
        if self.fleet_ids:
            conditions.append(Session.rental_fleet_id.in_(sorted(self.fleet_ids)))
        return or_(*conditions) if conditions else false()
