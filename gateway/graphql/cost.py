"""The cost of a GraphQL operation in nodes: estimated before it runs, counted after.

As in GitHub's node limit, every connection field (a ``...Connection`` type taking
``first``) may return as many nodes as the product of the page sizes along its path from
the root, and the requested cost is the sum over all of them::

    locations(first: 10) { nodes { sessions(first: 20) { nodes { uuid } } } }
    # 10 locations + 10 x 20 sessions = 210

A missing page size counts as its default (20) and one above 100 as 100 (the resolvers
refuse it anyway); ``node(id:)`` counts one and ``nodes(ids:)`` one per id; a list of
objects outside a connection (a session's ``events`` and ``auxiliaryDevices``) counts as
a page of the default size per parent; a connection's ``totalCount`` (or
``totalCountEstimate``) counts as a full page (``COUNT_COST``, 100) per connection, since
counting reads every matching row's index entry; each field of a mutation counts one
more, aliases included. The actual cost counts the nodes those same fields returned in
the response, and each count returned as ``COUNT_COST``.

Costs saturate at ``COST_CEILING``: a fragment bomb multiplies page sizes beyond any
integer a JSON client can read, and is refused over budget all the same.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationType,
    SelectionNode,
    get_named_type,
    get_nullable_type,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.utilities import get_operation_ast

from resolvers.sessions import DEFAULT_PAGE_SIZE

MAX_PAGE_SIZE = 100
COUNT_COST = MAX_PAGE_SIZE  # a count reads the whole list: it costs a full page
COUNT_FIELDS = frozenset({"totalCount", "totalCountEstimate"})
PAGE_ARGUMENTS = ("first", "last")
COST_CEILING = 2**53 - 1  # the largest integer every JSON client reads exactly
NODE_INTERFACE = "Node"


def _bounded(value: int) -> int:
    return min(value, COST_CEILING)


@dataclass(frozen=True, slots=True)
class Cost:
    """An operation's requested cost, with what is needed to count its actual cost later."""

    requested: int
    counted: frozenset[int] = frozenset()  # id() of each field node whose nodes count
    singles: frozenset[int] = frozenset()  # those of them that return one node, not a list
    totals: frozenset[int] = frozenset()  # those of them that are counts of a connection
    selections: tuple[SelectionNode, ...] = ()
    fragments: Mapping[str, FragmentDefinitionNode] = field(default_factory=dict)


def estimate(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> Cost:
    """The requested cost of the operation ``operation_name`` of a validated document."""
    operation = get_operation_ast(document, operation_name)
    root = schema.get_root_type(operation.operation) if operation else None
    if operation is None or root is None:
        return Cost(0)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    # Bad variables are reported by execution; the estimate then uses defaults.
    values = VariableValues({}, {}) if isinstance(coerced, list) else coerced
    estimator = _Estimator(schema, fragments, values)
    selections = tuple(operation.selection_set.selections)
    requested = estimator.unit_cost(root, selections)
    if operation.operation is OperationType.MUTATION:
        # Every mutation field is a write: aliases and fragments do not make it cheaper.
        requested = _bounded(requested + _field_count(selections, fragments, {}))
    return Cost(
        requested,
        frozenset(estimator.counted),
        frozenset(estimator.singles),
        frozenset(estimator.totals),
        selections,
        fragments,
    )


def _field_count(
    selections: Sequence[SelectionNode],
    fragments: Mapping[str, FragmentDefinitionNode],
    counted: dict[str, int],
) -> int:
    """How many fields ``selections`` hold at their level, fragments spread in.

    Each fragment is counted once (``counted``) and the sum saturates, so a fragment
    bomb stays linear in the document.
    """
    count = 0
    for selection in selections:
        if isinstance(selection, FieldNode):
            count += selection.name.value != "__typename"
        elif isinstance(selection, InlineFragmentNode):
            count += _field_count(selection.selection_set.selections, fragments, counted)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in counted:
                counted[name] = 0  # a cycle, refused by validation, counts nothing
                fragment = fragments.get(name)
                if fragment is not None:
                    counted[name] = _field_count(
                        fragment.selection_set.selections, fragments, counted
                    )
            count += counted[name]
        count = _bounded(count)
    return count


def _is_connection(definition: GraphQLField, named: GraphQLNamedType) -> bool:
    return named.name.endswith("Connection") and "first" in definition.args


def _page_size(arguments: Mapping[str, Any]) -> int:
    sizes = [arguments[name] for name in PAGE_ARGUMENTS if isinstance(arguments.get(name), int)]
    size = max(sizes) if sizes else DEFAULT_PAGE_SIZE
    return min(max(size, 0), MAX_PAGE_SIZE)


def _list_size(
    parent: GraphQLNamedType,
    definition: GraphQLField,
    named: GraphQLNamedType,
    arguments: dict[str, Any],
) -> int | None:
    """How many nodes a field may return per parent; None when it returns no counted nodes."""
    if _is_connection(definition, named):
        return _page_size(arguments)
    if named.name == NODE_INTERFACE:  # node(id:) and nodes(ids:)
        ids = arguments.get("ids")
        return len(ids) if isinstance(ids, list) else 1
    listed = isinstance(get_nullable_type(definition.type), GraphQLList)
    if listed and isinstance(named, GraphQLObjectType) and not parent.name.endswith("Connection"):
        return DEFAULT_PAGE_SIZE
    return None


class _Estimator:
    """Costs selections once per parent, so that the cost scales by a multiplier.

    Every term of a cost is a product of page sizes, so the cost under a parent that
    returns ``m`` nodes is ``m`` times the cost under one: each fragment is costed once
    and reused wherever it is spread, which keeps the walk linear in the document.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.counted: set[int] = set()
        self.singles: set[int] = set()
        self.totals: set[int] = set()
        self.fragment_costs: dict[str, int] = {}
        self.costing: set[str] = set()

    def unit_cost(
        self, parent: GraphQLNamedType | None, selections: Sequence[SelectionNode]
    ) -> int:
        """The nodes ``selections`` may return under one parent object."""
        total = 0
        for selection in selections:
            if isinstance(selection, FieldNode):
                cost = self._field(parent, selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                cost = self.unit_cost(target, selection.selection_set.selections)
            elif isinstance(selection, FragmentSpreadNode):
                cost = self._fragment(selection.name.value)
            else:
                continue
            total = _bounded(total + cost)
        return total

    def _fragment(self, name: str) -> int:
        if name in self.fragment_costs:
            return self.fragment_costs[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self.costing:
            return 0  # a cycle, refused by validation before any cost is taken
        self.costing.add(name)
        target = self.schema.get_type(fragment.type_condition.name.value)
        cost = self.unit_cost(target, fragment.selection_set.selections)
        self.costing.discard(name)
        self.fragment_costs[name] = cost
        return cost

    def _field(self, parent: GraphQLNamedType | None, node: FieldNode) -> int:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return 0  # __typename and introspection cost nothing
        if node.name.value in COUNT_FIELDS and parent.name.endswith("Connection"):
            self.counted.add(id(node))
            self.totals.add(id(node))
            return COUNT_COST
        try:
            arguments = get_argument_values(definition, node, self.variables)
        except GraphQLError:
            arguments = {}  # execution reports the bad argument
        named = get_named_type(definition.type)
        size = _list_size(parent, definition, named, arguments)
        selections = node.selection_set.selections if node.selection_set else ()
        inner = self.unit_cost(named, selections)
        if size is None:
            return inner
        self.counted.add(id(node))
        connection = _is_connection(definition, named)
        if not isinstance(get_nullable_type(definition.type), GraphQLList) and not connection:
            self.singles.add(id(node))  # node(id:): one node, not a list or a page
        # A connection's counts are one per connection, not one per node of its page.
        once = self._counts(named, selections, set()) if connection else 0
        return _bounded(size + _bounded(size * max(inner - once, 0)) + once)

    def _counts(
        self, parent: GraphQLNamedType, selections: Sequence[SelectionNode], seen: set[str]
    ) -> int:
        """The cost of the counts selected on a connection itself, fragments included."""
        total = 0
        for selection in selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in COUNT_FIELDS:
                    total += COUNT_COST
            elif isinstance(selection, InlineFragmentNode):
                total += self._counts(parent, selection.selection_set.selections, seen)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None and selection.name.value not in seen:
                    inner = self._counts(
                        parent, fragment.selection_set.selections, seen | {selection.name.value}
                    )
                    total += inner
            total = _bounded(total)
        return total


def actual(cost: Cost, data: Any) -> int:
    """The nodes the counted fields of an operation returned in ``data``."""
    return actual_counter(cost)(data)


def actual_counter(cost: Cost) -> Callable[[Any], int]:
    """``actual`` for many responses to one operation: its document is flattened once."""
    counter = _Counter(cost)
    return lambda data: counter.returned(cost.selections, data)


# How a field's value counts: one node, a page (or list) of nodes, a count of a whole
# list, or only what is below.
_SINGLE, _PAGE, _NESTED, _TOTAL = 0, 1, 2, 3
# (response key, how it counts, its field nodes' selections, the steps below it)
_Step = tuple[str, int, list[SelectionNode], "list[_Step] | None"]


class _Counter:
    """Walks a response along its document, flattening each fragment only once."""

    def __init__(self, cost: Cost) -> None:
        self.cost = cost
        self.flattened: dict[tuple[int, ...], dict[str, list[FieldNode]]] = {}
        self.fragment_fields: dict[str, dict[str, list[FieldNode]]] = {}
        self.counting: dict[tuple[int, ...], bool] = {}
        self.walks: dict[tuple[int, ...], list[_Step] | None] = {}

    def counts_below(self, selections: Sequence[SelectionNode]) -> bool:
        """Whether any counted field is among or beneath ``selections``."""
        memo_key = tuple(id(s) for s in selections)
        known = self.counting.get(memo_key)
        if known is None:
            self.counting[memo_key] = False  # a fragment cycle is invalid; stop on it anyway
            known = any(
                id(node) in self.cost.counted
                or (node.selection_set and self.counts_below(node.selection_set.selections))
                for nodes in self.fields_by_key(selections).values()
                for node in nodes
            )
            self.counting[memo_key] = known
        return known

    def returned(self, selections: Sequence[SelectionNode], value: Any) -> int:
        """Nodes returned by counted fields under ``value``."""
        return self._walk(self.steps(selections), value)

    def steps(self, selections: Sequence[SelectionNode]) -> list[_Step] | None:
        """What to count in a value selected by ``selections``; None: nothing below counts.

        Made once per selection set of the document (a response walks it per object).
        """
        memo_key = tuple(id(s) for s in selections)
        if memo_key in self.walks:
            return self.walks[memo_key]
        steps: list[_Step] | None = None
        self.walks[memo_key] = None  # a fragment cycle is invalid; stop on it anyway
        if self.counts_below(selections):
            steps = []
            for key, nodes in self.fields_by_key(selections).items():
                inner = [s for n in nodes if n.selection_set for s in n.selection_set.selections]
                if any(id(n) in self.cost.totals for n in nodes):
                    how = _TOTAL
                elif any(id(n) in self.cost.singles for n in nodes):
                    how = _SINGLE
                elif any(id(n) in self.cost.counted for n in nodes):
                    how = _PAGE
                else:
                    how = _NESTED
                below = self.steps(inner)
                if how != _NESTED or below is not None:
                    steps.append((key, how, inner, below))
        self.walks[memo_key] = steps
        return steps

    def _walk(self, steps: list[_Step] | None, value: Any) -> int:
        if steps is None:
            return 0  # e.g. the fields of each node of a page: nothing to walk
        if isinstance(value, list):
            return sum(self._walk(steps, item) for item in value)
        if not isinstance(value, dict):
            return 0
        total = 0
        for key, how, inner, below in steps:
            if key not in value:
                continue
            found = value[key]
            if how == _SINGLE:
                total += found is not None
            elif how == _TOTAL:
                total += COUNT_COST if found is not None else 0
            elif how == _PAGE:
                total += self.page_length(found, inner)
            if below is not None:
                total += self._walk(below, found)
        return total

    def page_length(self, value: Any, selections: Sequence[SelectionNode]) -> int:
        """Nodes in one connection page (or one ``nodes(ids:)`` list)."""
        if isinstance(value, list):
            return sum(1 for item in value if item is not None)
        if not isinstance(value, dict):
            return 0
        lengths = [
            len(value[key])
            for key, nodes in self.fields_by_key(selections).items()
            if nodes[0].name.value in ("edges", "nodes") and isinstance(value.get(key), list)
        ]
        return max(lengths, default=0)

    def fields_by_key(self, selections: Sequence[SelectionNode]) -> dict[str, list[FieldNode]]:
        """Field nodes by response key, fragments flattened, as execution merges them."""
        memo_key = tuple(id(s) for s in selections)
        if memo_key in self.flattened:
            return self.flattened[memo_key]
        grouped: dict[str, list[FieldNode]] = {}
        for selection in selections:
            if isinstance(selection, FieldNode):
                part = {
                    selection.alias.value if selection.alias else selection.name.value: [selection]
                }
            elif isinstance(selection, InlineFragmentNode):
                part = self.fields_by_key(selection.selection_set.selections)
            elif isinstance(selection, FragmentSpreadNode):
                part = self._fragment_fields(selection.name.value)
            else:
                continue
            for key, nodes in part.items():
                merged = grouped.setdefault(key, [])
                merged.extend(n for n in nodes if all(n is not m for m in merged))
        self.flattened[memo_key] = grouped
        return grouped

    def _fragment_fields(self, name: str) -> dict[str, list[FieldNode]]:
        if name not in self.fragment_fields:
            self.fragment_fields[name] = {}  # a cycle back to here adds nothing
            fragment = self.cost.fragments.get(name)
            if fragment is not None:
                self.fragment_fields[name] = self.fields_by_key(fragment.selection_set.selections)
        return self.fragment_fields[name]
