"""The domain the planner reads: each kind's fields, and how its relations are fetched.

``FIELDS[kind][name]`` reads a field off an object of that kind. ``RELATIONS[kind][name]``
says how to reach related objects: ``derive`` computes them from the object itself
(a session's fee, a page's edges); ``key`` and ``load`` fetch them for a whole level at
once, from the request's loaders or resolvers, so that a level costs one statement
whatever the number of parents. Visibility, paging and cursors stay in ``resolvers``.
"""

import asyncio
import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter, itemgetter
from typing import Any

from loaders.base import BatchLoader
from loaders.sessions import Parent
from resolvers import catalog as catalog_resolvers
from resolvers import sessions as session_resolvers
from resolvers import stats as stats_resolvers
from resolvers.context import RequestScope
from resolvers.uris import Uris
from storage.enums import SessionKind
from storage.records import DeviceRecord, FleetRecord, LocationRecord, SessionRow

ROOT = "query"  # the root object's key; it has no fields of its own
# In a relation's ``below``, ``own:<field>`` names a field selected on the related object
# itself (not deeper): a page that is asked for its total count.
OWN = "own:"
_COUNT, _ESTIMATE = OWN + "total_count", OWN + "total_count_estimate"

# The node kinds by the type name their global ids carry, and back.
NODE_KINDS = {"Session": "session", "Location": "location", "Device": "device", "Fleet": "fleet"}
_NODE_RECORDS: dict[type, str] = {
    SessionRow: "session",
    LocationRecord: "location",
    DeviceRecord: "device",
    FleetRecord: "fleet",
}
# The relations under a session that its statement can bring along, by reference label.
_REFERENCES = {
    "location": "storage_location",
    "device": "storage_device",
    "start_location": "start_location",
    "end_location": "end_location",
    "rental_device": "rental_device",
    "rental_fleet": "rental_fleet",
}
# Fields read as they are from a session row, of every session and of a rental's details.
_SESSION_VALUES = (
    "kind",
    "status",
    "user_id",
    "access_key_id",
    "created_at",
    "updated_at",
    "booked_time",
    "booked_until_time",
    "start_time",
    "end_time",
)
_TRAVEL_VALUES = ("seconds_active", "seconds_paused", "battery_used", "distance_travelled")
# The SessionRow fields each selected name needs; a session's statement reads only these
# (the others come back null). Names are matched at every depth below the session, so
# a name of another kind (a device's ``location``) only widens the read.
_ROW_FIELDS = {
    "id": ("id",),
    "uuid": ("id",),
    "uri": ("user_id",),
    "fee": ("fee_minor", "fee_currency"),
    "payment": ("payment_id", "payment_status"),
    "rating": ("rating", "rating_comment"),
    "events": ("event_names", "event_times"),
    "auxiliary_devices": ("auxiliary_device_ids",),
    "location": ("storage_location_id",),
    "device": ("storage_device_id",),
    "start_location": ("travel_start_location_id",),
    "end_location": ("travel_end_location_id",),
    "rental_device": ("rental_device_id",),
    "rental_fleet": ("rental_fleet_id",),
    **{name: (name,) for name in (*_SESSION_VALUES, *_TRAVEL_VALUES)},
}
_ALWAYS = frozenset({"id", "kind", "reference_time"})  # identity, union kind, cursors


def session_reads(below: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The ``SessionRow`` fields and the references a selection below sessions needs."""
    fields = set(_ALWAYS)
    for name in below:
        fields.update(_ROW_FIELDS.get(name, ()))
    references = frozenset(_REFERENCES[name] for name in below if name in _REFERENCES)
    return frozenset(fields), references


@dataclass(slots=True)
class Run:
    """One request's run of a plan: who asks, and what each relation loaded."""

    scope: RequestScope
    uris: Uris
    variables: Any
    loaded: dict[int, Mapping[Hashable, Any]]
    arguments: dict[int, dict[str, Any]]


Getter = Callable[[Any, Run], Any]
Loader = Callable[[Run, list[Any], dict[str, Any], frozenset[str]], Awaitable[Mapping[Any, Any]]]


@dataclass(frozen=True, slots=True)
class Relation:
    """How to reach the objects related to one object.

    Either ``derive(obj, run, arguments)`` computes them, or ``load(run, keys, arguments,
    below)`` fetches them for the ``key`` of every parent of a level at once; ``below`` names
    the fields and relations selected beneath, so a page can bring them in its statement
    (and ``own:<field>`` those selected on the related objects themselves).
    ``kind`` is the related objects' kind, or a function of each object for unions.
    """

    kind: str | Callable[[Any], str]
    derive: Callable[[Any, Run, dict[str, Any]], Any] | None = None
    key: Callable[[Any], Hashable | None] | None = None
    load: Loader | None = None


def global_id(type_name: str, id_: uuid.UUID) -> str:
    """A Relay global id: base64 of ``<type name>:<id>``."""
    return base64.b64encode(f"{type_name}:{id_}".encode()).decode()


def node_kind(record: Any) -> str:
    """The kind of a node record."""
    return _NODE_RECORDS[type(record)]


def _item(index: int) -> Getter:
    get = itemgetter(index)

    def item(obj: Any, _run: Run) -> Any:
        return get(obj)

    item.index = index  # type: ignore[attr-defined]  # builders read it inline
    return item


def _attr(name: str) -> Getter:
    get = attrgetter(name)

    def attribute(obj: Any, _run: Run) -> Any:
        return get(obj)

    attribute.attribute = name  # type: ignore[attr-defined]  # builders read it inline
    return attribute


def _global(type_name: str) -> Getter:
    return lambda obj, _run: global_id(type_name, obj.id)


def _root_key(_obj: Any) -> str:
    return ROOT


def _by_id(loader: Callable[[RequestScope], Any]) -> Loader:
    async def load(
        run: Run, keys: list[Any], _arguments: dict[str, Any], _below: frozenset[str]
    ) -> Mapping[Any, Any]:
        batch: BatchLoader[Any, Any] = loader(run.scope)
        return await batch.load_values(keys)  # known ones (a page brought them) at once

    return load


def _prime(scope: RequestScope, references: session_resolvers.References | None) -> None:
    """Hand what a statement brought along to the loaders, which then need no statement."""
    if references is None:
        return
    loaders = scope.loaders
    loaders.location.prime_values(references.locations)
    loaders.device.prime_values(references.devices)
    loaders.fleet.prime_values(references.fleets)


async def _session_rows(
    run: Run, ids: list[uuid.UUID], below: frozenset[str]
) -> dict[uuid.UUID, SessionRow]:
    """The visible sessions among ``ids`` as rows, their references primed if selected."""
    if not ids:
        return {}
    fields, labels = session_reads(below)
    rows, references = await session_resolvers.visible_session_rows(
        run.scope, ids, fields=fields, references=labels
    )
    _prime(run.scope, references)
    return {row.id: row for row in rows}


async def _sessions_page(
    run: Run, _keys: list[Any], arguments: dict[str, Any], below: frozenset[str]
) -> Mapping[Any, Any]:
    fields, labels = session_reads(below)
    session_filter = arguments.get("filter") or session_resolvers.SessionFilter()
    page = await session_resolvers.list_session_rows(
        run.scope,
        session_filter,
        first=arguments.get("first"),
        after=arguments.get("after"),
        last=arguments.get("last"),
        before=arguments.get("before"),
        order=arguments.get("order_by"),
        fields=fields,
        references=labels,
    )
    _prime(run.scope, page.references)
    if _COUNT in below:
        total = await session_resolvers.count_sessions(run.scope, session_filter)
        page = replace(page, total_count=total)
    if _ESTIMATE in below:
        total = await session_resolvers.count_sessions(run.scope, session_filter, estimate=True)
        page = replace(page, total_count_estimate=total)
    return {ROOT: page}


def _catalog_page(name: str, filtered: bool = False) -> Loader:
    async def load(
        run: Run, _keys: list[Any], arguments: dict[str, Any], below: frozenset[str]
    ) -> Mapping[Any, Any]:
        list_page = getattr(catalog_resolvers, f"list_{name}")
        device_filter = None
        if filtered:
            device_filter = arguments.get("filter") or catalog_resolvers.DeviceFilter()
            page = await list_page(
                run.scope, device_filter, first=arguments.get("first"), after=arguments.get("after")
            )
        else:
            page = await list_page(
                run.scope, first=arguments.get("first"), after=arguments.get("after")
            )
        if _COUNT in below or _ESTIMATE in below:  # exact either way: catalogs are small
            total = await catalog_resolvers.count_catalog(run.scope, name, device_filter)
            page = replace(page, total_count=total)
        return {ROOT: page}

    return load


def _parse_global_id(value: Any) -> tuple[str, uuid.UUID] | None:
    """The node kind and id a global id names; None when it names no node.

    An id of a type that is not a node (``Viewer:1``) or with a malformed key names
    nothing, as in the reference path; one that is not a global id at all is a
    ``ValueError``, which the reference path reports.
    """
    try:
        type_name, _, raw = base64.b64decode(str(value), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise ValueError(f"{value!r} is not a global id") from error
    kind = NODE_KINDS.get(type_name)
    try:
        return None if kind is None else (kind, uuid.UUID(raw))
    except ValueError:
        return None


async def _nodes(run: Run, ids: Sequence[Any], below: frozenset[str]) -> list[Any]:
    """The nodes named by global ids, in order, None where missing or hidden.

    One statement per kind asked for; sessions come with what ``below`` needs.
    """
    parsed = [_parse_global_id(value) for value in ids]
    wanted: dict[str, list[uuid.UUID]] = {}
    for kind, id_ in filter(None, parsed):
        wanted.setdefault(kind, []).append(id_)
    loaders = run.scope.loaders
    found: dict[tuple[str, uuid.UUID], Any] = {}

    async def sessions(keys: list[uuid.UUID]) -> None:
        rows = await _session_rows(run, keys, below)
        found.update((("session", id_), row) for id_, row in rows.items())

    async def catalog(kind: str, keys: list[uuid.UUID]) -> None:
        loader: dict[str, Any] = {
            "location": loaders.location,
            "device": loaders.device,
            "fleet": loaders.fleet,
        }
        values = await loader[kind].load_values(keys)
        found.update(((kind, k), v) for k, v in values.items())

    await asyncio.gather(
        *(
            sessions(keys) if kind == "session" else catalog(kind, keys)
            for kind, keys in wanted.items()
        )
    )
    return [None if item is None else found.get(item) for item in parsed]


async def _node(
    run: Run, _keys: list[Any], arguments: dict[str, Any], below: frozenset[str]
) -> Mapping[Any, Any]:
    return {ROOT: (await _nodes(run, [arguments["id"]], below))[0]}


async def _node_list(
    run: Run, _keys: list[Any], arguments: dict[str, Any], below: frozenset[str]
) -> Mapping[Any, Any]:
    return {ROOT: await _nodes(run, arguments["ids"], below)}


def _nested_sessions(parent: Parent) -> Loader:
    async def load(
        run: Run, keys: list[Any], arguments: dict[str, Any], below: frozenset[str]
    ) -> Mapping[Any, Any]:
        first, after, order = (
            arguments.get("first"),
            arguments.get("after"),
            arguments.get("order_by"),
        )
        pages = await asyncio.gather(
            *(
                session_resolvers.nested_sessions(
                    run.scope, parent, k, first=first, after=after, order=order
                )
                for k in keys
            )
        )
        if _COUNT in below or _ESTIMATE in below:  # exact either way: one parent's sessions
            counts = await session_resolvers.count_nested_sessions(run.scope, parent, keys)
            pages = [
                replace(p, total_count=c, total_count_estimate=c)
                for p, c in zip(pages, counts, strict=True)
            ]
        return dict(zip(keys, pages, strict=True))

    return load


async def _auxiliary_devices(
    run: Run, keys: list[Any], _arguments: dict[str, Any], _below: frozenset[str]
) -> Mapping[Any, Any]:
    """Each session's auxiliary device ids (the key) as devices: one look-up for all."""
    devices = await run.scope.loaders.device.load_values({i for key in keys for i in key})
    return {key: [devices[i] for i in key] for key in keys}


def _rating(row: SessionRow, _run: Run, _arguments: dict[str, Any]) -> SessionRow | None:
    return row if row.rating is not None else None


def _nested_devices(parent: str) -> Loader:
    async def load(
        run: Run, keys: list[Any], arguments: dict[str, Any], below: frozenset[str]
    ) -> Mapping[Any, Any]:
        first, after = arguments.get("first"), arguments.get("after")
        pages = await asyncio.gather(
            *(
                catalog_resolvers.nested_devices(run.scope, **{parent: k}, first=first, after=after)
                for k in keys
            )
        )
        if _COUNT in below or _ESTIMATE in below:
            by_fleet = parent == "fleet_id"
            counts = await catalog_resolvers.count_nested_devices(run.scope, by_fleet, keys)
            pages = [replace(p, total_count=c) for p, c in zip(pages, counts, strict=True)]
        return dict(zip(keys, pages, strict=True))

    return load


async def _session_stats(
    run: Run, _keys: list[Any], arguments: dict[str, Any], _below: frozenset[str]
) -> Mapping[Any, Any]:
    groups = await stats_resolvers.session_stats(
        run.scope,
        arguments.get("filter") or session_resolvers.SessionFilter(),
        arguments.get("group_by") or (),
        arguments.get("bucket"),
        arguments.get("time_zone"),
    )
    return {ROOT: groups}


async def _occupancy(
    run: Run, keys: list[Any], _arguments: dict[str, Any], _below: frozenset[str]
) -> Mapping[Any, Any]:
    return await stats_resolvers.occupancy(run.scope, keys)


async def _utilization(
    run: Run, keys: list[Any], arguments: dict[str, Any], _below: frozenset[str]
) -> Mapping[Any, Any]:
    return await stats_resolvers.utilization(run.scope, keys, arguments["from_"], arguments["to"])


def _page_items(page: Any) -> Sequence[Any]:
    rows = getattr(page, "rows", None)
    items: Sequence[Any] = rows if rows is not None else page.items
    return items


def _edges(page: Any, _run: Run, _arguments: dict[str, Any]) -> list[tuple[Any, Any]]:
    return [(page, item) for item in _page_items(page)]


def _page_cursor(page: Any, run: Run, first: bool) -> str | None:
    items = _page_items(page)
    if not items:
        return None
    cursor: str = page.cursor(run.scope, items[0] if first else items[-1])
    return cursor


def _details_kind(row: SessionRow) -> str:
    return "storage" if row.kind == SessionKind.PARKING else "travel"


def _id(obj: Any) -> Any:
    return obj.id


def _reference(loader: Callable[[RequestScope], Any], column: str, kind: str) -> Relation:
    return Relation(kind, key=attrgetter(column), load=_by_id(loader))


_location = attrgetter("loaders.location")
_device = attrgetter("loaders.device")
_fleet = attrgetter("loaders.fleet")


def _viewer(_root: Any, run: Run, _arguments: dict[str, Any]) -> Any:
    return run.scope.principal


def _page_relations(node_kind_of: str | Callable[[Any], str]) -> dict[str, Relation]:
    return {
        "edges": Relation("edge", derive=_edges),
        "nodes": Relation(node_kind_of, derive=lambda page, _r, _a: _page_items(page)),
        "page_info": Relation("page_info", derive=lambda page, _r, _a: page),
    }


FIELDS: dict[str, dict[str, Getter]] = {
    "query": {},
    "session": {
        "id": _global("Session"),
        "uuid": _attr("id"),
        **{name: _attr(name) for name in _SESSION_VALUES},
        "uri": lambda s, run: run.uris.session_v2(s.user_id, s.id),
    },
    "money": {"currency": _attr("currency"), "value": _attr("value")},
    "payment": {"id": _attr("payment_id"), "status": _attr("payment_status")},
    "rating": {"rating": _attr("rating"), "comment": _attr("rating_comment")},
    "storage": {},
    "travel": {name: _attr(name) for name in _TRAVEL_VALUES},
    "event": {"name": _item(0), "timestamp": _item(1)},
    "location": {
        "id": _global("Location"),
        "uuid": _attr("id"),
        "name": _attr("name"),
        "time_zone": _attr("time_zone"),
    },
    "fleet": {"id": _global("Fleet"), "uuid": _attr("id"), "name": _attr("name")},
    "device": {
        "id": _global("Device"),
        "uuid": _attr("id"),
        "kind": _attr("kind"),
        "name": _attr("name"),
    },
    "viewer": {
        "role": lambda p, _r: p.role.value,
        "user_id": _attr("user_id"),
        "location_ids": lambda p, _r: sorted(p.location_ids),
        "fleet_ids": lambda p, _r: sorted(p.fleet_ids),
    },
    "stats_group": {
        name: _attr(name)
        for name in (
            "kind",
            "status",
            "user_id",
            "bucket",
            "count",
            "average_duration",
            "p50_duration",
            "p90_duration",
            "distance_travelled",
            "battery_used",
            "first_reference_time",
            "last_reference_time",
        )
    },
    "occupancy": {name: _attr(name) for name in ("devices", "occupied", "ratio")},
    "utilization": {
        name: _attr(name) for name in ("occupied_seconds", "available_seconds", "ratio")
    },
    "session_page": {
        "total_count": _attr("total_count"),
        "total_count_estimate": _attr("total_count_estimate"),
    },
    "catalog_page": {
        "total_count": _attr("total_count"),
        "total_count_estimate": _attr("total_count"),
    },
    "edge": {"cursor": lambda edge, run: edge[0].cursor(run.scope, edge[1])},
    "page_info": {
        "has_next_page": _attr("has_next_page"),
        "has_previous_page": _attr("has_previous_page"),
        "start_cursor": lambda page, run: _page_cursor(page, run, True),
        "end_cursor": lambda page, run: _page_cursor(page, run, False),
    },
}

RELATIONS: dict[str, dict[str, Relation]] = {
    "query": {
        "viewer": Relation("viewer", derive=_viewer),
        "sessions": Relation("session_page", key=_root_key, load=_sessions_page),
        "locations": Relation("catalog_page", key=_root_key, load=_catalog_page("locations")),
        "fleets": Relation("catalog_page", key=_root_key, load=_catalog_page("fleets")),
        "devices": Relation(
            "catalog_page", key=_root_key, load=_catalog_page("devices", filtered=True)
        ),
        "session_stats": Relation("stats_group", key=_root_key, load=_session_stats),
        "node": Relation(node_kind, key=_root_key, load=_node),
        "nodes": Relation(node_kind, key=_root_key, load=_node_list),
    },
    "session": {
        "fee": Relation("money", derive=lambda s, _r, _a: s.fee),
        "payment": Relation("payment", derive=lambda s, _r, _a: s if s.payment_status else None),
        "rating": Relation("rating", derive=_rating),
        "details": Relation(_details_kind, derive=lambda s, _r, _a: s),
        "events": Relation(
            "event", derive=lambda s, _r, _a: zip(s.event_names, s.event_times, strict=True)
        ),
        "auxiliary_devices": Relation(
            "device", key=lambda s: tuple(s.auxiliary_device_ids), load=_auxiliary_devices
        ),
    },
    "storage": {
        "location": _reference(_location, "storage_location_id", "location"),
        "device": _reference(_device, "storage_device_id", "device"),
    },
    "travel": {
        "start_location": _reference(_location, "travel_start_location_id", "location"),
        "end_location": _reference(_location, "travel_end_location_id", "location"),
        "rental_device": _reference(_device, "rental_device_id", "device"),
        "rental_fleet": _reference(_fleet, "rental_fleet_id", "fleet"),
    },
    "location": {
        "devices": Relation("catalog_page", key=_id, load=_nested_devices("location_id")),
        "sessions": Relation("session_page", key=_id, load=_nested_sessions(Parent.LOCATION)),
        "occupancy": Relation("occupancy", key=_id, load=_occupancy),
        "utilization": Relation("utilization", key=_id, load=_utilization),
    },
    "fleet": {
        "devices": Relation("catalog_page", key=_id, load=_nested_devices("fleet_id")),
        "sessions": Relation("session_page", key=_id, load=_nested_sessions(Parent.FLEET)),
    },
    "device": {
        "location": _reference(_location, "location_id", "location"),
        "fleet": _reference(_fleet, "fleet_id", "fleet"),
        "current_session": Relation(
            "session", key=_id, load=_by_id(attrgetter("loaders.open_session"))
        ),
        "sessions": Relation("session_page", key=_id, load=_nested_sessions(Parent.DEVICE)),
    },
    "stats_group": {
        "fees": Relation("money", derive=lambda g, _r, _a: g.fees),
        "location": _reference(_location, "location_id", "location"),
        "device": _reference(_device, "device_id", "device"),
        "fleet": _reference(_fleet, "fleet_id", "fleet"),
    },
    "occupancy": {},
    "utilization": {},
    "event": {},
    "money": {},
    "payment": {},
    "rating": {},
    "viewer": {},
    "session_page": _page_relations("session"),
    "catalog_page": _page_relations(node_kind),
    "edge": {"node": Relation(node_kind, derive=lambda e, _r, _a: e[1])},
    "page_info": {},
}
