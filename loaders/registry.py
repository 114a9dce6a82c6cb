"""One request's loaders, each created on first use inside the running event loop."""

from functools import cached_property

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncEngine

from loaders.catalog import DeviceByIdLoader, FleetByIdLoader, LocationByIdLoader
from loaders.sessions import (
    AuxiliaryDevicesBySessionLoader,
    EventsBySessionLoader,
    OpenSessionByDeviceLoader,
    SessionByIdLoader,
    SessionsByParentLoader,
)


class Loaders:
    """The loaders of one request: never shared with another request or caller."""

    def __init__(self, engine: AsyncEngine, visible: ColumnElement[bool]) -> None:
        self.engine = engine
        self.visible = visible

    @cached_property
    def location(self) -> LocationByIdLoader:
        """Locations by id."""
        return LocationByIdLoader(self.engine)

    @cached_property
    def fleet(self) -> FleetByIdLoader:
        """Fleets by id."""
        return FleetByIdLoader(self.engine)

    @cached_property
    def device(self) -> DeviceByIdLoader:
        """Devices by id."""
        return DeviceByIdLoader(self.engine)

    @cached_property
    def session(self) -> SessionByIdLoader:
        """Visible sessions by id."""
        return SessionByIdLoader(self.engine, self.visible)

    @cached_property
    def events(self) -> EventsBySessionLoader:
        """Events by session id."""
        return EventsBySessionLoader(self.engine)

    @cached_property
    def auxiliary_devices(self) -> AuxiliaryDevicesBySessionLoader:
        """Auxiliary devices by session id."""
        return AuxiliaryDevicesBySessionLoader(self.engine)

    @cached_property
    def open_session(self) -> OpenSessionByDeviceLoader:
        """The visible booked or active session by device id."""
        return OpenSessionByDeviceLoader(self.engine, self.visible)

    @cached_property
    def sessions_by_parent(self) -> SessionsByParentLoader:
        """Nested pages of visible sessions by device, location or fleet."""
        return SessionsByParentLoader(self.engine, self.visible)
