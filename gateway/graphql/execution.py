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
which reports it as it always does. Every other field is executed as before.
"""

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
    get_nullable_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

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
    return read, definition.python_name, named.serialize, is_non_null_type(field.type)


def leaves_of(parent_type: GraphQLObjectType) -> dict[str, _Leaf]:
    """The plain scalar fields of an object type, by GraphQL name (computed once)."""
    known = _LEAVES.get(id(parent_type))
    if known is None or known[0] is not parent_type:
        plans = {name: plan for name, field in parent_type.fields.items() if (plan := _leaf(field))}
        known = _LEAVES[id(parent_type)] = (parent_type, plans)
    return known[1]


class GatewayExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, reading plain scalar fields without a resolver call."""

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
        leaves = leaves_of(parent_type)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                leaf = leaves.get(field_details_list[0].node.name.value)
                if leaf is not None:
                    read, attribute, serialize, non_null = leaf
                    value = read(source_value, attribute)
                    if value is None and not non_null:
                        results[response_name] = None
                        continue
                    if value is not None:
                        try:
                            serialized = serialize(value)
                        except Exception:
                            serialized = None
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
