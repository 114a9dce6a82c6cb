"""Relay-style connections: edges with cursors, the nodes, and where the list continues."""

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Generic, TypeVar

import strawberry

from gateway.graphql.context import Info
from resolvers import catalog as catalog_resolvers

T = TypeVar("T")


@strawberry.type(description="Where a list continues")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="A node of a list with the cursor to continue after it")
class Edge(Generic[T]):
    encode_cursor: strawberry.Private[Callable[[], str]]

    @strawberry.field
    def cursor(self) -> str:
        # Signed on demand: most pages are read through `nodes`, without cursors.
        return self.encode_cursor()

    node: T


# Counts the whole list; ``estimate`` allows the database's estimate where it has one.
Counter = Callable[[bool], Awaitable[int]]


@strawberry.type(description="One page of a list")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count: strawberry.Private[Counter]

    @strawberry.field(description="The nodes of the page, without their cursors")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @strawberry.field(
        description=(
            "How many nodes the whole list holds (its filter and what the caller may see "
            "applied), whatever the page: one statement per field, costed as a page of 100"
        )
    )
    async def total_count(self) -> int:
        return await self.count(False)

    @strawberry.field(
        description=(
            "totalCount, or PostgreSQL's estimate of it where counting would read the "
            "whole sessions table (an admin's unfiltered sessions); costed as totalCount"
        )
    )
    async def total_count_estimate(self) -> int:
        return await self.count(True)


def page_connection(
    edges: list[Edge[Any]], has_next: bool, has_previous: bool, count: Counter
) -> Connection[Any]:
    page_info = PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=edges[0].encode_cursor() if edges else None,
        end_cursor=edges[-1].encode_cursor() if edges else None,
    )
    return Connection(edges=edges, page_info=page_info, count=count)


def catalog_connection(
    info: Info, page: catalog_resolvers.CatalogPage[Any], node: Any, count: Counter
) -> Connection[Any]:
    scope = info.context.scope
    edges = [
        Edge(encode_cursor=partial(page.cursor, scope, item), node=node.from_record(item))
        for item in page.items
    ]
    return page_connection(edges, page.has_next_page, page.has_previous_page, count)
