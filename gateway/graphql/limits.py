"""The GraphQL limits of an app, applied per request by two schema extensions.

One schema serves every app in the process (Strawberry cannot build a second one from
the same Relay types), so the limits are not baked into it: ``RequestLimits`` and
``QueryCost`` read the serving app's settings from the request. The validation rules are
built once per distinct set of limits and reused as the same tuple: a rule class built
per request would change the ValidationCache key and turn the cache off (PITFALLS,
QueryDepthLimiter). Extensions are passed as classes, never as shared instances, since an
instance's ``execution_context`` would be shared by concurrent requests.
"""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import ASTValidationRule, GraphQLError, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from gateway.config import Settings
from gateway.graphql.context import Context
from gateway.graphql.cost import Cost, actual, estimate
from gateway.graphql.rules import max_aliases_rule, max_depth_rule
from gateway.ratelimit import charge
from gateway.state import GatewayState
from resolvers.errors import QueryTooComplex

# Strawberry's own cap on a batch; GRAPHQL_MAX_BATCH chooses the real one below it.
BATCH_CEILING = 100


@dataclass(frozen=True, slots=True)
class GraphQLLimits:
    """Every limit GraphQL requests are held to; 0 turns a numeric limit off."""

    max_depth: int = 10
    max_aliases: int = 20
    max_tokens: int = 2000
    max_cost: int = 50_000
    max_batch: int = 10
    max_body_bytes: int = 65536
    body_timeout: float = 30.0
    introspection: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> "GraphQLLimits":
        """The limits the settings ask for."""
        return cls(
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_tokens=settings.graphql_max_tokens,
            max_cost=settings.graphql_max_cost,
            max_batch=min(settings.graphql_max_batch, BATCH_CEILING),
            max_body_bytes=settings.graphql_max_body_bytes,
            body_timeout=settings.request_body_timeout,
            introspection=settings.graphql_introspection,
        )

    def validation_rules(self) -> tuple[type[ASTValidationRule], ...]:
        """The extra validation rules: the same tuple every time for equal limits."""
        return _validation_rules(self)


@lru_cache(maxsize=64)
def _validation_rules(limits: GraphQLLimits) -> tuple[type[ASTValidationRule], ...]:
    rules: list[type[ASTValidationRule]] = []
    if limits.max_depth:
        rules.append(max_depth_rule(limits.max_depth))
    if limits.max_aliases:
        rules.append(max_aliases_rule(limits.max_aliases))
    if not limits.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


async def charge_surplus(context: Context, cost: Cost, returned: int) -> None:
    """Draw from the rate limit what an operation returned beyond its requested cost."""
    if returned > cost.requested:
        await charge(context.request, returned - cost.requested, owed=True)


def hide_suggestions(errors: list[GraphQLError]) -> None:
    """Drop "Did you mean ...?" hints, which reveal the schema when introspection is off."""
    for error in errors:
        error.message = error.message.split(" Did you mean ")[0]


def limits_of(execution_context: ExecutionContext) -> GraphQLLimits | None:
    """The limits of the app serving an operation; None outside a gateway request."""
    context = execution_context.context
    if not isinstance(context, Context):
        return None
    return GraphQLLimits.from_settings(GatewayState.of(context.request).settings)


class RequestLimits(SchemaExtension):
    """Applies the app's token limit and extra validation rules to each operation."""

    def on_operation(self) -> Iterator[None]:
        """Set the parser's token limit and add the rules before parsing starts."""
        limits = limits_of(self.execution_context)
        if limits is not None:
            if limits.max_tokens:
                self.execution_context.parse_options["max_tokens"] = limits.max_tokens
            self.execution_context.validation_rules = (
                *self.execution_context.validation_rules,
                *limits.validation_rules(),
            )
        yield


class QueryCost(SchemaExtension):
    """Costs an operation before it runs, refuses it over budget, and charges the rate limit.

    An operation costs its requested nodes, one per mutation field, and at least 1; what
    it paid on arrival (``Context.credit``) is deducted, the rest is drawn here, before
    execution, and what the response returned beyond its requested nodes after. Every
    response reports ``extensions.cost``: ``requested``, ``actual`` (nodes returned) and
    the per-request ``maximum`` (0: no maximum).
    """

    def __init__(self) -> None:
        self.maximum = 0
        self.requested = 0
        self.actual = 0

    def on_operation(self) -> Iterator[None]:
        """Learn the budget first, so that even a refused document reports it."""
        limits = limits_of(self.execution_context)
        self.maximum = limits.max_cost if limits else 0
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        """Estimate, check and charge before execution; count what was returned after."""
        context = self.execution_context
        assert context.graphql_document is not None
        limits = limits_of(context)
        cost = estimate(
            context.schema._schema,
            context.graphql_document,
            context.operation_name,
            context.variables,
        )
        self.requested = cost.requested
        if self.maximum and cost.requested > self.maximum:
            raise QueryTooComplex(
                f"this operation may return {cost.requested} nodes; at most {self.maximum} "
                "are allowed per request: ask for smaller pages (first/last) or fewer lists"
            )
        own = context.context
        if limits is not None and isinstance(own, Context) and not own.charged:
            owed = own.owed(cost.requested)
            if owed > 0:
                await charge(own.request, owed)
            own.settle()
        yield
        self.actual = actual(cost, getattr(context.result, "data", None))
        if limits is not None:
            await charge_surplus(context.context, cost, self.actual)

    def get_results(self) -> dict[str, Any]:
        """The ``cost`` entry of the response's ``extensions``."""
        return {
            "cost": {"requested": self.requested, "actual": self.actual, "maximum": self.maximum}
        }
