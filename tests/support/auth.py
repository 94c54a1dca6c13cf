"""Tokens for tests that build a service without a gateway."""
from __future__ import annotations

import time
import uuid
from functools import lru_cache

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import AUDIENCE, ISSUER, TokenVerifier


@lru_cache(maxsize=1)
def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def verifier() -> TokenVerifier:
    return TokenVerifier(public_key=_key().public_key())


def token(role: str = "admin", user_id: str | None = None, team: str | None = None, ttl: int = 600) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": user_id or str(uuid.uuid4()), "iat": now, "exp": now + ttl,
              "role": role, "team": team, "email": f"{role}@example.com", "name": role.title()}
    return jwt.encode(claims, _key(), algorithm="RS256")


def headers(role: str = "admin", user_id: str | None = None, team: str | None = None) -> dict:
    return {"Authorization": f"Bearer {token(role, user_id, team)}"}
