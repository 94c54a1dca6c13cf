"""The pipeline board: one column per open stage with its totals; a card
moves by drag-and-drop or with its own buttons (PATCH of the stage, with the
version the user saw), and closes as won or lost with a reason."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from console.api import ApiError
from console.auth import login_required, user_api
from console.directory import all_pages
from console.labels import OPEN_STAGES, STAGES
from console.views import account_names, directory, is_htmx, owner_names

bp = Blueprint("pipeline", __name__, url_prefix="/pipeline")

CLOSE_ERRORS = (400, 403, 404, 409, 412, 422)


def _filters(source) -> dict:
    return {"owner_id": source.get("owner_id", "").strip(), "team": source.get("team", "").strip()}


def _cards(filters: dict) -> dict[str, list[dict]]:
    api = user_api()
    deals = all_pages(api, "/opportunities", status="open", owner_id=filters["owner_id"] or None)
    if filters["team"]:  # the list has no team filter: keep the team's own
        team = directory().team_of(api, filters["team"])
        deals = [d for d in deals if d.get("owner_id") in team]
    columns: dict[str, list[dict]] = {stage: [] for stage in OPEN_STAGES}
    for deal in sorted(deals, key=lambda d: d.get("close_date") or ""):
        columns.setdefault(deal["stage"], []).append(deal)
    return columns


def _sums(deals: list[dict]) -> dict:
    """Amount and weighted amount (amount × probability / 100) per currency,
    of the cards shown: amounts in different currencies are never added."""
    amount: dict[str, Decimal] = {}
    weighted: dict[str, Decimal] = {}
    for deal in deals:
        money = deal.get("amount") or {}
        if not money.get("amount"):
            continue
        value, currency = Decimal(money["amount"]), money["currency"]
        amount[currency] = amount.get(currency, Decimal(0)) + value
        weighted[currency] = weighted.get(currency, Decimal(0)) + value * (deal.get("probability") or 0) / 100
    as_money = lambda sums: [{"amount": str(v.quantize(Decimal("0.01"))), "currency": c}  # noqa: E731
                             for c, v in sorted(sums.items())]
    return {"count": len(deals), "amount": as_money(amount), "weighted": as_money(weighted)}


def _board_context(filters: dict, message: str | None = None, problem: bool = False) -> dict:
    columns = _cards(filters)
    deals = [d for cards in columns.values() for d in cards]
    api = user_api()
    return dict(columns=columns, stages=list(columns), filters=filters, message=message, problem=problem,
                totals=_sums(deals), by_stage={stage: _sums(cards) for stage, cards in columns.items()},
                names=account_names(deals), owners=owner_names(deals),
                owner_options=[(u["id"], u["name"]) for u in directory().all_users(api)
                               if u.get("role") in ("rep", "manager") and u.get("active", True)],
                teams=directory().teams(api))


@bp.get("")
@login_required
def board():
    context = _board_context(_filters(request.args))
    if is_htmx():
        return render_template("pipeline/_board.html", **context)
    return render_template("pipeline/board.html", **context)


def _after_change(message: str, problem: bool = False, status: int = 200):
    """htmx: the board again, with what happened; without JS: back to the board."""
    filters = _filters(request.form)
    if is_htmx():
        return render_template("pipeline/_board.html", **_board_context(filters, message, problem)), status
    flash(message, "problem" if problem else "ok")
    return redirect(url_for("pipeline.board", **{k: v for k, v in filters.items() if v}), code=303)


def _problem_text(exc: ApiError) -> str:
    if exc.status == 412:
        return _("Someone else changed this deal a moment ago. The board now shows it as it is; try again.")
    if exc.status == 403:
        return _("You are not allowed to change this deal.")
    return exc.detail or _("The deal was not changed.")


@bp.post("/<uuid:deal_id>/stage")
@login_required
def move(deal_id):
    stage = request.form.get("stage", "")
    try:
        user_api().patch(f"/opportunities/{deal_id}", {"stage": stage}, version=request.form.get("version"))
    except ApiError as exc:
        if exc.status not in CLOSE_ERRORS:
            raise
        return _after_change(_problem_text(exc), problem=True, status=200)
    name = request.form.get("name", "")
    return _after_change(_("%(deal)s moved to %(stage)s.", deal=name, stage=STAGES.get(stage, stage)))


@bp.post("/<uuid:deal_id>/<any(win, lose):outcome>")
@login_required
def close(deal_id, outcome):
    reason = request.form.get("reason", "").strip() or None
    try:
        user_api().post(f"/opportunities/{deal_id}/{outcome}", {"reason": reason})
    except ApiError as exc:
        if exc.status not in CLOSE_ERRORS:
            raise
        return _after_change(_problem_text(exc), problem=True)
    name = request.form.get("name", "")
    return _after_change(_("%(deal)s was won.", deal=name) if outcome == "win" else
                         _("%(deal)s was lost.", deal=name))
