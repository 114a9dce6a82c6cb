"""A session's events read from the index alone.

Every session read lists its events' names and times in ``(timestamp, id)`` order. The
index ``(session_id, timestamp)`` found them but left each name (and, on PostgreSQL, the
id that breaks ties) to a visit of the table's row; ``(session_id, timestamp, id, name)``
holds all of it, in that order.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 05:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("ix_session_events_session_timestamp", ["session_id", "timestamp"])
NEW = ("ix_session_events_session_timestamp_id_name", ["session_id", "timestamp", "id", "name"])


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(NEW[0], "session_events", NEW[1], unique=False)
    op.drop_index(OLD[0], table_name="session_events")


def downgrade() -> None:
    """Revert this revision."""
    op.create_index(OLD[0], "session_events", OLD[1], unique=False)
    op.drop_index(NEW[0], table_name="session_events")
