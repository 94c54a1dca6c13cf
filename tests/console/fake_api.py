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
USERS = [{"id": USER_ID, "name": "Javier Morales", "email": "javier.morales@cadena.local", "role": "rep",
          "team": "Iberia", "active": True}]


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
        ("GET", f"/api/v1/customers/{ACCOUNT_ID}/360"): lambda q, b: (200, customer_360()),
        ("GET", f"/api/v1/customers/{ACCOUNT_ID}/timeline"): lambda q, b: (200, page([
            {"id": "e1", "type": "opportunities.opportunity.won", "time": "2026-11-20T10:00:00+00:00",
             "service": "opportunities", "summary": "Deal “Renovación ERP” won", "data": {}}])),
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
        self.routes = default_routes()
        self.calls: list[dict] = []

    def on(self, method: str, path: str, status: int, body=None):
        self.routes[(method, path)] = lambda q, b: (status, body)

    def __call__(self, method, path, query, body, headers):
        data = json.loads(body) if body else None
        self.calls.append({"method": method, "path": path, "query": parse_qs(query), "body": data,
                           "headers": dict(headers)})
        handler = self.routes.get((method, path))
        if handler is None:
            return 404, {}, json.dumps({"status": 404, "title": "Not found", "detail": f"no fake for {path}"}).encode()
        status, answer = handler(parse_qs(query), data)
        content_type = "application/problem+json" if status >= 400 else "application/json"
        return status, {"Content-Type": content_type, "ETag": '"1"'}, json.dumps(answer).encode() if answer else b""

    def called(self, method: str, pattern: str) -> list[dict]:
        return [c for c in self.calls if c["method"] == method and re.fullmatch(pattern, c["path"])]
