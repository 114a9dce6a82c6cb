"""A fresh PostgreSQL database with the dataset, and the settings of each live update bus."""

import pytest

from storage.database import create_engine
from tests.conftest import prepared_database
from tests.fixtures.dataset import load_dataset
from tests.live.clients import bus_settings


@pytest.fixture(params=["postgres", "redis"])
async def database(request, tmp_path):
    """(url, tokens, engine, gateway settings of the bus): cross-process live updates."""
    async with prepared_database("postgresql", tmp_path, load_dataset) as (url, tokens):
        engine = create_engine(url)
        try:
            yield url, tokens, engine, bus_settings(request.param)
        finally:
            await engine.dispose()
