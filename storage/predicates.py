"""SQL conditions evaluated in memory against a row already read.

Live updates match one changed session against every subscription's visibility and
filter. Those are the very ``ColumnElement`` conditions reads put in their ``WHERE``;
``compile_predicate`` turns one into a Python function of a row, so the rule exists once
and the database is not asked again per subscriber. It takes the vocabulary those
conditions use (AND, OR, comparisons, IN, IS [NOT] NULL, bound values) and refuses any
other construct when compiled, never silently at match time. As in SQL, a comparison
with NULL is not true.
"""

import operator
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import BindParameter, ColumnElement
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import (
    AsBoolean,
    BinaryExpression,
    BooleanClauseList,
    False_,
    Grouping,
    Null,
    True_,
)
from sqlalchemy.sql.schema import Column

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]
_Value = Callable[[Row], Any]

_COMPARISONS: dict[Any, Callable[[Any, Any], bool]] = {
    operators.eq: operator.eq,
    operators.ne: operator.ne,
    operators.lt: operator.lt,
    operators.le: operator.le,
    operators.gt: operator.gt,
    operators.ge: operator.ge,
    operators.in_op: lambda value, values: value in values,
    operators.not_in_op: lambda value, values: value not in values,
}


class Unevaluable(ValueError):
    """A condition uses a construct that has no in-memory evaluation here."""


def compile_predicate(condition: ColumnElement[bool] | Any) -> Predicate:
    """A function telling whether a row (column name -> value) meets ``condition``."""
    if isinstance(condition, Grouping):
        return compile_predicate(condition.element)
    if isinstance(condition, AsBoolean):  # and_() of a single constant
        inner = compile_predicate(condition.element)
        if condition.operator is operators.is_true:
            return inner
        return lambda row: not inner(row)
    if isinstance(condition, True_):
        return lambda _row: True
    if isinstance(condition, False_):
        return lambda _row: False
    if isinstance(condition, BooleanClauseList):
        parts = [compile_predicate(clause) for clause in condition.clauses]
        if condition.operator is operators.and_:
            return lambda row: all(part(row) for part in parts)
        if condition.operator is operators.or_:
            return lambda row: any(part(row) for part in parts)
    if isinstance(condition, BinaryExpression):
        return _binary(condition)
    raise Unevaluable(f"cannot evaluate {condition!r} in memory")


def _binary(condition: BinaryExpression[Any]) -> Predicate:
    left, right = _value(condition.left), _value(condition.right)
    if condition.operator is operators.is_:
        return lambda row: left(row) is right(row)
    if condition.operator is operators.is_not:
        return lambda row: left(row) is not right(row)
    compare = _COMPARISONS.get(condition.operator)
    if compare is None:
        raise Unevaluable(f"cannot evaluate the operator {condition.operator!r} in memory")

    def predicate(row: Row) -> bool:
        a, b = left(row), right(row)
        return a is not None and b is not None and bool(compare(a, b))

    return predicate


def _value(element: Any) -> _Value:
    if isinstance(element, Grouping):
        return _value(element.element)
    if isinstance(element, Column):
        name = element.name
        return lambda row: row[name]
    if isinstance(element, BindParameter):
        value = element.effective_value
        if element.expanding:
            value = frozenset(value or ())
        return lambda _row: value
    if isinstance(element, Null):
        return lambda _row: None
    raise Unevaluable(f"cannot evaluate {element!r} in memory")
