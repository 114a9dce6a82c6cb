"""The Python limit: a minimal Starlette app with hand-written asyncpg SQL.

It answers exactly two requests, with the same JSON as the gateway (the harness checks
that before it measures):

- ``POST /graphql`` with the body of scenario (a), the "frontend list": the 50 most
  recent ended sessions at the location in ``variables.location``, each with its
  device, location and events. The query text is not parsed: this app knows one query.
- ``GET /session/v2/sessions?limit=N``, scenario (c): the first page of the REST v2 list,
  with the same signed pagination token the gateway would hand out.

Like the gateway it checks the bearer token against the database on every request
(admin tokens only), runs the gateway's list SQL (the location filter as a UNION ALL of
index-friendly branches), runs under uvicorn with uvloop and httptools, and renders
with orjson. Unlike the gateway it has no GraphQL engine, no ORM,
and loads a page with its events in one statement. Run it with
``python -m uvicorn bench.baseline:create_app --factory``; it reads BASELINE_DATABASE_URL
(a plain ``postgresql://`` DSN) and PUBLIC_BASE_URL.
"""

import base64
import hashlib
import hmac
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)
_MINOR_DIGITS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3}  # the demo data uses EUR, GBP, USD, JPY
# The gateway binds a cursor to a fingerprint of the list's filters; an unfiltered list's:
_V2_SCOPE = hashlib.sha256(
    repr(("sessions", None, None, None, None, [], [], None, None)).encode()
).hexdigest()[:16]

_AUTH = "SELECT role, expires_at FROM api_tokens WHERE token_hash = $1"

_FRONTEND_LIST = """
SELECT s.id, s.kind, s.status, s.start_time, s.end_time, s.fee_minor, s.fee_currency,
       l.name AS location_name, d.name AS device_name, d.kind AS device_kind,
       ev.names, ev.times
FROM (
    (SELECT * FROM sessions WHERE status = 'ended' AND storage_location_id = $1
     ORDER BY reference_time DESC, id DESC LIMIT 50)
    UNION ALL
    (SELECT * FROM sessions WHERE status = 'ended' AND travel_start_location_id = $1
     ORDER BY reference_time DESC, id DESC LIMIT 50)
    UNION ALL
    (SELECT * FROM sessions WHERE status = 'ended' AND travel_end_location_id = $1
       AND travel_start_location_id IS DISTINCT FROM $1
     ORDER BY reference_time DESC, id DESC LIMIT 50)
    ORDER BY reference_time DESC, id DESC
    LIMIT 50
) AS s
LEFT JOIN locations AS l ON l.id = s.storage_location_id
LEFT JOIN devices AS d ON d.id = s.storage_device_id
LEFT JOIN LATERAL (
    SELECT array_agg(e.name ORDER BY e.timestamp, e.id) AS names,
           array_agg(e.timestamp ORDER BY e.timestamp, e.id) AS times
    FROM session_events AS e WHERE e.session_id = s.id
) AS ev ON true
ORDER BY s.reference_time DESC, s.id DESC
"""

_V2_LIST = """
SELECT s.*, ev.names, ev.times, aux.ids AS auxiliary_ids
FROM (SELECT * FROM sessions ORDER BY reference_time DESC, id DESC LIMIT $1) AS s
LEFT JOIN LATERAL (
    SELECT array_agg(e.name ORDER BY e.timestamp, e.id) AS names,
           array_agg(e.timestamp ORDER BY e.timestamp, e.id) AS times
    FROM session_events AS e WHERE e.session_id = s.id
) AS ev ON true
LEFT JOIN LATERAL (
    SELECT array_agg(a.device_id ORDER BY a.device_id) AS ids
    FROM session_auxiliary_devices AS a WHERE a.session_id = s.id
) AS aux ON true
ORDER BY s.reference_time DESC, s.id DESC
"""


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _ts(value: datetime | None) -> str | None:
    # Columns hold naive UTC, as the gateway's TZDateTime writes them.
    return None if value is None else value.isoformat() + "Z"


def _money(minor: int, currency: str) -> str:
    return format(Decimal(minor).scaleb(-_MINOR_DIGITS.get(currency, 2)), "f")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class Baseline:
    def __init__(self, pool: asyncpg.Pool, key: bytes, base_url: str) -> None:
        self.pool = pool
        self.key = key
        self.base = base_url.rstrip("/")

    def cursor(self, reference_time: datetime, id_hex: str) -> str:
        payload = orjson.dumps([_V2_SCOPE, (reference_time - _EPOCH) // _MICROSECOND, id_hex])
        signature = hmac.new(self.key, payload, hashlib.sha256).digest()[:16]
        return f"{_b64(payload)}.{_b64(signature)}"

    async def authorized(self, connection: asyncpg.Connection, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        row = await connection.fetchrow(_AUTH, hashlib.sha256(token.strip().encode()).hexdigest())
        return bool(
            row
            and row["role"] == "admin"
            and (row["expires_at"] is None or row["expires_at"] > _utc_now())
        )

    async def frontend_list(self, request: Request) -> Response:
        variables = orjson.loads(await request.body()).get("variables") or {}
        async with self.pool.acquire() as connection:
            if not await self.authorized(connection, request):
                return _unauthorized()
            rows = await connection.fetch(_FRONTEND_LIST, variables["location"])
        nodes = []
        for row in rows:
            names, times = row["names"] or [], row["times"] or []
            fee = row["fee_minor"]
            nodes.append(
                {
                    "uuid": str(row["id"]),
                    "status": row["status"].upper(),
                    "startTime": _ts(row["start_time"]),
                    "endTime": _ts(row["end_time"]),
                    "fee": None
                    if fee is None
                    else {
                        "currency": row["fee_currency"],
                        "value": _money(fee, row["fee_currency"]),
                    },
                    "details": {
                        "location": {"name": row["location_name"]},
                        "device": {"name": row["device_name"], "kind": row["device_kind"].upper()},
                    }
                    if row["kind"] == "parking"
                    else {},
                    "events": [
                        {"name": n.upper(), "timestamp": _ts(t)}
                        for n, t in zip(names, times, strict=True)
                    ],
                }
            )
        return _json({"data": {"sessions": {"nodes": nodes}}})

    async def v2_list(self, request: Request) -> Response:
        limit = int(request.query_params.get("limit", "100"))
        async with self.pool.acquire() as connection:
            if not await self.authorized(connection, request):
                return _unauthorized()
            rows = await connection.fetch(_V2_LIST, limit + 1)
        data = [self.v2_body(row) for row in rows[:limit]]
        token = None
        if len(rows) > limit:
            last = rows[limit - 1]
            token = self.cursor(last["reference_time"], str(last["id"]).replace("-", ""))
        query = request.url.query
        uri = f"{self.base}{request.url.path}" + (f"?{query}" if query else "")
        return _json({"pagination_token": token, "data": data, "uri": uri})

    def _ref(self, id_: Any, kind: str) -> dict[str, str] | None:
        if id_ is None:
            return None
        return {"id": str(id_), "uri": f"{self.base}/{kind}/v1/{kind}s/{id_}"}

    def v2_body(self, row: asyncpg.Record) -> dict[str, Any]:
        fee, rating, payment = row["fee_minor"], row["rating"], row["payment_status"]
        user_id, session_id = row["user_id"], row["id"]
        storage = travel = None
        if row["storage_device_id"] is not None:
            storage = {
                "location": self._ref(row["storage_location_id"], "location"),
                "device": self._ref(row["storage_device_id"], "device"),
            }
        if row["rental_device_id"] is not None:
            travel = {
                "start_location": self._ref(row["travel_start_location_id"], "location"),
                "rental_device": self._ref(row["rental_device_id"], "device"),
                "seconds_paused": row["seconds_paused"],
                "battery_used": row["battery_used"],
                "rental_fleet": self._ref(row["rental_fleet_id"], "fleet"),
                "distance_travelled": row["distance_travelled"],
                "seconds_active": row["seconds_active"],
                "end_location": self._ref(row["travel_end_location_id"], "location"),
            }
        access_key = row["access_key_id"]
        return {
            "access_key_id": None if access_key is None else str(access_key),
            "start_time": _ts(row["start_time"]),
            "user_id": str(user_id),
            "fee": None
            if fee is None
            else {"currency": row["fee_currency"], "value": _money(fee, row["fee_currency"])},
            "end_time": _ts(row["end_time"]),
            "rating": None
            if rating is None
            else {"rating": str(rating), "comment": row["rating_comment"]},
            "payment": None if payment is None else {"status": payment},
            "id": str(session_id),
            "uri": f"{self.base}/session/v2/users/{user_id}/sessions/{session_id}",
            "storage": storage,
            "travel": travel,
            "booked_time": _ts(row["booked_time"]),
            "booked_until_time": _ts(row["booked_until_time"]),
            "auxiliary_devices": [self._ref(d, "device") for d in row["auxiliary_ids"] or []],
            "events": [
                {"name": n, "timestamp": _ts(t)}
                for n, t in zip(row["names"] or [], row["times"] or [], strict=True)
            ],
            "status": row["status"],
        }


def _json(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


def _unauthorized() -> Response:
    return _json({"error": {"code": "UNAUTHENTICATED"}}, status=401)


async def healthz(_request: Request) -> Response:
    return _json({"status": "ok"})


def create_app() -> Starlette:
    holder: dict[str, Baseline] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        dsn = os.environ["BASELINE_DATABASE_URL"]
        pool = await asyncpg.create_pool(dsn, min_size=10, max_size=10)
        try:
            key = await pool.fetchval("SELECT value FROM gateway_secrets WHERE name = 'pagination'")
            secret = os.environ.get("PAGINATION_SECRET") or key
            base_url = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
            holder["app"] = Baseline(pool, secret.encode(), base_url)
            yield
        finally:
            await pool.close()

    async def frontend_list(request: Request) -> Response:
        return await holder["app"].frontend_list(request)

    async def v2_list(request: Request) -> Response:
        return await holder["app"].v2_list(request)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/graphql", frontend_list, methods=["POST"]),
            Route("/session/v2/sessions", v2_list),
        ],
        lifespan=lifespan,
    )
