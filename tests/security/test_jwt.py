"""JWT access tokens: HS256 and RS256/ES256 from a JWKS, claims mapped, every bad token a 401."""

import time
import uuid

import pytest

from resolvers.jwks import JwksCache
from resolvers.jwt_identity import JwtConfig, JwtVerifier
from tests.conftest import auth
from tests.fixtures.dataset import FLEET_F, LOC_X, USER_A, USER_B, visible_to
from tests.security.gateways import gateway, graphql_error
from tests.security.jwt_keys import (
    AUDIENCE,
    ISSUER,
    SECRET,
    JwksServer,
    Keys,
    hmac_signed,
    mint,
    unsigned,
)

VIEWER = {"query": "{ viewer { role userId locationIds fleetIds } }"}
SESSIONS = {"query": "{ sessions(first: 100) { nodes { uuid } } }"}
REST_LIST = "/session/v2/sessions?limit=1000"


@pytest.fixture(scope="module")
def keys():
    return Keys()


@pytest.fixture(scope="module")
def jwks_file(keys, tmp_path_factory):
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_bytes(keys.jwks())
    return str(path)


@pytest.fixture(scope="module")
async def jwt_client(backend, jwks_file):
    """A gateway trusting the HS256 secret and the JWKS file, checking iss and aud."""
    async with gateway(
        backend.url,
        jwt_secret=SECRET,
        jwt_jwks_file=jwks_file,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
    ) as (_, client):
        yield client


async def _visible(client, token):
    response = await client.post("/graphql", json=SESSIONS, headers=auth(token))
    assert response.status_code == 200, response.text
    graphql = {uuid.UUID(n["uuid"]) for n in response.json()["data"]["sessions"]["nodes"]}
    rest = await client.get(REST_LIST, headers=auth(token))
    assert rest.status_code == 200, rest.text
    assert {uuid.UUID(s["id"]) for s in rest.json()["data"]} == graphql
    return graphql


async def test_an_hs256_user_token_sees_exactly_that_users_sessions(jwt_client):
    token = mint(SECRET, "HS256", sub=str(USER_A))
    viewer = await jwt_client.post("/graphql", json=VIEWER, headers=auth(token))
    assert viewer.json()["data"]["viewer"] == {
        "role": "user",
        "userId": str(USER_A),
        "locationIds": [],
        "fleetIds": [],
    }
    assert await _visible(jwt_client, token) == visible_to("user_a")


async def test_an_rs256_operator_token_maps_its_location_claim(jwt_client, keys):
    token = mint(
        keys.rsa_key, "RS256", "rsa-1", sub="ops-x", role="operator", location_ids=[str(LOC_X)]
    )
    viewer = await jwt_client.post("/graphql", json=VIEWER, headers=auth(token))
    assert viewer.json()["data"]["viewer"]["locationIds"] == [str(LOC_X)]
    assert await _visible(jwt_client, token) == visible_to("operator_x")


async def test_an_es256_operator_token_maps_its_fleet_claim(jwt_client, keys):
    token = mint(
        keys.ec_key, "ES256", "ec-1", sub="ops-f", role="operator", fleet_ids=[str(FLEET_F)]
    )
    assert await _visible(jwt_client, token) == visible_to("operator_f")


async def test_an_admin_token_sees_everything(jwt_client, keys):
    token = mint(keys.ec_key, "ES256", "ec-1", sub="root", role="admin")
    assert await _visible(jwt_client, token) == visible_to("admin")


async def test_a_token_expired_within_the_leeway_is_still_accepted(jwt_client):
    token = mint(SECRET, "HS256", sub=str(USER_B), exp=int(time.time()) - 10)
    assert await _visible(jwt_client, token) == visible_to("user_b")


def refused_tokens(keys: Keys) -> dict[str, tuple[str, str]]:
    """Each bad token, with a phrase its refusal must contain."""
    now = int(time.time())
    return {
        "expired": (mint(SECRET, "HS256", exp=now - 120), "has expired"),
        "not yet valid": (mint(SECRET, "HS256", nbf=now + 120), "not valid yet"),
        "issued in the future": (mint(SECRET, "HS256", iat=now + 120), "not valid yet"),
        "wrong issuer": (mint(SECRET, "HS256", iss="https://evil.test"), "another issuer"),
        "no issuer": (mint(SECRET, "HS256", iss=None), "no 'iss' claim"),
        "wrong audience": (mint(SECRET, "HS256", aud="another-api"), "another audience"),
        "no audience": (mint(SECRET, "HS256", aud=None), "no 'aud' claim"),
        "no expiry": (mint(SECRET, "HS256", exp=None), "no 'exp' claim"),
        "alg none": (unsigned(), "algorithm 'none' is not accepted"),
        "wrong HS256 secret": (mint("x" * 40, "HS256"), "signature does not verify"),
        "wrong RSA key": (mint(keys.stranger, "RS256", "rsa-1"), "signature does not verify"),
        "unknown kid": (mint(keys.stranger, "RS256", "rsa-9"), "unknown key"),
        "ES256 header on an RSA key": (mint(keys.ec_key, "ES256", "rsa-1"), "does not match"),
        "RS512": (mint(keys.rsa_key, "RS512", "rsa-1"), "'RS512' is not accepted"),
        "tampered": (_tampered(mint(SECRET, "HS256")), "signature does not verify"),
        "expiry past the year 9999": (
            mint(SECRET, "HS256", exp=1e20),
            "'exp' claim is out of range",
        ),
        "infinite expiry": (
            hmac_signed(SECRET.encode(), {"alg": "HS256", "typ": "JWT"}, exp=float("inf")),
            "malformed",
        ),
        "malformed": ("aaa.bbb.ccc", "malformed"),
        "not a JWT": ("eyJhbGciOiJIUzI1NiJ9", "malformed"),
        "bad role": (mint(SECRET, "HS256", role="root"), "'role' claim is not one of"),
        "user sub not a uuid": (mint(SECRET, "HS256", sub="alice"), "not a user id"),
        "bad location claim": (
            mint(SECRET, "HS256", role="operator", location_ids="all"),
            "'location_ids' claim is not a list of ids",
        ),
    }


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    return f"{header}.{payload[:-4]}AAAA.{signature}"


REFUSAL_NAMES = [
    "expired",
    "not yet valid",
    "issued in the future",
    "wrong issuer",
    "no issuer",
    "wrong audience",
    "no audience",
    "no expiry",
    "alg none",
    "wrong HS256 secret",
    "wrong RSA key",
    "unknown kid",
    "ES256 header on an RSA key",
    "RS512",
    "tampered",
    "expiry past the year 9999",
    "infinite expiry",
    "malformed",
    "not a JWT",
    "bad role",
    "user sub not a uuid",
    "bad location claim",
]


@pytest.fixture(scope="module")
def refused(keys):
    return refused_tokens(keys)


@pytest.mark.parametrize("case", REFUSAL_NAMES)
async def test_a_bad_jwt_is_refused_with_401_on_graphql(jwt_client, refused, case):
    token, reason = refused[case]
    response = await jwt_client.post("/graphql", json=VIEWER, headers=auth(token))
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    error = graphql_error(response)
    assert error["extensions"]["code"] == "UNAUTHORIZED"
    assert reason in error["message"]
    assert token not in response.text


@pytest.mark.parametrize("case", REFUSAL_NAMES)
async def test_a_bad_jwt_is_refused_with_401_on_rest(jwt_client, refused, case):
    token, reason = refused[case]
    response = await jwt_client.get(REST_LIST, headers=auth(token))
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error_code"] == "ERRORS.UNAUTHORIZED"
    assert reason in body["error_message"]


def test_every_refusal_case_is_exercised(keys):
    assert set(refused_tokens(keys)) == set(REFUSAL_NAMES)


async def test_opaque_tokens_keep_working_beside_jwts(jwt_client, tokens):
    response = await jwt_client.post("/graphql", json=VIEWER, headers=auth(tokens["user_b"]))
    assert response.json()["data"]["viewer"]["userId"] == str(USER_B)


async def test_a_gateway_without_jwt_settings_refuses_jwts(client):
    token = mint(SECRET, "HS256", sub=str(USER_A))
    response = await client.post("/graphql", json=VIEWER, headers=auth(token))
    assert response.status_code == 401
    assert graphql_error(response)["message"] == "the bearer token is malformed"


async def test_hs256_signed_with_the_public_key_is_refused_by_a_jwks_only_gateway(
    backend, keys, jwks_file
):
    # The classic key-confusion attack: HMAC over the issuer's public key as the secret.
    token = hmac_signed(keys.rsa_public_pem(), {"alg": "HS256", "kid": "rsa-1"}, sub=str(USER_A))
    async with gateway(backend.url, jwt_jwks_file=jwks_file) as (_, client):
        response = await client.post("/graphql", json=VIEWER, headers=auth(token))
    assert response.status_code == 401
    assert "'HS256' is not accepted" in graphql_error(response)["message"]


async def test_keys_come_from_a_jwks_url_and_are_refreshed_on_an_unknown_kid(backend, keys):
    with JwksServer(keys.jwks()) as server:
        async with gateway(backend.url, jwt_jwks_url=server.url, jwks_min_refresh_seconds=0) as (
            _,
            client,
        ):
            first = mint(keys.rsa_key, "RS256", "rsa-1", sub=str(USER_A), iss=None, aud=None)
            for _ in range(3):
                ok = await client.post("/graphql", json=VIEWER, headers=auth(first))
                assert ok.status_code == 200, ok.text
            assert server.requests == 1, "the key set is cached"

            server.document = keys.jwks(rotated=True)
            rotated = mint(keys.rsa_next, "RS256", "rsa-2", sub=str(USER_A))
            response = await client.post("/graphql", json=VIEWER, headers=auth(rotated))
            assert response.status_code == 200, response.text
            assert server.requests == 2, "an unknown kid fetched the key set again"

            retired = await client.post("/graphql", json=VIEWER, headers=auth(first))
            assert retired.status_code == 401
            assert "unknown key" in graphql_error(retired)["message"]


async def test_unknown_kids_refresh_the_jwks_at_most_once_per_interval(backend, keys):
    with JwksServer(keys.jwks()) as server:
        async with gateway(backend.url, jwt_jwks_url=server.url, jwks_min_refresh_seconds=3600) as (
            _,
            client,
        ):
            for n in range(5):
                forged = mint(keys.stranger, "RS256", f"made-up-{n}", sub=str(USER_A))
                response = await client.post("/graphql", json=VIEWER, headers=auth(forged))
                assert response.status_code == 401
    assert server.requests == 1


async def test_an_unreachable_jwks_url_is_a_503_not_a_401(backend, keys):
    with JwksServer(keys.jwks()) as server:
        url = server.url
    async with gateway(backend.url, jwt_jwks_url=url) as (_, client):
        token = mint(keys.rsa_key, "RS256", "rsa-1", sub=str(USER_A))
        response = await client.post("/graphql", json=VIEWER, headers=auth(token))
    assert response.status_code == 503
    assert graphql_error(response)["extensions"]["code"] == "UNAVAILABLE"


async def test_the_jwks_cache_refetches_after_its_max_age(jwks_file):
    now = [0.0]
    cache = JwksCache(path=jwks_file, max_age=300, min_refresh_interval=30, clock=lambda: now[0])
    assert (await cache.key("rsa-1")) is not None
    assert (await cache.key("ec-1")) is not None
    assert cache.fetches == 1
    assert (await cache.key("nope")) is None
    assert cache.fetches == 1, "within the refresh interval an unknown kid fetches nothing"
    now[0] = 31
    assert (await cache.key("nope")) is None
    assert cache.fetches == 2
    now[0] = 400
    await cache.key("rsa-1")
    assert cache.fetches == 3


def test_a_short_hs256_secret_is_refused_at_startup():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        JwtVerifier(JwtConfig(secret="too-short"))
