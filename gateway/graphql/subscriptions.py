"""Live updates over graphql-transport-ws: sessions as they change, filtered and authorized.

Each event is built on the planned lane when its selection plans
(``PlannedReads.subscription``): once per change for every subscriber of the principal
whose selection is the same, or of every principal when the selection shows them all the
same (``resolvers.live.Update.payload``), the data handed through
graphql-core as it is (``PlannedEventExecutor``). Otherwise, or when the plan declines an
event, the reference path (Strawberry and graphql-core) executes the selection on the
session; ``session_gateway_graphql_executions_total`` counts each event on its lane.
"""

from collections.abc import AsyncGenerator
from functools import partial
from typing import Any
from uuid import UUID

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.graphql.context import Info
from gateway.graphql.inputs import SessionFilter
from gateway.graphql.planning import PlannedSubscription
from gateway.graphql.types import Session
from gateway.sockets import TOO_MANY, close_reason
from gateway.state import GatewayState
from resolvers.errors import TooManyConnections
from resolvers.live import Update, session_updates


class PlannedEvent:
    """An event whose data the planned lane built: graphql-core passes it on as it is."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data


class PlannedEventExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, which answers a ``PlannedEvent`` with its data unexecuted."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        """The event's built data, or the operation executed as usual."""
        event = self.root_value
        if isinstance(event, PlannedEvent):
            return GraphQLExecutionResult(event.data, None)
        return super().execute_operation(serially)


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
        owner = principal.owner
        try:
            state.sockets.subscribe(owner)
        except TooManyConnections as refused:
            # The subscription gets the error, then the socket closes (gateway.sockets).
            context.close_after = (TOO_MANY, close_reason(refused.message))
            raise
        raw = info._raw_info
        planned = (
            context.planned.subscription(raw.operation, raw.fragments, raw.variable_values)
            if context.planned is not None
            else "disabled"
        )
        metrics = state.metrics
        try:
            async for delivery in session_updates(
                state.live, principal, resolver_filter, session_id
            ):
                if not isinstance(delivery, Update):
                    # An exception as the event is the field's error; the stream goes on.
                    error: Any = delivery
                    yield error
                    continue
                if isinstance(planned, PlannedSubscription):
                    build = partial(planned.payload, delivery.scope, context.uris, delivery.row)
                    data = await delivery.payload(planned, build, planned.for_everyone)
                    if data is not None:
                        metrics.count_execution("planned", "")
                        event: Any = PlannedEvent(data)
                        yield event
                        continue
                    metrics.count_execution("reference", "anomaly")
                else:
                    metrics.count_execution("reference", planned)
                # Nested fields read through the loaders this change's subscribers of the
                # same principal share, never a connection-wide cache.
                context.request_scope = delivery.scope
                yield Session.from_row(delivery.row, info)
        finally:
            state.sockets.unsubscribe(owner)
