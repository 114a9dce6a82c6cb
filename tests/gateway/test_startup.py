"""Start-up refuses a database that is not migrated, with a message that says what to do."""

import pytest
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.config import Settings
from storage.database import create_engine
from storage.migrate import upgrade


async def test_the_gateway_refuses_to_start_on_an_unmigrated_database(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    await upgrade(engine, "0001")  # an older schema, as a forgotten migration leaves it
    await engine.dispose()
    app = create_app(Settings(database_url=url))
    with pytest.raises(RuntimeError, match="session-gateway migrate"):
        async with LifespanManager(app):
            pass
