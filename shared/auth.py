"""Bearer tokens and permissions, the same in every service (CONTRACTS §3).

The gateway signs RS256 tokens; services verify them with the gateway's
public keys (JWKS, cached) and never see passwords.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import jwt
from flask import g, request
from sqlalchemy import select

from shared.db import Database, dialect_of, utcnow
from shared.http import Forbidden, Unauthorized
from shared.keys import RemoteKeys
from shared.replica import ReadThrough

ISSUER = "cadena"
AUDIENCE = "cadena-api"
ROLES = ("admin", "manager", "rep", "support", "marketing", "readonly")

# Which roles may own (and so create and change) each kind of record.
OWNER_ROLES: dict[str, frozenset[str]] = {
    "account": frozenset({"rep", "manager"}),
    "contact": frozenset({"rep", "manager"}),
    "opportunity": frozenset({"rep", "manager"}),
    "activity": frozenset({"rep", "manager", "support", "marketing"}),
    "case": frozenset({"support", "manager"}),
    "campaign": frozenset({"marketing", "manager"}),
    "quota": frozenset({"manager"}),
}


@dataclass(frozen=True)
class Principal:
    id: str
    role: str
    team: str | None
    email: str | None = None
    name: str | None = None
    token: str | None = None
    generation: int = 0  # the user's token generation when this token was issued (shared/revocation.py)
    session_id: str | None = None  # the login this token belongs to (its refresh-token family)
    kind: str = "user"  # user | client (an API client, CONTRACTS §7)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def public(view: Callable) -> Callable:
    """Mark a view that needs no bearer token (e.g. a calendar feed with its own token)."""
    view.cadena_public = True
    return view


class TokenVerifier:
    """Verifies bearer tokens. A token once verified is remembered for up to
    ``remember`` seconds (never past its expiry), so the same token on the
    next requests costs a dictionary lookup instead of an RS256 check. A
    service's keys come from the gateway's JWKS (shared/keys.py: fetched at
    start, refreshed in the background every 300 s)."""

    def __init__(self, jwks_url: str | None = None, *, public_key=None, key_resolver: Callable | None = None,
                 remember: float = 60.0, max_remembered: int = 4096):
        """Keys come from the gateway's JWKS (services), a resolver by token
        (the gateway itself) or one fixed public key (tests)."""
        self._static_key = public_key
        self.remote_keys = RemoteKeys(jwks_url) if jwks_url and key_resolver is None else None
        self._resolver = key_resolver or (self.remote_keys.key_for if self.remote_keys else None)
        self._remember = remember
        self._max_remembered = max_remembered
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        now = time.time()
        with self._lock:
            hit = self._verified.get(token)
            if hit is not None:
                if now < hit[1]:
                    return hit[0]
                del self._verified[token]
        principal, expires = self._verify(token)
        if self._remember > 0:
            with self._lock:
                self._verified[token] = (principal, min(expires, now + self._remember))
                while len(self._verified) > self._max_remembered:
                    self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            key = self._static_key if self._static_key is not None else self._resolver(token)
        except jwt.InvalidTokenError:
            raise Unauthorized("The bearer token is malformed.") from None
        try:
            claims = jwt.decode(token, key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER,
                                options={"require": ["exp", "sub", "role"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The token has expired; ask POST /api/v1/auth/token for a new one.") from None
        except jwt.InvalidTokenError:
            raise Unauthorized("The bearer token is invalid.") from None
        if claims.get("role") not in ROLES:
            raise Unauthorized("The token carries an unknown role.")
        return Principal(id=claims["sub"], role=claims["role"], team=claims.get("team"),
                         email=claims.get("email"), name=claims.get("name"), token=token,
                         generation=int(claims.get("gen") or 0), session_id=claims.get("sid"),
                         kind="client" if claims.get("typ") == "client" else "user"), float(claims["exp"])


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def install_auth(app, verifier: TokenVerifier, prefix: str = "/api/v1/", public_paths: tuple[str, ...] = ()) -> None:
    """Every route under the API prefix needs a valid bearer token unless
    marked @public or matched by one of ``public_paths`` (regular expressions),
    that has not been revoked (the app's dependencies' revocation check);
    then the rest of the order of checks of shared/guard.py runs."""
    import re

    from shared.guard import check_request

    public_re = re.compile("|".join(f"(?:{p})" for p in public_paths)) if public_paths else None

    @app.before_request
    def _authenticate():
        g.principal = None
        if not request.path.startswith(prefix):
            return None
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        if (view is not None and getattr(view, "cadena_public", False)) or (
                public_re is not None and public_re.fullmatch(request.path)):
            check_request(app, None)
            return None
        token = bearer_token()
        if token is None:
            raise Unauthorized("Send 'Authorization: Bearer <token>'; get one from POST /api/v1/auth/token.")
        principal = verifier.verify(token)
        check = app.extensions["cadena"].revocation
        if check is not None:
            check.check(principal)
        g.principal = principal
        check_request(app, principal)
        return None


def current_principal() -> Principal:
    principal = getattr(g, "principal", None)
    if principal is None:
        raise Unauthorized("Authentication required.")
    return principal


class UserDirectory:
    """A service's replica of the gateway's users, fed by identity events.

    A user created a moment ago may not have reached the replica yet; then it
    is read once from the gateway (a synchronous call with a timeout) and kept.
    """

    def __init__(self, db: Database, gateway_url: str, timeout: float = 2.0):
        self.db = db
        self.gateway = ReadThrough("gateway", gateway_url, timeout=timeout)

    def get(self, user_id: str, session=None, token: str | None = None) -> dict | None:
        """The user, or None when the gateway says there is none. When the
        gateway cannot be asked: 503 owner-unavailable (with a caller's token),
        else None. A user read from the gateway is kept in ``session``'s unit
        of work (or a transaction of its own without one)."""
        users = self.db.tables.users
        own = session is None
        session = session or self.db.sessions()
        try:
            row = session.execute(select(users).where(users.c.id == str(user_id))).mappings().first()
        finally:
            if own:
                session.close()
        if row is not None:
            return dict(row)
        if not token:
            return None
        user = self.gateway.fetch(f"/api/v1/users/{user_id}", token, what=f"the user {user_id}", missing=(404,))
        if user is not None:
            # Stamped with the gateway's own change time, so an event about a
            # later change still wins (and one about an earlier change loses).
            if own:
                with self.db.transaction() as uow:
                    upsert_user(uow.session, self.db, user, as_of=_parse_time(user.get("updated_at")))
            else:
                upsert_user(session, self.db, user, as_of=_parse_time(user.get("updated_at")))
        return user


def _parse_time(value):
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def upsert_user(session, db: Database, user: dict, as_of=None) -> None:
    """Insert or update a user in the replica; a copy older than the one kept
    (``as_of``: when the gateway made the change) never overwrites it."""
    users = db.tables.users
    values = dict(id=user["id"], email=user["email"], name=user["name"], role=user["role"],
                  team=user.get("team"), manager_id=user.get("manager_id"),
                  active=1 if user.get("active", True) else 0, token_generation=int(user.get("token_generation") or 0),
                  updated_at=as_of or utcnow())
    dialect = dialect_of(db)
    stmt = dialect.insert(users).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=[users.c.id],
                                      set_={k: v for k, v in values.items() if k != "id"},
                                      where=users.c.updated_at <= stmt.excluded.updated_at)
    session.execute(stmt)


def authorize_write(principal: Principal, kind: str, owner_id: str | None,
                    directory: UserDirectory | None = None, session=None) -> None:
    """Raise 403 unless the principal may create or change a record of this kind owned by owner_id."""
    if principal.is_admin:
        return
    if principal.role not in OWNER_ROLES.get(kind, frozenset()):
        raise Forbidden(f"The {principal.role} role may not change {kind} records.")
    if owner_id is None or str(owner_id) == principal.id:
        return
    if principal.role == "manager" and directory is not None:
        owner = directory.get(str(owner_id), session=session, token=principal.token)
        if owner is not None and owner.get("team") and owner.get("team") == principal.team:
            return
        raise Forbidden(f"This {kind} belongs to someone outside your team ({principal.team}).")
    raise Forbidden(f"You may only change {kind} records you own.")


def on_user_changed(event: dict, uow) -> None:
    """identity.user.created / .updated → the local users replica (late copies are ignored)."""
    from datetime import datetime

    upsert_user(uow.session, uow.db, event["data"], as_of=datetime.fromisoformat(event["time"].replace("Z", "+00:00")))
