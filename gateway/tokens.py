"""Logins and the tokens they hold (CONTRACTS §7).

A login opens an :class:`AuthSession` (a refresh-token family). It hands out
a short access token (≤ 15 min, claims ``sid`` = the session and ``gen`` =
the user's token generation) and a refresh token, kept only as its SHA-256.
A refresh token works once: refreshing marks it used and hands out a new
pair in the same session; presenting a used one again means it was copied,
so the whole session is revoked. Logout revokes the session.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta

from sqlalchemy import literal, select, update

from shared.auth import AUDIENCE, ISSUER
from shared.db import KeepAndRaise, new_id, utcnow
from shared.http import TokenRevoked, Unauthorized
from shared.revocation import REVOKED_DETAIL, TtlCache

from gateway.models import ApiClient, AuthSession, RefreshToken, User


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenIssuer:
    """Signs access tokens and keeps the sessions and refresh tokens behind them."""

    def __init__(self, keys, access_ttl: int = 900, refresh_days: int = 14):
        self.keys = keys
        self.access_ttl = access_ttl
        self.refresh_ttl = timedelta(days=refresh_days)

    def access_token(self, claims: dict, session_id: str) -> str:
        now = int(time.time())
        return self.keys.sign({"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + self.access_ttl,
                               "sid": session_id, **claims})

    def _refresh_token(self, session, session_id: str) -> str:
        token = "rt_" + secrets.token_urlsafe(32)
        session.add(RefreshToken(token_hash=digest(token), session_id=session_id,
                                 expires_at=utcnow() + self.refresh_ttl))
        return token

    def pair(self, session, claims: dict, session_id: str) -> dict:
        access = self.access_token(claims, session_id)
        return {"access_token": access, "token_type": "Bearer", "expires_in": self.access_ttl,
                "refresh_token": self._refresh_token(session, session_id)}

    def open_session(self, session, subject_id: str, claims: dict, kind: str = "user") -> dict:
        self.keys.ensure_loaded()  # before this transaction writes: the first key is made in its own
        login_id = new_id()
        tokens = self.pair(session, claims, login_id)
        session.add(AuthSession(id=login_id, subject_id=subject_id, kind=kind))
        return tokens

    def refresh(self, session, refresh_token: str) -> dict:
        """A new pair for a refresh token that is unused, unexpired and whose
        session and user are still good; a reused one revokes its session."""
        record = session.get(RefreshToken, digest(refresh_token), with_for_update=True)
        if record is None:
            raise Unauthorized("The refresh token is not one this API issued; log in again.")
        login = session.get(AuthSession, record.session_id)
        if login is None or login.revoked_at is not None:
            raise TokenRevoked("This login has ended (logged out or revoked); log in again.")
        used = session.execute(update(RefreshToken).where(RefreshToken.token_hash == record.token_hash,
                                                          RefreshToken.used_at.is_(None))
                               .values(used_at=utcnow())).rowcount
        if not used:
            revoke_session(session, login.id, "refresh-token-reused")
            raise KeepAndRaise(TokenRevoked("This refresh token was already used, so it may have been copied: every token "
                               "of this login is revoked. Log in again."))
        if record.expires_at < utcnow():
            raise Unauthorized("The refresh token has expired; log in again.")
        claims = self._claims_of(session, login)
        return self.pair(session, claims, login.id)

    def _claims_of(self, session, login: AuthSession) -> dict:
        if login.kind == "client":
            client = session.get(ApiClient, login.subject_id)
            if client is None or client.revoked_at is not None:
                raise TokenRevoked("This API client has been revoked.")
            return client_claims(client)
        user = session.get(User, login.subject_id)
        if user is None or not user.active:
            raise TokenRevoked("The user is deactivated; ask an admin.")
        return user_claims(user)


def user_claims(user: User) -> dict:
    return {"sub": user.id, "role": user.role, "team": user.team, "email": user.email, "name": user.name,
            "gen": user.token_generation}


def client_claims(client: ApiClient) -> dict:
    return {"sub": client.id, "role": client.role, "team": None, "name": client.name, "typ": "client"}


def _revoke(session, which, reason: str) -> None:
    session.execute(update(AuthSession).where(which, AuthSession.revoked_at.is_(None))
                    .values(revoked_at=utcnow(), revoked_reason=reason))


def revoke_session(session, session_id: str, reason: str) -> None:
    """One login ends (logout, a reused refresh token)."""
    _revoke(session, AuthSession.id == session_id, reason)


def revoke_sessions_of(session, subject_id: str, reason: str) -> None:
    """Every login of a user or API client ends."""
    _revoke(session, AuthSession.subject_id == subject_id, reason)


class GatewayRevocation:
    """The gateway's check on every request, against its own tables: the
    user's generation and activity, the login (session) and the API client.
    Answers are remembered ``ttl`` seconds per process."""

    def __init__(self, db, ttl: float = 1.0):
        self.db = db
        self.cache = TtlCache(ttl)

    def _load(self, key: tuple[str, str, str | None]):
        kind, subject_id, session_id = key
        with self.db.sessions() as session:
            if kind == "client":
                state = session.execute(select(ApiClient.revoked_at.is_(None), literal(0))
                                        .where(ApiClient.id == subject_id)).first()
            else:
                state = session.execute(select(User.active, User.token_generation)
                                        .where(User.id == subject_id)).first()
            ended = session_id is not None and session.scalar(
                select(AuthSession.revoked_at.is_not(None)).where(AuthSession.id == session_id))
        if state is None:
            return False, 0, bool(ended)
        return bool(state[0]), int(state[1] or 0), bool(ended)

    def check(self, principal) -> None:
        active, generation, ended = self.cache.get((principal.kind, principal.id, principal.session_id), self._load)
        if principal.kind == "client" and not active:
            raise TokenRevoked("This API client has been revoked.")
        if not active or generation > principal.generation or ended:
            raise TokenRevoked(REVOKED_DETAIL if not ended else
                               "This login has ended (logged out or revoked); log in again.")
