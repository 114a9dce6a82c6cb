"""Executing a GraphQL operation with less work per plain scalar field.

graphql-core completes every field the same way: it builds a resolve-info object, calls
the field's resolver (for a plain Strawberry attribute, a wrapper around ``getattr``),
checks whether the result is awaitable and completes it by its type. For the scalar
and enum fields of a list page (a session's id, status and times, an event's name and
time) that machinery costs several times the value itself, and such fields are most
of a response.

``GatewayExecutionContext`` reads those fields directly: a field that Strawberry marks as
basic (no resolver, no permission classes, no field extensions) and whose type is a
scalar or enum is read with the field's own default resolver and serialized with its
own GraphQL type, which is exactly what the ordinary path computes. Anything unusual
(a null in a non-null field, a value its scalar refuses) goes through the ordinary path,
which reports it as it always does.

Objects go one step further. When every field selected on an object can be read
without awaiting (plain fields, and resolvers marked ``context_only`` whose values the
page's look-ahead has already loaded), the whole object, with its nested objects and
lists, is completed by a tight loop over a plan built once per selection. Anything the
plan cannot finish synchronously (a value still loading, a null where the schema says
non-null, a deferred fragment) abandons it for that object, which is then executed the
ordinary way: the plan never produces an answer the ordinary path would not.
"""

from collections.abc import Callable, Coroutine
from types import FunctionType, SimpleNamespace
from typing import Any, NoReturn, TypeVar, cast

from graphql import (
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    Undefined,
    get_nullable_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

F = TypeVar("F", bound=Callable[..., Any])


def context_only(resolver: F) -> F:
    """Mark a synchronous resolver that uses nothing of ``info`` but ``info.context``.

    Such a resolver may be called by a completion plan with a stand-in ``info`` holding
    only the context; it may return an awaitable when its value is not loaded yet.
    """
    resolver._context_only = True  # type: ignore[attr-defined]
    return resolver


class _Abandon(Exception):
    """The plan cannot complete this object synchronously; the ordinary path will."""


# Per object type: for each of its plain scalar fields, how to read and print it.
_Leaf = tuple[Callable[[Any, str], Any], str, Callable[[Any], Any], bool]
_LEAVES: dict[int, tuple[GraphQLObjectType, dict[str, _Leaf]]] = {}


def _leaf(field: GraphQLField) -> _Leaf | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field:
        return None
    if definition.permission_classes or not getattr(field.resolve, "_is_default", False):
        return None
    named = get_nullable_type(field.type)
    if not isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return None
    read = definition.default_resolver
    return read, definition.python_name, _serializer(named), is_non_null_type(field.type)


def _serializer(named: GraphQLScalarType | GraphQLEnumType) -> Callable[[Any], Any]:
    """``named.serialize``, with Strawberry's enums looked up instead of searched."""
    wrapped = getattr(named, "wrapped_cls", None)
    if not isinstance(named, GraphQLEnumType) or wrapped is None:
        return named.serialize
    # Strawberry's enum type compares the member's value with each value in turn.
    names: dict[Any, str] = {}
    for name, value in named.values.items():
        names.setdefault(value.value, name)
    serialize = named.serialize

    def serialize_member(member: Any) -> Any:
        if isinstance(member, wrapped):
            name = names.get(member.value)
            if name is not None:
                return name
        return serialize(member)

    return serialize_member


def leaves_of(parent_type: GraphQLObjectType) -> dict[str, _Leaf]:
    """The plain scalar fields of an object type, by GraphQL name (computed once)."""
    known = _LEAVES.get(id(parent_type))
    if known is None or known[0] is not parent_type:
        plans = {name: plan for name, field in parent_type.fields.items() if (plan := _leaf(field))}
        known = _LEAVES[id(parent_type)] = (parent_type, plans)
    return known[1]


# A plan entry: (response key, kind, ...). Kinds: a plain scalar field, __typename, or a
# field whose value is read synchronously and completed by its type.
_LEAF, _TYPENAME, _VALUE = 0, 1, 2
_Entry = tuple[Any, ...]


class GatewayExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, with completion plans for synchronous selections."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per grouped field set of this operation (kept alive here, so ids stay unique).
        self._plans: dict[int, tuple[GroupedFieldSet, list[_Entry] | None]] = {}
        self._info_stub = SimpleNamespace(context=self.context_value)

    def _plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> list[_Entry] | None:
        """How to complete ``grouped_field_set`` on ``parent_type`` synchronously, if at all."""
        known = self._plans.get(id(grouped_field_set))
        if known is None:
            known = (grouped_field_set, self._build_plan(parent_type, grouped_field_set))
            self._plans[id(grouped_field_set)] = known
        return known[1]

    def _build_plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> list[_Entry] | None:
        leaves = leaves_of(parent_type)
        plan: list[_Entry] = []
        for response_name, field_details_list in grouped_field_set.items():
            name = field_details_list[0].node.name.value
            if name == "__typename":
                plan.append((response_name, _TYPENAME, parent_type.name))
                continue
            leaf = leaves.get(name)
            if leaf is not None:
                plan.append((response_name, _LEAF, *leaf))
                continue
            field = parent_type.fields.get(name)
            getter = self._getter(field) if field is not None else None
            if getter is None:
                return None
            complete = self._completer(field.type, field_details_list)
            plan.append((response_name, _VALUE, getter, complete))
        return plan

    def _getter(self, field: GraphQLField) -> Callable[[Any], Any] | None:
        """How to read a field's value without awaiting, or None if that is not known."""
        definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if not isinstance(definition, StrawberryField) or definition.permission_classes:
            return None
        if definition.is_basic_field:
            if not getattr(field.resolve, "_is_default", False):
                return None
            read, attribute = definition.default_resolver, definition.python_name
            return lambda source: read(source, attribute)
        resolver = definition.base_resolver
        if resolver is None or definition.extensions or field.args:
            return None
        function = resolver.wrapped_func
        if not isinstance(function, FunctionType) or not getattr(function, "_context_only", False):
            return None
        if resolver.info_parameter is None:
            return function
        stub, keyword = self._info_stub, resolver.info_parameter.name
        return lambda source: function(source, **{keyword: stub})

    def _run(self, plan: list[_Entry], source: Any) -> dict[str, Any]:
        """The object's answer; any exception means: abandon (``execute_fields`` catches)."""
        result: dict[str, Any] = {}
        for entry in plan:
            kind = entry[1]
            if kind == _LEAF:
                _, _, read, attribute, serialize, non_null = entry
                value = read(source, attribute)
                if value is None:
                    if non_null:
                        raise _Abandon
                    result[entry[0]] = None
                    continue
                serialized = serialize(value)
                if serialized is None or serialized is Undefined:
                    raise _Abandon
                result[entry[0]] = serialized
            elif kind == _TYPENAME:
                result[entry[0]] = entry[2]
            else:
                result[entry[0]] = entry[3](entry[2](source))
        return result

    def _completer(
        self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList
    ) -> Callable[[Any], Any]:
        """How to complete a value of ``return_type``: graphql-core's steps, decided once."""
        if isinstance(return_type, GraphQLNonNull):
            inner = self._completer(return_type.of_type, field_details_list)

            def complete_non_null(value: Any) -> Any:
                if value is None:
                    raise _Abandon  # the ordinary path reports the null
                return inner(value)

            return complete_non_null
        if isinstance(return_type, GraphQLList):
            item = self._completer(return_type.of_type, field_details_list)

            def complete_list(value: Any) -> Any:
                if value is None:
                    return None
                if not isinstance(value, list | tuple):
                    self._abandon(value)
                return [item(element) for element in value]

            return complete_list
        if isinstance(return_type, GraphQLScalarType | GraphQLEnumType):
            serialize = _serializer(return_type)

            def complete_leaf(value: Any) -> Any:
                if value is None:
                    return None
                if self.is_awaitable(value):
                    self._abandon(value)  # some scalars would print it
                try:
                    serialized = serialize(value)
                except Exception:
                    self._abandon(value)
                if serialized is None or serialized is Undefined:
                    raise _Abandon
                return serialized

            return complete_leaf
        plans: dict[str, list[_Entry]] = {}

        def plan_for(runtime_type: GraphQLObjectType) -> list[_Entry]:
            plan = plans.get(runtime_type.name)
            if plan is None:
                grouped, deferred, _ = self.collect_subfields(runtime_type, field_details_list)
                found = None if deferred else self._plan(runtime_type, grouped)
                if found is None:
                    raise _Abandon
                plan = plans[runtime_type.name] = found
            return plan

        if isinstance(return_type, GraphQLAbstractType):
            abstract = return_type

            def complete_abstract(value: Any) -> Any:
                if value is None:
                    return None
                if self.is_awaitable(value):
                    self._abandon(value)
                return self._run(plan_for(self._runtime_type(abstract, value)), value)

            return complete_abstract
        object_type = return_type
        is_type_of = object_type.is_type_of

        def complete_object(value: Any) -> Any:
            if value is None:
                return None
            if self.is_awaitable(value):
                self._abandon(value)
            if is_type_of is not None and not is_type_of(value, cast("Any", None)):
                raise _Abandon
            return self._run(plan_for(object_type), value)

        return complete_object

    @staticmethod
    def _abandon(value: Any) -> NoReturn:
        if isinstance(value, Coroutine):
            value.close()  # not loaded yet: the ordinary path awaits a fresh one
        raise _Abandon

    def _runtime_type(self, abstract: GraphQLAbstractType, value: Any) -> GraphQLObjectType:
        definition = getattr(type(value), "__strawberry_definition__", None)
        runtime_type = self.schema.get_type(definition.name) if definition else None
        if not isinstance(runtime_type, GraphQLObjectType):
            raise _Abandon
        if not self.schema.is_sub_type(abstract, runtime_type):
            raise _Abandon
        return runtime_type

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """graphql-core's ``execute_fields``, with the plain scalar fields read inline."""
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        plan = self._plan(parent_type, grouped_field_set)
        if plan is not None:
            try:
                return self._run(plan, source_value)
            except Exception:  # noqa: S110 (_Abandon, or an error the ordinary way reports)
                pass
        leaves = leaves_of(parent_type)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                leaf = leaves.get(field_details_list[0].node.name.value)
                if leaf is not None:
                    read, attribute, serialize, non_null = leaf
                    try:
                        value = read(source_value, attribute)
                        serialized = None if value is None else serialize(value)
                    except Exception:
                        value = serialized = Undefined
                    if value is None and not non_null:
                        results[response_name] = None
                        continue
                    if serialized is not None and serialized is not Undefined:
                        results[response_name] = serialized
                        continue
                field_path = Path(path, response_name, parent_type.name)
                result = self.execute_field(
                    parent_type, source_value, field_details_list, field_path, position_context
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._gather_fields(results, awaitable_fields)

    async def _gather_fields(
        self, results: dict[str, Any], awaitable_fields: list[str]
    ) -> dict[str, Any]:
        if len(awaitable_fields) == 1:
            field = awaitable_fields[0]
            results[field] = await results[field]
            return results
        awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
        results.update(zip(awaitable_fields, awaited, strict=True))
        return results
