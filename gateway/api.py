"""The gateway's own routes: tokens, keys, users and the OpenAPI document."""
from __future__ import annotations

from flask import current_app, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from shared.auth import current_principal, public
from shared.http import if_match
from shared.schemas import ProblemSchema, page_of
from shared.web import created, current_db, read_session, with_version

from gateway import identity, schemas
from gateway.openapi import merged_spec

auth = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Tokens and signing keys")
users = Blueprint("users", __name__, url_prefix="/api/v1", description="Users, roles and teams")
docs = Blueprint("docs", __name__, url_prefix="/api/v1", description="The API description")


def _keys() -> identity.KeyStore:
    return current_app.extensions["cadena.keys"]


@auth.route("/token")
class Token(MethodView):
    @public
    @auth.arguments(schemas.TokenRequest)
    @auth.response(200, schemas.TokenResponse)
    @auth.alt_response(401, schema=ProblemSchema)
    def post(self, data):
        """Exchange an e-mail and password for a bearer token (RS256 JWT)."""
        return identity.issue_token(read_session(), _keys(), data["email"], data["password"])


Token.post.cadena_public = True


@auth.route("/jwks.json")
class JWKS(MethodView):
    @auth.response(200, schemas.Jwks)
    def get(self):
        """The public keys that verify Cadena's tokens (RFC 7517)."""
        return _keys().jwks()


@users.route("/users")
class Users(MethodView):
    @users.arguments(schemas.UserFilters, location="query")
    @users.response(200, page_of(schemas.UserOut))
    def get(self, args):
        """List users (everyone may read)."""
        rows, cursor = identity.list_users(read_session(), args)
        return {"items": rows, "next_cursor": cursor}

    @users.arguments(schemas.UserIn)
    @users.response(201, schemas.UserOut)
    @users.alt_response(403, schema=ProblemSchema)
    @users.alt_response(409, schema=ProblemSchema)
    def post(self, data):
        """Create a user (admin only)."""
        with current_db().uow() as uow:
            user = identity.create_user(uow, current_principal(), data)
        return created(user, f"/api/v1/users/{user.id}", user.version)


@users.route("/users/<uuid:user_id>")
class UserItem(MethodView):
    @users.response(200, schemas.UserOut)
    @users.alt_response(404, schema=ProblemSchema)
    def get(self, user_id):
        """Read a user."""
        user = identity.get_user(read_session(), user_id)
        return with_version(user, user.version)

    @users.arguments(schemas.UserPatch)
    @users.response(200, schemas.UserOut)
    def patch(self, changes, user_id):
        """Change a user (admin; users may change their own name and password). `active: false` deactivates."""
        with current_db().uow() as uow:
            user = identity.update_user(uow, current_principal(), user_id, changes, if_match())
        return with_version(user, user.version)


@docs.route("/openapi.json")
class OpenAPI(MethodView):
    @docs.response(200)
    def get(self):
        """This document: the whole public API, OpenAPI 3.1."""
        cache = current_app.extensions
        if "cadena.openapi" not in cache:
            cache["cadena.openapi"] = merged_spec(cache["cadena.rest"].spec.to_dict())
        return jsonify(cache["cadena.openapi"])


BLUEPRINTS = [auth, users, docs]
