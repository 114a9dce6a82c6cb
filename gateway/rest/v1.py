"""The deprecated v1 paths: parking sessions only, paged by number, marked deprecated."""

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.auth import request_scope
from gateway.errors import envelope_response, error_response
from gateway.middleware import correlation_id_of
from gateway.responses import JSONResponse
from gateway.rest.bodies import v1_session, v1_sessions
from gateway.rest.context import request_uri, uris_of
from gateway.rest.params import NO_PARAMS, Query, path_uuid
from resolvers.sessions import (
    SessionFilter,
    device_parking_session_row,
    get_parking_session_row,
    list_session_rows_by_page_number,
)
from storage.enums import SessionKind, SessionStatus
from storage.records import SessionRow

# RFC 9745 prefers a date; no deprecation date was ever published, so the flag form stays.
DEPRECATION = "true"
LIST_PARAMS = frozenset({"location_id", "page", "page_size", "from", "to", "active"})
MAX_PAGE_SIZE = 1000
# Keeps OFFSET = (page - 1) * page_size inside a 64-bit integer on both databases.
MAX_PAGE = 2**31 - 1
READ_METHODS = frozenset({"GET", "HEAD"})


def successor_link(url: str) -> str:
    """A ``Link`` header value naming the v2 successor of a v1 resource."""
    return f'<{url}>; rel="successor-version"'


class Deprecated:
    """Wraps one v1 endpoint so that every response it sends, errors included, is marked.

    A response naming one session links to that session's v2 URL (set by the endpoint);
    every other response links to the v2 list. Other methods get their 405 here, and
    unexpected faults their 500, so that those responses carry the headers as well.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the wrapped endpoint with the deprecation headers on its response."""
        successor = successor_link(f"{uris_of(Request(scope)).base}/session/v2/sessions")
        started = False

        async def send_marked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers["Deprecation"] = DEPRECATION
                headers.setdefault("Link", successor)
            await send(message)

        correlation_id = correlation_id_of(scope)
        if scope["method"] not in READ_METHODS:
            message = f"{scope['method']} is not allowed on {scope['path']}"
            response = envelope_response(
                "METHOD_NOT_ALLOWED", message, correlation_id, {"Allow": "GET, HEAD"}
            )
            await response(scope, receive, send_marked)
            return
        try:
            await self.app(scope, receive, send_marked)
        except Exception as error:
            if started:
                raise
            await error_response(error, correlation_id)(scope, receive, send_marked)


async def list_parking_sessions(request: Request) -> Response:
    """GET /session/v1/device-sessions: a numbered page of active or ended parking sessions."""
    query = Query(request, LIST_PARAMS)
    active = query.boolean("active", default=False)
    session_filter = SessionFilter(
        location_id=query.uuid("location_id"),
        statuses=frozenset({SessionStatus.ACTIVE if active else SessionStatus.ENDED}),
        kinds=frozenset({SessionKind.PARKING}),
        from_date=query.date("from"),
        to_date=query.date("to"),
    )
    page = query.integer("page", default=1, minimum=1, maximum=MAX_PAGE)
    page_size = query.integer("page_size", default=100, minimum=1, maximum=MAX_PAGE_SIZE)
    scope = await request_scope(request)
    rows = await list_session_rows_by_page_number(scope, session_filter, page, page_size)
    return JSONResponse({"data": v1_sessions(rows, uris_of(request)), "uri": request_uri(request)})


async def get_device_session(request: Request) -> Response:
    """GET /session/v1/device-sessions/{session_id}: one parking session."""
    session_id = path_uuid(request, "session_id")
    Query(request, NO_PARAMS)
    scope = await request_scope(request)
    return _one_session(request, await get_parking_session_row(scope, session_id))


async def get_session_of_device(request: Request) -> Response:
    """GET /session/v1/devices/{device_id}/sessions: the device's current or latest session."""
    device_id = path_uuid(request, "device_id")
    Query(request, NO_PARAMS)
    scope = await request_scope(request)
    return _one_session(request, await device_parking_session_row(scope, device_id))


def _one_session(request: Request, row: SessionRow) -> Response:
    uris = uris_of(request)
    link = successor_link(uris.session_v2(row.user_id, row.id))
    return JSONResponse(v1_session(row, uris), headers={"Link": link})


def v1_routes() -> list[Route]:
    """The three deprecated paths."""
    return [
        Route("/session/v1/device-sessions", Deprecated(request_response(list_parking_sessions))),
        Route(
            "/session/v1/device-sessions/{session_id}",
            Deprecated(request_response(get_device_session)),
        ),
        Route(
            "/session/v1/devices/{device_id}/sessions",
            Deprecated(request_response(get_session_of_device)),
        ),
    ]
