"""JWT access tokens: verify one and map its claims to a Principal.

HS256 tokens are checked against a shared secret; RS256 and ES256 tokens against the
issuer's public keys (``resolvers.jwks``). The algorithm is pinned by where the key came
from, never taken on the token's word: ``alg: none``, an HS256 token signed with a public
key, or an RS256 header over an EC key are all refused. ``exp`` is required; ``exp`` and
``nbf`` are checked with a small leeway for clock skew; ``iss`` and ``aud`` when set.

Every refusal is ``Unauthenticated`` with a message that names the reason, never the
token itself.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from jwt import exceptions as jwt_errors

from resolvers.errors import Unauthenticated
from resolvers.jwks import JwksCache
from resolvers.scope import Principal
from storage.enums import Role

HMAC_ALGORITHM = "HS256"
KEY_SET_ALGORITHMS = frozenset({"RS256", "ES256"})
MIN_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash output
SUBJECT_PREFIX = "jwt:"


@dataclass(frozen=True, slots=True)
class JwtConfig:
    """Which JWTs are accepted and how their claims map to a Principal."""

    secret: str = ""
    jwks_url: str = ""
    jwks_file: str = ""
    issuer: str = ""
    audience: str = ""
    leeway_seconds: float = 30.0
    role_claim: str = "role"
    user_id_claim: str = "sub"
    locations_claim: str = "location_ids"
    fleets_claim: str = "fleet_ids"
    jwks_max_age_seconds: float = 300.0
    jwks_min_refresh_seconds: float = 30.0

    @property
    def enabled(self) -> bool:
        """True when some key to verify JWTs is configured."""
        return bool(self.secret or self.jwks_url or self.jwks_file)


class JwtVerifier:
    """Turns a JWT into the Principal its claims describe, or refuses it."""

    def __init__(self, config: JwtConfig, keys: JwksCache | None = None) -> None:
        if config.secret and len(config.secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes long")
        self.config = config
        if keys is None and (config.jwks_url or config.jwks_file):
            keys = JwksCache(
                url=config.jwks_url,
                path=config.jwks_file,
                max_age=config.jwks_max_age_seconds,
                min_refresh_interval=config.jwks_min_refresh_seconds,
            )
        self.keys = keys

    async def principal(self, token: str) -> Principal:
        """The Principal of a valid token; ``Unauthenticated`` saying why otherwise."""
        algorithm, key = await self._key_for(token)
        claims = self._decode(token, algorithm, key)
        return self._principal(claims)

    async def _key_for(self, token: str) -> tuple[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt_errors.PyJWTError as error:
            raise Unauthenticated("the bearer token is malformed") from error
        algorithm = header.get("alg")
        if algorithm == HMAC_ALGORITHM and self.config.secret:
            return algorithm, self.config.secret
        if algorithm in KEY_SET_ALGORITHMS and self.keys is not None:
            kid = header.get("kid")
            if kid is not None and not isinstance(kid, str):
                raise Unauthenticated("the bearer token is malformed")
            jwk = await self.keys.key(kid)
            if jwk is None:
                raise Unauthenticated("the bearer token is signed with an unknown key")
            if jwk.algorithm_name != algorithm:
                raise Unauthenticated("the bearer token's algorithm does not match its key")
            return algorithm, jwk.key
        raise Unauthenticated(
            f"the bearer token's algorithm {str(algorithm)[:16]!r} is not accepted"
        )

    def _decode(self, token: str, algorithm: str, key: Any) -> dict[str, Any]:
        config = self.config
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=config.audience or None,
                issuer=config.issuer or None,
                leeway=config.leeway_seconds,
                options={
                    "require": ["exp", "sub"],
                    "verify_aud": bool(config.audience),
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt_errors.ExpiredSignatureError as error:
            raise Unauthenticated("the bearer token has expired") from error
        except jwt_errors.ImmatureSignatureError as error:
            raise Unauthenticated("the bearer token is not valid yet") from error
        except jwt_errors.InvalidIssuerError as error:
            raise Unauthenticated("the bearer token is from another issuer") from error
        except jwt_errors.InvalidAudienceError as error:
            raise Unauthenticated("the bearer token is meant for another audience") from error
        except jwt_errors.InvalidSignatureError as error:
            raise Unauthenticated("the bearer token's signature does not verify") from error
        except jwt_errors.MissingRequiredClaimError as error:
            raise Unauthenticated(f"the bearer token has no {error.claim!r} claim") from error
        except (jwt_errors.PyJWTError, OverflowError) as error:  # OverflowError: exp: Infinity
            raise Unauthenticated("the bearer token is malformed") from error
        return claims

    def _principal(self, claims: dict[str, Any]) -> Principal:
        config = self.config
        raw_role = claims.get(config.role_claim, Role.USER.value)
        try:
            role = Role(raw_role)
        except ValueError as error:
            raise Unauthenticated(
                f"the bearer token's {config.role_claim!r} claim is not one of "
                f"{', '.join(r.value for r in Role)}"
            ) from error
        subject = SUBJECT_PREFIX + str(claims["sub"])[:200]
        try:
            expires = datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
        except (OverflowError, ValueError, OSError) as error:  # beyond the year 9999
            raise Unauthenticated("the bearer token's 'exp' claim is out of range") from error
        if role is Role.USER:
            user_id = _uuid(claims, config.user_id_claim)
            return Principal(role, subject, user_id=user_id, expires_at=expires)
        if role is Role.OPERATOR:
            return Principal(
                role,
                subject,
                location_ids=_uuid_set(claims, config.locations_claim),
                fleet_ids=_uuid_set(claims, config.fleets_claim),
                expires_at=expires,
            )
        return Principal(role, subject, expires_at=expires)


def _uuid(claims: dict[str, Any], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(claims[name]))
    except (KeyError, ValueError) as error:
        raise Unauthenticated(f"the bearer token's {name!r} claim is not a user id") from error


def _uuid_set(claims: dict[str, Any], name: str) -> frozenset[uuid.UUID]:
    raw = claims.get(name, [])
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise Unauthenticated(f"the bearer token's {name!r} claim is not a list of ids")
    try:
        return frozenset(uuid.UUID(item) for item in raw)
    except ValueError as error:
        raise Unauthenticated(f"the bearer token's {name!r} claim is not a list of ids") from error
