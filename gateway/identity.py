"""Identity use cases: users, passwords, signing keys and tokens."""
from __future__ import annotations

import hashlib
import hmac
import uuid

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from shared import history
from shared.auth import Principal
from shared.db import KeepAndRaise
from shared.http import Conflict, Forbidden, Invalid, NotFound, Unauthorized, ensure_version, keyset_page

from gateway import throttle
from gateway.models import ApiClient, SigningKey, User
from gateway.schemas import UserOut
from gateway.tokens import TokenIssuer, client_claims, digest, revoke_sessions_of, user_claims

ADMIN_EMAIL = "admin@cadena.local"

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both failures cost the same.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
_user_out = UserOut()


def user_data(user: User) -> dict:
    return _user_out.dump(user)


def user_event_data(user: User) -> dict:
    data = {k: v for k, v in user_data(user).items() if k in ("id", "email", "name", "role", "team", "manager_id",
                                                              "active")}
    data["token_generation"] = user.token_generation  # services refuse tokens of older generations
    return data


# A change to any of these ends the power of the tokens issued before it.
SECURITY_FIELDS = ("active", "role", "team", "manager_id")


def revoke_tokens(session, user: User, reason: str) -> None:
    """Every token issued to the user so far is refused from now on (and,
    for a deactivation, every login ends)."""
    user.token_generation = (user.token_generation or 0) + 1
    if not user.active:
        revoke_sessions_of(session, user.id, reason)


# -- keys -------------------------------------------------------------------

class KeyStore:
    """RS256 signing keys kept in the gateway's database (or one from a file)."""

    def __init__(self, db, key_file: str | None = None):
        self.db = db
        self.key_file = key_file
        self._keys: dict[str, object] = {}
        self._signing: tuple[str, object] | None = None

    def load(self) -> None:
        if self.key_file:
            with open(self.key_file, "rb") as fh:
                pem = fh.read()
            key = serialization.load_pem_private_key(pem, password=None)
            kid = hashlib.sha256(pem).hexdigest()[:16]
            self._keys = {kid: key}
            self._signing = (kid, key)
            return
        rows = self._stored()
        if not rows:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            try:
                with self.db.transaction() as uow:
                    uow.session.add(SigningKey(kid=hashlib.sha256(pem).hexdigest()[:16], private_pem=pem))
            except IntegrityError:
                pass  # another process made the first key at the same moment: use theirs
            rows = self._stored()
        self._keys = {r.kid: serialization.load_pem_private_key(r.private_pem, password=None) for r in rows}
        # Sign with the oldest key so every worker process agrees.
        self._signing = (rows[0].kid, self._keys[rows[0].kid])

    def _stored(self) -> list[SigningKey]:
        with self.db.sessions() as session:
            return list(session.scalars(select(SigningKey).order_by(SigningKey.created_at, SigningKey.kid)))

    def ensure_loaded(self) -> None:
        if self._signing is None:
            self.load()

    def sign(self, claims: dict) -> str:
        self.ensure_loaded()
        kid, key = self._signing
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    def public_key_for(self, token: str):
        if self._signing is None:
            self.load()
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError:
            raise Unauthorized("The bearer token is malformed.") from None
        if kid not in self._keys:
            self.load()  # another process may have added a key
        key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("The token was not signed by a known key.")
        return key.public_key()

    def jwks(self) -> dict:
        if self._signing is None:
            self.load()
        keys = []
        for kid, key in self._keys.items():
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            jwk.update(kid=kid, use="sig", alg="RS256")
            keys.append(jwk)
        return {"keys": keys}


# -- tokens -----------------------------------------------------------------

def _password_ok(user: User | None, password: str) -> bool:
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        return user is not None and user.active
    except (VerificationError, InvalidHashError):
        return False


def issue_token(session, issuer: TokenIssuer, email: str, password: str, address: str = "unknown") -> dict:
    """The password grant: throttled per e-mail and address, then a new login."""
    email = email.strip().lower()
    throttle.check(session, email, address)
    user = session.scalar(select(User).where(User.email == email))
    if not _password_ok(user, password):
        throttle.record_failure(session, email, address)
        raise KeepAndRaise(Unauthorized("Wrong e-mail or password, or the user is deactivated."))
    tokens = issuer.open_session(session, user.id, user_claims(user))
    throttle.clear(session, email, address)
    return tokens


def issue_client_token(session, issuer: TokenIssuer, client_id: str, secret: str, address: str = "unknown") -> dict:
    """The client-credentials grant for API clients (throttled like passwords)."""
    throttle.check(session, f"client:{client_id}", address)
    client = session.get(ApiClient, client_id) if _is_uuid(client_id) else None
    ok = client is not None and client.revoked_at is None and hmac.compare_digest(client.secret_hash, digest(secret))
    if not ok:
        throttle.record_failure(session, f"client:{client_id}", address)
        raise KeepAndRaise(Unauthorized("Wrong client id or secret, or the client is revoked."))
    return issuer.open_session(session, client.id, client_claims(client), kind="client")


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False


# -- users ------------------------------------------------------------------

def get_user(session, user_id) -> User:
    user = session.get(User, str(user_id))
    if user is None:
        raise NotFound.of("user", user_id)
    return user


def list_users(session, args: dict):
    stmt = select(User)
    for field in ("role", "team"):
        if args.get(field):
            stmt = stmt.where(getattr(User, field) == args[field])
    if args.get("active") is not None:
        stmt = stmt.where(User.active.is_(args["active"]))
    if args.get("q"):
        pattern = f"%{args['q']}%"
        stmt = stmt.where(or_(User.name.ilike(pattern), User.email.ilike(pattern)))
    return keyset_page(session, stmt, User.created_at, User.id, limit=args["limit"], cursor=args.get("cursor"))


def _check_manager(session, manager_id, user_id=None) -> None:
    if manager_id is None:
        return
    if str(manager_id) == user_id:
        raise Invalid("A user cannot manage themselves.", errors={"manager_id": ["Cannot be the user itself."]})
    if session.get(User, str(manager_id)) is None:
        raise Invalid("The manager does not exist.", errors={"manager_id": ["No user with this id."]})


def _email_taken(email: str, existing: str):
    raise Conflict(f"A user with the e-mail {email} already exists: {existing}.", extra={"existing_id": existing})


def create_user(uow, actor: Principal | None, data: dict) -> User:
    if actor is not None and not actor.is_admin:
        raise Forbidden("Only an admin may create users.")
    session = uow.session
    existing = session.scalar(select(User.id).where(User.email == data["email"]))
    if existing:
        _email_taken(data["email"], existing)
    _check_manager(session, data.get("manager_id"))
    user = User(email=data["email"], name=data["name"], role=data["role"], team=data.get("team"),
                manager_id=str(data["manager_id"]) if data.get("manager_id") else None,
                active=data.get("active", True), password_hash=_hasher.hash(data["password"]))
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        _email_taken(data["email"], "another user")
    uow.publish("identity.user.created", user.id, user_event_data(user))
    return user


def update_user(uow, actor: Principal, user_id, changes: dict, expected) -> User:
    session = uow.session
    user = get_user(session, user_id)
    ensure_version(user.version, expected)
    is_self = actor.id == user.id
    if not actor.is_admin and not (is_self and set(changes) <= {"name", "password"}):
        raise Forbidden("Only an admin may change users (you may change your own name and password).")
    if "email" in changes and changes["email"] != user.email:
        existing = session.scalar(select(User.id).where(User.email == changes["email"]))
        if existing:
            _email_taken(changes["email"], existing)
    if "manager_id" in changes:
        _check_manager(session, changes["manager_id"], user.id)
        changes["manager_id"] = str(changes["manager_id"]) if changes["manager_id"] else None
    if "password" in changes:
        user.password_hash = _hasher.hash(changes.pop("password"))
    security_change = any(f in changes and changes[f] != getattr(user, f) for f in SECURITY_FIELDS)
    before = user_event_data(user)
    for field, value in changes.items():
        setattr(user, field, value)
    if not session.is_modified(user):
        return user
    if security_change:
        revoke_tokens(session, user, "deactivated" if not user.active else "access-changed")
    session.flush()
    history.updated(uow, "identity.user.updated", user.id, user_event_data(user), before=before)
    return user


def ensure_admin(db, password: str | None) -> None:
    """The bootstrap admin (admin@cadena.local), created once when a password is known."""
    if not password:
        return
    with db.transaction() as uow:
        if uow.session.scalar(select(User.id).where(User.email == ADMIN_EMAIL)):
            return
        try:
            create_user(uow, None, {"email": ADMIN_EMAIL, "name": "Administrator", "role": "admin",
                                    "team": None, "password": password})
        except Conflict:
            pass  # another process created it first

