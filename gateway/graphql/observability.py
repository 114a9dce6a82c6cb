"""Counts GraphQL operations by type and name, for dashboards and alerts."""

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from gateway.graphql.context import Context
from gateway.state import GatewayState


class OperationMetrics(SchemaExtension):
    """After each operation, count it with its type, name and whether it had errors.

    Only ``on_operation`` is implemented: a ``resolve`` hook would run on every field.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        execution = self.execution_context
        context = execution.context
        if not isinstance(context, Context):
            return
        try:
            kind = execution.operation_type.value
        except (RuntimeError, ValueError):  # the document did not parse or name an operation
            kind = "invalid"
        failed = bool(getattr(execution.result, "errors", None))
        GatewayState.of(context.request).metrics.count_operation(
            kind, execution.operation_name, failed
        )
