"""The GraphiQL page and its vendored assets, as HTTP sees them (the browser test runs them)."""

import json
import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from graphql import parse, validate

from gateway.graphql.explorer import STATIC_DIR, example_tabs
from gateway.graphql.schema import schema
from tests.security.gateways import gateway

ROOT = Path(__file__).resolve().parents[2]
ASSETS = {
    "graphiql.min.js": "javascript",
    "graphiql.min.css": "text/css",
    "react.production.min.js": "javascript",
    "react-dom.production.min.js": "javascript",
    "explorer.js": "javascript",
}


def page_config(html: str) -> dict:
    match = re.search(r'<script id="explorer-config" type="application/json">(.*?)</script>', html)
    assert match, html
    config: dict = json.loads(match.group(1))
    return config


async def test_the_page_loads_only_the_gateways_own_assets(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "connect-src 'self';" in policy
    assert response.headers["cache-control"] == "no-store"
    sources = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert sources and all(s.startswith("/graphql/static/") or s == "data:," for s in sources)
    assert "unpkg" not in response.text and "<script>" not in response.text


@pytest.mark.parametrize(("name", "kind"), ASSETS.items())
async def test_every_asset_is_served(client, name, kind):
    response = await client.get(f"/graphql/static/graphiql/{name}")
    assert response.status_code == 200
    assert kind in response.headers["content-type"]


def test_the_vendored_packages_ship_with_their_licenses():
    for package in ("graphiql", "react", "react-dom"):
        assert "MIT License" in (STATIC_DIR / "graphiql" / f"LICENSE.{package}").read_text()


def test_the_assets_are_package_data():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["gateway"]
    gateway_dir = ROOT / "gateway"
    files = [p.relative_to(gateway_dir).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file()]
    assert set(ASSETS) <= {Path(f).name for f in files}
    assert [f for f in files if not any(fnmatch(f, p) for p in patterns)] == []


async def test_no_token_is_prefilled_unless_serving_the_demo(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    config = page_config(response.text)
    assert config["headers"] == ""
    assert {tab["headers"] for tab in config["tabs"]} == {""}
    assert not re.search(r"sgw_[A-Za-z0-9_-]{43}", response.text)


async def test_the_demo_token_is_prefilled_in_every_tab(backend):
    token = "sgw_" + "d" * 43
    async with gateway(backend.url, graphiql_demo_token=token) as (_, client):
        response = await client.get("/graphql", headers={"Accept": "text/html"})
    config = page_config(response.text)
    headers = {"Authorization": f"Bearer {token}"}
    assert json.loads(config["headers"]) == headers
    assert all(json.loads(tab["headers"]) == headers for tab in config["tabs"])


def test_every_example_is_valid_against_the_schema():
    tabs = example_tabs("")
    kinds = set()
    for tab in tabs:
        document = parse(tab["query"])
        assert validate(schema._schema, document) == [], tab["query"]
        kinds |= {d.operation.value for d in document.definitions if hasattr(d, "operation")}
    assert kinds == {"query", "mutation", "subscription"}
    assert json.loads(tabs[2]["variables"])["until"].endswith("Z")


async def test_without_graphiql_there_is_no_page_and_no_assets(backend):
    async with gateway(backend.url, graphiql=False) as (_, client):
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        asset = await client.get("/graphql/static/graphiql/graphiql.min.js")
        dashboard = await client.get("/dashboard")
        chart = await client.get("/graphql/static/dashboard/uPlot.iife.min.js")
    assert "graphiql" not in page.text.lower()
    assert asset.status_code == 404
    assert dashboard.status_code == chart.status_code == 404
