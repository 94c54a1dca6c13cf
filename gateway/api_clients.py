"""API clients: identities for internal apps and integrations, which get
tokens with the client-credentials grant instead of a person's password
(CONTRACTS §7). The secret is shown once and kept as its SHA-256 (it is 256
random bits, so a slow hash would add nothing but cost)."""
from __future__ import annotations

import secrets

from sqlalchemy import select

from shared.auth import Principal
from shared.db import utcnow
from shared.http import NotFound, keyset_page

from gateway.models import ApiClient
from gateway.tokens import digest, revoke_sessions_of


def client_out(client: ApiClient, secret: str | None = None) -> dict:
    body = {"id": client.id, "name": client.name, "role": client.role, "client_id": client.id,
            "active": client.revoked_at is None, "created_at": client.created_at, "revoked_at": client.revoked_at}
    if secret is not None:
        body["client_secret"] = secret
    return body


def create_client(uow, actor: Principal, data: dict) -> dict:
    secret = "cs_" + secrets.token_urlsafe(32)
    client = ApiClient(name=data["name"], role=data["role"], secret_hash=digest(secret), created_by=actor.id)
    uow.session.add(client)
    uow.session.flush()
    return client_out(client, secret)


def get_client(session, client_id) -> ApiClient:
    client = session.get(ApiClient, str(client_id))
    if client is None:
        raise NotFound.of("API client", client_id)
    return client


def list_clients(session, args: dict):
    stmt = select(ApiClient)
    if args.get("active") is not None:
        stmt = stmt.where(ApiClient.revoked_at.is_(None) if args["active"] else ApiClient.revoked_at.is_not(None))
    rows, cursor = keyset_page(session, stmt, ApiClient.created_at, ApiClient.id,
                               limit=args["limit"], cursor=args.get("cursor"))
    return [client_out(c) for c in rows], cursor


def revoke_client(uow, client_id) -> None:
    """The client's tokens stop working (the gateway checks each request)."""
    client = get_client(uow.session, client_id)
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        revoke_sessions_of(uow.session, client.id, "client-revoked")
