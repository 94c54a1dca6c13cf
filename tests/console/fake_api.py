"""An in-memory stand-in for the public API: routes answer canned JSON and
every call is recorded, so console tests run with no I/O."""
from __future__ import annotations

import base64
import json
import re
import time
from urllib.parse import parse_qs

USER_ID = "11111111-1111-4111-8111-111111111111"
ACCOUNT_ID = "22222222-2222-4222-8222-222222222222"
CONTACT_ID = "33333333-3333-4333-8333-333333333333"
DEAL_ID = "44444444-4444-4444-8444-444444444444"


def jwt_for(sub=USER_ID, role="rep", team="Iberia", name="Javier Morales", email="javier.morales@cadena.local"):
    """A token-shaped string: the console only reads its payload for display."""
    payload = {"sub": sub, "role": role, "team": team, "name": name, "email": email, "exp": time.time() + 900}
    encoded = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{encoded}.sig"


def money(amount, currency="EUR"):
    return {"amount": amount, "currency": currency}


ACCOUNT = {"id": ACCOUNT_ID, "version": 3, "name": "Bodegas Valdeolmos S.A.", "industry": "Alimentación y bebidas",
           "segment": "relational", "country": "ES", "region": "La Rioja", "city": "Haro", "website": None,
           "tax_id": "A26123987", "annual_revenue": money("9200000.00"), "employees": 65, "owner_id": USER_ID,
           "tags": ["exportación"], "notes": None, "parent_account_id": None, "billing_address": None}
CONTACT = {"id": CONTACT_ID, "version": 1, "first_name": "José", "last_name": "García", "name": "José García",
           "nickname": "Pepe", "email": "pepe@valdeolmos.es", "phone": "+34 600 111 222", "title": "Director General",
           "account_id": ACCOUNT_ID, "role": "decision_maker", "reports_to_id": None,
           "lifecycle_stage": "potential_customer", "owner_id": USER_ID, "interests": ["exportación"],
           "notes": "Llámale Pepe, es del Real Madrid."}
DEAL = {"id": DEAL_ID, "version": 5, "name": "Renovación ERP", "account_id": ACCOUNT_ID, "amount": money("12600.50"),
        "close_date": "2026-11-28", "stage": "proposal", "probability": 50, "owner_id": USER_ID}
MANAGER_ID = "55555555-5555-4555-8555-555555555555"
CASE_ID = "66666666-6666-4666-8666-666666666666"
CAMPAIGN_ID = "77777777-7777-4777-8777-777777777777"
ACTIVITY_ID = "88888888-8888-4888-8888-888888888888"
HANDOVER_ID = "99999999-9999-4999-8999-999999999990"
USERS = [{"id": USER_ID, "name": "Javier Morales", "email": "javier.morales@cadena.local", "role": "rep",
          "team": "Iberia", "active": True, "manager_id": MANAGER_ID, "version": 2},
         {"id": MANAGER_ID, "name": "Lucía Fernández", "email": "lucia.fernandez@cadena.local", "role": "manager",
          "team": "Iberia", "active": True, "manager_id": None, "version": 1}]


TWIN_ID = "33333333-3333-4333-8333-333333333334"
TWIN = {**CONTACT, "id": TWIN_ID, "first_name": "Jose", "last_name": "Garcia", "name": "Jose Garcia",
        "email": "jgarcia@valdeolmos.es", "phone": "600111222", "created_at": "2026-11-02T10:00:00+00:00"}
SEARCH_HITS = [
    {"type": "contact", "id": CONTACT_ID, "title": "José García",
     "subtitle": "Bodegas Valdeolmos S.A. · Director General · pepe@valdeolmos.es · +34 600 111 222"},
    {"type": "account", "id": ACCOUNT_ID, "title": "Bodegas Valdeolmos S.A.", "subtitle": "Haro (ES)"},
    {"type": "opportunity", "id": DEAL_ID, "title": "Renovación ERP", "subtitle": "Bodegas Valdeolmos S.A. · proposal"},
]


def page(items, cursor=None):
    return {"items": items, "next_cursor": cursor}


def default_routes():
    return {
        ("POST", "/api/v1/auth/token"): lambda q, b: (200, {"access_token": jwt_for(), "token_type": "Bearer",
                                                            "expires_in": 900, "refresh_token": "r-1"}),
        ("POST", "/api/v1/auth/logout"): lambda q, b: (204, None),
        ("GET", "/api/v1/users"): lambda q, b: (200, page(USERS)),
        ("GET", "/api/v1/accounts"): lambda q, b: (200, page([ACCOUNT])),
        ("GET", f"/api/v1/accounts/{ACCOUNT_ID}"): lambda q, b: (200, ACCOUNT),
        ("GET", f"/api/v1/accounts/{ACCOUNT_ID}/contacts"): lambda q, b: (200, page([CONTACT])),
        ("GET", f"/api/v1/accounts/{ACCOUNT_ID}/org-chart"): lambda q, b: (200, {"account_id": ACCOUNT_ID, "roots": [
            {"id": CONTACT_ID, "name": "José García", "title": "Director General", "role": "decision_maker",
             "reports": []}]}),
        ("GET", "/api/v1/contacts"): lambda q, b: (200, page([CONTACT])),
        ("GET", f"/api/v1/contacts/{CONTACT_ID}"): lambda q, b: (200, CONTACT),
        ("GET", "/api/v1/opportunities"): lambda q, b: (200, page([DEAL])),
        ("GET", "/api/v1/activities"): lambda q, b: (200, page([])),
        ("GET", "/api/v1/cases"): lambda q, b: (200, page([])),
        ("GET", "/api/v1/search"): lambda q, b: (200, {"items": SEARCH_HITS}),
        ("GET", "/api/v1/contacts/duplicates"): lambda q, b: (200, page([
            {"ids": [CONTACT_ID, TWIN_ID], "reasons": ["same_phone", "similar_name_same_account"]}])),
        ("GET", f"/api/v1/contacts/{TWIN_ID}"): lambda q, b: (200, TWIN),
        ("GET", "/api/v1/accounts/duplicates"): lambda q, b: (200, page([])),
        ("GET", f"/api/v1/opportunities/{DEAL_ID}"): lambda q, b: (200, DEAL),
        ("GET", f"/api/v1/customers/{ACCOUNT_ID}/360"): lambda q, b: (200, customer_360()),
        ("GET", f"/api/v1/customers/{ACCOUNT_ID}/timeline"): lambda q, b: (200, page([
            {"id": "e1", "type": "opportunities.opportunity.won", "time": "2026-11-20T10:00:00+00:00",
             "service": "opportunities", "summary": "Deal “Renovación ERP” won", "data": {}}])),
        **{("GET", f"/api/v1/{kind}/{record}/history"): lambda q, b: (200, history())
           for kind, record in (("accounts", ACCOUNT_ID), ("contacts", CONTACT_ID), ("opportunities", DEAL_ID))},
    }


def history(cursor=None):
    """A record's field history, newest first: a change by a manager, one by the system, the creation."""
    return page([
        {"time": "2026-11-21T09:15:00+00:00", "actor_id": MANAGER_ID, "type": "accounts.account.updated",
         "changes": {"city": {"from": "Haro", "to": "Logroño"},
                     "annual_revenue": {"from": money("9200000.00"), "to": money("9800000.50")},
                     "owner_id": {"from": USER_ID, "to": MANAGER_ID}}},
        {"time": "2026-11-20T08:00:00+00:00", "actor_id": None, "type": "accounts.account.updated",
         "changes": {"segment": {"from": None, "to": "relational"}}},
        {"time": "2026-11-19T08:00:00+00:00", "actor_id": USER_ID, "type": "accounts.account.created",
         "changes": {"name": {"from": None, "to": "Bodegas Valdeolmos S.A."}, "tags": {"from": None,
                                                                                     "to": ["exportación"]}}},
    ], cursor)


def forecast(quota="125000.00", won="53998.60", attainment=0.432):
    return {"period": "2026-Q4", "period_start": "2026-10-01", "period_end": "2026-12-31", "currency": "EUR",
            "quota": money(quota), "closed_won": money(won), "commit": money("10501.00"),
            "best_case": money("0.00"), "pipeline": money("62308.80"), "weighted_pipeline": money("19200.48"),
            "attainment": attainment}


ACTIVITY = {"id": ACTIVITY_ID, "version": 1, "type": "meeting", "subject": "Demo del ERP", "status": "planned",
            "starts_at": "2026-11-26T09:00:00+00:00", "ends_at": "2026-11-26T10:00:00+00:00", "due_at": None,
            "remind_at": "2026-11-26T08:30:00+00:00", "location": "Haro", "account_id": ACCOUNT_ID,
            "contact_id": CONTACT_ID, "opportunity_id": None, "case_id": None, "owner_id": USER_ID,
            "outcome": None, "notes": None, "agreements": None, "overdue": False}
CASE = {"id": CASE_ID, "version": 4, "number": 7, "subject": "Certificado caducado", "description": "No firma.",
        "account_id": ACCOUNT_ID, "contact_id": CONTACT_ID, "channel": "phone", "priority": "urgent", "status": "open",
        "assignee_id": MANAGER_ID, "first_response_due_at": "2026-11-20T10:00:00+00:00",
        "resolution_due_at": "2026-11-21T10:00:00+00:00", "first_responded_at": None, "resolved_at": None,
        "sla_breached": True, "satisfaction": None, "created_at": "2026-11-20T09:00:00+00:00"}
SEGMENT = {"industry": [], "country": ["ES"], "region": [], "account_segment": [], "lifecycle_stage": ["prospect"],
           "annual_revenue_min": None, "annual_revenue_max": None, "interests": []}
CAMPAIGN = {"id": CAMPAIGN_ID, "version": 1, "name": "Cata Digital 2027", "description": None, "channel": "email",
            "status": "draft", "starts_at": None, "ends_at": None, "budget": money("12000.00"), "actual_cost": None,
            "owner_id": USER_ID, "segment": SEGMENT, "templates": {}, "member_count": 0,
            "progress": {"total": 0, "sent": 0, "pending": 0, "failed": 0, "unknown": 0, "skipped": 0}}
ROI = {"campaign_id": CAMPAIGN_ID, "cost": money("12000.00"), "influenced_revenue": money("30000.00"),
       "won_deals": 1, "roi": 1.5, "other_currencies": [],
       "deals": [{"opportunity_id": DEAL_ID, "account_id": ACCOUNT_ID, "amount": money("30000.00"),
                  "won_at": "2026-11-20T10:00:00+00:00", "reason": "campaign"}]}


def part_two_routes():
    return {
        ("GET", "/api/v1/forecast"): lambda q, b: (200, forecast()),
        ("GET", "/api/v1/agenda"): lambda q, b: (200, {"owner_id": USER_ID, "items": [ACTIVITY], "next_cursor": None}),
        ("GET", f"/api/v1/activities/{ACTIVITY_ID}"): lambda q, b: (200, ACTIVITY),
        ("GET", f"/api/v1/users/{USER_ID}/calendar-token"): lambda q, b: (200, {
            "token": "t-1", "url": f"http://x.test/api/v1/users/{USER_ID}/calendar.ics?token=t-1"}),
        ("GET", f"/api/v1/cases/{CASE_ID}"): lambda q, b: (200, CASE),
        ("GET", f"/api/v1/cases/{CASE_ID}/history"): lambda q, b: (200, history()),
        ("GET", f"/api/v1/cases/{CASE_ID}/comments"): lambda q, b: (200, page([
            {"id": "c-1", "body": "Revisado el certificado.", "public": False, "author_type": "staff",
             "author_id": MANAGER_ID, "created_at": "2026-11-20T09:30:00+00:00"}])),
        ("GET", "/api/v1/campaigns"): lambda q, b: (200, page([CAMPAIGN])),
        ("GET", f"/api/v1/campaigns/{CAMPAIGN_ID}"): lambda q, b: (200, CAMPAIGN),
        ("GET", f"/api/v1/campaigns/{CAMPAIGN_ID}/members"): lambda q, b: (200, page([
            {"campaign_id": CAMPAIGN_ID, "contact_id": CONTACT_ID, "account_id": ACCOUNT_ID, "status": "targeted",
             "delivery": None}])),
        ("GET", f"/api/v1/campaigns/{CAMPAIGN_ID}/roi"): lambda q, b: (200, ROI),
        ("POST", "/api/v1/campaigns/segment-count"): lambda q, b: (200, {"count": 12}),
        ("GET", f"/api/v1/users/{USER_ID}"): lambda q, b: (200, USERS[0]),
        ("GET", f"/api/v1/handovers/{HANDOVER_ID}"): lambda q, b: (200, {
            "handover_id": HANDOVER_ID, "from_user_id": USER_ID, "to_user_id": MANAGER_ID, "status": "pending",
            "services": {"accounts": {"status": "done", "moved": {"accounts": 3}},
                         "support": {"status": "pending", "moved": {}}},
            "created_at": "2026-11-27T09:00:00+00:00", "completed_at": None}),
        ("GET", f"/api/v1/accounts/{ACCOUNT_ID}/products"): lambda q, b: (200, {"account_id": ACCOUNT_ID, "items": [
            {"product_code": "SOP-24", "name": "Soporte 24x7", "family": "Servicios", "quantity": 2, "deals": 2,
             "first_won_at": "2026-01-20T10:00:00+00:00", "last_won_at": "2026-11-20T10:00:00+00:00"}]}),
        ("GET", f"/api/v1/accounts/{ACCOUNT_ID}/recommendations"): lambda q, b: (200, {
            "account_id": ACCOUNT_ID, "industry": "Alimentación y bebidas", "segment": "relational", "items": [
                {"product_code": "BI-PACK", "name": "Paquete de cuadros de mando", "family": "Analítica",
                 "unit_price": money("3900.00"), "owners": 3, "same_industry": 2, "same_segment": 1,
                 "reason": "3 similar accounts own it"}]}),
        ("GET", "/api/v1/api-clients"): lambda q, b: (200, page([
            {"id": "ac-1", "name": "ERP sync", "role": "rep", "client_id": "ac-1", "active": True,
             "created_at": "2026-11-01T09:00:00+00:00", "revoked_at": None}])),
    }


def customer_360(**changes):
    body = {"account": ACCOUNT, "view": {"account_id": ACCOUNT_ID, "open_cases": 1, "open_pipeline": money("12600.50"),
                                         "won_total": money("5250.50"), "last_activity_at": None, "health_score": 75,
                                         "churn_risk": "low", "health_reasons": ["-5: 1 open case(s)",
                                                                                 "-20: no activity in the last 90 days"]},
            "contacts": [CONTACT], "opportunities": {"open": [DEAL], "won": []},
            "activities": {"recent": [], "upcoming": []}, "cases": {"open": [], "recent": []}, "campaigns": [],
            "partial": False, "unavailable": []}
    body.update(changes)
    return body


class FakeApi:
    """A transport for console.api.Api: (method, path, query, body, headers) → (status, headers, bytes)."""

    def __init__(self):
        self.routes = {**default_routes(), **part_two_routes()}
        self.calls: list[dict] = []

    def sign_in_as(self, role: str, sub: str = USER_ID, team: str | None = "Iberia"):
        """The next login gets a token with this role."""
        self.on("POST", "/api/v1/auth/token", 200, {"access_token": jwt_for(sub=sub, role=role, team=team),
                                                   "token_type": "Bearer", "expires_in": 900,
                                                   "refresh_token": "r-1"})

    def on(self, method: str, path: str, status: int, body=None):
        self.routes[(method, path)] = lambda q, b: (status, body)

    def __call__(self, method, path, query, body, headers):
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = body.decode()  # a CSV file
        self.calls.append({"method": method, "path": path, "query": parse_qs(query), "body": data,
                           "headers": dict(headers)})
        handler = self.routes.get((method, path))
        if handler is None:
            return 404, {}, json.dumps({"status": 404, "title": "Not found", "detail": f"no fake for {path}"}).encode()
        status, answer = handler(parse_qs(query), data)
        content_type = "application/problem+json" if status >= 400 else "application/json"
        if isinstance(answer, bytes):
            return status, {"Content-Type": "text/csv; charset=utf-8"}, answer
        return status, {"Content-Type": content_type, "ETag": '"1"'}, json.dumps(answer).encode() if answer else b""

    def stream(self, path, query, headers):
        """A download: a route whose answer is bytes is passed on as they are (CSV)."""
        from console.api import Download

        status, answer_headers, body = self("GET", path, query, None, headers)
        return Download(status, answer_headers, iter([body[:10], body[10:]]), lambda: None)

    def called(self, method: str, pattern: str) -> list[dict]:
        return [c for c in self.calls if c["method"] == method and re.fullmatch(pattern, c["path"])]
