"""Validation rules bounding an operation's depth and its aliases, in linear time.

Strawberry's ``QueryDepthLimiter`` and ``MaxAliasesLimiter`` re-walk a fragment every
time it is spread, so a document where each fragment spreads the next one twice costs
2^n steps: 18 such fragments took a second, and the token limit allows about 200. These
rules measure each fragment once and reuse the result, which gives the same numbers
(introspection fields do not count towards depth; aliases count once per expansion).
"""

from collections.abc import Sequence

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    ValidationContext,
    ValidationRule,
)


class _Shape:
    """Depth and expanded alias count of selections, each fragment measured once."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.measured: dict[str, tuple[int, int]] = {}
        self.measuring: set[str] = set()

    def of(self, selections: Sequence[SelectionNode]) -> tuple[int, int]:
        """(depth, aliases) of a selection list."""
        depth = aliases = 0
        for selection in selections:
            if isinstance(selection, FieldNode):
                inner_depth, inner_aliases = (0, 0)
                if selection.selection_set:
                    inner_depth, inner_aliases = self.of(selection.selection_set.selections)
                    # Introspection fields are left out of the depth, as GraphiQL needs them.
                    if not selection.name.value.startswith("__"):
                        depth = max(depth, 1 + inner_depth)
                aliases += inner_aliases + (1 if selection.alias else 0)
            elif isinstance(selection, InlineFragmentNode):
                inner_depth, inner_aliases = self.of(selection.selection_set.selections)
                depth, aliases = max(depth, inner_depth), aliases + inner_aliases
            elif isinstance(selection, FragmentSpreadNode):
                inner_depth, inner_aliases = self.fragment(selection.name.value)
                depth, aliases = max(depth, inner_depth), aliases + inner_aliases
        return depth, aliases

    def fragment(self, name: str) -> tuple[int, int]:
        """(depth, aliases) of a named fragment; a cycle (reported elsewhere) counts 0."""
        if name in self.measured:
            return self.measured[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self.measuring:
            return 0, 0
        self.measuring.add(name)
        self.measured[name] = self.of(fragment.selection_set.selections)
        self.measuring.discard(name)
        return self.measured[name]


def _measure(context: ValidationContext) -> list[tuple[OperationDefinitionNode, int, int]]:
    """(operation, depth, aliases) for each operation of the document being validated."""
    definitions = context.document.definitions
    shape = _Shape({d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)})
    try:
        return [
            (d, *shape.of(d.selection_set.selections))
            for d in definitions
            if isinstance(d, OperationDefinitionNode)
        ]
    except RecursionError:
        # Rule constructors run outside graphql-core's own RecursionError guard.
        context.report_error(GraphQLError("the document nests fragments too deeply"))
        return []


def max_depth_rule(max_depth: int) -> type[ValidationRule]:
    """A rule refusing operations nested deeper than ``max_depth`` fields."""

    class MaxDepthRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for operation, depth, _ in _measure(context):
                if depth > max_depth:
                    name = operation.name.value if operation.name else "anonymous"
                    context.report_error(
                        GraphQLError(
                            f"'{name}' is {depth} levels deep; at most {max_depth} are allowed",
                            operation,
                        )
                    )

    return MaxDepthRule


def max_aliases_rule(max_aliases: int) -> type[ValidationRule]:
    """A rule refusing documents that use more than ``max_aliases`` aliases in all."""

    class MaxAliasesRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            total = sum(aliases for _, _, aliases in _measure(context))
            if total > max_aliases:
                context.report_error(
                    GraphQLError(f"{total} aliases found; at most {max_aliases} are allowed")
                )

    return MaxAliasesRule
