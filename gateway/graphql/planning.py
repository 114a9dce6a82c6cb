"""The GraphQL face of the planner: an operation becomes a ``planner.Selection``.

``PlannedReads.execute`` runs a read operation on the planned lane, or returns None to
leave it to the reference path (Strawberry and graphql-core), which also answers
everything the planner does not take: mutations, subscriptions, introspection, invalid
documents, errors. Each operation is counted on its lane with the reason
(``session_gateway_graphql_executions_total``), so a fallback is never silent.

Translation uses graphql-core's own field collection, so fragments, inline fragments on
unions and interfaces, aliases and ``@skip``/``@include`` merge exactly as execution
merges them. A plan depends on the document, the operation and the values of the
variables ``@skip``/``@include`` read; everything else (arguments, cursors, filters) is
evaluated per request from the variables.

A ``sessionUpdated`` subscription's selection is a read of the one session each change
brings: ``PlannedReads.subscription`` plans it once (an ``ObjectPlan``) for every
subscription of the same document and operation whose variables read inside the
selection are equal, and each change's payload is then built once for all of them
(``resolvers.live.Update.payload``). Each event is counted on its lane too.
"""

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    Visitor,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_non_null_type,
    parse,
    print_schema,
    specified_rules,
    visit,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    GroupedFieldSet,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry import Schema
from strawberry.schema.schema import validate_document
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import ExecutionResult
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

from gateway.graphql.context import Context
from gateway.graphql.cost import Cost, actual_counter, estimate
from gateway.graphql.limits import GraphQLLimits, charge_surplus
from gateway.ratelimit import charge
from gateway.state import GatewayState
from planner import ObjectPlan, Plan, Selection, Unplannable
from planner.formats import (
    enum_names,
    format_boolean,
    format_decimal,
    format_float,
    format_int,
    format_string,
    format_uuid,
    timestamp_for_json,
)
from planner.kinds import NODE_KINDS
from planner.selection import Constant, Item, Nested, Shape, Value
from resolvers.context import RequestScope
from resolvers.errors import DomainError
from resolvers.uris import Uris

logger = logging.getLogger("session_gateway.planner")

# The domain kind of each GraphQL object type the planner reads.
KINDS = {
    "Query": "query",
    **{type_name: kind for type_name, kind in NODE_KINDS.items()},
    "Money": "money",
    "Payment": "payment",
    "Rating": "rating",
    "StorageDetails": "storage",
    "TravelDetails": "travel",
    "SessionEvent": "event",
    "Viewer": "viewer",
    "SessionConnection": "session_page",
    "LocationConnection": "catalog_page",
    "DeviceConnection": "catalog_page",
    "FleetConnection": "catalog_page",
    "SessionEdge": "edge",
    "LocationEdge": "edge",
    "DeviceEdge": "edge",
    "FleetEdge": "edge",
    "PageInfo": "page_info",
    "SessionStats": "stats_group",
    "LocationOccupancy": "occupancy",
    "LocationUtilization": "utilization",
}

_SCALAR_FORMATS: dict[str, Callable[[Any], Any]] = {
    "String": format_string,
    "ID": format_string,
    "Int": format_int,
    "Float": format_float,
    "Boolean": format_boolean,
    "UUID": format_uuid,
    "DateTime": timestamp_for_json,  # printed by the response's orjson (JSON_TIMESTAMPS)
    "Decimal": format_decimal,
}
MAX_DOCUMENTS = 512  # prepared documents kept; each keeps at most MAX_PLANS plans
MAX_PLANS = 16
MAX_PLAN_STEPS = 5_000  # fields, relations and constants in one plan
MAX_CACHED_STEPS = 500_000  # in all cached plans
MAX_SUBSCRIPTION_PLANS = 256  # planned subscription selections kept
MAX_SUBSCRIPTION_STEPS = 100_000  # in all of them


def _formatter(named: GraphQLNamedType) -> Callable[[Any], Any]:
    if isinstance(named, GraphQLEnumType):
        wrapped = getattr(named, "wrapped_cls", None)
        if wrapped is None:
            raise Unplannable("unknown_scalar", named.name)
        names = enum_names(wrapped)
        return names.__getitem__
    fmt = _SCALAR_FORMATS.get(named.name)
    if fmt is None:
        raise Unplannable("unknown_scalar", named.name)
    return fmt


def _python_name(definition: GraphQLField, name: str) -> str:
    field_definition = (definition.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if isinstance(field_definition, StrawberryField):
        # Relay's global id field is Strawberry's ``_id``; the domain calls it ``id``.
        return "id" if field_definition.python_name == "_id" else field_definition.python_name
    return name


MAX_MEMOS = 32  # coerced values kept per field's arguments, and cost estimates per document


def _frozen(value: Any) -> Hashable:
    """A variable's value as a key: lists and input objects included, types kept apart."""
    if isinstance(value, dict):
        return (dict, tuple(sorted((k, _frozen(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return (list, tuple(_frozen(v) for v in value))
    hash(value)  # TypeError for anything else that cannot be a key
    return (type(value), value)


class _Memo:
    """The last ``MAX_MEMOS`` results of a pure function of some variables, by their values."""

    __slots__ = ("results",)

    def __init__(self) -> None:
        self.results: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, values: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, or what it returned last time for the same ``values``."""
        results = self.results
        try:
            key = _frozen(values)
        except TypeError:  # a value that cannot be a key: compute every time
            return compute()
        found = results.get(key, _UNSET)
        if found is _UNSET:
            found = results[key] = compute()  # not kept if it raises
            if len(results) > MAX_MEMOS:
                results.popitem(last=False)
        else:
            results.move_to_end(key)
        return found


_UNSET = object()


def _variables_in(node: Any) -> tuple[str, ...]:
    """The variables an AST node reads, sorted."""
    names: set[str] = set()

    class Variables(Visitor):
        def enter_variable(self, variable: VariableNode, *_args: Any) -> None:
            names.add(variable.name.value)

    visit(node, Variables())
    return tuple(sorted(names))


class _FieldArguments:
    """A field's arguments, coerced from each request's variables as Strawberry does.

    Coercing is pure, and a request's arguments depend only on the variables they read:
    the values for the last ``MAX_MEMOS`` sets of those variables are kept (literal
    arguments are coerced once). Resolvers only read what they are given.
    """

    __slots__ = ("definition", "memo", "node", "schema", "used")

    def __init__(self, schema: Schema, definition: GraphQLField, node: FieldNode) -> None:
        self.schema, self.definition, self.node = schema, definition, node
        self.used = tuple(
            name for argument in node.arguments or () for name in _variables_in(argument)
        )
        self.memo = _Memo()

    def values(self, variables: VariableValues) -> dict[str, Any]:
        """The arguments as domain values (input objects become resolver filters)."""
        used = [variables.coerced.get(name) for name in self.used]
        result: dict[str, Any] = self.memo.get(used, lambda: self._coerce(variables))
        return result

    def _coerce(self, variables: VariableValues) -> dict[str, Any]:
        raw = get_argument_values(self.definition, self.node, variables)
        field_definition = self.definition.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
        converted = convert_arguments(
            raw,
            field_definition.arguments,
            scalar_registry=self.schema.schema_converter.scalar_registry,
            config=self.schema.config,
        )
        return {
            name: value.to_resolver_filter() if hasattr(value, "to_resolver_filter") else value
            for name, value in converted.items()
        }


class _Translator:
    """Turns one operation, for one set of directive values, into a ``Selection``."""

    def __init__(
        self,
        strawberry_schema: Schema,
        fragments: dict[str, FragmentDetails],
        variables: VariableValues,
        operation: OperationDefinitionNode,
    ) -> None:
        self.strawberry_schema = strawberry_schema
        self.schema, self.fragments = strawberry_schema._schema, fragments
        self.steps = 0
        self.variables, self.operation = variables, operation

    def selection(self) -> Selection:
        root = self.schema.query_type
        assert root is not None
        collected = collect_fields(
            self.schema, self.fragments, self.variables, root, self.operation
        )
        if collected.new_defer_usages:
            raise Unplannable("defer")
        return Selection(self.shape(root, collected.grouped_field_set))

    def subscription(self) -> tuple[str, Shape]:
        """A subscription's root field: its response key, and its selection on each event."""
        root = self.schema.subscription_type
        assert root is not None
        collected = collect_fields(
            self.schema, self.fragments, self.variables, root, self.operation
        )
        if collected.new_defer_usages:
            raise Unplannable("defer")
        if len(collected.grouped_field_set) != 1:  # validation allows one root field
            raise Unplannable("unknown_type", root.name)
        ((key, details),) = collected.grouped_field_set.items()
        name = details[0].node.name.value
        named = get_named_type(root.fields[name].type) if name in root.fields else None
        if not isinstance(named, GraphQLObjectType):
            raise Unplannable("unknown_type", f"{root.name}.{name}")
        sub = collect_subfields(
            self.schema, self.fragments, self.variables, self.operation, named, details
        )
        if sub.new_defer_usages:
            raise Unplannable("defer")
        return key, self.shape(named, sub.grouped_field_set)

    def shape(self, parent: GraphQLObjectType, grouped: GroupedFieldSet) -> Shape:
        kind = KINDS.get(parent.name)
        if kind is None:
            raise Unplannable("unknown_type", parent.name)
        items: list[Item] = []
        self.steps += len(grouped)
        if self.steps > MAX_PLAN_STEPS:  # fragments can multiply a small document
            raise Unplannable("too_large")
        for key, details in grouped.items():
            node = details[0].node
            name = node.name.value
            if name == "__typename":
                items.append(Constant(key, parent.name))
                continue
            if name.startswith("__"):
                raise Unplannable("introspection")
            if any(d.defer_usage is not None for d in details):
                raise Unplannable("defer")
            definition = parent.fields[name]
            items.append(self.item(parent, key, name, definition, details))
        return Shape(kind, tuple(items))

    def item(
        self,
        parent: GraphQLObjectType,
        key: str,
        name: str,
        definition: GraphQLField,
        details: FieldDetailsList,
    ) -> Item:
        python_name = _python_name(definition, name)
        output: GraphQLOutputType = definition.type
        required = is_non_null_type(output)
        nullable = get_nullable_type(output)
        many = isinstance(nullable, GraphQLList)
        item_required = isinstance(nullable, GraphQLList) and is_non_null_type(nullable.of_type)
        named = get_named_type(output)
        if isinstance(named, GraphQLScalarType | GraphQLEnumType):
            return Value(key, python_name, _formatter(named), required, many, item_required)
        possible = self.schema.get_possible_types(named) if is_abstract_type(named) else [named]
        shapes = {}
        for object_type in possible:
            assert isinstance(object_type, GraphQLObjectType)
            sub = collect_subfields(
                self.schema, self.fragments, self.variables, self.operation, object_type, details
            )
            if sub.new_defer_usages:
                raise Unplannable("defer")
            shape = self.shape(object_type, sub.grouped_field_set)
            shapes[shape.kind] = shape
        arguments = (
            _FieldArguments(self.strawberry_schema, definition, details[0].node)
            if definition.args
            else None
        )
        return Nested(key, python_name, shapes, required, many, item_required, arguments)


def _selection_variables(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> tuple[str, ...]:
    """The variables read below an operation's root fields (not by their arguments), sorted."""
    names: set[str] = set()
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            for part in (selection.selection_set, *(selection.directives or ())):
                if part is not None:
                    names.update(_variables_in(part))
        else:
            names.update(_variables_in(selection))
    for fragment in fragments.values():
        names.update(_variables_in(fragment))
    return tuple(sorted(names))


# The relations below a session whose objects every principal sees alike: the session's
# own parts and the catalog (a page, a cursor or a session reached from the catalog is not).
_SAME_FOR_EVERYONE = frozenset(
    {
        "fee",
        "payment",
        "rating",
        "details",
        "events",
        "auxiliary_devices",
        "location",
        "device",
        "fleet",
        "start_location",
        "end_location",
        "rental_device",
        "rental_fleet",
    }
)


def _for_everyone(shape: Shape) -> bool:
    """Whether a selection on a session shows every principal that may see it the same."""
    return all(
        item.relation in _SAME_FOR_EVERYONE and all(_for_everyone(s) for s in item.shapes.values())
        for item in shape.items
        if isinstance(item, Nested)
    )


@dataclass(frozen=True, eq=False, slots=True)
class PlannedSubscription:
    """A subscription's selection, planned: the same payload for every subscription it serves.

    It serves the subscriptions of one document and operation whose variables read below
    the root field are equal, and is itself the key their shared payloads are kept under.
    ``for_everyone``: the selection shows every principal the same (its relations reach
    only the session's own values and the catalog, which every token sees).
    """

    response_key: str
    plan: ObjectPlan
    variables: VariableValues
    for_everyone: bool

    async def payload(self, scope: RequestScope, uris: Uris, obj: Any) -> dict[str, Any] | None:
        """An event's data for ``obj``; None leaves the event to the reference path."""
        try:
            return {self.response_key: await self.plan.run(scope, uris, self.variables, obj)}
        except Exception as error:  # reads have no side effects: the reference path answers
            logger.debug("planned subscription event declined: %r", error, exc_info=True)
            return None


def _directive_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables any ``@skip``/``@include`` of the document reads, sorted."""
    names: set[str] = set()

    class Directives(Visitor):
        def enter_directive(self, node: Any, *_args: Any) -> None:
            if node.name.value in ("skip", "include"):
                for argument in node.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        names.add(argument.value.name.value)

    visit(document, Directives())
    return tuple(sorted(names))


@dataclass(slots=True)
class _Prepared:
    """A parsed and validated read operation, with its plans by directive values.

    A plan that could not be made is kept as the reason it was declined.
    """

    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDetails]
    directive_variables: tuple[str, ...]
    plans: "OrderedDict[tuple[Any, ...], Plan | str]" = field(default_factory=OrderedDict)
    costs: "_Memo" = field(default_factory=lambda: _Memo())  # _priced by variable values


def _priced(cost: Cost) -> tuple[Cost, Callable[[Any], int]]:
    """An estimate, with the counter of its actual cost (kept with it, by variable values)."""
    return cost, actual_counter(cost)


class _Declined(Exception):
    """The operation is left to the reference path, for ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the planned lane did with an operation.

    ``result`` is None when the reference path must answer; ``charged`` says that the
    operation's cost was already drawn from the rate limit (the reference path must not
    draw it again).
    """

    result: ExecutionResult | None
    charged: bool = False


class PlannedReads:
    """The planned lane of one app: its prepared documents and plans, bounded LRUs.

    The cache is bounded twice: by documents (``MAX_DOCUMENTS``, ``MAX_PLANS`` each) and by
    the steps all its plans hold (``MAX_CACHED_STEPS``); a plan larger than
    ``MAX_PLAN_STEPS`` is not made (its translation stops there) and the document is left
    to the reference path. A document is compiled only after its cost has been charged.
    """

    def __init__(self, schema: Schema, limits: GraphQLLimits, enabled: bool = True) -> None:
        self.strawberry_schema = schema
        self.schema = schema._schema
        self.limits = limits
        self.enabled = enabled
        self.rules = (*specified_rules, *limits.validation_rules())
        # Plans are made for one schema: its digest is part of every key.
        self.version = hashlib.sha256(print_schema(self.schema).encode()).hexdigest()[:16]
        self.documents: OrderedDict[tuple[str, str, str | None], _Prepared | str] = OrderedDict()
        self.cached_steps = 0
        # By the operation's identity (the parser cache gives one per document) and the
        # values of the variables its selection reads; each entry keeps its operation, so
        # that the identity is not reused while it is cached.
        self.subscriptions: OrderedDict[
            tuple[int, Hashable], tuple[OperationDefinitionNode, PlannedSubscription | str]
        ] = OrderedDict()
        self.subscription_steps = 0

    def subscription(
        self,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: VariableValues | dict[str, Any],
    ) -> PlannedSubscription | str:
        """The planned selection of a validated subscription (cached), or why it is declined.

        ``variables`` are coerced (Strawberry hands resolvers the plain dict).
        """
        if not self.enabled:
            return "disabled"
        if isinstance(variables, VariableValues):
            variables = variables.coerced
        try:
            used = _frozen([variables.get(n) for n in _selection_variables(operation, fragments)])
        except TypeError:  # a value that cannot be a key
            return "variables"
        key = (id(operation), used)
        entry = self.subscriptions.get(key)
        if entry is not None and entry[0] is operation:
            self.subscriptions.move_to_end(key)
            return entry[1]
        planned = self._plan_subscription(operation, fragments, variables)
        self.subscriptions[key] = (operation, planned)
        if isinstance(planned, PlannedSubscription):
            self.subscription_steps += planned.plan.steps
        while len(self.subscriptions) > 1 and (
            len(self.subscriptions) > MAX_SUBSCRIPTION_PLANS
            or self.subscription_steps > MAX_SUBSCRIPTION_STEPS
        ):
            _, (_, evicted) = self.subscriptions.popitem(last=False)
            if isinstance(evicted, PlannedSubscription):
                self.subscription_steps -= evicted.plan.steps
        return planned

    def _plan_subscription(
        self,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> PlannedSubscription | str:
        coerced = VariableValues({}, dict(variables))
        details = {name: FragmentDetails(d) for name, d in fragments.items()}
        try:
            translator = _Translator(self.strawberry_schema, details, coerced, operation)
            key, shape = translator.subscription()
            return PlannedSubscription(key, ObjectPlan(shape), coerced, _for_everyone(shape))
        except Unplannable as declined:
            return declined.reason
        except GraphQLError:  # a directive's argument the reference path refuses
            return "variables"

    def prepare(self, query: str, operation_name: str | None) -> _Prepared:
        """The prepared operation (cached); raises ``_Declined`` for the reference path."""
        key = (self.version, query, operation_name)
        prepared = self.documents.get(key)
        if prepared is None:
            prepared = self._prepare(query, operation_name)
            self.documents[key] = prepared
            while len(self.documents) > MAX_DOCUMENTS:
                self._evict_oldest()
        else:
            self.documents.move_to_end(key)
        if isinstance(prepared, str):
            raise _Declined(prepared)  # a fresh exception: a cached one would keep tracebacks
        return prepared

    def _evict_oldest(self) -> None:
        _, evicted = self.documents.popitem(last=False)
        if isinstance(evicted, _Prepared):
            self.cached_steps -= sum(p.steps for p in evicted.plans.values() if isinstance(p, Plan))

    def _prepare(self, query: str, operation_name: str | None) -> _Prepared | str:
        try:
            document = parse(query, max_tokens=self.limits.max_tokens or None)
        except GraphQLError:
            return "invalid"
        if validate_document(self.schema, document, self.rules):
            return "invalid"
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is None:
            operation = operations[0] if len(operations) == 1 else None
        else:
            operation = next(
                (o for o in operations if o.name and o.name.value == operation_name), None
            )
        if operation is None:
            return "invalid"
        if operation.operation is not OperationType.QUERY:
            return str(operation.operation.value)
        fragments = {
            d.name.value: FragmentDetails(d)
            for d in document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        return _Prepared(document, operation, fragments, _directive_variables(document))

    def plan(self, prepared: _Prepared, variables: VariableValues) -> Plan:
        """The plan for these directive values (compiled on first use)."""
        key = tuple(variables.coerced.get(name) for name in prepared.directive_variables)
        plan = prepared.plans.get(key)
        if plan is None:
            try:
                translator = _Translator(
                    self.strawberry_schema, prepared.fragments, variables, prepared.operation
                )
                plan = Plan(translator.selection())
            except Unplannable as declined:
                plan = declined.reason
            except GraphQLError:  # a directive's argument the reference path refuses
                plan = "variables"
            prepared.plans[key] = plan
            if isinstance(plan, Plan):
                self.cached_steps += plan.steps
            while len(prepared.plans) > MAX_PLANS:
                _, evicted = prepared.plans.popitem(last=False)
                if isinstance(evicted, Plan):
                    self.cached_steps -= evicted.steps
            while self.cached_steps > MAX_CACHED_STEPS and len(self.documents) > 1:
                self._evict_oldest()
        if isinstance(plan, str):
            raise _Declined(plan)
        return plan

    async def execute(
        self,
        context: Context,
        query: str | None,
        operation_name: str | None,
        variables: dict[str, Any] | None,
    ) -> Outcome:
        """Run the operation on the planned lane if it can; counts the lane either way."""
        metrics = GatewayState.of(context.request).metrics
        charged = [False]
        try:
            if not self.enabled:
                raise _Declined("disabled")
            name, result = await self._execute(context, query, operation_name, variables, charged)
        except _Declined as declined:
            metrics.count_execution("reference", declined.reason)
            return Outcome(None, charged[0])
        metrics.count_execution("planned", "")
        metrics.count_operation("query", name, False)
        return Outcome(result, True)

    async def _execute(
        self,
        context: Context,
        query: str | None,
        operation_name: str | None,
        raw_variables: dict[str, Any] | None,
        charged: list[bool],
    ) -> tuple[str | None, ExecutionResult]:
        if not query:
            raise _Declined("no_document")
        if raw_variables is not None and not isinstance(raw_variables, dict):
            raise _Declined("invalid")
        prepared = self.prepare(query, operation_name)
        coerced = get_variable_values(
            self.schema, prepared.operation.variable_definitions or (), raw_variables or {}
        )
        if isinstance(coerced, list):
            raise _Declined("variables")
        cost, count_actual = prepared.costs.get(
            raw_variables or {},
            lambda: _priced(
                estimate(self.schema, prepared.document, operation_name, raw_variables)
            ),
        )
        maximum = self.limits.max_cost
        if maximum and cost.requested > maximum:
            raise _Declined("cost")
        owed = context.owed(cost.requested)
        if owed > 0:
            try:
                await charge(context.request, owed)
            except DomainError as refused:
                raise _Declined("rate_limited") from refused
        context.settle()
        charged[0] = True
        plan = self.plan(prepared, coerced)  # compiled once the operation has paid
        try:
            data = await plan.run(context.scope, context.uris, coerced)
        except Exception as error:  # reads have no side effects: the reference path answers
            reason = "refused" if _is_refusal(error) else "anomaly"
            logger.debug("planned read declined (%s): %r", reason, error, exc_info=True)
            raise _Declined(reason) from None
        returned = count_actual(data)
        await charge_surplus(context, cost, returned)
        extensions = {"cost": {"requested": cost.requested, "actual": returned, "maximum": maximum}}
        name = prepared.operation.name.value if prepared.operation.name else None
        return name, ExecutionResult(data=data, errors=None, extensions=extensions)


def _is_refusal(error: BaseException) -> bool:
    """A resolver refused the request's input (a page size, a cursor): not an anomaly."""
    if isinstance(error, BaseExceptionGroup):
        return all(_is_refusal(e) for e in error.exceptions)
    return isinstance(error, DomainError)
