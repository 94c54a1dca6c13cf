"""The forecast for a period (a quarter or a month): quota, closed won,
commit, best case, pipeline and attainment per rep and for the team, as a
chart and as figures; quotas set by managers; and each rep's performance over
the period, counted from the deals and activities lists."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from console.api import ApiError
from console.auth import current_user, login_required, user_api
from console.charts import forecast_bars
from console.directory import rest_of
from console.forms import Field, FormState, failed, payload
from console.money import averages, totals
from console.periods import bounds, localized, period_label, period_options, quarter_of
from console.views import directory, local_now, zone

bp = Blueprint("forecast", __name__, url_prefix="/forecast")

QUOTA_FIELDS = [Field("amount", money=True)]
SELLING_ROLES = ("rep", "manager")


def _period(requested: str | None) -> str:
    return requested if bounds(requested) else quarter_of(local_now().date())


def _teams() -> list[str]:
    return _selling_teams(directory().all_users(user_api()))


def _selling_teams(users: list[dict]) -> list[str]:
    return sorted({u["team"] for u in users if u.get("team") and u.get("role") in SELLING_ROLES})


def _scope(requested_team: str | None) -> tuple[str | None, list[dict]]:
    """Whose forecast: a rep (or anyone who sells alone) sees their own; a
    manager their team; an admin the team they pick (a team the remembered
    users do not know yet is looked up once more; one that is not there at
    all shows the first team, as the team list does)."""
    user = current_user()
    everyone = directory().all_users(user_api())
    if user["role"] not in ("manager", "admin"):
        return None, [u for u in everyone if u["id"] == user["id"]] or [user]
    teams = _selling_teams(everyone)
    if user["role"] == "admin" and requested_team and requested_team not in teams:
        directory().forget_users()  # made a moment ago, perhaps: read the users again
        everyone = directory().all_users(user_api())
        teams = _selling_teams(everyone)
        if requested_team not in teams:
            requested_team = None
    if user["role"] == "manager":
        team = user.get("team")
    else:
        team = requested_team or next(iter(teams), None)
    members = [u for u in everyone if u.get("team") == team and u.get("role") in SELLING_ROLES
               and u.get("active", True)]
    return team, sorted(members, key=lambda u: (u["role"] != "rep", (u.get("name") or "").lower()))


def _slices(period: str, team: str | None, people: list[dict]) -> dict:
    start, end = bounds(period)
    wanted = {f"rep:{p['id']}": ("/forecast", {"period": period, "owner_id": p["id"]}) for p in people}
    if team:
        wanted["team"] = ("/forecast", {"period": period, "team": team})
    mine = {} if team else {"owner_id": people[0]["id"]}
    closed = {**mine, "close_date_from": start.isoformat(), "close_date_to": end.isoformat(), "limit": 200}
    if team:
        closed["team"] = team
    wanted["won"] = ("/opportunities", {**closed, "status": "won"})
    wanted["lost"] = ("/opportunities", {**closed, "status": "lost"})
    # Activities have no team filter: a team's are everyone's in the window, kept per member below.
    window = {"from": localized(zone(), start).isoformat(),
              "to": localized(zone(), end + timedelta(days=1)).isoformat()}
    wanted["done"] = ("/activities", {**mine, **window, "status": "done", "limit": 200})
    return wanted


def _all_items(answers: dict, wanted: dict, key: str) -> list[dict] | None:
    """Every item of a list slice (its first page came with the others)."""
    answer = answers[key]
    if isinstance(answer, ApiError):
        return None
    path, query = wanted[key]
    return rest_of(user_api(), path, answer, **{k: v for k, v in query.items() if k != "limit"})


def _performance(people: list[dict], won, lost, done) -> list[dict] | None:
    if won is None or lost is None or done is None:
        return None
    rows = []
    for person in people:
        mine = lambda items: [i for i in items if i.get("owner_id") == person["id"]]  # noqa: E731
        won_deals, lost_deals = mine(won), mine(lost)
        closed = len(won_deals) + len(lost_deals)
        rows.append({"person": person, "activities": len(mine(done)), "won": len(won_deals),
                     "lost": len(lost_deals), "win_rate": len(won_deals) / closed if closed else None,
                     "average": averages(d.get("amount") for d in won_deals),
                     "won_total": totals(d.get("amount") for d in won_deals)})
    return rows


def _context(period: str, team: str | None, quota_form: FormState | None = None) -> dict:
    team, people = _scope(team)
    wanted = _slices(period, team, people) if people else {}
    answers = user_api().get_many(wanted)
    forecasts = {p["id"]: answers.get(f"rep:{p['id']}") for p in people}
    forecasts = {k: (None if isinstance(v, ApiError) else v) for k, v in forecasts.items()}
    team_forecast = answers.get("team")
    team_forecast = None if isinstance(team_forecast, ApiError) else team_forecast
    shown = [(p["name"], forecasts[p["id"]]) for p in people if forecasts[p["id"]]]
    performance = _performance(people, *(_all_items(answers, wanted, k) for k in ("won", "lost", "done"))) \
        if people else []
    return dict(period=period, period_name=period_label(period), team=team, teams=_teams(), people=people,
                people_options=[(p["id"], p["name"]) for p in people], forecasts=forecasts, team_forecast=team_forecast, bars=forecast_bars(shown),
                team_bar=forecast_bars([(team, team_forecast)])[0] if team_forecast else None,
                performance=performance, periods=period_options(local_now().date()),
                quota_form=quota_form or FormState(values={"amount_currency": "EUR"}))


@bp.get("")
@login_required
def index():
    period = _period(request.args.get("period"))
    return render_template("forecast/index.html", **_context(period, request.args.get("team")))


@bp.post("/quotas")
@login_required
def set_quota():
    """PUT the quota of one person for the period shown; back to the forecast."""
    period = _period(request.form.get("period"))
    team = request.form.get("team") or None
    user_id = request.form.get("user_id", "")
    body = payload(request.form, QUOTA_FIELDS)
    try:
        if not user_id:
            raise ApiError(422, {"errors": {"user_id": [_("Choose whose quota this is.")]}})
        user_api().put(f"/quotas/{user_id}/{period}", body)
    except ApiError as exc:
        if exc.status not in (400, 403, 404, 409, 412, 422):
            raise
        form = failed(request.form, exc, QUOTA_FIELDS + [Field("user_id")])
        return render_template("forecast/index.html", **_context(period, team, form), quota_open=True), exc.status
    name = directory().user_name(user_api(), user_id)
    flash(_("The quota of %(name)s for %(period)s is saved.", name=name, period=period_label(period)), "ok")
    return redirect(url_for("forecast.index", period=period, team=team or None), code=303)
