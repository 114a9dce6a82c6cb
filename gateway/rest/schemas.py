"""JSON Schemas (OpenAPI 3.1 components) of the error envelope and both session shapes.

Objects list every key as required and allow no others, so validating a response
against them checks the exact documented key set, nulls included.
"""

from typing import Any

Schema = dict[str, Any]

UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$"
PAYMENT_STATUSES = [
    "PENDING",
    "PAID",
    "NEEDS_APPROVAL",
    "APPROVED",
    "CANCELED",
    "PAYMENT_FAILED",
    "REFUNDED",
    "REFUND_FAILED",
    "NOT_CHARGED",
]


def ref(name: str) -> Schema:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema, description: str | None = None) -> Schema:
    """``schema`` or ``null``."""
    result: Schema = {"anyOf": [schema, {"type": "null"}]}
    if description:
        result["description"] = description
    return result


def closed(properties: dict[str, Schema], description: str | None = None) -> Schema:
    """An object with exactly these keys, all present."""
    result: Schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if description:
        result["description"] = description
    return result


UUID: Schema = {"type": "string", "format": "uuid", "pattern": UUID_PATTERN}
URI: Schema = {"type": "string", "format": "uri"}
TIMESTAMP: Schema = {
    "type": "string",
    "format": "date-time",
    "pattern": TIMESTAMP_PATTERN,
    "description": "RFC 3339 in UTC with a Z suffix",
}
NUMBER_OR_NULL: Schema = {"type": ["number", "null"], "minimum": 0}


def _timestamp_or_null(description: str) -> Schema:
    return nullable(TIMESTAMP, description)


def _events(names: list[str]) -> Schema:
    return {
        "type": "array",
        "items": closed({"name": {"type": "string", "enum": names}, "timestamp": TIMESTAMP}),
    }


def _shared_session_properties() -> dict[str, Schema]:
    return {
        "access_key_id": nullable(UUID, "Null, if no access key"),
        "user_id": UUID,
        "fee": nullable(ref("Money"), "Null, if not paid session"),
        "rating": nullable(ref("Rating"), "Null, if no rating"),
        "payment": nullable(ref("Payment"), "Null, if not paid session"),
        "id": UUID,
        "uri": URI,
    }


COMPONENT_SCHEMAS: dict[str, Schema] = {
    "Error": closed(
        {
            "error_message": {"type": "string", "description": "Human-readable error message."},
            "status_code": {
                "type": "integer",
                "minimum": 400,
                "maximum": 599,
                "description": "HTTP status code.",
            },
            "correlation_id": {**UUID, "description": "Request correlation ID for tracing."},
            "error_code": {
                "type": "string",
                "pattern": r"^ERRORS\.[A-Z_]+$",
                "description": "Machine-readable error code, e.g. ERRORS.NOT_FOUND",
            },
        },
        "The error envelope of every error response",
    ),
    "Ref": closed(
        {
            "id": UUID,
            "uri": {
                **URI,
                "description": (
                    "The object in the platform's Location, Device or Fleet service: "
                    "/location/v1/locations/{id}, /device/v1/devices/{id} or "
                    "/fleet/v1/fleets/{id} under the public base URL. Those services answer "
                    "these paths, not this gateway (404 here); read the object through "
                    "GraphQL (node, locations, devices, fleets) instead."
                ),
            },
        },
        "A linked location, device or fleet",
    ),
    "Money": closed(
        {
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "value": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
        },
        "An exact amount: ISO 4217 currency and a decimal string",
    ),
    "Payment": closed({"status": {"type": "string", "enum": PAYMENT_STATUSES}}),
    "Rating": closed(
        {
            "rating": {"type": "string", "enum": ["1", "2", "3", "4", "5"]},
            "comment": {"type": ["string", "null"]},
        }
    ),
    "SessionV1": closed(
        {
            **_shared_session_properties(),
            "start_time": _timestamp_or_null(
                "Marks the start of the parking session, when the device was locked"
            ),
            "end_time": _timestamp_or_null(
                "Marks the end of the parking session, when the device was unlocked"
            ),
            "location": ref("Ref"),
            "device": ref("Ref"),
            "events": _events(["book", "start", "end"]),
        },
        "A parking session (deprecated shape)",
    ),
    "Storage": closed({"location": ref("Ref"), "device": ref("Ref")}, "Parking related metadata"),
    "Travel": closed(
        {
            "start_location": nullable(ref("Ref")),
            "rental_device": ref("Ref"),
            "seconds_paused": NUMBER_OR_NULL,
            "battery_used": NUMBER_OR_NULL,
            "rental_fleet": ref("Ref"),
            "distance_travelled": NUMBER_OR_NULL,
            "seconds_active": NUMBER_OR_NULL,
            "end_location": nullable(ref("Ref")),
        },
        "Micromobility rent related metadata",
    ),
    "SessionV2": closed(
        {
            **_shared_session_properties(),
            "start_time": _timestamp_or_null("Null, if session not started (RFC3339)"),
            "end_time": _timestamp_or_null("Null, if session is not ended (RFC3339)"),
            "storage": nullable(ref("Storage"), "Null, unless a parking session"),
            "travel": nullable(ref("Travel"), "Null, unless a rental session"),
            "booked_time": _timestamp_or_null("Null, if session did not include booking (RFC3339)"),
            "booked_until_time": _timestamp_or_null("Null, if session did not include booking"),
            "auxiliary_devices": {"type": "array", "items": ref("Ref")},
            "events": _events(["book", "start", "end", "pause", "resume"]),
            "status": {
                "type": "string",
                "enum": ["pending", "booked", "active", "ended"],
                "description": "Current session status",
            },
        },
        "A parking or rental session",
    ),
    "SessionListV1": closed({"data": {"type": "array", "items": ref("SessionV1")}, "uri": URI}),
    "SessionListV2": closed(
        {
            "pagination_token": {
                "type": ["string", "null"],
                "description": "Cursor token for the next page of results; null on the last page",
            },
            "data": {"type": "array", "items": ref("SessionV2")},
            "uri": URI,
        }
    ),
}
