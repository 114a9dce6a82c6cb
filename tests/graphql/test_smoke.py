from tests.conftest import auth


async def test_sessions_query_returns_nested_data(client, tokens):
    query = """{ sessions(first: 5) { edges { cursor node { id uuid status kind fee { currency value }
      details { __typename ... on StorageDetails { location { name } device { kind } }
                ... on TravelDetails { rentalDevice { name } rentalFleet { name } startLocation { name } } }
      events { name timestamp } auxiliaryDevices { name } } } pageInfo { hasNextPage endCursor } } }"""
    response = await client.post("/graphql", json={"query": query}, headers=auth(tokens["admin"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    print(body)
    assert len(body["data"]["sessions"]["edges"]) == 5
