"""Live updates over graphql-transport-ws: sessions as they change, filtered and authorized."""

from collections.abc import AsyncGenerator
from typing import Any
from uuid import UUID

import strawberry

from gateway.graphql.context import Info
from gateway.graphql.inputs import SessionFilter
from gateway.graphql.types import Session
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
        feed = GatewayState.of(context.request).live
        resolver_filter = (filter or SessionFilter()).to_resolver_filter()
        updates = session_updates(feed, context.scope.principal, resolver_filter, session_id)
        async for delivery in updates:
            if isinstance(delivery, Update):
                # Nested fields read through the loaders shared by this change's subscribers
                # of the same principal, never a connection-wide cache.
                context.request_scope = delivery.scope
                yield Session.from_record(delivery.record, info)
            else:
                # An exception as the event is the field's error; the stream goes on.
                error: Any = delivery
                yield error
