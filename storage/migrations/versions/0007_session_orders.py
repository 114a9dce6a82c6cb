"""Indexes for the session orders: start, end and creation time and fee, with the id.

Each order walks ``(key, id)`` forwards (ascending, nulls last) or backwards
(descending, nulls first), for every session or for one rider's.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 23:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index name, columns): each key alone, and each key among one rider's sessions.
INDEXES = [
    (f"ix_sessions_{prefix}{name}", [*scope, column, "id"])
    for prefix, scope in (("", []), ("user_", ["user_id"]))
    for name, column in (
        ("start", "start_time"),
        ("end", "end_time"),
        ("created", "created_at"),
        ("fee", "fee_minor"),
    )
]


def upgrade() -> None:
    """Apply this revision."""
    for name, columns in INDEXES:
        op.create_index(name, "sessions", columns, unique=False)


def downgrade() -> None:
    """Revert this revision."""
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name="sessions")
