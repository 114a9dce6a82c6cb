"""The command line: what `serve --demo` leaves behind in the database."""

import pytest
from sqlalchemy import func, select

from gateway.cli import DEMO_TOKEN_LABEL, _prepare_demo
from gateway.config import Settings
from resolvers.errors import Unauthenticated
from resolvers.identity import authenticate
from storage.database import Reads, create_engine
from storage.models import ApiToken
from tests.conftest import BACKENDS, prepared_database
from tests.fixtures.dataset import load_dataset


@pytest.mark.parametrize("kind", BACKENDS)
async def test_each_demo_start_replaces_the_last_demo_token_and_none_lives_forever(kind, tmp_path):
    async with prepared_database(kind, tmp_path, load_dataset) as (url, _):
        settings = Settings(database_url=url)
        first = await _prepare_demo(settings)
        second = await _prepare_demo(settings)
        engine = create_engine(url)
        try:
            with pytest.raises(Unauthenticated):
                await authenticate(Reads(engine), first)
            assert (await authenticate(Reads(engine), second)).role.value == "admin"
            async with engine.connect() as connection:
                demo = ApiToken.label == DEMO_TOKEN_LABEL
                count = select(func.count()).select_from(ApiToken).where(demo)
                forever = select(func.count()).where(demo, ApiToken.expires_at.is_(None))
                assert (await connection.execute(count)).scalar_one() == 1
                assert (await connection.execute(forever)).scalar_one() == 0
        finally:
            await engine.dispose()
