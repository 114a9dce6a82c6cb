"""Persisted GraphQL documents in the database, where every gateway process finds them."""

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import write_transaction
from storage.models import PersistedDocument


async def find_document(engine: AsyncEngine, digest: str) -> tuple[str, bool] | None:
    """The body of the document with SHA-256 ``digest`` and whether it is trusted."""
    query = select(PersistedDocument.body, PersistedDocument.trusted).where(
        PersistedDocument.hash == digest
    )
    async with engine.connect() as connection:
        row = (await connection.execute(query)).one_or_none()
    return None if row is None else (row.body, row.trusted)


async def count_owned_documents(engine: AsyncEngine, owner: str) -> int:
    """How many documents one principal persisted (automatic persisted queries)."""
    query = select(func.count()).where(
        PersistedDocument.owner == owner, PersistedDocument.trusted.is_(False)
    )
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


async def save_document(
    engine: AsyncEngine, digest: str, body: str, *, trusted: bool, owner: str | None = None
) -> None:
    """Keep a document; saving a known one again only ever raises it to trusted."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    values = {
        "hash": digest,
        "body": body,
        "trusted": trusted,
        "created_at": datetime.now(UTC),
        "owner": owner,
    }
    statement = dialect.insert(PersistedDocument).values(**values)
    # Many processes may register the same document at once: the first insert wins.
    if trusted:
        upsert = statement.on_conflict_do_update(
            index_elements=[PersistedDocument.hash], set_={"trusted": True}
        )
    else:
        upsert = statement.on_conflict_do_nothing(index_elements=[PersistedDocument.hash])
    async with write_transaction(engine) as connection:
        await connection.execute(upsert)
