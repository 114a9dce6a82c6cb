"""Secrets shared by every gateway process, generated once and kept in the database."""

import secrets
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import GatewaySecret


async def shared_secret(engine: AsyncEngine, name: str) -> str:
    """The secret called ``name``; the first process to ask creates it, the others read it."""
    query = select(GatewaySecret.value).where(GatewaySecret.name == name)
    async with engine.connect() as connection:
        existing = (await connection.execute(query)).scalar_one_or_none()
    if existing is not None:
        return existing
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(GatewaySecret).values(
                    name=name, value=secrets.token_urlsafe(48), created_at=datetime.now(UTC)
                )
            )
    except IntegrityError:
        pass  # another process created it first; theirs is the one to use
    async with engine.connect() as connection:
        return (await connection.execute(query)).scalar_one()
