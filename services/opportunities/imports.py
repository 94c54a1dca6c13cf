"""Opportunities' imports (CONTRACTS §9): deals, matched on `id` (a deal has
no natural key: names repeat). A new deal starts open, its account (and
primary contact) must be in this service's replica of accounts' records —
the job has no token to ask accounts, so a record created a moment ago may
not be known yet: import it again a little later. Line items are not part
of a CSV row; the amount is the deal's."""
from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select

from shared import history
from shared.db import new_id, utcnow
from shared.import_bulk import BulkKind, Errors
from shared.import_csv import Spec
from shared.imports import Job, Row
from shared.imports_api import Registry

from services.opportunities import rules, schemas, service, totals
from services.opportunities.export import COLUMNS
from services.opportunities.models import IMPORT_TABLES, AccountReplica, ContactReplica, Opportunity

WRITABLE = ("name", "account_id", "primary_contact_id", "amount", "close_date", "stage", "probability",
            "forecast_category", "owner_id", "description", "campaign_id")


def _clean(data: dict) -> dict:
    return {k: (str(v) if k.endswith("_id") and v is not None else v) for k, v in data.items()}


class OpportunityKind(BulkKind):
    name, record, model = "opportunities", "opportunity", Opportunity
    match_fields = ("id",)
    spec = Spec(COLUMNS, WRITABLE)
    _in = schemas.OpportunityIn()

    def validate(self, data: dict) -> dict:
        return _clean(self._in.load(data, partial=True))

    def create_errors(self, data: dict) -> Errors:
        errors = {f: ["Missing data for required field."] for f in ("name", "account_id", "amount") if not data.get(f)}
        if data.get("stage") and not rules.is_open(data["stage"]):
            errors["stage"] = ["A deal starts open: " + ", ".join(rules.OPEN_STAGES) + "."]
        if data.get("forecast_category") and data["forecast_category"] not in rules.OPEN_FORECAST_CATEGORIES:
            errors["forecast_category"] = ["'closed' is for won deals only."]
        return errors

    def check(self, session, job: Job, creates: list[Row], updates: list) -> dict[int, Errors]:
        rows = [(r, None) for r in creates] + list(updates)
        accounts = _replicas(session, AccountReplica, {r.data.get("account_id") for r, _ in rows})
        contacts = _replicas(session, ContactReplica, {r.data.get("primary_contact_id") for r, _ in rows})
        errors: dict[int, Errors] = {}
        for row, opp in rows:
            found: Errors = {}
            account_id = row.data.get("account_id") or (opp.account_id if opp else None)
            if row.data.get("account_id") and row.data["account_id"] not in accounts:
                found["account_id"] = ["No account with this id (or not known here yet)."]
            contact = row.data.get("primary_contact_id")
            if contact and contact not in contacts:
                found["primary_contact_id"] = ["No contact with this id (or not known here yet)."]
            elif contact and contacts[contact].account_id not in (None, account_id):
                found["primary_contact_id"] = ["This contact belongs to another account."]
            if found:
                errors[row.number] = found
        return errors

    def values(self, data: dict, job: Job, now) -> dict:
        stage = data.get("stage") or "prospecting"
        probability, category = rules.stage_defaults(stage, data.get("probability"), data.get("forecast_category"))
        return dict(
            id=new_id(), name=data["name"], account_id=data["account_id"], primary_contact_id=data.get("primary_contact_id"),
            amount=data["amount"]["amount"], currency=data["amount"]["currency"],
            close_date=data.get("close_date") or rules.end_of_quarter(now.date()), stage=stage, probability=probability,
            forecast_category=category, owner_id=data.get("owner_id") or job.importer.id,
            description=data.get("description"), campaign_id=data.get("campaign_id"), closed_at=None,
            close_reason=None, version=1, created_at=now, updated_at=now, deleted_at=None)

    def created(self, uow, job: Job, rows: list[dict]) -> None:
        deals = [SimpleNamespace(**r) for r in rows]
        totals.track(uow.session, *[(None, totals.contribution(d)) for d in deals])
        history.created_many(uow, "opportunities.opportunity.created", [(d.id, service._out.dump(
            {**d.__dict__, "amount": {"amount": d.amount, "currency": d.currency}, "line_items": []})) for d in deals],
            actor_id=job.importer.id, correlation_id=job.id)

    def update(self, uow, job: Job, opp: Opportunity, data: dict) -> None:
        changes = dict(data)
        service._refuse_frozen(opp, changes)
        before, counted, from_stage = service.opportunity_data(opp), totals.contribution(opp), opp.stage
        if changes.get("account_id", opp.account_id) != opp.account_id and "primary_contact_id" not in changes:
            changes["primary_contact_id"] = None  # a contact does not follow the deal to another company
        if opp.is_open:
            service._apply_stage(opp, changes)
            service._apply_amount(opp, changes)
        for key in ("name", "account_id", "primary_contact_id", "close_date", "owner_id", "description", "campaign_id"):
            if key in changes:
                setattr(opp, key, changes[key])
        if service._same(before, service.opportunity_data(opp)):
            return
        opp.updated_at = utcnow()
        uow.session.flush()
        totals.track(uow.session, (counted, totals.contribution(opp)))
        after = service.opportunity_data(opp)
        if opp.stage != from_stage:
            history.updated(uow, "opportunities.opportunity.stage_changed", opp.id, {**after, "from_stage": from_stage},
                            before=before, after=after, actor_id=job.importer.id)
        else:
            history.updated(uow, "opportunities.opportunity.updated", opp.id, after, before=before,
                            actor_id=job.importer.id)

    def undo(self, uow, ids: list[str]) -> int:
        """Won deals are final (billing has them): they stay."""
        session = uow.session
        deals = list(session.scalars(select(Opportunity).where(
            Opportunity.id.in_(ids), Opportunity.deleted_at.is_(None), Opportunity.stage != "closed_won")))
        counted = [totals.contribution(d) for d in deals]
        for deal in deals:
            deal.deleted_at = utcnow()
        session.flush()
        totals.track(session, *[(c, None) for c in counted])
        uow.publish_many("opportunities.opportunity.deleted", [(d.id, {
            "id": d.id, "opportunity_id": d.id, "account_id": d.account_id, "name": d.name}) for d in deals])
        return len(deals)


def _replicas(session, model, ids) -> dict:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {r.id: r for r in session.scalars(select(model).where(model.id.in_(ids), model.deleted.is_(False)))}


REGISTRY = Registry(IMPORT_TABLES, {"opportunities": OpportunityKind()})
