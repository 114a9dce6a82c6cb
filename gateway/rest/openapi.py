"""The OpenAPI 3.1 document of the five REST paths, served at GET /session/openapi.json."""

from typing import Any

from gateway.rest.schemas import COMPONENT_SCHEMAS, UUID, Schema, ref
from gateway.rest.v1 import MAX_PAGE, MAX_PAGE_SIZE
from gateway.rest.v2 import DEFAULT_LIMIT, MAX_LIMIT, STATUSES

REFERENCE_TIME = (
    "Active sessions are queried by their start time, ended sessions by their end time "
    "(booked ones by their booking time, pending ones by their creation time); "
    "newest first, ties broken by id."
)
UUID_PARAMETER: Schema = {
    "type": "string",
    "format": "uuid",
    "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
}
DATE_PARAMETER: Schema = {
    "type": "string",
    "format": "date",
    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _path(name: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": UUID_PARAMETER,
        "description": description,
    }


PARAMETERS: dict[str, Schema] = {
    "location_id": _query("location_id", UUID_PARAMETER, "filter by location ID"),
    "user_id": _query("user_id", UUID_PARAMETER, "filter by user ID"),
    "from": _query("from", DATE_PARAMETER, "query from date (YYYY-MM-DD, UTC, inclusive)"),
    "to": _query("to", DATE_PARAMETER, "query to date (YYYY-MM-DD, UTC, inclusive)"),
    "page": _query(
        "page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        "pagination page, defaults to 1; a page past the end is empty",
    ),
    "page_size": _query(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 100},
        "pagination page size, defaults to 100",
    ),
    "active": _query(
        "active",
        {"type": "boolean", "default": False},
        "true to return only active sessions, false to return only ended sessions "
        "(defaults to false)",
    ),
    "limit": _query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        "maximum number of sessions to return",
    ),
    "pagination_token": _query(
        "pagination_token",
        {"type": "string", "minLength": 1},
        "cursor token from the previous page; valid only with the same filters",
    ),
    "status": _query(
        "status",
        {"type": "string", "enum": list(STATUSES)},
        "filter by session status (active/ended); absent means every status",
    ),
    "session_id": _path("session_id", "Target session ID"),
    "device_id": _path("device_id", "Target device ID"),
    "path_user_id": _path("user_id", "User whose session to query"),
}

_CORRELATION_HEADER = {
    "description": "The request's X-Correlation-ID when it is a UUID, else a new one",
    "required": True,
    "schema": UUID,
}
_V1_HEADERS = {
    "Deprecation": {
        "description": "This path is deprecated",
        "required": True,
        "schema": {"type": "string"},
    },
    "Link": {
        "description": 'The v2 successor: <url>; rel="successor-version"',
        "required": True,
        "schema": {"type": "string"},
    },
}
_RETRY_AFTER = {"description": "Seconds to wait", "required": True, "schema": {"type": "string"}}
_WWW_AUTHENTICATE = {"description": "Bearer", "required": True, "schema": {"type": "string"}}
_ERRORS: dict[str, tuple[str, dict[str, Any]]] = {
    "400": ("ERRORS.VALIDATION or ERRORS.INVALID_PAGINATION_TOKEN", {}),
    "401": (
        "Missing, malformed, unknown or expired bearer token",
        {"WWW-Authenticate": _WWW_AUTHENTICATE},
    ),
    "404": ("Not found, or not visible to the caller", {}),
    "429": ("Too many requests", {"Retry-After": _RETRY_AFTER}),
    "500": ("Unexpected error", {}),
    "503": ("The session store is unavailable", {"Retry-After": _RETRY_AFTER}),
}


def _response(description: str, schema: str, headers: dict[str, Any]) -> Schema:
    return {
        "description": description,
        "headers": {"X-Correlation-ID": _CORRELATION_HEADER, **headers},
        "content": {"application/json": {"schema": ref(schema)}},
    }


def _operation(
    operation_id: str, summary: str, description: str, parameters: list[str], body: str, v1: bool
) -> Schema:
    extra = _V1_HEADERS if v1 else {}
    # Only a path that names a resource can miss; a list is empty instead.
    names_resource = any(PARAMETERS[p]["in"] == "path" for p in parameters)
    responses = {"200": _response("OK", body, extra)}
    for code, (text, headers) in _ERRORS.items():
        if code != "404" or names_resource:
            responses[code] = _response(text, "Error", {**headers, **extra})
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "description": description,
            "tags": ["v1" if v1 else "v2"],
            "deprecated": v1,
            "parameters": [{"$ref": f"#/components/parameters/{p}"} for p in parameters],
            "responses": responses,
        }
    }


def _paths() -> dict[str, Schema]:
    v1_list = ["location_id", "page", "page_size", "from", "active", "to"]
    v2_list = ["user_id", "limit", "pagination_token", "location_id", "status", "from", "to"]
    return {
        "/session/v1/device-sessions": _operation(
            "listParkingSessionsV1", "Get parking sessions",
            f"Deprecated: Use GET v2/sessions instead. Parking sessions only. {REFERENCE_TIME}",
            v1_list, "SessionListV1", v1=True),
        "/session/v1/device-sessions/{session_id}": _operation(
            "getDeviceSessionV1", "Get target device session",
            "Deprecated: Use GET v2/users/{user_id}/sessions/{session_id} instead. "
            "Rental sessions are not found here.",
            ["session_id"], "SessionV1", v1=True),
        "/session/v1/devices/{device_id}/sessions": _operation(
            "getSessionOfDeviceV1", "Get parking session by target device ID",
            "Deprecated: Use GET v2/sessions by location_id instead. The device's active, "
            "else booked, parking session, else its most recent one.",
            ["device_id"], "SessionV1", v1=True),
        "/session/v2/sessions": _operation(
            "listSessionsV2", "Get sessions",
            "Query sessions by user or location with filtering and cursor pagination. "
            f"{REFERENCE_TIME} pagination_token is null on the last page.",
            v2_list, "SessionListV2", v1=False),
        "/session/v2/users/{user_id}/sessions/{session_id}": _operation(
            "getSessionOfUserV2", "Get target session",
            "One session of that user; another user's session is not found.",
            ["path_user_id", "session_id"], "SessionV2", v1=False),
    }  # fmt: skip


def openapi_document(base_url: str) -> Schema:
    """The OpenAPI 3.1 document of the REST Session API served under ``base_url``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Session",
            "version": "2.0.0",
            "description": "Service to keep track of parking and renting sessions.",
        },
        "servers": [{"url": base_url.rstrip("/")}],
        "security": [{"bearerAuth": []}],
        "tags": [
            {"name": "v1", "description": "Deprecated: parking sessions only"},
            {"name": "v2", "description": "Parking and rental sessions"},
        ],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "parameters": PARAMETERS,
            "schemas": COMPONENT_SCHEMAS,
        },
    }
