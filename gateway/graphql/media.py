"""The media type of a GraphQL response, and the HTTP status each type prescribes.

GraphQL over HTTP defines two response media types. ``application/graphql-response+json``
lets the status speak: a request error (the operation never ran, so the response has no
``data`` entry) is a 4xx. Under the legacy ``application/json`` every well-formed request
is answered 200, whatever GraphQL errors it carries, because intermediaries may replace
the body of a 4xx. A client chooses with its ``Accept`` header; no header, ``*/*`` or
nothing acceptable means ``application/json``, as the specification asks during the
transition.

Some refusals are about HTTP rather than GraphQL and keep their status under both types:
a rate limit (429) and a malformed persisted-query extension (400).
"""

from collections.abc import Mapping
from typing import Any

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"

# The status of a response whose errors all stopped the operation before it ran.
_STATUS: Mapping[str, Mapping[str, int]] = {
    GRAPHQL_RESPONSE: {
        "GRAPHQL_VALIDATION": 400,  # syntax, validation, variables, the document limits
        "QUERY_TOO_COMPLEX": 400,
        "DOCUMENT_NOT_TRUSTED": 400,
        "INVALID_PERSISTED_QUERY": 400,
        "PERSISTED_QUERY_NOT_FOUND": 404,
        "RATE_LIMITED": 429,
    },
    JSON: {
        "GRAPHQL_VALIDATION": 200,
        "QUERY_TOO_COMPLEX": 200,
        "DOCUMENT_NOT_TRUSTED": 200,
        # 200 as in Apollo Server: clients then resend the hash with its document.
        "PERSISTED_QUERY_NOT_FOUND": 200,
        "INVALID_PERSISTED_QUERY": 400,
        "RATE_LIMITED": 429,
    },
}
_SUPPORTED = (GRAPHQL_RESPONSE, JSON)


def _quality(accept: str, media_type: str) -> tuple[float, int]:
    """The q-value the most specific matching range gives ``media_type``, and its specificity."""
    kind = media_type.split("/")[0]
    best = (0.0, -1)
    for item in accept.split(","):
        name, *parameters = (part.strip() for part in item.split(";"))
        name = name.lower()
        specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(name)
        if specificity is None or specificity < best[1]:
            continue
        quality = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        best = (quality, specificity)
    return best


def response_media_type(accept: str) -> str:
    """The media type to answer a request carrying this ``Accept`` header with.

    The higher q-value wins; on a tie, ``application/graphql-response+json`` only when
    the client named it, so ``*/*`` keeps ``application/json``.
    """
    if not accept.strip():
        return JSON
    (modern, named), (legacy, _) = (_quality(accept, t) for t in _SUPPORTED)
    if modern > legacy or (modern == legacy > 0 and named == 2):
        return GRAPHQL_RESPONSE
    return JSON


def is_request_error(body: Any) -> bool:
    """Whether ``body`` answers an operation refused before it ran.

    Such errors carry no ``path`` and a code of the table above: syntax and validation
    errors, the limits, the cost budget, the rate limit, persisted-query refusals.
    Errors raised while resolving fields have a path, next to whatever data resolved.
    """
    if not isinstance(body, dict) or body.get("data") is not None or not body.get("errors"):
        return False
    return all(
        "path" not in error and (error.get("extensions") or {}).get("code") in _STATUS[JSON]
        for error in body["errors"]
    )


def request_error_status(body: Any, media_type: str) -> int:
    """The HTTP status of a request-error response (see ``is_request_error``)."""
    codes: list[str] = [error["extensions"]["code"] for error in body["errors"]]
    return max(_STATUS[media_type][code] for code in codes)
