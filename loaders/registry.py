"""One request's loaders, each created on first use inside the running event loop."""

import weakref
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import Any, TypeVar

from loaders.base import Reads, Visibility
from loaders.catalog import (
    DeviceByIdLoader,
    DeviceCountByParentLoader,
    DevicesByParentLoader,
    FleetByIdLoader,
    LocationByIdLoader,
)
from loaders.sessions import (
    OpenSessionByDeviceLoader,
    SessionByIdLoader,
    SessionCountByParentLoader,
    SessionsByParentLoader,
)
from loaders.stats import OccupancyLoader, UtilizationLoader

BatchObserver = Callable[[str, int], None]
L = TypeVar("L")


class Loaders:
    """The loaders of one request: never shared with another request or caller."""

    def __init__(
        self,
        reads: Reads,
        visibility: Visibility,
        observe_batch: BatchObserver | None = None,
    ) -> None:
        self.reads = reads
        self.visibility = visibility
        self.observe_batch = observe_batch

    def _watched(self, loader: L) -> L:
        """Report each batch's size, so operators can see batching work (or not)."""
        observe = self.observe_batch
        if observe is None:
            return loader
        name = type(loader).__name__
        # The class's function and a weak reference, not the bound method: a closure over
        # that would tie the loader to itself, and every request's loaders, with all they
        # hold, would be a reference cycle left for the garbage collector's full passes.
        load: Callable[[Any, Sequence[Any]], Awaitable[list[Any]]] = type(loader).batch_load_fn  # type: ignore[attr-defined]
        owner = weakref.ref(loader)

        async def batch_load_fn(keys: Sequence[Any]) -> list[Any]:
            observe(name, len(keys))
            return await load(owner(), keys)

        loader.batch_load_fn = batch_load_fn  # type: ignore[attr-defined]
        return loader

    @cached_property
    def location(self) -> LocationByIdLoader:
        """Locations by id."""
        return self._watched(LocationByIdLoader(self.reads))

    @cached_property
    def fleet(self) -> FleetByIdLoader:
        """Fleets by id."""
        return self._watched(FleetByIdLoader(self.reads))

    @cached_property
    def device(self) -> DeviceByIdLoader:
        """Devices by id."""
        return self._watched(DeviceByIdLoader(self.reads))

    @cached_property
    def session(self) -> SessionByIdLoader:
        """Visible sessions by id."""
        return self._watched(SessionByIdLoader(self.reads, self.visibility))

    @cached_property
    def open_session(self) -> OpenSessionByDeviceLoader:
        """The visible booked or active session by device id."""
        return self._watched(OpenSessionByDeviceLoader(self.reads, self.visibility))

    @cached_property
    def sessions_by_parent(self) -> SessionsByParentLoader:
        """Nested pages of visible sessions by device, location or fleet."""
        return self._watched(SessionsByParentLoader(self.reads, self.visibility))

    @cached_property
    def devices_by_parent(self) -> DevicesByParentLoader:
        """Nested pages of devices by location or fleet."""
        return self._watched(DevicesByParentLoader(self.reads))

    @cached_property
    def session_counts(self) -> SessionCountByParentLoader:
        """How many visible sessions, by (parent kind, device, location or fleet id)."""
        return self._watched(SessionCountByParentLoader(self.reads, self.visibility))

    @cached_property
    def device_counts(self) -> DeviceCountByParentLoader:
        """How many devices, by (by fleet, location or fleet id)."""
        return self._watched(DeviceCountByParentLoader(self.reads))

    @cached_property
    def occupancy(self) -> OccupancyLoader:
        """Locations' occupancy now, by location id."""
        return self._watched(OccupancyLoader(self.reads, self.visibility))

    @cached_property
    def utilization(self) -> UtilizationLoader:
        """Locations' utilization over a window, by ``loaders.stats.Window``."""
        return self._watched(UtilizationLoader(self.reads, self.visibility))
