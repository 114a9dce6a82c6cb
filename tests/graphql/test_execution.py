"""Completion plans answer exactly what graphql-core's ordinary execution answers."""

import asyncio
import uuid
from typing import Annotated

import pytest
import strawberry
from strawberry.types import Info

from gateway.graphql.execution import GatewayExecutionContext, context_only


@strawberry.type
class Tag:
    label: str


@strawberry.type
class Dock:
    name: str
    capacity: int | None


@strawberry.type
class Ride:
    distance: float


Place = Annotated[Dock | Ride, strawberry.union("Place")]


@strawberry.type
class Item:
    title: str
    note: str | None
    required: str  # the tests below put None here on purpose
    tags: list[Tag]

    @strawberry.field
    @context_only
    def place(self) -> Place:
        return Dock(name=self.title, capacity=None) if len(self.title) % 2 else Ride(distance=1.5)

    @strawberry.field
    @context_only
    def loaded(self, info: Info) -> str:
        return info.context["loaded"][self.title]

    @strawberry.field
    @context_only
    def later(self, info: Info) -> str:
        async def load() -> str:
            await asyncio.sleep(0)
            return self.title.upper()

        return load()  # type: ignore[return-value]

    @strawberry.field
    @context_only
    def broken(self) -> str:
        raise ValueError("no such thing")


def items(required: str | None = "yes") -> list[Item]:
    return [
        Item(title=title, note=None, required=required, tags=[Tag(label="a"), Tag(label="b")])  # type: ignore[arg-type]
        for title in ("odd", "even")
    ]


@strawberry.type
class Probe:
    n: str | None
    m: str | None

    @strawberry.field
    @context_only
    def ident(self) -> uuid.UUID:
        async def load() -> uuid.UUID:
            return uuid.UUID(int=1)

        return load()  # type: ignore[return-value]


class BrokenProbe:
    """Not a Probe: its attributes fail to read, as a faulty source would."""

    @property
    def n(self) -> str:
        raise RuntimeError("n is broken")

    m = "fine"


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return items()

    @strawberry.field
    def probe(self) -> Probe | None:
        return Probe(n="n", m=None)

    @strawberry.field
    def broken_probe(self) -> Probe | None:
        return BrokenProbe()  # type: ignore[return-value]

    @strawberry.field
    def broken_items(self) -> list[Item]:
        return items(required=None)


PLANNED = strawberry.Schema(query=Query, execution_context_class=GatewayExecutionContext)
ORDINARY = strawberry.Schema(query=Query)
CONTEXT = {"loaded": {"odd": "1", "even": "2"}}

QUERIES = [
    "{ items { title note tags { label } } }",
    "{ items { __typename title place { __typename ... on Dock { name capacity } "
    "... on Ride { distance } } } }",
    "{ items { loaded later } }",
    "{ items { a: title b: title tags { x: label } } }",
    "{ items { title ...F } } fragment F on Item { note place { ... on Dock { name } } }",
    "{ items { title broken } }",
    "{ brokenItems { title required } }",
    "{ items { title @skip(if: true) note @include(if: false) tags { label } } }",
    "{ probe { n m ident } }",
    "{ brokenProbe { m n } }",
]


@pytest.mark.parametrize("query", QUERIES)
async def test_a_planned_answer_is_the_ordinary_answer(query):
    planned = await PLANNED.execute(query, context_value=CONTEXT)
    ordinary = await ORDINARY.execute(query, context_value=CONTEXT)
    assert planned.data == ordinary.data
    assert [(e.message, e.path) for e in planned.errors or []] == [
        (e.message, e.path) for e in ordinary.errors or []
    ]


async def test_the_plan_is_used_and_abandoned_where_it_must_be():
    result = await PLANNED.execute("{ items { later required } brokenItems { required } }")
    assert result.data is None  # brokenItems is non-null: its null propagates to the root
    [error] = result.errors or []
    assert error.path == ["brokenItems", 0, "required"]
    result = await PLANNED.execute("{ items { later } }", context_value=CONTEXT)
    assert result.data == {"items": [{"later": "ODD"}, {"later": "EVEN"}]}
