"""The errors resolvers raise; the gateway maps each ``code`` to an HTTP status in one table.

DomainError
 ├── InvalidInput             VALIDATION                 a parameter is malformed
 ├── InvalidPaginationToken   INVALID_PAGINATION_TOKEN   forged, truncated or reused elsewhere
 ├── Unauthenticated          UNAUTHORIZED               no valid bearer token
 ├── Forbidden                FORBIDDEN                  the role may never do this
 ├── NotFound                 NOT_FOUND                  missing, or hidden from the caller
 ├── InvalidTransition        INVALID_TRANSITION         the lifecycle does not allow it now
 ├── Conflict                 CONFLICT                   a concurrent write got there first
 ├── IdempotencyKeyReused     IDEMPOTENCY_KEY_REUSED     same key, different request
 ├── LimitReached             LIMIT_REACHED              a rider's or a session's quota is full
 ├── PayloadTooLarge          PAYLOAD_TOO_LARGE          a request body over its limit
 ├── UnsupportedMediaType     UNSUPPORTED_MEDIA_TYPE     a body of a type the endpoint does not take
 ├── HeadersTooLarge          HEADERS_TOO_LARGE          request headers over their limit
 ├── QueryTooComplex          QUERY_TOO_COMPLEX          a GraphQL document over its cost budget
 ├── RateLimited              RATE_LIMITED               the caller's request budget is spent
 ├── TooManyConnections       TOO_MANY_CONNECTIONS       sockets or subscriptions over their cap
 ├── PersistedQueryNotFound   PERSISTED_QUERY_NOT_FOUND  a document hash the gateway does not know
 ├── InvalidPersistedQuery    INVALID_PERSISTED_QUERY    a hash that does not match its document
 ├── DocumentNotTrusted       DOCUMENT_NOT_TRUSTED       an unregistered document, trusted mode
 └── Unavailable              UNAVAILABLE                the database cannot be reached
"""


class DomainError(Exception):
    """An expected failure whose message is safe to show to the client."""

    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """A parameter or argument is malformed or out of range."""

    code = "VALIDATION"


class InvalidPaginationToken(DomainError):
    """A pagination token or cursor that this gateway did not issue for this query."""

    code = "INVALID_PAGINATION_TOKEN"


class Unauthenticated(DomainError):
    """The request carries no valid bearer token."""

    code = "UNAUTHORIZED"


class Forbidden(DomainError):
    """The caller's role may not perform this operation at all."""

    code = "FORBIDDEN"


class NotFound(DomainError):
    """The thing does not exist, or the caller may not see it: the two look the same."""

    code = "NOT_FOUND"


class Unavailable(DomainError):
    """The database cannot be reached; the client should retry later."""

    code = "UNAVAILABLE"


class InvalidTransition(DomainError):
    """The session's lifecycle does not allow this command in its current state."""

    code = "INVALID_TRANSITION"


class Conflict(DomainError):
    """A concurrent write changed the session or took the device first; nothing was done."""

    code = "CONFLICT"


class IdempotencyKeyReused(DomainError):
    """An idempotency key was sent again with a different request."""

    code = "IDEMPOTENCY_KEY_REUSED"


class LimitReached(DomainError):
    """A write would go past a quota (open sessions per rider, events per session)."""

    code = "LIMIT_REACHED"


class PayloadTooLarge(DomainError):
    """The request body is larger than the endpoint accepts."""

    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(DomainError):
    """The request body has a content type the endpoint does not take."""

    code = "UNSUPPORTED_MEDIA_TYPE"


class RequestTimeout(DomainError):
    """The client took longer to send its request than the gateway waits."""

    code = "REQUEST_TIMEOUT"


class HeadersTooLarge(DomainError):
    """The request headers are larger than the gateway accepts."""

    code = "HEADERS_TOO_LARGE"


class QueryTooComplex(DomainError):
    """A GraphQL document would fetch more nodes than one request may."""

    code = "QUERY_TOO_COMPLEX"


class RateLimited(DomainError):
    """The caller has spent its request budget; ``retry_after`` says when enough is back."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TooManyConnections(DomainError):
    """A principal already holds as many WebSockets or subscriptions as one may."""

    code = "TOO_MANY_CONNECTIONS"


class PersistedQueryNotFound(DomainError):
    """A document sent by its hash alone that the gateway does not know (yet)."""

    code = "PERSISTED_QUERY_NOT_FOUND"

    def __init__(self) -> None:
        # The exact message Apollo clients look for before they resend with the document.
        super().__init__("PersistedQueryNotFound")


class InvalidPersistedQuery(DomainError):
    """A persisted query extension that is malformed or whose hash is not its document's."""

    code = "INVALID_PERSISTED_QUERY"


class DocumentNotTrusted(DomainError):
    """In trusted-documents mode, a document that no operator registered."""

    code = "DOCUMENT_NOT_TRUSTED"
