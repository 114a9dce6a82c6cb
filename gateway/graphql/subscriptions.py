"""Live updates over graphql-transport-ws: sessions as they change, filtered and authorized."""

from collections.abc import AsyncGenerator
from uuid import UUID

import strawberry

from gateway.graphql.context import Info
from gateway.graphql.inputs import SessionFilter
from gateway.graphql.types import Session
from gateway.state import GatewayState
from resolvers.context import RequestScope
from resolvers.live import session_updates


@strawberry.type(description="Live updates")
class Subscription:
    @strawberry.subscription(
        description="Each committed change to a visible session matching the filter"
    )
    async def session_updated(
        self,
        info: Info,
        filter: SessionFilter | None = None,
        session_id: UUID | None = None,
    ) -> AsyncGenerator[Session, None]:
        context = info.context
        principal = context.scope.principal
        state = GatewayState.of(context.request)

        def open_scope() -> RequestScope:
            return state.open_scope(principal)

        resolver_filter = (filter or SessionFilter()).to_resolver_filter()
        async for scope, record in session_updates(open_scope, resolver_filter, session_id):
            # Nested fields of this event read fresh loaders, never a connection-wide cache.
            context.request_scope = scope
            yield Session.from_record(record, info)
