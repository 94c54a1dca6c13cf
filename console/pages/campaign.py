"""One campaign: who it targets, its members and their statuses, building
the members and launching it, and its return on investment with the won
deals it counts."""
from __future__ import annotations

from collections import Counter

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from console.api import ApiError
from console.auth import login_required, user_api
from console.directory import rest_of
from console.labels import MEMBER_STATUSES
from console.pages.campaigns import WRITE_ERRORS, bp
from console.views import account_names, directory

MEMBERS_SHOWN = 50


def _member_names(members: list[dict], contacts) -> dict[str, str]:
    if isinstance(contacts, ApiError):
        return {}
    everyone = rest_of(user_api(), "/contacts", contacts)
    wanted = {m["contact_id"] for m in members}
    return {c["id"]: c.get("name") or c.get("email") or "—" for c in everyone if c["id"] in wanted}


def _context(campaign_id) -> dict:
    answers = user_api().get_many({
        "campaign": (f"/campaigns/{campaign_id}", {}),
        "members": (f"/campaigns/{campaign_id}/members", {"limit": 200}),
        "roi": (f"/campaigns/{campaign_id}/roi", {}),
        "contacts": ("/contacts", {"limit": 200}),
    })
    campaign = answers["campaign"]
    if isinstance(campaign, ApiError):
        raise campaign
    members = answers["members"]
    members = None if isinstance(members, ApiError) else \
        rest_of(user_api(), f"/campaigns/{campaign_id}/members", members)
    roi = None if isinstance(answers["roi"], ApiError) else answers["roi"]
    shown = (members or [])[:MEMBERS_SHOWN]
    counts = Counter(m["status"] for m in members or [])
    return dict(c=campaign, members=members, shown=shown, roi=roi,
                counts=[(code, text, counts.get(code, 0)) for code, text in MEMBER_STATUSES.items()],
                names=account_names(shown + (roi or {}).get("deals", [])),
                people=_member_names(shown, answers["contacts"]),
                owner=directory().user_name(user_api(), campaign.get("owner_id")))


@bp.get("/<uuid:campaign_id>")
@login_required
def show(campaign_id):
    return render_template("campaigns/show.html", **_context(campaign_id))


def _problem(exc: ApiError) -> str:
    if exc.status == 403:
        return _("You are not allowed to change this campaign.")
    if exc.status == 412:
        return _("Someone else changed this campaign a moment ago; it is shown as it is now. Try again.")
    return exc.detail or _("The campaign was not changed.")


@bp.post("/<uuid:campaign_id>/build")
@login_required
def build(campaign_id):
    try:
        built = user_api().post(f"/campaigns/{campaign_id}/members/build").data
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        flash(_problem(exc), "problem")
    else:
        flash(_("%(total)s members: %(added)s added, %(removed)s removed.", total=built["total"],
                added=built["added"], removed=built["removed"]), "ok")
    return redirect(url_for("campaigns.show", campaign_id=campaign_id), code=303)


@bp.post("/<uuid:campaign_id>/launch")
@login_required
def launch(campaign_id):
    try:
        user_api().call("POST", f"/campaigns/{campaign_id}/launch", body={},
                        headers={"If-Match": f'"{request.form.get("version")}"'} if request.form.get("version") else {})
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        flash(_problem(exc), "problem")
    else:
        flash(_("The campaign is launched."), "ok")
    return redirect(url_for("campaigns.show", campaign_id=campaign_id), code=303)
