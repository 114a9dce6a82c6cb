"""The operator dashboard: a page that is a plain client of the public GraphQL API.

``GET /dashboard`` serves one HTML page and its own assets (``gateway/static/dashboard``,
uPlot vendored), under the Content-Security-Policy of GraphiQL: nothing loads from
another origin and no inline script runs. The page holds no token: the operator types
one into its form, and it stays in the page's memory. It draws, for a chosen location,
sessions and revenue per day over 30 days (``sessionStats``), the distribution of
session durations, and the occupancy of every location, kept live by the
``sessionUpdated`` subscription over graphql-transport-ws.
"""

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse

from gateway.graphql.explorer import CONTENT_SECURITY_POLICY, STATIC_PATH, script_json

DASHBOARD_PATH = "/dashboard"


def dashboard_page(root_path: str) -> str:
    """The dashboard's HTML: a form, the charts' places, and the scripts that fill them."""
    static = escape(f"{root_path}{STATIC_PATH}/dashboard", quote=True)
    config = {"graphqlPath": f"{root_path}/graphql"}
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>session-gateway dashboard</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="{static}/uPlot.min.css">
  <link rel="stylesheet" href="{static}/dashboard.css">
</head>
<body>
  <header>
    <h1>Sessions dashboard</h1>
    <form id="connect" autocomplete="off">
      <label>Token <input id="token" type="password" placeholder="sgw_..." required></label>
      <label>Location <select id="location" disabled></select></label>
      <label>30 days up to <input id="until" type="date" required></label>
      <button type="submit">Show</button>
    </form>
    <p id="status" role="status">Type a token: it stays in this page, never on the server.</p>
  </header>
  <main>
    <section><h2>Sessions per day</h2><div id="sessions-chart" class="chart"></div></section>
    <section><h2>Revenue per day</h2><div id="revenue-chart" class="chart"></div></section>
    <section>
      <h2>Durations <span id="duration-summary"></span></h2>
      <div id="duration-chart" class="chart"></div>
    </section>
    <section>
      <h2>Occupancy now <span id="live" class="live">offline</span></h2>
      <ul id="occupancy"></ul>
    </section>
  </main>
  <script id="dashboard-config" type="application/json">{script_json(config)}</script>
  <script src="{static}/uPlot.iife.min.js"></script>
  <script src="{static}/dashboard.js"></script>
</body>
</html>
"""


async def dashboard(request: Request) -> HTMLResponse:
    """The dashboard page (no token in it: the operator types one)."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
    }
    return HTMLResponse(dashboard_page(request.scope.get("root_path", "")), headers=headers)
