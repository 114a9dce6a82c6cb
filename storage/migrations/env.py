"""Alembic environment: runs on a connection handed over by ``storage.migrate``."""

from alembic import context
from sqlalchemy import Connection

from storage.models import Base

config = context.config


def run(connection: Connection) -> None:
    """Configure Alembic on ``connection`` and run the migrations in one transaction."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `session-gateway migrate`")
run(connection)
