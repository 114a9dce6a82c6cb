"""What a read needs, as a small tree of typed values that knows nothing of GraphQL.

A ``Shape`` is the selection on one kind of domain object (``"session"``, ``"location"``,
``"session_page"``...): an ordered tuple of items, each written under its response key.

- ``Value``: a field of the object, printed by a format function (``planner.formats``);
- ``Constant``: a fixed value, such as a type name;
- ``Nested``: a related object, list of objects or page, with the shape to write for
  each kind it can be (a union or interface has several), and its arguments.

The names of kinds, fields and relations are those of ``planner.kinds``. A face builds a
``Selection`` once per operation; the planner compiles it once into a ``Plan``.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class Arguments(Protocol):
    """Where a relation's arguments come from: evaluated per request, never cached."""

    def values(self, variables: Any) -> dict[str, Any]:
        """The arguments for this request's variables, as domain values by name."""


@dataclass(frozen=True, slots=True)
class Value:
    """A field of the object, printed by ``format``; ``None`` breaks a ``required`` one."""

    key: str
    field: str
    format: Callable[[Any], Any]
    required: bool
    many: bool = False  # a list of values, each printed by ``format``
    item_required: bool = True


@dataclass(frozen=True, slots=True)
class Constant:
    """The same value for every object, such as its type name."""

    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class Nested:
    """A relation of the object, written with the shape of the related object's kind."""

    key: str
    relation: str
    shapes: Mapping[str, "Shape"]
    required: bool
    many: bool = False
    item_required: bool = True
    arguments: Arguments | None = None


Item = Value | Constant | Nested


@dataclass(frozen=True, slots=True)
class Shape:
    """The selection on one kind of object, in response order."""

    kind: str
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Selection:
    """A whole read: the selection on the root (kind ``"query"``)."""

    root: Shape


class Unplannable(Exception):
    """The selection asks for something the planner does not take; ``reason`` says what."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
