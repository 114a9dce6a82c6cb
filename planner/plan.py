"""A compiled selection: the fetch that runs a level at a time, and the response builder.

``Plan(selection)`` walks the selection once and turns every ``Shape`` into an
``_ObjectPlan`` (its ``(key, step)`` table, and a builder function generated from it
that reads and prints plain fields inline) and every ``Nested`` into a ``_RelationPlan``
(how to fetch the level and how to write it). A run first fetches: starting at the
root, each relation that loads is asked once for the keys of all its parents, so a
level costs one batched look-up, never one per object. Then the builders write plain
dicts and lists, every scalar printed by its format function, ready for one
``orjson.dumps``. Anything unexpected (a null where the selection requires
a value, a value its format refuses) raises, and the caller runs the reference path.
"""

import asyncio
from collections.abc import Callable, Coroutine, Hashable, Iterable
from itertools import count
from typing import Any

from planner.kinds import FIELDS, OWN, RELATIONS, ROOT, Relation, Run
from planner.selection import Constant, Nested, Selection, Shape, Unplannable, Value
from resolvers.context import RequestScope
from resolvers.uris import Uris

Writer = Callable[[Any, Run], Any]


class Anomaly(Exception):
    """The data does not fit the selection: the reference path answers instead."""


def _list_writer(item: Value, get: Callable[[Any, Run], Any]) -> Writer:
    """The writer of a list of scalars (single scalars are written inline by the builder)."""
    fmt, required, item_required = item.format, item.required, item.item_required

    def write_list(obj: Any, run: Run) -> Any:
        values = get(obj, run)
        if values is None:
            if required:
                raise Anomaly(f"{item.field} is null")
            return None
        out: list[Any] = []
        for value in values:
            if value is None:
                if item_required:
                    raise Anomaly(f"an item of {item.field} is null")
                out.append(None)
            else:
                out.append(fmt(value))
        return out

    return write_list


class _ValueStep:
    """A field's writer, and what the generated builder reads to inline it."""

    __slots__ = ("field", "format", "get", "many", "required", "write")

    def __init__(self, item: Value, get: Callable[[Any, Run], Any]) -> None:
        self.field, self.format, self.get = item.field, item.format, get
        self.many, self.required = item.many, item.required
        self.write = _list_writer(item, get) if item.many else None


class _ConstantStep:
    """The same value for every object (a type name)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


_NONE: dict[str, Any] = {}  # the arguments of a relation without any (never written to)


def _missing(field: str) -> Any:
    raise Anomaly(f"{field} is null")


def _generate_builder(steps: list[tuple[str, Any]]) -> Callable[[Any, Run], dict[str, Any]]:
    """One function that writes the whole object: a dict display, scalars read inline.

    Generated once per plan from the steps' table (``exec`` of source made only from the
    plan's own names; response keys enter as bound constants, never as code).
    """
    names: dict[str, Any] = {"_missing": _missing}
    entries = []
    for index, (key, step) in enumerate(steps):
        names[f"_k{index}"] = key
        if isinstance(step, _ValueStep) and not step.many:
            get, value = step.get, "_v"
            attribute, position = getattr(get, "attribute", None), getattr(get, "index", None)
            if attribute is not None and attribute.isidentifier():
                read = f"obj.{attribute}"
            elif position is not None:
                read = f"obj[{int(position)}]"
            else:
                names[f"_g{index}"] = get
                read = f"_g{index}(obj, run)"
            names[f"_f{index}"] = step.format
            names[f"_n{index}"] = step.field
            absent = f"_missing(_n{index})" if step.required else "None"
            expression = f"(_f{index}({value}) if ({value} := {read}) is not None else {absent})"
        elif isinstance(step, _ValueStep):
            names[f"_w{index}"] = step.write
            expression = f"_w{index}(obj, run)"
        elif isinstance(step, _ConstantStep):
            names[f"_c{index}"] = step.value
            expression = f"_c{index}"
        else:
            names[f"_w{index}"] = step
            expression = f"_w{index}(obj, run)"
        entries.append(f"_k{index}: {expression}")
    source = "def build(obj, run):\n    return {" + ", ".join(entries) + "}\n"
    exec(compile(source, "<planned builder>", "exec"), names)  # noqa: S102
    built: Callable[[Any, Run], dict[str, Any]] = names["build"]
    return built


class _ObjectPlan:
    """How to write one kind of object, and which of its relations fetch."""

    __slots__ = ("build", "fetches", "kind", "steps")

    def __init__(self, shape: Shape, counter: "count[int]") -> None:
        self.kind = shape.kind
        fields, relations = FIELDS.get(shape.kind), RELATIONS.get(shape.kind)
        if fields is None or relations is None:
            raise Unplannable("unknown_kind", shape.kind)
        self.steps: list[tuple[str, Any]] = []
        self.fetches: list[_RelationPlan] = []
        for item in shape.items:
            if isinstance(item, Constant):
                self.steps.append((item.key, _ConstantStep(item.value)))
            elif isinstance(item, Value):
                get = fields.get(item.field)
                if get is None:
                    raise Unplannable("unknown_field", f"{shape.kind}.{item.field}")
                self.steps.append((item.key, _ValueStep(item, get)))
            else:
                relation = relations.get(item.relation)
                if relation is None:
                    raise Unplannable("unknown_field", f"{shape.kind}.{item.relation}")
                plan = _RelationPlan(item, relation, counter)
                self.steps.append((item.key, plan.write))
                if plan.fetches:
                    self.fetches.append(plan)

        self.build = _generate_builder(self.steps)

    async def fetch(self, objs: list[Any], run: Run) -> None:
        """Fetch what the relations selected on ``objs`` need, a level at a time."""
        if len(self.fetches) == 1:
            await self.fetches[0].fetch(objs, run)
        elif self.fetches:
            await _all(relation.fetch(objs, run) for relation in self.fetches)


def _steps(shape: Shape) -> int:
    return len(shape.items) + sum(
        _steps(child)
        for item in shape.items
        if isinstance(item, Nested)
        for child in item.shapes.values()
    )


async def _all(jobs: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run a level's fetches together; the first failure cancels the others."""
    async with asyncio.TaskGroup() as group:
        for job in jobs:
            group.create_task(job)


def _own_fields(shapes: Iterable[Shape]) -> frozenset[str]:
    """The fields selected on the related objects themselves, as ``own:<field>``."""
    return frozenset(
        OWN + item.field for shape in shapes for item in shape.items if isinstance(item, Value)
    )


def _names_below(shapes: Iterable[Shape]) -> frozenset[str]:
    names: set[str] = set()
    for shape in shapes:
        for item in shape.items:
            if isinstance(item, Value):
                names.add(item.field)
            elif isinstance(item, Nested):
                names.add(item.relation)
                names |= _names_below(item.shapes.values())
    return frozenset(names)


class _RelationPlan:
    """How to fetch one relation for a whole level, and write it for each parent."""

    __slots__ = (
        "arguments",
        "below",
        "derive",
        "fetches",
        "index",
        "item_required",
        "key",
        "kind_of",
        "load",
        "many",
        "relation",
        "required",
        "shapes",
        "single",
    )

    def __init__(self, item: Nested, relation: Relation, counter: "count[int]") -> None:
        self.index = next(counter)
        self.relation = item.relation
        self.required, self.many, self.item_required = item.required, item.many, item.item_required
        self.arguments = item.arguments
        self.derive, self.key, self.load = relation.derive, relation.key, relation.load
        self.kind_of = relation.kind if callable(relation.kind) else None
        self.shapes = {kind: _ObjectPlan(shape, counter) for kind, shape in item.shapes.items()}
        self.single = None
        if not callable(relation.kind):
            self.single = self.shapes.get(relation.kind)
            if self.single is None:
                raise Unplannable("unknown_kind", f"{item.relation} is {relation.kind}")
        self.below = _names_below(item.shapes.values()) | _own_fields(item.shapes.values())
        self.fetches = self.load is not None or any(s.fetches for s in self.shapes.values())

    def _arguments(self, run: Run) -> dict[str, Any]:
        known = run.arguments.get(self.index)
        if known is None:
            known = self.arguments.values(run.variables) if self.arguments else {}
            run.arguments[self.index] = known
        return known

    def value(self, obj: Any, run: Run) -> Any:
        """The related object (or list) of ``obj``, derived or as loaded."""
        if self.derive is not None:
            return self.derive(obj, run, self._arguments(run) if self.arguments else _NONE)
        key = self.key(obj) if self.key else None
        return None if key is None else run.loaded[self.index].get(key)

    def write(self, obj: Any, run: Run) -> Any:
        """The response value of this relation for ``obj``."""
        value = self.value(obj, run)
        if value is None:
            if self.required:
                raise Anomaly(f"{self.relation} is null")
            return None
        single = self.single
        if not self.many:
            return single.build(value, run) if single is not None else self._write_one(value, run)
        out: list[Any] = []
        append = out.append
        for item in value:
            if item is None:
                if self.item_required:
                    raise Anomaly(f"an item of {self.relation} is null")
                append(None)
            elif single is not None:  # one kind of item: its builder, without a lookup
                append(single.build(item, run))
            else:
                append(self._write_one(item, run))
        return out

    def _write_one(self, value: Any, run: Run) -> dict[str, Any]:
        assert self.kind_of is not None
        return self.shapes[self.kind_of(value)].build(value, run)

    async def fetch(self, parents: list[Any], run: Run) -> None:
        """Load this relation for every parent at once, then the level below."""
        if self.load is not None:
            assert self.key is not None
            keys: dict[Hashable, None] = {}
            for parent in parents:
                key = self.key(parent)
                if key is not None:
                    keys[key] = None
            loaded = (
                await self.load(run, list(keys), self._arguments(run), self.below) if keys else {}
            )
            run.loaded[self.index] = loaded
        if not any(shape.fetches for shape in self.shapes.values()):
            return
        children: list[Any] = []
        for parent in parents:
            value = self.value(parent, run)
            if value is None:
                continue
            if self.many:
                children.extend(v for v in value if v is not None)
            else:
                children.append(value)
        if not children:
            return
        if self.single is not None:
            await self.single.fetch(children, run)
            return
        assert self.kind_of is not None
        groups: dict[str, list[Any]] = {}
        for child in children:
            groups.setdefault(self.kind_of(child), []).append(child)
        await _all(self.shapes[kind].fetch(group, run) for kind, group in groups.items())


class Plan:
    """A selection compiled once: run it with each request's scope and variables."""

    __slots__ = ("root", "steps")

    def __init__(self, selection: Selection) -> None:
        counter = count()
        self.root = _ObjectPlan(selection.root, counter)
        self.steps = _steps(selection.root)  # its size, for the caches that keep plans

    async def run(self, scope: RequestScope, uris: Uris, variables: Any) -> dict[str, Any]:
        """The response data; raises ``Anomaly`` (or a resolver's error) to decline."""
        run = Run(scope, uris, variables, {}, {})
        await self.root.fetch([ROOT], run)
        return self.root.build(ROOT, run)


class ObjectPlan:
    """A selection on one kind of object compiled once: run it on each object given.

    A subscription's selection on the session each event brings is one: the object is
    given, and only what its selection nests is fetched (a level at a time, as ``Plan``).
    """

    __slots__ = ("root", "steps")

    def __init__(self, shape: Shape) -> None:
        self.root = _ObjectPlan(shape, count())
        self.steps = _steps(shape)

    async def run(
        self, scope: RequestScope, uris: Uris, variables: Any, obj: Any
    ) -> dict[str, Any]:
        """The object as the selection writes it; raises ``Anomaly`` (or a resolver's error)."""
        run = Run(scope, uris, variables, {}, {})
        if self.root.fetches:
            await self.root.fetch([obj], run)
        return self.root.build(obj, run)
