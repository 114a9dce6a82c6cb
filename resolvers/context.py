"""Everything one request's resolvers need: who asks, the database, loaders and cursors."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from loaders.registry import Loaders
from resolvers.cursors import CursorCodec
from resolvers.scope import Principal


@dataclass(slots=True)
class RequestScope:
    """One request's view of the service; both API faces build one per request."""

    principal: Principal
    engine: AsyncEngine
    cursors: CursorCodec
    loaders: Loaders

    @classmethod
    def open(
        cls, principal: Principal, engine: AsyncEngine, cursors: CursorCodec
    ) -> "RequestScope":
        """A fresh scope with fresh loaders bound to the principal's visibility."""
        return cls(principal, engine, cursors, Loaders(engine, principal.session_filter()))
