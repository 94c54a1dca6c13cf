"""Accounts' HTTP API: parse → use case → serialise."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from shared.auth import current_principal
from shared.guard import writes
from shared.http import if_match
from shared.schemas import ProblemSchema, page_of
from shared.web import deps, current_settings, created, current_db, read_session, with_version
from shared import imports_api

from services.accounts import export, imports, schemas, service, view

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Accounts (companies) and contacts")


def _directory():
    return deps().directory


def _default_currency() -> str:
    return current_settings().base_currency


@blp.route("/accounts")
class Accounts(MethodView):
    @blp.arguments(schemas.AccountFilters, location="query")
    @blp.response(200, page_of(schemas.AccountOut))
    def get(self, args):
        """List accounts (keyset pagination; filter by field, `q` searches name, tax id and city)."""
        rows, cursor = service.list_accounts(read_session(), args)
        return {"items": [service.account_dict(a) for a in rows], "next_cursor": cursor}

    @writes("account")
    @blp.arguments(schemas.AccountIn)
    @blp.response(201, schemas.AccountOut)
    @blp.alt_response(422, schema=ProblemSchema)
    def post(self, data):
        """Create an account."""
        with current_db().uow() as uow:
            account = service.create_account(uow, current_principal(), data, _directory())
        return created(service.account_dict(account), f"/api/v1/accounts/{account.id}", account.version)


@blp.route("/accounts/<uuid:account_id>")
class AccountItem(MethodView):
    @blp.response(200, schemas.AccountOut)
    @blp.alt_response(404, schema=ProblemSchema)
    def get(self, account_id):
        """Read an account (with its ETag)."""
        account = service.get_account(read_session(), account_id)
        return with_version(service.account_dict(account), account.version)

    @writes("account")
    @blp.arguments(schemas.AccountIn(partial=True))
    @blp.response(200, schemas.AccountOut)
    @blp.alt_response(412, schema=ProblemSchema)
    def patch(self, changes, account_id):
        """Change an account; send `If-Match` with its ETag to avoid overwriting someone else's change."""
        with current_db().uow() as uow:
            account = service.update_account(uow, current_principal(), account_id, changes, if_match(), _directory())
        return with_version(service.account_dict(account), account.version)

    @writes("account")
    @blp.response(204)
    def delete(self, account_id):
        """Delete an account (soft: it leaves lists, and `accounts.account.deleted` is published)."""
        with current_db().uow() as uow:
            service.delete_account(uow, current_principal(), account_id, if_match(), _directory())


@blp.route("/accounts/<uuid:account_id>/contacts")
class AccountContacts(MethodView):
    @blp.arguments(schemas.ContactFilters, location="query")
    @blp.response(200, page_of(schemas.ContactOut))
    def get(self, args, account_id):
        """List an account's contacts."""
        session = read_session()
        service.get_account(session, account_id)
        rows, cursor = service.list_contacts(session, {**args, "account_id": str(account_id)})
        return {"items": rows, "next_cursor": cursor}


@blp.route("/accounts/<uuid:account_id>/org-chart")
class AccountOrgChart(MethodView):
    @blp.response(200, schemas.OrgChart)
    def get(self, account_id):
        """The account's org chart: a tree of contacts by `reports_to_id`."""
        return service.org_chart(read_session(), account_id)


@blp.route("/accounts/<uuid:account_id>/view")
class AccountViewItem(MethodView):
    @blp.response(200, schemas.AccountViewOut)
    def get(self, account_id):
        """The account view kept from other services' events: cases, pipeline, activity, health."""
        return view.account_view(read_session(), account_id, _default_currency())


@blp.route("/contacts")
class Contacts(MethodView):
    @blp.arguments(schemas.ContactFilters, location="query")
    @blp.response(200, page_of(schemas.ContactOut))
    def get(self, args):
        """List contacts (filter by field; `q` searches names and e-mail)."""
        rows, cursor = service.list_contacts(read_session(), args)
        return {"items": rows, "next_cursor": cursor}

    @writes("contact")
    @blp.arguments(schemas.ContactIn)
    @blp.response(201, schemas.ContactOut)
    @blp.alt_response(409, schema=ProblemSchema)
    @blp.alt_response(422, schema=ProblemSchema)
    def post(self, data):
        """Create a contact; a second contact with the same e-mail → 409 naming the existing one."""
        with current_db().uow() as uow:
            contact = service.create_contact(uow, current_principal(), data, _directory())
        return created(contact, f"/api/v1/contacts/{contact.id}", contact.version)


@blp.route("/contacts/<uuid:contact_id>")
class ContactItem(MethodView):
    @blp.response(200, schemas.ContactOut)
    @blp.alt_response(404, schema=ProblemSchema)
    def get(self, contact_id):
        """Read a contact (with its ETag)."""
        contact = service.get_contact(read_session(), contact_id)
        return with_version(contact, contact.version)

    @writes("contact")
    @blp.arguments(schemas.ContactIn(partial=True))
    @blp.response(200, schemas.ContactOut)
    @blp.alt_response(412, schema=ProblemSchema)
    def patch(self, changes, contact_id):
        """Change a contact; `If-Match` guards against lost updates."""
        with current_db().uow() as uow:
            contact = service.update_contact(uow, current_principal(), contact_id, changes, if_match(), _directory())
        return with_version(contact, contact.version)

    @writes("contact")
    @blp.response(204)
    def delete(self, contact_id):
        """Delete a contact (soft; its reports move up to its manager)."""
        with current_db().uow() as uow:
            service.delete_contact(uow, current_principal(), contact_id, if_match(), _directory())


BLUEPRINTS = [blp, export.blp, imports_api.blueprint(imports.REGISTRY)]
