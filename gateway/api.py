"""The gateway's own routes: tokens, keys, users and the OpenAPI document."""
from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from shared.web import Blueprint

from shared.auth import current_principal, public
from shared.http import Merged, if_match
from shared.schemas import ProblemSchema, page_of
from shared.web import deps, created, current_db, read_session, with_version

from flask import g, request

from shared.http import ListArgs

from shared.guard import allow

from gateway import api_clients, handover, identity, schemas, timeline
from gateway.deps import GatewayDeps
from gateway.tokens import TokenIssuer, revoke_session
from gateway.openapi import merged_spec
from gateway.search import api as search_api

MERGED = "The account was merged into another: `Location` is the same path with the survivor's id."

auth = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Tokens and signing keys")
users = Blueprint("users", __name__, url_prefix="/api/v1", description="Users, roles and teams")
clients = Blueprint("api_clients", __name__, url_prefix="/api/v1",
                    description="API clients: identities for internal apps (client-credentials grant)")
docs = Blueprint("docs", __name__, url_prefix="/api/v1", description="The API description")
customers = Blueprint("customers", __name__, url_prefix="/api/v1",
                      description="Customer 360 and timeline, across every service")


def _deps() -> GatewayDeps:
    return deps()


def _keys() -> identity.KeyStore:
    return _deps().keys


def _issuer() -> TokenIssuer:
    return _deps().issuer


@auth.route("/token")
class Token(MethodView):
    @public
    @auth.doc(security=[])
    @auth.arguments(schemas.TokenRequest)
    @auth.response(200, schemas.TokenResponse)
    @auth.alt_response(401, schema=ProblemSchema)
    @auth.alt_response(429, schema=ProblemSchema, description="Too many failed logins from this address; "
                                                              "see Retry-After.")
    def post(self, data):
        """Exchange an e-mail and password (or an API client's id and secret, `grant_type:
        client_credentials`) for a short access token (RS256 JWT, ≤ 15 min) and a refresh token."""
        with current_db().transaction() as uow:
            if data["grant_type"] == "client_credentials":
                return identity.issue_client_token(uow.session, _issuer(), data["client_id"], data["client_secret"],
                                                   request.remote_addr or "unknown")
            return identity.issue_token(uow.session, _issuer(), data["email"], data["password"],
                                        request.remote_addr or "unknown")


@auth.route("/refresh")
class Refresh(MethodView):
    @public
    @auth.doc(security=[])
    @auth.arguments(schemas.RefreshRequest)
    @auth.response(200, schemas.TokenResponse)
    @auth.alt_response(401, schema=ProblemSchema)
    def post(self, data):
        """A new access and refresh token for a refresh token. Each refresh token works once; presenting a used
        one revokes every token of its login."""
        with current_db().transaction() as uow:
            return _issuer().refresh(uow.session, data["refresh_token"])


@auth.route("/logout")
class Logout(MethodView):
    @auth.response(204)
    def post(self):
        """End this token's login: its refresh tokens and access tokens stop working."""
        session_id = current_principal().session_id
        if session_id:
            with current_db().transaction() as uow:
                revoke_session(uow.session, session_id, "logged-out")


@auth.route("/jwks.json")
class JWKS(MethodView):
    @auth.doc(security=[])
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

    @allow()
    @users.arguments(schemas.UserIn)
    @users.response(201, schemas.UserOut)
    @users.alt_response(403, schema=ProblemSchema)
    @users.alt_response(409, schema=ProblemSchema)
    def post(self, data):
        """Create a user (admin only)."""
        with current_db().transaction() as uow:
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

    @allow(self_param="user_id")
    @users.arguments(schemas.UserPatch)
    @users.response(200, schemas.UserOut)
    def patch(self, changes, user_id):
        """Change a user (admin; users may change their own name and password). `active: false` deactivates."""
        with current_db().transaction() as uow:
            user = identity.update_user(uow, current_principal(), user_id, changes, if_match())
        return with_version(user, user.version)


@users.route("/users/<uuid:user_id>/handover")
class UserHandover(MethodView):
    @allow("manager")
    @users.arguments(schemas.HandoverIn)
    @users.response(202, schemas.HandoverAccepted)
    @users.alt_response(403, schema=ProblemSchema)
    @users.alt_response(422, schema=ProblemSchema)
    def post(self, data, user_id):
        """Hand a leaving user's open work to a successor in every service, and deactivate the user."""
        with current_db().transaction() as uow:
            started = handover.request_handover(uow, current_principal(), user_id, data["to_user_id"])
        return {"handover_id": started.id}, 202, {"Location": f"/api/v1/handovers/{started.id}"}


@users.route("/handovers/<uuid:handover_id>")
class HandoverItem(MethodView):
    @users.response(200, schemas.HandoverOut)
    @users.alt_response(404, schema=ProblemSchema)
    def get(self, handover_id):
        """A handover's progress, per service."""
        return handover.status_of(handover.get_handover(read_session(), handover_id))


@clients.route("/api-clients")
class ApiClients(MethodView):
    @allow()
    @clients.arguments(schemas.ApiClientFilters, location="query")
    @clients.response(200, page_of(schemas.ApiClientOut))
    @clients.alt_response(403, schema=ProblemSchema)
    def get(self, args):
        """List API clients (admin only)."""
        items, cursor = api_clients.list_clients(read_session(), args)
        return {"items": items, "next_cursor": cursor}

    @allow()
    @clients.arguments(schemas.ApiClientIn)
    @clients.response(201, schemas.ApiClientCreated)
    @clients.alt_response(403, schema=ProblemSchema)
    def post(self, data):
        """Create an API client for an internal app (admin only). Its `client_secret` is shown only in this
        answer; exchange it at POST /api/v1/auth/token with `grant_type: client_credentials`."""
        with current_db().transaction() as uow:
            client = api_clients.create_client(uow, current_principal(), data)
        return client, 201, {"Location": f"/api/v1/api-clients/{client['id']}"}


@clients.route("/api-clients/<uuid:client_id>")
class ApiClientItem(MethodView):
    @allow()
    @clients.response(200, schemas.ApiClientOut)
    @clients.alt_response(404, schema=ProblemSchema)
    def get(self, client_id):
        """Read an API client (admin only)."""
        return api_clients.client_out(api_clients.get_client(read_session(), client_id))

    @allow()
    @clients.response(204)
    @clients.alt_response(404, schema=ProblemSchema)
    def delete(self, client_id):
        """Revoke an API client: its tokens are refused within seconds."""
        with current_db().transaction() as uow:
            api_clients.revoke_client(uow, client_id)


@customers.route("/customers/<uuid:account_id>/360")
class Customer360(MethodView):
    @customers.response(200, schemas.Customer360Out)
    @customers.alt_response(404, schema=ProblemSchema)
    @customers.alt_response(308, schema=ProblemSchema, description=MERGED)
    def get(self, account_id):
        """Everything about a customer from every service, asked in parallel with one deadline;
        services that did not answer in time are listed in `unavailable` (and `partial` is true)."""
        headers = {"Authorization": request.headers["Authorization"], "X-Request-ID": g.request_id}
        return _deps().customer360.build(str(account_id), headers)


@customers.route("/customers/<uuid:account_id>/timeline")
class CustomerTimeline(MethodView):
    @customers.arguments(ListArgs, location="query")
    @customers.response(200, schemas.TimelinePage)
    @customers.alt_response(308, schema=ProblemSchema, description=MERGED)
    def get(self, args, account_id):
        """Everything that happened to a customer across services, newest first (kept from the events);
        the accounts merged into this one show here too."""
        session = read_session()
        survivor = timeline.survivor_of(session, str(account_id))
        if survivor is not None:
            raise Merged("account", account_id, survivor)
        items, cursor = timeline.page(session, str(account_id), args["limit"], args.get("cursor"))
        return {"items": items, "next_cursor": cursor}


@docs.route("/asyncapi.json")
class AsyncAPI(MethodView):
    @docs.doc(security=[])
    @docs.response(200)
    def get(self):
        """The event stream: every routing key with its payload contract, AsyncAPI 3.0."""
        from shared.asyncapi import asyncapi
        from shared.contracts import catalogue

        documents = _deps().documents
        if "asyncapi" not in documents:
            documents["asyncapi"] = asyncapi(catalogue())
        return jsonify(documents["asyncapi"])


@docs.route("/openapi.json")
class OpenAPI(MethodView):
    @docs.doc(security=[])
    @docs.response(200)
    def get(self):
        """This document: the whole public API, OpenAPI 3.1."""
        documents = _deps().documents
        if "openapi" not in documents:
            documents["openapi"] = merged_spec(_deps().rest.spec.to_dict())
        return jsonify(documents["openapi"])


BLUEPRINTS = [auth, users, clients, customers, search_api.blp, docs]
