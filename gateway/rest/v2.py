"""The current v2 paths: every session kind, keyset pagination with signed tokens."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.auth import request_scope
from gateway.responses import JSONResponse
from gateway.rest.bodies import v2_session, v2_sessions
from gateway.rest.context import request_uri, uris_of
from gateway.rest.params import NO_PARAMS, Query, path_uuid
from resolvers.sessions import SessionFilter, get_user_session_row, list_session_rows
from storage.enums import SessionStatus

LIST_PARAMS = frozenset(
    {"user_id", "limit", "pagination_token", "location_id", "status", "from", "to"}
)
STATUSES = (SessionStatus.ACTIVE.value, SessionStatus.ENDED.value)
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


async def list_all_sessions(request: Request) -> Response:
    """GET /session/v2/sessions: a keyset page of sessions, newest reference time first."""
    query = Query(request, LIST_PARAMS)
    status = query.choice("status", STATUSES)
    session_filter = SessionFilter(
        user_id=query.uuid("user_id"),
        location_id=query.uuid("location_id"),
        statuses=frozenset({SessionStatus(status)}) if status else frozenset(),
        from_date=query.date("from"),
        to_date=query.date("to"),
    )
    limit = query.integer("limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
    token = query.text("pagination_token")
    scope = await request_scope(request)
    page = await list_session_rows(
        scope, session_filter, first=limit, after=token, max_page_size=MAX_LIMIT
    )
    data = v2_sessions(page.rows, uris_of(request))
    next_token = page.end_cursor(scope) if page.has_next_page else None
    return JSONResponse({"pagination_token": next_token, "data": data, "uri": request_uri(request)})


async def get_session_of_user(request: Request) -> Response:
    """GET /session/v2/users/{user_id}/sessions/{session_id}: one session of that user."""
    user_id = path_uuid(request, "user_id")
    session_id = path_uuid(request, "session_id")
    Query(request, NO_PARAMS)
    scope = await request_scope(request)
    row = await get_user_session_row(scope, user_id, session_id)
    return JSONResponse(v2_session(row, uris_of(request)))


def v2_routes() -> list[Route]:
    """The two current paths."""
    return [
        Route("/session/v2/sessions", list_all_sessions),
        Route("/session/v2/users/{user_id}/sessions/{session_id}", get_session_of_user),
    ]
