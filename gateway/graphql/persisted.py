"""Persisted documents at /graphql: each operation's document by hash, and trusted documents.

The rules live in ``resolvers.documents``; here they meet the transports. Over HTTP (GET
and POST, each operation of a batch on its own) the view asks ``DocumentGate.admit``
before Strawberry parses the operation, and a refusal becomes that operation's result:
``PERSISTED_QUERY_NOT_FOUND`` keeps HTTP 200, as Apollo Server answers, so that clients
resend with the document; a wrong hash or an untrusted document is a 400. A client's
document is persisted only once it has parsed and validated. Over WebSockets the same
gate decides each ``subscribe`` message (documents are looked up, never persisted there).
"""

import hashlib
import logging
from typing import Any, Protocol, cast

from graphql import GraphQLError, OperationDefinitionNode, parse, validate
from starlette.requests import HTTPConnection
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult

from gateway.config import Settings
from gateway.graphql.context import Context
from gateway.graphql.errors import client_error
from gateway.graphql.schema import schema
from gateway.middleware import correlation_id_of
from gateway.ratelimit import bucket_key
from gateway.state import GatewayState
from resolvers.documents import Admitted, DocumentPolicy, DocumentStore, admit_document

logger = logging.getLogger("session_gateway.errors")


class DocumentGate:
    """One app's persisted documents: the policy from its settings, the store of its engine."""

    def __init__(self, policy: DocumentPolicy) -> None:
        self.policy = policy
        self._store: DocumentStore | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "DocumentGate":
        """The gate the settings ask for."""
        return cls(
            DocumentPolicy(
                trusted_only=settings.trusted_documents_only,
                max_client_documents=settings.apq_max_documents,
            )
        )

    def store(self, connection: HTTPConnection) -> DocumentStore:
        """The store of the serving app's engine (made on first use, after the lifespan)."""
        engine = GatewayState.of(connection).engine
        if self._store is None or self._store.engine is not engine:
            self._store = DocumentStore(engine)
        return self._store

    async def admit(
        self, connection: HTTPConnection, query: str | None, extensions: Any
    ) -> Admitted:
        """The document an operation runs; raises a domain error to refuse it."""
        return await admit_document(self.store(connection), self.policy, query, extensions)

    async def keep(
        self, connection: HTTPConnection, admitted: Admitted, result: ExecutionResult
    ) -> None:
        """Persist a client's document once it has validated; a failure only gets logged."""
        if admitted.register is None or admitted.query is None or not _validated(result):
            return
        if not await GatewayState.of(connection).reads_of(connection).requirement_met():
            return  # the caller's token is gone: the middleware answers 401
        principal = connection.scope.get("state", {}).get("principal")
        owner = hashlib.sha256(bucket_key(connection, principal).encode()).hexdigest()
        try:
            await self.store(connection).persist(
                admitted.register, admitted.query, owner, self.policy.max_client_documents
            )
        except Exception:
            logger.exception(
                "could not persist a document",
                extra={"correlation_id": correlation_id_of(connection.scope)},
            )


def _validated(result: ExecutionResult) -> bool:
    # Syntax and validation errors are the ones without an original exception or a path.
    return not any(e.original_error is None and e.path is None for e in result.errors or ())


def refused(error: Exception, max_cost: int) -> ExecutionResult:
    """The result of an operation refused before it was parsed."""
    message = getattr(error, "message", None) or str(error)
    return ExecutionResult(
        data=None,
        errors=[GraphQLError(message, original_error=error)],
        extensions={"cost": {"requested": 0, "actual": 0, "maximum": max_cost}},
    )


class _HasDocuments(Protocol):
    documents: DocumentGate


# The optional members of a ``subscribe`` payload and the JSON type each must have.
_SUBSCRIBE_PAYLOAD = {"query": str, "operationName": str, "variables": dict, "extensions": dict}


def malformed_message(message: Any) -> str | None:
    """Why a graphql-transport-ws message does not have the protocol's shape, if it does not.

    Strawberry assumes the shape and fails with a TypeError (logged twice) on a frame such
    as ``[1, 2, 3]`` or a ``subscribe`` whose payload is a string.
    """
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "a message must be a JSON object with a string type"
    kind = message["type"]
    needs_id = kind in ("subscribe", "complete")
    if needs_id and (not isinstance(message.get("id"), str) or not message["id"]):
        return f"a {kind} message needs a non-empty string id"
    if kind == "subscribe":
        payload = message.get("payload")
        if not isinstance(payload, dict):
            return "a subscribe message's payload must be an object"
        for key, kind_of_value in _SUBSCRIBE_PAYLOAD.items():
            if payload.get(key) is not None and not isinstance(payload[key], kind_of_value):
                return f"a subscribe message's payload.{key} must be a {kind_of_value.__name__}"
    return None


class DocumentTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with each ``subscribe`` message's document admitted first.

    A message that does not have the protocol's shape closes the socket with 4400, as the
    protocol prescribes for invalid messages.
    """

    async def handle_message(self, message: Any) -> None:
        """Close with 4400 on a malformed message; otherwise handle it as Strawberry does."""
        reason = malformed_message(message)
        if reason is not None:
            await self.handle_invalid_message(reason)
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """Resolve the document by hash and check trust, or answer with an ``error`` message."""
        if self.connection_acknowledged and message["id"] not in self.operations:
            payload = message["payload"]
            gate = cast(_HasDocuments, self.view).documents
            request = self.context.request
            try:
                admitted = await gate.admit(
                    request, payload.get("query"), payload.get("extensions")
                )
            except Exception as fault:
                error = client_error(
                    GraphQLError(str(fault), original_error=fault), self.context.correlation_id
                )
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [error.formatted]}
                )
                return
            if admitted.query is not None:
                payload["query"] = admitted.query
        await super().handle_subscribe(message)


def check_document(body: str) -> None:
    """Refuse (ValueError) a document that is not one valid operation of this schema."""
    try:
        document = parse(body)
    except GraphQLError as error:
        raise ValueError(error.message) from error
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        raise ValueError(f"holds {len(operations)} operations; register one per file")
    errors = validate(schema._schema, document)
    if errors:
        raise ValueError("; ".join(e.message for e in errors))
