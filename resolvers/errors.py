"""The errors resolvers raise; the gateway maps each ``code`` to an HTTP status in one table.

DomainError
 ├── InvalidInput             VALIDATION                 a parameter is malformed
 ├── InvalidPaginationToken   INVALID_PAGINATION_TOKEN   forged, truncated or reused elsewhere
 ├── Unauthenticated          UNAUTHORIZED               no valid bearer token
 ├── Forbidden                FORBIDDEN                  the role may never do this
 ├── NotFound                 NOT_FOUND                  missing, or hidden from the caller
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
