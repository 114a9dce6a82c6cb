"""Who is asking, and which sessions they may see: the one place visibility is decided."""

import uuid
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, bindparam, false, or_, true

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

    @property
    def owner(self) -> str:
        """Whom its requests count against: rate limit, sockets, read-your-writes.

        The user, whose tokens all share it, or else the token.
        """
        if self.role is Role.USER and self.user_id is not None:
            return f"user:{self.user_id}"
        return f"{self.role.value}:{self.subject}"

    def has_expired(self) -> bool:
        """True once the credential this principal came from is past its expiry."""
        return self.expires_at is not None and self.expires_at <= datetime.now(UTC)

    def session_filter(self) -> ColumnElement[bool]:
        """A SQL condition true exactly for the sessions this principal may see.

        Its values are bound by name (``visibility_params``), so a statement built for one
        principal serves every principal of the same ``visibility_shape``.
        """
        if self.role is Role.ADMIN:
            return true()
        if self.role is Role.USER:
            if not self.user_id:
                return false()
            return Session.user_id == bindparam("visible_user_id", self.user_id)
        conditions: list[ColumnElement[bool]] = []
        if self.location_ids:
            locations: BindParameter[list[uuid.UUID]] = bindparam(
                "visible_locations", sorted(self.location_ids), expanding=True
            )
            conditions += [
                Session.storage_location_id.in_(locations),
                Session.travel_start_location_id.in_(locations),
                Session.travel_end_location_id.in_(locations),
            ]
        if self.fleet_ids:
            fleets: BindParameter[list[uuid.UUID]] = bindparam(
                "visible_fleets", sorted(self.fleet_ids), expanding=True
            )
            conditions.append(Session.rental_fleet_id.in_(fleets))
        return or_(*conditions) if conditions else false()

    def visibility_shape(self) -> Hashable:
        """What the SQL of ``session_filter`` depends on, apart from its bound values."""
        return (self.role, self.user_id is None, bool(self.location_ids), bool(self.fleet_ids))

    def visibility_params(self) -> dict[str, Any]:
        """The values ``session_filter`` binds."""
        return {
            "visible_user_id": self.user_id,
            "visible_locations": sorted(self.location_ids),
            "visible_fleets": sorted(self.fleet_ids),
        }
