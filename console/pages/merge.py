"""Merging a duplicate into the contact or account on screen (CONTRACTS §9,
"Merge"): choose the duplicate, pick the winning value of each field side by
side, confirm. The API does the merge; this page only asks."""
from __future__ import annotations

from dataclasses import dataclass

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from console.api import ApiError
from console.auth import login_required, user_api
from console.forms import FormState
from console.i18n import money
from console.labels import CONTACT_ROLES, LIFECYCLE, SEGMENTS, label
from console.pages import accounts, contacts
from console.views import account_names, directory

CANDIDATES = 20
WRITE_ERRORS = (400, 403, 404, 409, 412, 422)


@dataclass(frozen=True)
class Kind:
    name: str  # contact | account
    path: str  # its API collection
    show: str  # the endpoint of its page
    id_arg: str
    fields: tuple[tuple[str, object], ...]  # the mergeable fields, with their labels


CONTACT = Kind("contact", "/contacts", "contacts.show", "contact_id", (
    ("first_name", _l("First name")), ("last_name", _l("Last name")), ("nickname", _l("Nickname")),
    ("email", _l("E-mail")), ("phone", _l("Phone")), ("title", _l("Job title")), ("account_id", _l("Account")),
    ("role", _l("Role in buying")), ("reports_to_id", _l("Reports to")), ("lifecycle_stage", _l("Lifecycle stage")),
    ("owner_id", _l("Owner")), ("interests", _l("Interests")), ("notes", _l("Notes"))))
ACCOUNT = Kind("account", "/accounts", "accounts.show", "account_id", (
    ("name", _l("Name")), ("industry", _l("Industry")), ("segment", _l("Segment")), ("country", _l("Country")),
    ("region", _l("Region")), ("city", _l("City")), ("website", _l("Website")), ("tax_id", _l("Tax id")),
    ("billing_address", _l("Billing address")), ("annual_revenue", _l("Annual revenue")),
    ("employees", _l("Employees")), ("owner_id", _l("Owner")), ("parent_account_id", _l("Parent account")),
    ("tags", _l("Tags")), ("notes", _l("Notes"))))


def title_of(record: dict) -> str:
    return record.get("name") or record.get("email") or record["id"]


def _shown(field: str, value, names: dict[str, str]) -> str:
    """A value as a person reads it."""
    if value in (None, "", [], {}):
        return "—"
    if field.endswith("_id"):
        return names.get(value) or value
    if field == "annual_revenue":
        return money(value)
    if field == "segment":
        return str(label(SEGMENTS, value))
    if field == "role":
        return str(label(CONTACT_ROLES, value))
    if field == "lifecycle_stage":
        return str(label(LIFECYCLE, value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(str(v) for v in value.values() if v)
    return str(value)


def _names(records: list[dict]) -> dict[str, str]:
    """Names for the ids the two records hold (accounts, users, the people they report to)."""
    api = user_api()
    names = dict(account_names(records, "account_id"))
    names.update(account_names(records, "parent_account_id"))
    for record in records:
        if record.get("owner_id"):
            names[record["owner_id"]] = directory().user_name(api, record["owner_id"])
        boss = record.get("reports_to_id")
        if boss and boss not in names:
            try:
                names[boss] = title_of(api.get(f"/contacts/{boss}"))
            except ApiError:
                names[boss] = boss
    return names


def rows(kind: Kind, this: dict, other: dict) -> list[dict]:
    """The fields whose values differ: the only ones there is anything to choose."""
    names = _names([this, other])
    return [{"field": field, "label": text, "this": _shown(field, this.get(field), names),
             "other": _shown(field, other.get(field), names)}
            for field, text in kind.fields if this.get(field) != other.get(field)]


def _default_query(kind: Kind, record: dict) -> str:
    if kind is CONTACT:
        return record.get("last_name") or record.get("first_name") or record.get("email") or ""
    words = [w for w in (record.get("name") or "").split() if len(w) >= 3]
    return words[0] if words else ""


def _candidates(kind: Kind, record: dict, query: str) -> list[dict]:
    if not query:
        return []
    found = user_api().get(kind.path, q=query[:100], limit=CANDIDATES)["items"]
    return [c for c in found if c["id"] != record["id"]]


def _page(kind: Kind, record_id, form: FormState | None = None, status: int = 200):
    record = user_api().get(f"{kind.path}/{record_id}")
    other_id = (form.values.get("other") if form else None) or request.args.get("other", "").strip()
    context = dict(kind=kind.name, record=record, title=title_of(record), form=form or FormState(),
                   back=url_for(kind.show, **{kind.id_arg: record["id"]}))
    if other_id:
        other = user_api().get(f"{kind.path}/{other_id}")
        context.update(other=other, other_title=title_of(other), rows=rows(kind, record, other))
    else:
        query = request.args.get("q", _default_query(kind, record)).strip()
        context.update(other=None, query=query, candidates=_candidates(kind, record, query))
    return render_template("merge.html", **context), status


def _submit(kind: Kind, record_id):
    other = request.form.get("other", "")
    if not request.form.get("confirm"):
        form = FormState(values=dict(request.form.items()),
                         errors={"confirm": [_("Tick the box to confirm the merge.")]},
                         message=_("Please correct the fields marked below."))
        return _page(kind, record_id, form, 422)
    picks = {field: other for field, _text in kind.fields if request.form.get(f"pick-{field}") == "other"}
    version = request.form.get("version")
    headers = {"If-Match": f'"{version}"'} if version else {}
    try:
        user_api().call("POST", f"{kind.path}/{record_id}/merge", body={"merge_ids": [other], "fields": picks},
                        headers=headers)
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        detail = " ".join(m for ms in exc.errors.values() for m in ms) or exc.detail
        form = FormState(values=dict(request.form.items()), message=detail or _("The merge was not made."),
                         conflict=exc.status in (409, 412))
        return _page(kind, record_id, form, exc.status)
    return redirect(url_for(kind.show, **{kind.id_arg: record_id}, merged=1), code=303)


@contacts.bp.route("/<uuid:contact_id>/merge", methods=["GET", "POST"])
@login_required
def merge_contact(contact_id):
    return _submit(CONTACT, contact_id) if request.method == "POST" else _page(CONTACT, contact_id)


@accounts.bp.route("/<uuid:account_id>/merge", methods=["GET", "POST"])
@login_required
def merge_account(account_id):
    return _submit(ACCOUNT, account_id) if request.method == "POST" else _page(ACCOUNT, account_id)
