"""Shorthands over the shared dataset for the REST tests."""

from tests.fixtures.dataset import SESSIONS, S


def session(n: int) -> S:
    """The dataset session whose id ends in ``n`` (101..112)."""
    return next(s for s in SESSIONS if str(s.id).endswith(f"-{n:012d}"))


def newest_first(sessions: list[S]) -> list[str]:
    """Ids in list order: newest reference time first, ties broken by id."""
    return [str(s.id) for s in sorted(sessions, key=lambda s: (s.reference, s.id), reverse=True)]
