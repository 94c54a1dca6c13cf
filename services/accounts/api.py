"""Accounts' HTTP API: parse → use case → serialise."""
from __future__ import annotations

from flask.views import MethodView
from shared.web import Blueprint

from shared import history
from shared.auth import current_principal
from shared.guard import writes
from shared.http import ListArgs, if_match
from shared.schemas import HistoryEntry, ProblemSchema, page_of
from shared.web import deps, current_settings, created, current_db, read_session, with_version
from shared import imports_api

from services.accounts import duplicates_api, export, imports, merge, schemas, service, value, view
from services.accounts.models import Account, Contact

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Accounts (companies) and contacts")

MOVED = "Merged into another record: `Location` is the same path with the survivor's id."


def _directory():
    return deps().directory


def _default_currency() -> str:
    return current_settings().base_currency


@blp.route("/accounts")
class Accounts(MethodView):
    @blp.arguments(schemas.AccountFilters, location="query")
    @blp.response(200, page_of(schemas.AccountListItem))
    def get(self, args):
        """List accounts (keyset pagination; filter by field, `q` searches name, tax id and city;
        `sort=-lifetime_value` lists the most valuable customers first)."""
        if args.get("sort") in value.SORTS:
            return value_page(args)
        rows, cursor = service.list_accounts(read_session(), args)
        return {"items": [service.account_dict(a) for a in rows], "next_cursor": cursor}

    @writes("account")
    @blp.arguments(schemas.AccountIn)
    @blp.response(201, schemas.AccountOut)
    @blp.alt_response(422, schema=ProblemSchema)
    def post(self, data):
        """Create an account."""
        with current_db().transaction() as uow:
            account = service.create_account(uow, current_principal(), data, _directory())
        return created(service.account_dict(account), f"/api/v1/accounts/{account.id}", account.version)


def value_page(args: dict) -> dict:
    rows, cursor = value.page_by_value(read_session(), service.account_query(args), args)
    return {"items": [{**service.account_dict(a), **{"lifetime_value": value.view_fields(v)["lifetime_value"]}}
                      for a, v in rows], "next_cursor": cursor}


@blp.route("/accounts/<uuid:account_id>")
class AccountItem(MethodView):
    @blp.response(200, schemas.AccountOut)
    @blp.alt_response(404, schema=ProblemSchema)
    @blp.alt_response(308, schema=ProblemSchema, description=MOVED)
    def get(self, account_id):
        """Read an account (with its ETag)."""
        account = service.get_account(read_session(), account_id)
        return with_version(service.account_dict(account), account.version)

    @writes("account")
    @blp.arguments(schemas.AccountIn(partial=True))
    @blp.response(200, schemas.AccountOut)
    @blp.alt_response(409, schema=ProblemSchema)
    @blp.alt_response(412, schema=ProblemSchema)
    def patch(self, changes, account_id):
        """Change an account; send `If-Match` with its ETag to avoid overwriting someone else's change."""
        with current_db().transaction() as uow:
            account = service.update_account(uow, current_principal(), account_id, changes, if_match(), _directory())
        return with_version(service.account_dict(account), account.version)

    @writes("account")
    @blp.response(204)
    @blp.alt_response(409, schema=ProblemSchema)
    def delete(self, account_id):
        """Delete an account (soft: it leaves lists, and `accounts.account.deleted` is published)."""
        with current_db().transaction() as uow:
            service.delete_account(uow, current_principal(), account_id, if_match(), _directory())


@blp.route("/accounts/<uuid:account_id>/history")
class AccountHistory(MethodView):
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, page_of(HistoryEntry))
    @blp.alt_response(404, schema=ProblemSchema)
    def get(self, args, account_id):
        """The account's field history, newest first: who changed which fields, from what to what."""
        return history.of_record(read_session(), Account, "account", account_id, args)


@blp.route("/accounts/<uuid:account_id>/merge")
class AccountMerge(MethodView):
    @writes("account")
    @blp.arguments(schemas.MergeIn)
    @blp.response(200, schemas.AccountOut)
    @blp.alt_response(404, schema=ProblemSchema)
    @blp.alt_response(409, schema=ProblemSchema)
    @blp.alt_response(412, schema=ProblemSchema)
    @blp.alt_response(422, schema=ProblemSchema)
    def post(self, data, account_id):
        """Merge duplicates into this account: the others stay, marked merged into it (a GET of one answers 308
        here); their contacts, deals, activities, cases, campaign members and timeline follow it. It keeps its own
        values except the fields `fields` takes from a merged account."""
        with current_db().transaction() as uow:
            account = merge.merge_accounts(uow, current_principal(), account_id, data, if_match(), _directory())
        return with_version(service.account_dict(account), account.version)


@blp.route("/accounts/<uuid:account_id>/contacts")
class AccountContacts(MethodView):
    @blp.arguments(schemas.ContactFilters, location="query")
    @blp.response(200, page_of(schemas.ContactOut))
    @blp.alt_response(308, schema=ProblemSchema, description=MOVED)
    def get(self, args, account_id):
        """List an account's contacts."""
        session = read_session()
        service.get_account(session, account_id)
        rows, cursor = service.list_contacts(session, {**args, "account_id": str(account_id)})
        return {"items": rows, "next_cursor": cursor}


@blp.route("/accounts/<uuid:account_id>/org-chart")
class AccountOrgChart(MethodView):
    @blp.response(200, schemas.OrgChart)
    @blp.alt_response(308, schema=ProblemSchema, description=MOVED)
    def get(self, account_id):
        """The account's org chart: a tree of contacts by `reports_to_id`."""
        return service.org_chart(read_session(), account_id)


@blp.route("/accounts/<uuid:account_id>/view")
class AccountViewItem(MethodView):
    @blp.response(200, schemas.AccountViewOut)
    @blp.alt_response(308, schema=ProblemSchema, description=MOVED)
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
        with current_db().transaction() as uow:
            contact = service.create_contact(uow, current_principal(), data, _directory())
        return created(contact, f"/api/v1/contacts/{contact.id}", contact.version)


@blp.route("/contacts/<uuid:contact_id>")
class ContactItem(MethodView):
    @blp.response(200, schemas.ContactOut)
    @blp.alt_response(404, schema=ProblemSchema)
    @blp.alt_response(308, schema=ProblemSchema, description=MOVED)
    def get(self, contact_id):
        """Read a contact (with its ETag)."""
        contact = service.get_contact(read_session(), contact_id)
        return with_version(contact, contact.version)

    @writes("contact")
    @blp.arguments(schemas.ContactIn(partial=True))
    @blp.response(200, schemas.ContactOut)
    @blp.alt_response(409, schema=ProblemSchema)
    @blp.alt_response(412, schema=ProblemSchema)
    def patch(self, changes, contact_id):
        """Change a contact; `If-Match` guards against lost updates."""
        with current_db().transaction() as uow:
            contact = service.update_contact(uow, current_principal(), contact_id, changes, if_match(), _directory())
        return with_version(contact, contact.version)

    @writes("contact")
    @blp.response(204)
    @blp.alt_response(409, schema=ProblemSchema)
    def delete(self, contact_id):
        """Delete a contact (soft; its reports move up to its manager)."""
        with current_db().transaction() as uow:
            service.delete_contact(uow, current_principal(), contact_id, if_match(), _directory())


@blp.route("/contacts/<uuid:contact_id>/history")
class ContactHistory(MethodView):
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, page_of(HistoryEntry))
    @blp.alt_response(404, schema=ProblemSchema)
    def get(self, args, contact_id):
        """The contact's field history, newest first: who changed which fields, from what to what."""
        return history.of_record(read_session(), Contact, "contact", contact_id, args)


@blp.route("/contacts/<uuid:contact_id>/merge")
class ContactMerge(MethodView):
    @writes("contact")
    @blp.arguments(schemas.MergeIn)
    @blp.response(200, schemas.ContactOut)
    @blp.alt_response(404, schema=ProblemSchema)
    @blp.alt_response(409, schema=ProblemSchema)
    @blp.alt_response(412, schema=ProblemSchema)
    @blp.alt_response(422, schema=ProblemSchema)
    def post(self, data, contact_id):
        """Merge duplicates into this contact: the others stay, marked merged into it (a GET of one answers 308
        here); deals, activities, cases, campaign memberships and reports follow it. It keeps its own values
        except the fields `fields` takes from a merged contact."""
        with current_db().transaction() as uow:
            contact = merge.merge_contacts(uow, current_principal(), contact_id, data, if_match(), _directory())
        return with_version(contact, contact.version)


BLUEPRINTS = [blp, duplicates_api.blp, export.blp, imports_api.blueprint(imports.REGISTRY)]
