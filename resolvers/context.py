"""Everything one request's resolvers need: who asks, the database, loaders and cursors."""

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from loaders.base import Visibility
from loaders.registry import BatchObserver, Loaders
from resolvers.cursors import CursorCodec
from resolvers.scope import Principal
from storage.updates import UpdateBus


@dataclass(slots=True)
class RequestScope:
    """One request's view of the service; both API faces build one per request."""

    principal: Principal
    engine: AsyncEngine
    cursors: CursorCodec
    loaders: Loaders
    updates: UpdateBus = field(default_factory=UpdateBus)

    @classmethod
    def open(
        cls,
        principal: Principal,
        engine: AsyncEngine,
        cursors: CursorCodec,
        updates: UpdateBus | None = None,
        observe_batch: BatchObserver | None = None,
    ) -> "RequestScope":
        """A fresh scope with fresh loaders bound to the principal's visibility."""
        visibility = Visibility(
            principal.session_filter(),
            principal.visibility_shape(),
            principal.visibility_params(),
        )
        loaders = Loaders(engine, visibility, observe_batch)
        return cls(principal, engine, cursors, loaders, updates or UpdateBus())
