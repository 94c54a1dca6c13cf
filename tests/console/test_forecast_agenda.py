"""The forecast (per rep and team, chart, quotas, performance) and the
agenda (week, plan, log, complete, reschedule, calendar link)."""
from __future__ import annotations

from tests.console.fake_api import ACTIVITY, ACTIVITY_ID, DEAL, MANAGER_ID, USER_ID, USERS, money


def test_a_manager_sees_each_rep_and_the_team_with_a_chart_and_the_quota_form(sign_in, fake):
    html = sign_in("manager", sub=MANAGER_ID).get("/forecast?period=2026-Q4").get_data(as_text=True)
    asked = [c["query"] for c in fake.called("GET", "/api/v1/forecast")]
    assert {"period": ["2026-Q4"], "team": ["Iberia"]} in asked
    assert {"period": ["2026-Q4"], "owner_id": [USER_ID]} in asked
    assert "T4 2026" in html and "125.000,00\xa0€" in html and "43\xa0%" in html
    assert '<svg class="meter"' in html and 'role="img"' in html
    assert 'action="/forecast/quotas"' in html


def test_an_admin_picks_a_team_made_a_moment_ago_and_sees_that_team(sign_in, fake):
    admin = sign_in("admin", team=None)
    admin.get("/forecast?period=2026-Q4")  # the users are remembered now: Iberia only
    newcomer = {"id": "12121212-1212-4121-8121-121212121212", "name": "Nuria Sola", "email": "nuria@cadena.local",
                "role": "rep", "team": "Norte", "active": True, "manager_id": None, "version": 1}
    fake.routes[("GET", "/api/v1/users")] = lambda q, b: (200, {"items": [*USERS, newcomer], "next_cursor": None})
    html = admin.get("/forecast?period=2026-Q4&team=Norte").get_data(as_text=True)
    assert '<option value="Norte" selected>' in html and "Nuria Sola" in html
    asked = [c["query"] for c in fake.called("GET", "/api/v1/forecast")]
    assert {"period": ["2026-Q4"], "team": ["Norte"]} in asked
    unknown = admin.get("/forecast?period=2026-Q4&team=Nowhere").get_data(as_text=True)
    assert '<option value="Iberia" selected>' in unknown
    assert all(c["query"].get("team") != ["Nowhere"] for c in fake.called("GET", "/api/v1/forecast"))


def test_a_rep_sees_only_their_own_forecast_and_cannot_set_quotas(signed_in, fake):
    html = signed_in.get("/forecast").get_data(as_text=True)
    assert all("team" not in c["query"] for c in fake.called("GET", "/api/v1/forecast"))
    assert "Tu previsión" in html and "/forecast/quotas" not in html


def test_performance_counts_won_lost_win_rate_and_average_deal_size(sign_in, fake):
    won = [{**DEAL, "amount": money("1000.00")}, {**DEAL, "amount": money("3000.00")}]
    fake.routes[("GET", "/api/v1/opportunities")] = lambda q, b: (
        200, {"items": won if q.get("status") == ["won"] else [DEAL], "next_cursor": None})
    html = sign_in("manager", sub=MANAGER_ID).get("/forecast?lang=en").get_data(as_text=True)
    assert "67%" in html and "€2,000.00" in html and "€4,000.00" in html
    assert fake.called("GET", "/api/v1/opportunities")[0]["query"]["team"] == ["Iberia"]


def test_a_quota_is_put_for_the_period_shown(sign_in, fake):
    fake.on("PUT", f"/api/v1/quotas/{USER_ID}/2026-11", 201, {"user_id": USER_ID})
    reply = sign_in("manager", sub=MANAGER_ID).post("/forecast/quotas", data={
        "period": "2026-11", "user_id": USER_ID, "amount_amount": "40000,50", "amount_currency": "eur"})
    assert reply.status_code == 303 and "period=2026-11" in reply.headers["Location"]
    assert fake.called("PUT", ".*/quotas/.*")[0]["body"] == {"amount": {"amount": "40000.50", "currency": "EUR"}}


def test_a_refused_quota_is_shown_beside_the_field_with_what_was_typed(sign_in, fake):
    fake.on("PUT", f"/api/v1/quotas/{USER_ID}/2026-Q4", 422, {"status": 422, "errors": {
        "amount.amount": ["Must not be negative."]}})
    reply = sign_in("manager", sub=MANAGER_ID).post("/forecast/quotas", data={
        "period": "2026-Q4", "user_id": USER_ID, "amount_amount": "-5", "amount_currency": "EUR"})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422 and 'id="e-amount"' in html and 'value="-5"' in html and " open" in html


def test_the_week_shows_activities_on_their_day_with_reminders_and_the_feed(signed_in, fake):
    html = signed_in.get("/agenda?week=2026-11-25").get_data(as_text=True)
    query = fake.called("GET", "/api/v1/agenda")[0]["query"]
    assert query["owner_id"] == [USER_ID] and query["from"][0].startswith("2026-11-23T00:00:00+01:00")
    assert "Demo del ERP" in html and "Aviso" in html and "calendar.ics?token=t-1" in html
    assert "Agenda de" not in html  # a rep has no one else's agenda to pick


def test_a_manager_may_pick_a_rep_of_the_team(sign_in, fake):
    html = sign_in("manager", sub=MANAGER_ID).get(f"/agenda?owner_id={USER_ID}").get_data(as_text=True)
    assert fake.called("GET", "/api/v1/agenda")[0]["query"]["owner_id"] == [USER_ID]
    assert 'id="flt-owner"' in html and "calendar-token" not in html.split("</nav>", 1)[1]


def test_planning_sends_local_times_as_aware_times_and_a_task_as_due(signed_in, fake):
    fake.on("POST", "/api/v1/activities", 201, {**ACTIVITY, "subject": "Enviar oferta"})
    reply = signed_in.post("/agenda/new", data={"type": "task", "subject": "Enviar oferta",
                                                "starts_at": "2026-12-01T10:30", "idempotency_key": "k"})
    body = fake.called("POST", "/api/v1/activities")[0]["body"]
    assert reply.status_code == 303
    assert body["due_at"] == "2026-12-01T10:30:00+01:00" and "starts_at" not in body


def test_a_refused_plan_shows_the_time_error_beside_when(signed_in, fake):
    fake.on("POST", "/api/v1/activities", 422, {"status": 422, "errors": {"due_at": ["Tasks need a due_at."]}})
    html = signed_in.post("/agenda/new", data={"type": "task", "subject": "Oferta"}).get_data(as_text=True)
    assert 'id="e-starts_at"' in html and "Tasks need a due_at." in html and 'value="Oferta"' in html


def test_logging_a_call_from_the_agenda_is_one_form_and_one_request(signed_in, fake):
    fake.on("POST", "/api/v1/activities", 201, {**ACTIVITY, "id": "a-2", "status": "done"})
    reply = signed_in.post("/agenda/log", data={"subject": "Precio", "notes": "Quieren descuento",
                                                "agreements": "Oferta el lunes"})
    assert reply.status_code == 303
    created = fake.called("POST", "/api/v1/activities")[0]["body"]
    assert (created["type"], created["status"], created["agreements"]) == ("call", "done", ["Oferta el lunes"])
    assert not fake.called("POST", ".*/complete")


def test_completing_sends_outcome_minutes_and_agreements(signed_in, fake):
    fake.on("POST", f"/api/v1/activities/{ACTIVITY_ID}/complete", 200, {**ACTIVITY, "status": "done"})
    reply = signed_in.post(f"/agenda/{ACTIVITY_ID}/complete", data={
        "outcome": "Interesados", "notes": "Acta", "agreements": "Demo\nOferta"})
    assert reply.status_code == 303
    assert fake.called("POST", ".*/complete")[0]["body"] == {"outcome": "Interesados", "notes": "Acta",
                                                             "agreements": ["Demo", "Oferta"]}


def test_rescheduling_patches_the_time_with_the_version_seen(signed_in, fake):
    fake.on("PATCH", f"/api/v1/activities/{ACTIVITY_ID}", 200, ACTIVITY)
    signed_in.post(f"/agenda/{ACTIVITY_ID}/reschedule", data={"starts_at": "2026-11-27T12:00", "version": "1"})
    call = fake.called("PATCH", ".*")[0]
    assert call["body"]["starts_at"] == "2026-11-27T12:00:00+01:00" and call["headers"]["If-Match"] == '"1"'


def test_the_activity_page_offers_done_and_move_for_a_planned_one(signed_in):
    html = signed_in.get(f"/agenda/{ACTIVITY_ID}").get_data(as_text=True)
    assert "Marcarla como hecha" in html and 'value="2026-11-26T10:00"' in html


def test_rotating_the_calendar_link_posts_for_the_user(signed_in, fake):
    fake.on("POST", f"/api/v1/users/{USER_ID}/calendar-token", 200, {"token": "t-2", "url": "u"})
    assert signed_in.post("/agenda/calendar-token").status_code == 303
    assert fake.called("POST", ".*/calendar-token")
