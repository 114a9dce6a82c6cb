"""Live updates over graphql-transport-ws: sessions as they change, filtered and authorized."""

from collections.abc import AsyncGenerator
from typing import Any
from uuid import UUID

import strawberry

from gateway.graphql.context import Info
from gateway.graphql.inputs import SessionFilter
from gateway.graphql.types import Session
from gateway.ratelimit import owner_of
from gateway.state import GatewayState
from resolvers.live import Update, session_updates


@strawberry.type(description="Live updates")
class Subscription:
    @strawberry.subscription(
        description=(
            "Each committed change to a visible session matching the filter. While the "
            "gateway's change feed is interrupted an event carries an UNAVAILABLE error and "
            "the subscription stays open; changes committed meanwhile follow once it is back."
        )
    )
    async def session_updated(
        self,
        info: Info,
        filter: SessionFilter | None = None,
        session_id: UUID | None = None,
    ) -> AsyncGenerator[Session, None]:
        context = info.context
        state = GatewayState.of(context.request)
        principal = context.scope.principal
        resolver_filter = (filter or SessionFilter()).to_resolver_filter()
        owner = owner_of(principal)
        state.sockets.subscribe(owner)  # refused over the principal's cap
        try:
            async for delivery in session_updates(
                state.live, principal, resolver_filter, session_id
            ):
                if isinstance(delivery, Update):
                    # Nested fields read through the loaders this change's subscribers of
                    # the same principal share, never a connection-wide cache.
                    context.request_scope = delivery.scope
                    yield Session.from_record(delivery.record, info)
                else:
                    # An exception as the event is the field's error; the stream goes on.
                    error: Any = delivery
                    yield error
        finally:
            state.sockets.unsubscribe(owner)
