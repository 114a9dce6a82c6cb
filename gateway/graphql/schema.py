"""The GraphQL schema: the query root and the schema object (built without touching a database)."""

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Annotated, Any, cast
from uuid import UUID

import strawberry
from strawberry import relay
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from gateway.graphql.connections import Connection, Counter, catalog_connection
from gateway.graphql.context import Info
from gateway.graphql.enums import SessionGroup, TimeBucket
from gateway.graphql.inputs import DeviceFilter, SessionFilter
from gateway.graphql.limits import BATCH_CEILING, QueryCost, RequestLimits
from gateway.graphql.mutations import Mutation
from gateway.graphql.observability import OperationMetrics
from gateway.graphql.scalars import SCALAR_MAP
from gateway.graphql.sockets import FreshScopePerOperation, SocketErrors
from gateway.graphql.subscriptions import PlannedEventExecutor, Subscription
from gateway.graphql.types import (
    Device,
    Fleet,
    Location,
    OrderBy,
    Session,
    SessionStats,
    session_connection,
)
from resolvers import catalog as catalog_resolvers
from resolvers import sessions as session_resolvers
from resolvers import stats as stats_resolvers

# The Relay node types, by the type name their global ids carry.
NODE_TYPES: dict[str, type[relay.Node]] = {
    node_type.__name__: node_type for node_type in (Session, Device, Location, Fleet)
}


async def resolve_global_ids(info: Info, ids: Sequence[relay.GlobalID]) -> list[Any]:
    """The nodes ``ids`` name, in order; None where missing, hidden or not a node at all.

    An id naming a type that is not a node (``Viewer:1``, ``Nope:``) finds nothing, as an
    id of a missing node does; Strawberry's own resolver fails on it.
    """
    positions: dict[type[relay.Node], list[int]] = {}
    for index, global_id in enumerate(ids):
        node_type = NODE_TYPES.get(global_id.type_name)
        if node_type is not None:
            positions.setdefault(node_type, []).append(index)
    found = await asyncio.gather(
        *(
            cast(
                "Awaitable[list[Any]]",
                node_type.resolve_nodes(info=info, node_ids=[ids[i].node_id for i in indexes]),
            )
            for node_type, indexes in positions.items()
        )
    )
    result: list[Any] = [None] * len(ids)
    for indexes, nodes in zip(positions.values(), found, strict=True):
        for index, node in zip(indexes, nodes, strict=True):
            result[index] = node
    return result


def _catalog_count(
    info: Info, name: str, device_filter: catalog_resolvers.DeviceFilter | None = None
) -> Counter:
    async def count(_estimate: bool) -> int:
        return await catalog_resolvers.count_catalog(info.context.scope, name, device_filter)

    return count


@strawberry.type(description="Who the current token stands for")
class Viewer:
    role: str
    user_id: UUID | None
    location_ids: list[UUID]
    fleet_ids: list[UUID]


@strawberry.type(description="What can be read")
class Query:
    @strawberry.field(description="Any object by its global id")
    async def node(
        self,
        info: Info,
        id: Annotated[relay.GlobalID, strawberry.argument(description="The ID of the object.")],
    ) -> relay.Node | None:
        found: relay.Node | None = (await resolve_global_ids(info, [id]))[0]
        return found

    @strawberry.field(description="Objects by global ids, in order")
    async def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[relay.GlobalID], strawberry.argument(description="The IDs of the objects.")
        ],
    ) -> list[relay.Node | None]:
        return await resolve_global_ids(info, ids)

    @strawberry.field(description="Who the current token stands for")
    def viewer(self, info: Info) -> Viewer:
        principal = info.context.scope.principal
        return Viewer(
            role=principal.role.value,
            user_id=principal.user_id,
            location_ids=sorted(principal.location_ids),
            fleet_ids=sorted(principal.fleet_ids),
        )

    @strawberry.field(
        description="Visible sessions, newest reference time first unless ordered otherwise"
    )
    async def sessions(
        self,
        info: Info,
        filter: SessionFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order_by: OrderBy = None,
    ) -> Connection[Session]:
        scope = info.context.scope
        session_filter = (filter or SessionFilter()).to_resolver_filter()
        page = await session_resolvers.list_session_rows(
            scope,
            session_filter,
            first=first,
            after=after,
            last=last,
            before=before,
            order=order_by,
        )

        async def count(estimate: bool) -> int:
            return await session_resolvers.count_sessions(scope, session_filter, estimate=estimate)

        return session_connection(info, page, count)

    @strawberry.field(
        description=(
            "Statistics of the visible sessions matching the filter, one entry per group"
            f" (at most {stats_resolvers.MAX_GROUPS}): by the keys of groupBy and by the"
            " bucket of each session's reference time, in timeZone or else its location's"
        )
    )
    async def session_stats(
        self,
        info: Info,
        filter: SessionFilter | None = None,
        group_by: list[SessionGroup] | None = None,
        bucket: TimeBucket | None = None,
        time_zone: Annotated[
            str | None, strawberry.argument(description="An IANA time zone, e.g. Europe/Amsterdam")
        ] = None,
    ) -> list[SessionStats]:
        groups = await stats_resolvers.session_stats(
            info.context.scope,
            (filter or SessionFilter()).to_resolver_filter(),
            group_by or (),
            bucket,
            time_zone,
        )
        return [SessionStats.from_group(group) for group in groups]

    @strawberry.field(description="Locations, by id")
    async def locations(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Location]:
        page = await catalog_resolvers.list_locations(info.context.scope, first=first, after=after)
        return catalog_connection(info, page, Location, _catalog_count(info, "locations"))

    @strawberry.field(description="Fleets, by id")
    async def fleets(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Fleet]:
        page = await catalog_resolvers.list_fleets(info.context.scope, first=first, after=after)
        return catalog_connection(info, page, Fleet, _catalog_count(info, "fleets"))

    @strawberry.field(description="Devices, by id")
    async def devices(
        self,
        info: Info,
        filter: DeviceFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Device]:
        device_filter = (filter or DeviceFilter()).to_resolver_filter()
        page = await catalog_resolvers.list_devices(
            info.context.scope, device_filter, first=first, after=after
        )
        return catalog_connection(
            info, page, Device, _catalog_count(info, "devices", device_filter)
        )


class GatewaySchema(strawberry.Schema):
    """The schema, leaving error logging to the view, which knows the correlation id."""

    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        """Log nothing here: expected errors are not faults, unexpected ones are logged later."""


def create_schema() -> strawberry.Schema:
    """The schema; importing or building it never connects to a database."""
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=list(NODE_TYPES.values()),
        execution_context_class=PlannedEventExecutor,
        config=StrawberryConfig(
            scalar_map=SCALAR_MAP, batching_config={"max_operations": BATCH_CEILING}
        ),
        # The limits come after the caches: they only set options the caches key on.
        extensions=[
            ParserCache,
            ValidationCache,
            RequestLimits,
            QueryCost,
            OperationMetrics,
            FreshScopePerOperation,
            SocketErrors,
        ],
    )


schema = create_schema()
