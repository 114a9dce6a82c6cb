"""Signing keys, JWKS documents, token minting and a local JWKS server for the JWT tests."""

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://issuer.test"
AUDIENCE = "session-gateway"
SECRET = "hs256-test-secret-of-at-least-32-bytes!!"


@dataclass
class Keys:
    """The issuer's keys, plus a stranger's RSA key with the same kid."""

    rsa_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    rsa_next: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    stranger: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    ec_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def jwks(self, *, rotated: bool = False) -> bytes:
        """The issuer's JWKS: rsa-1 and ec-1, or after rotation rsa-2 and ec-1."""
        rsa_key, kid = (self.rsa_next, "rsa-2") if rotated else (self.rsa_key, "rsa-1")
        keys = [
            {**json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key())), "kid": kid, "use": "sig"},
            {
                **json.loads(ECAlgorithm.to_jwk(self.ec_key.public_key())),
                "kid": "ec-1",
                "use": "sig",
            },
        ]
        return json.dumps({"keys": keys}).encode()

    def rsa_public_pem(self) -> bytes:
        """The issuer's RSA public key as PEM (what a key-confusion attacker would HMAC with)."""
        return self.rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def claims(**overrides: Any) -> dict[str, Any]:
    """Valid claims for a user token, with overrides (a value of None drops the claim)."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(uuid.UUID(int=1, version=4)),
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def mint(key: Any, algorithm: str, kid: str | None = None, **overrides: Any) -> str:
    """A signed JWT."""
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims(**overrides), key, algorithm=algorithm, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(**overrides: Any) -> str:
    """An ``alg: none`` token, as an attacker would write it."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims(**overrides)).encode())}."


def hmac_signed(secret: bytes, header: dict[str, Any], **overrides: Any) -> str:
    """An HS256-signed token over any header, signed by hand (PyJWT refuses PEM secrets)."""
    signing_input = (
        f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims(**overrides)).encode())}"
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 whose document a test can swap; counts its requests."""

    def __init__(self, document: bytes) -> None:
        self.document = document
        self.requests = 0
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(served.document)))
                self.end_headers()
                self.wfile.write(served.document)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The JWKS URL."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/.well-known/jwks.json"

    def __enter__(self) -> "JwksServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
