"""Reading sessions: filtered keyset lists, single sessions, and the legacy v1 look-ups."""

import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    bindparam,
    case,
    func,
    select,
    union_all,
)

from loaders.sessions import NestedPageKey, Parent
from resolvers.context import RequestScope
from resolvers.cursors import Position, fingerprint
from resolvers.errors import InvalidInput, NotFound
from storage.enums import DeviceKind, Role, SessionKind, SessionStatus
from storage.models import Session
from storage.ordering import (
    DEFAULT_ORDER,
    ORDERINGS,
    Alternatives,
    Ordering,
    SessionOrder,
    combine,
)
from storage.queries import (
    at_location,
    end_of_day,
    estimated_rows,
    in_keys,
    newest_first,
    on_device,
    reference_on_or_after,
    reference_on_or_before,
    reference_slices,
    select_session_rows,
    session_aggregates,
    session_row_selection,
    start_of_day,
    with_references,
)
from storage.records import (
    DeviceRecord,
    FleetRecord,
    LocationRecord,
    SessionRow,
)


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """What a session list is narrowed to; every part is optional and they combine with AND."""

    user_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    fleet_id: uuid.UUID | None = None
    statuses: frozenset[SessionStatus] = frozenset()
    kinds: frozenset[SessionKind] = frozenset()
    from_date: date | None = None
    to_date: date | None = None

    def __post_init__(self) -> None:
        if self.from_date and self.to_date and self.from_date > self.to_date:
            raise InvalidInput(f"from {self.from_date} is after to {self.to_date}")

    def scope(self) -> str:
        """The fingerprint cursors of this list are bound to."""
        return fingerprint(
            "sessions",
            self.user_id,
            self.location_id,
            self.device_id,
            self.fleet_id,
            sorted(self.statuses),
            sorted(self.kinds),
            self.from_date,
            self.to_date,
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        """The filter as SQL conditions, its ids and times bound by name (``params``)."""
        conditions = self._plain_conditions()
        if self.location_id:
            conditions.append(at_location(_bound("location_id", self.location_id)))
        if self.device_id:
            conditions.append(on_device(_bound("device_id", self.device_id)))
        return conditions

    def shape(self) -> Hashable:
        """What the SQL of ``conditions`` and ``branches`` depends on, apart from ``params``."""
        return (
            self.user_id is None,
            self.location_id is None,
            self.device_id is None,
            self.fleet_id is None,
            self.statuses,
            self.kinds,
            self.from_date is None,
            self.to_date is None,
            self.to_date == date.max,
        )

    def params(self) -> dict[str, Any]:
        """The values ``conditions`` and ``branches`` bind."""
        return {
            "filter_user_id": self.user_id,
            "filter_location_id": self.location_id,
            "filter_device_id": self.device_id,
            "filter_fleet_id": self.fleet_id,
            "from_time": start_of_day(self.from_date) if self.from_date else None,
            "to_time": end_of_day(self.to_date)
            if self.to_date and self.to_date < date.max
            else None,
        }

    def branches(self) -> list[list[ColumnElement[bool]]]:
        """The filter as disjoint AND-only branches whose union it is.

        "At a location" and "on a device" are ORs across columns, which no single index
        can serve in newest-first order; each branch fixes one column, so each can walk
        its own (column, reference time, id) index and stop after a page.
        """
        kinds = self.kinds
        options: list[list[list[ColumnElement[bool]]]] = []
        if self.location_id:
            place = _bound("location_id", self.location_id)
            parked = [[Session.storage_location_id == place]]
            travelled = [
                [Session.travel_start_location_id == place],
                [
                    Session.travel_end_location_id == place,
                    Session.travel_start_location_id.is_distinct_from(place),
                ],
            ]
            options.append(_for_kinds(kinds, parked, travelled))
        if self.device_id:
            device = _bound("device_id", self.device_id)
            options.append(
                _for_kinds(
                    kinds,
                    [[Session.storage_device_id == device]],
                    [[Session.rental_device_id == device]],
                )
            )
        branches: list[list[ColumnElement[bool]]] = [self._plain_conditions()]
        for alternatives in options:
            branches = [b + alternative for b in branches for alternative in alternatives]
        return branches

    def _plain_conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.user_id:
            conditions.append(Session.user_id == _bound("user_id", self.user_id))
        if self.fleet_id:
            conditions.append(Session.rental_fleet_id == _bound("fleet_id", self.fleet_id))
        if self.statuses:
            conditions.append(Session.status.in_(sorted(self.statuses)))
        if self.kinds:
            conditions.append(Session.kind.in_(sorted(self.kinds)))
        if self.from_date:
            conditions.append(reference_on_or_after(self.from_date))
        if self.to_date:
            conditions.append(reference_on_or_before(self.to_date))
        return conditions


def _bound(name: str, id_: uuid.UUID) -> BindParameter[uuid.UUID]:
    return bindparam(f"filter_{name}", id_, Session.id.type)


def _for_kinds(
    kinds: frozenset[SessionKind],
    parking: list[list[ColumnElement[bool]]],
    rental: list[list[ColumnElement[bool]]],
) -> list[list[ColumnElement[bool]]]:
    """The branches that can match sessions of the filtered kinds."""
    chosen: list[list[ColumnElement[bool]]] = []
    if not kinds or SessionKind.PARKING in kinds:
        chosen += parking
    if not kinds or SessionKind.RENTAL in kinds:
        chosen += rental
    return chosen


@dataclass(frozen=True, slots=True)
class _Page:
    """A keyset page query: the statement (shared by every page of its shape) and its values."""

    statement: Select[Any]
    params: dict[str, Any]


# Page statements by shape. Building one and computing SQLAlchemy's cache key for it
# cost about half a millisecond, more than running it. Reads that show only some fields
# make their own shapes, so the cache is bounded.
MAX_STATEMENTS = 512
_PAGE_STATEMENTS: "OrderedDict[Hashable, Select[Any]]" = OrderedDict()


def _remembered(
    cache: "OrderedDict[Hashable, Select[Any]]", shape: Hashable, build: Callable[[], Select[Any]]
) -> Select[Any]:
    """The statement of ``shape``, built on first use; the least recently used go first."""
    statement = cache.get(shape)
    if statement is None:
        statement = cache[shape] = build()
        while len(cache) > MAX_STATEMENTS:
            cache.popitem(last=False)
    else:
        cache.move_to_end(shape)
    return statement


_LIMIT = bindparam("page_limit", type_=Integer)
DEFAULT_ORDERING = ORDERINGS[DEFAULT_ORDER]


def _page_statement(
    request: RequestScope,
    session_filter: SessionFilter,
    ordering: Ordering,
    *,
    after: Position | None,
    before: Position | None,
    backwards: bool,
    limit: int,
    fields: frozenset[str] | None = None,
    references: frozenset[str] = frozenset(),
) -> _Page:
    """One keyset-ordered page of ``SessionRow``s: a UNION ALL of index branches if need be.

    ``fields`` (None: all) and ``references`` as in ``list_session_rows``.
    """
    principal = request.principal
    dialect = request.reads.dialect
    shape = (
        dialect,
        ordering.order,
        fields,
        references,
        backwards,
        None if after is None else after.key is None,
        None if before is None else before.key is None,
        principal.visibility_shape(),
        session_filter.shape(),
    )

    def build() -> Select[Any]:
        keysets: list[Alternatives] = []
        if after is not None:
            keysets.append(ordering.beyond("after", after.key is None))
        if before is not None:
            keysets.append(ordering.beyond("before", before.key is None, backwards=True))
        statement = _build_page(request, session_filter, ordering, keysets, backwards, fields)
        if references:
            statement = _with_references(statement, ordering, backwards, references)
        return statement

    statement = _remembered(_PAGE_STATEMENTS, shape, build)
    params = {**principal.visibility_params(), **session_filter.params(), "page_limit": limit}
    for name, position in (("after", after), ("before", before)):
        if position is not None:
            params.update(ordering.params(name, position.key, position.id))
    return _Page(statement, params)


def _build_page(
    request: RequestScope,
    session_filter: SessionFilter,
    ordering: Ordering,
    keysets: list[Alternatives],
    backwards: bool,
    fields: frozenset[str] | None,
) -> Select[Any]:
    columns: list[Any] = session_row_selection(fields)
    dialect = request.reads.dialect
    visible = request.principal.session_filter()
    # One branch per index that can serve the filter in list order (see branches), and
    # per range of the key a position leaves (see storage.ordering): on a location's
    # page PostgreSQL goes from ~8 ms to ~1 ms of CPU, SQLite from ~9 to 0.3 ms.
    # A place or a device in another order than the default has no (column, key, id)
    # index: its own index reads its sessions (a few thousand at most), which are then
    # sorted. Walking the key's index instead, PostgreSQL filtered 25,000 rows for a page
    # of a busy location on 1,000,000 sessions (70 ms against 16 ms); a sub-select with
    # an OFFSET is planned on its own, without the order.
    fenced = ordering.order is not DEFAULT_ORDER and bool(
        session_filter.location_id or session_filter.device_id
    )

    def rows_of(branch: list[ColumnElement[bool]]) -> Select[Any]:
        if not fenced:
            return select(*columns).where(visible, *branch).order_by(*ordering.order_by(backwards))
        rows = select(*columns).where(visible, *branch).offset(0).subquery()
        return select(rows).order_by(*ordering.order_by(backwards, rows))

    def page_of(branches: list[list[ColumnElement[bool]]]) -> Select[Any]:
        """The first rows of the branches' union, in list order."""
        if len(branches) == 1:
            return rows_of(branches[0]).limit(_LIMIT)
        parts = [rows_of(branch).limit(_LIMIT).subquery() for branch in branches]
        merged = union_all(*(select(part) for part in parts)).subquery()
        return select(merged).order_by(*ordering.order_by(backwards, merged)).limit(_LIMIT)

    filters = session_filter.branches()
    if len(keysets) == 1 and len(keysets[0]) == 2:
        # Past a position, a nullable key's rows with a value and those without are two
        # ranges, the second after the first in list order. The second is read only if
        # the first does not fill the page: finding its first row can take a walk over
        # every null that the filter refuses (ended sessions by end time: 19,000 open
        # ones on 1,000,000, 25-40 ms a page), and the first range almost always fills it.
        first = page_of(combine(filters, keysets[0][:1])).cte("first_range")
        filled = select(func.count()).select_from(first).scalar_subquery() >= _LIMIT
        then = page_of(combine(filters, keysets[0][1:])).subquery()
        both = union_all(select(first), select(then).where(~filled)).subquery()
        rows = select(both).order_by(*ordering.order_by(backwards, both)).limit(_LIMIT)
    else:
        branches = combine(filters, *keysets)
        rows = page_of(branches)
        if len(branches) == 1 and not fenced:
            return rows.add_columns(*session_aggregates(dialect, Session.id, fields))
    # The events and devices of the page's rows only: aggregated beside the merge, both
    # databases would compute them for every branch's rows (a page from each) and sort
    # them along; SQLite took 2.4 ms for a location's page of 50 that way.
    page = rows.subquery()
    aggregates = session_aggregates(dialect, page.c.id, fields)
    return select(page, *aggregates).order_by(*ordering.order_by(backwards, page))


DEFAULT_PAGE_SIZE = 20


def check_page_size(name: str, value: int | None, maximum: int) -> int:
    """The page size, defaulting to 20; refuses sizes outside 1..maximum, naming the argument."""
    if value is None:
        return min(DEFAULT_PAGE_SIZE, maximum)
    if not 1 <= value <= maximum:
        raise InvalidInput(f"{name} must be between 1 and {maximum}, got {value}")
    return value


def _select_rows(request: RequestScope) -> Select[Any]:
    """SELECT what a ``SessionRow`` holds, from the sessions table."""
    return select_session_rows(request.reads.dialect)


async def _fetch_session_rows(
    request: RequestScope, statement: Select[Any], params: dict[str, Any] | None = None
) -> list[SessionRow]:
    rows = await request.reads.rows(statement, params)
    return [SessionRow._make(row) for row in rows]


def _with_references(
    statement: Select[Any], ordering: Ordering, backwards: bool, labels: frozenset[str]
) -> Select[Any]:
    """A page statement with the locations, devices and fleets its sessions refer to."""
    page = statement.subquery()
    source, references = with_references(page, labels)
    keys = ordering.order_by(backwards, page)
    return select(page, *references).select_from(source).order_by(*keys)


@dataclass(frozen=True, slots=True)
class References:
    """The locations, devices and fleets a page of session rows refers to, by id."""

    locations: dict[uuid.UUID, LocationRecord]
    devices: dict[uuid.UUID, DeviceRecord]
    fleets: dict[uuid.UUID, FleetRecord]

    @classmethod
    def of(cls, rows: Sequence[Any], statement: Select[Any]) -> "References":
        """Collect the references of rows that ``with_references`` joined (each once)."""
        locations: dict[uuid.UUID, LocationRecord] = {}
        devices: dict[uuid.UUID, DeviceRecord] = {}
        fleets: dict[uuid.UUID, FleetRecord] = {}
        slices = reference_slices(statement.selected_columns.keys()) if rows else []
        for row in rows:
            for label, start, stop in slices:
                id_ = row[start]
                if id_ is None:
                    continue
                if label.endswith("location"):
                    if id_ not in locations:
                        locations[id_] = LocationRecord(*row[start:stop])
                elif label.endswith("device"):
                    if id_ not in devices:
                        _, kind, name, location_id, fleet_id = row[start:stop]
                        devices[id_] = DeviceRecord(
                            id_, DeviceKind(kind), name, location_id, fleet_id
                        )
                elif id_ not in fleets:
                    fleets[id_] = FleetRecord(*row[start:stop])
        return cls(locations, devices, fleets)


_ROW_FIELDS = len(SessionRow._fields)


@dataclass(frozen=True, slots=True)
class SessionRowPage:
    """One page of an ordered session list as stored rows, with its events.

    Both API faces render from these rows: the REST bodies and the planned GraphQL reads.
    ``total_count`` is the length of the whole list and ``total_count_estimate`` an
    estimate of it (``count_sessions``), when they were asked for.
    """

    rows: Sequence[SessionRow]
    has_next_page: bool
    has_previous_page: bool
    scope: str
    references: References | None = None
    ordering: Ordering = DEFAULT_ORDERING
    total_count: int | None = None
    total_count_estimate: int | None = None

    def cursor(self, request: RequestScope, row: SessionRow) -> str:
        """The cursor after which the list continues past ``row``."""
        position = Position(self.ordering.key_of(row), row.id)
        return request.cursors.encode_position(position, self.scope)

    def end_cursor(self, request: RequestScope) -> str | None:
        """The cursor of the last session, or None on an empty page."""
        return self.cursor(request, self.rows[-1]) if self.rows else None


def session_ordering(order: Sequence[SessionOrder] | None) -> Ordering:
    """The ordering of a list: the default without one; the id always breaks ties."""
    if not order:
        return DEFAULT_ORDERING
    if len(order) > 1:
        names = ", ".join(o.name for o in order)
        raise InvalidInput(f"order by one key at most (the id breaks ties), got {names}")
    return ORDERINGS[order[0]]


def ordered_scope(scope: str, ordering: Ordering) -> str:
    """A list's cursor scope under ``ordering``: a cursor of another order is refused.

    The default order keeps the scope it has always had, so its cursors stay valid.
    """
    if ordering.order is DEFAULT_ORDER:
        return scope
    return fingerprint(scope, ordering.order.value)


def _decode(
    request: RequestScope, token: str | None, scope: str, ordering: Ordering
) -> Position | None:
    if token is None:
        return None
    return request.cursors.decode_position(token, scope, timestamp=ordering.timestamp)


def _rows_and_references(
    rows: Sequence[Any], references: frozenset[str], statement: Select[Any]
) -> tuple[list[SessionRow], References | None]:
    session_rows = [SessionRow._make(row[:_ROW_FIELDS]) for row in rows]
    return session_rows, References.of(rows, statement) if references else None


async def list_session_rows(
    request: RequestScope,
    session_filter: SessionFilter,
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    order: Sequence[SessionOrder] | None = None,
    fields: frozenset[str] | None = None,
    references: frozenset[str] = frozenset(),
    max_page_size: int = 100,
) -> SessionRowPage:
    """A page of the visible sessions matching the filter, in ``order``.

    The order is newest reference time first unless ``order`` names another (one key;
    the id breaks ties). Forward paging takes ``first``/``after``; backward paging
    ``last``/``before``. Both are keyset queries on (key, id): a deep page costs what
    the first does. The rows carry their events and auxiliary devices: one statement
    for the page and everything its bodies show, whatever its size. ``fields`` names
    the ``SessionRow`` fields a read shows (the others are null; None: all);
    ``references`` the locations, devices and fleets to bring along
    (``storage.queries.REFERENCE_LABELS``).
    """
    if last is not None and first is not None:
        raise InvalidInput("pass first or last, not both")
    ordering = session_ordering(order)
    scope = ordered_scope(session_filter.scope(), ordering)
    backwards = last is not None or (before is not None and first is None)
    size = check_page_size(
        "last" if backwards else "first", last if backwards else first, max_page_size
    )
    if fields is not None:
        fields = fields | {ordering.field}  # the merge of branches orders by it
    page = _page_statement(
        request,
        session_filter,
        ordering,
        after=_decode(request, after, scope, ordering),
        before=_decode(request, before, scope, ordering),
        backwards=backwards,
        limit=size + 1,
        fields=fields,
        references=references,
    )
    fetched = await request.reads.rows(page.statement, page.params)
    rows, related = _rows_and_references(fetched[:size], references, page.statement)
    more = len(fetched) > size
    if backwards:
        rows.reverse()
        return SessionRowPage(rows, before is not None, more, scope, related, ordering)
    return SessionRowPage(rows, more, after is not None, scope, related, ordering)


_COUNTS: "OrderedDict[Hashable, Select[Any]]" = OrderedDict()


async def count_sessions(
    request: RequestScope, session_filter: SessionFilter, *, estimate: bool = False
) -> int:
    """How many visible sessions match the filter: one statement.

    With ``estimate``, a count of every session on PostgreSQL (an admin's, unfiltered) is
    the planner's own estimate of the table's rows instead (``estimated_rows``); every
    other count is exact.
    """
    principal = request.principal
    dialect = request.reads.dialect
    whole_table = principal.role is Role.ADMIN and session_filter == SessionFilter()
    if estimate and whole_table and dialect == "postgresql":
        rows = await request.reads.rows(estimated_rows(Session.__tablename__))
        if rows and rows[0][0] is not None:
            return int(rows[0][0])
    shape = (dialect, principal.visibility_shape(), session_filter.shape())
    statement = _remembered(
        _COUNTS,
        shape,
        lambda: (
            select(func.count())
            .select_from(Session)
            .where(principal.session_filter(), *session_filter.conditions())
        ),
    )
    params = {**principal.visibility_params(), **session_filter.params()}
    rows = await request.reads.rows(statement, params)
    return int(rows[0][0])


_NUMBERED_PAGES: "OrderedDict[Hashable, Select[Any]]" = OrderedDict()
_SINGLE_ROWS: "OrderedDict[Hashable, Select[Any]]" = OrderedDict()
_ID = Session.id.type


async def list_session_rows_by_page_number(
    request: RequestScope, session_filter: SessionFilter, page: int, page_size: int
) -> Sequence[SessionRow]:
    """Page ``page`` (from 1) of the visible sessions matching the filter, newest first.

    The legacy v1 contract pages by number; v2 and GraphQL use keyset cursors instead.
    """
    principal = request.principal
    shape = (request.reads.dialect, principal.visibility_shape(), session_filter.shape())

    def build() -> Select[Any]:
        return (
            _select_rows(request)
            .where(principal.session_filter(), *session_filter.conditions())
            .order_by(*newest_first())
            .offset(bindparam("page_offset", type_=BigInteger))  # MAX_PAGE x page size
            .limit(_LIMIT)
        )

    statement = _remembered(_NUMBERED_PAGES, shape, build)
    params = {
        **principal.visibility_params(),
        **session_filter.params(),
        "page_offset": (page - 1) * page_size,
        "page_limit": page_size,
    }
    return await _fetch_session_rows(request, statement, params)


_ROWS_BY_IDS: "OrderedDict[Hashable, Select[Any]]" = OrderedDict()


async def visible_session_rows(
    request: RequestScope,
    ids: Sequence[uuid.UUID],
    fields: frozenset[str] | None = None,
    references: frozenset[str] = frozenset(),
) -> tuple[list[SessionRow], References | None]:
    """The visible sessions among ``ids`` (any order) as rows, in one statement.

    Hidden and unknown ids are absent; ``fields`` and ``references`` as in
    ``list_session_rows``.
    """
    principal = request.principal
    dialect = request.reads.dialect
    shape = (dialect, fields, references, principal.visibility_shape())

    def build() -> Select[Any]:
        keys = in_keys(Session.id, "session_ids", dialect)
        statement = select_session_rows(dialect, fields).where(keys, principal.session_filter())
        if references:
            statement = _with_references(statement, DEFAULT_ORDERING, False, references)
        return statement

    statement = _remembered(_ROWS_BY_IDS, shape, build)
    params = {**principal.visibility_params(), "session_ids": list(ids)}
    rows = await request.reads.rows(statement, params)
    return _rows_and_references(rows, references, statement)


async def fetch_visible_session(request: RequestScope, session_id: uuid.UUID) -> SessionRow | None:
    """The session as stored right now, if the caller may see it.

    Unlike the request's loader this reads afresh, for writers replaying or checking a
    session.
    """
    rows, _ = await visible_session_rows(request, [session_id])
    return rows[0] if rows else None


async def _session_row(
    request: RequestScope, lookup: str, params: dict[str, Any]
) -> SessionRow | None:
    """The visible session a ``lookup`` finds with ``params``, as a row with its aggregates."""
    principal = request.principal

    def build() -> Select[Any]:
        session_id = Session.id == bindparam("session_id", type_=_ID)
        statement = _select_rows(request).where(principal.session_filter())
        if lookup == "of_user":
            return statement.where(session_id, Session.user_id == bindparam("user_id", type_=_ID))
        if lookup == "parking":
            return statement.where(session_id, Session.kind == SessionKind.PARKING.value)
        # A device's current parking session (active, else booked), else its latest one.
        current_first = case(
            (Session.status == SessionStatus.ACTIVE.value, 0),
            (Session.status == SessionStatus.BOOKED.value, 1),
            else_=2,
        )
        return (
            statement.where(Session.storage_device_id == bindparam("device_id", type_=_ID))
            .order_by(current_first, *newest_first())
            .limit(1)
        )

    shape = (lookup, request.reads.dialect, principal.visibility_shape())
    statement = _remembered(_SINGLE_ROWS, shape, build)
    rows = await _fetch_session_rows(
        request, statement, {**principal.visibility_params(), **params}
    )
    return rows[0] if rows else None


async def get_user_session_row(
    request: RequestScope, user_id: uuid.UUID, session_id: uuid.UUID
) -> SessionRow:
    """A visible session of the given user; another user's session is not found."""
    row = await _session_row(request, "of_user", {"session_id": session_id, "user_id": user_id})
    if row is None:
        raise NotFound(f"session {session_id} of user {user_id} not found")
    return row


async def get_parking_session_row(request: RequestScope, session_id: uuid.UUID) -> SessionRow:
    """A visible parking session by id; rentals are not found (the v1 view)."""
    row = await _session_row(request, "parking", {"session_id": session_id})
    if row is None:
        raise NotFound(f"parking session {session_id} not found")
    return row


async def device_parking_session_row(request: RequestScope, device_id: uuid.UUID) -> SessionRow:
    """The device's current parking session (active, else booked), else its latest one."""
    device = await request.loaders.device.load(device_id)
    if device is None:
        raise NotFound(f"device {device_id} not found")
    row = await _session_row(request, "device", {"device_id": device_id})
    if row is None:
        raise NotFound(f"no parking session on device {device_id}")
    return row


async def nested_sessions(
    request: RequestScope,
    parent: Parent,
    parent_id: uuid.UUID,
    *,
    first: int | None = None,
    after: str | None = None,
    order: Sequence[SessionOrder] | None = None,
    max_page_size: int = 100,
) -> SessionRowPage:
    """A page of the visible sessions of one device, location or fleet, batched per request."""
    size = check_page_size("first", first, max_page_size)
    ordering = session_ordering(order)
    scope = ordered_scope(fingerprint("nested-sessions", parent, parent_id), ordering)
    position = _decode(request, after, scope, ordering)
    key = NestedPageKey(
        parent,
        parent_id,
        size + 1,
        (position.key, position.id) if position else None,
        ordering.order,
    )
    rows = await request.loaders.sessions_by_parent.load(key)
    return SessionRowPage(rows[:size], len(rows) > size, after is not None, scope, None, ordering)


async def count_nested_sessions(
    request: RequestScope, parent: Parent, parent_ids: Sequence[uuid.UUID]
) -> list[int]:
    """How many visible sessions each device, location or fleet has: batched per request."""
    return await request.loaders.session_counts.load_many([(parent, i) for i in parent_ids])
