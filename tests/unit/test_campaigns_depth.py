"""Campaigns' depth of the domain (CONTRACTS §11) on SQLite: segments by the
products accounts own (from won deals), and campaign mail with text and
HTML, RFC 8058 one-click unsubscribe by a signed link, no login."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from email import policy
from email.parser import BytesParser

from services.campaigns import rules, unsubscribe
from tests.unit.test_campaigns_service import (FakeTransport, account, campaigns, contact, create, members,  # noqa: F401
                                               mk, sender, won)

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
SECRET = b"test-secret"


def test_a_products_criterion_matches_accounts_that_own_one():
    owner = rules.Target("c1", "a1", has_account=True, products=("ERP-LIC", "SOP-24"))
    assert rules.matches({"products": ["erp-lic"]}, owner)
    assert not rules.matches({"products": ["HW-TPV"]}, owner)
    assert not rules.matches({"products": ["ERP-LIC"]}, rules.Target("c2"))  # no account
    assert rules.normalise_segment({"products": ["ERP-LIC", "erp-lic "]}, "EUR")["products"] == ["ERP-LIC"]


def test_segments_select_the_contacts_of_accounts_that_won_a_product(campaigns, mk):
    owner, other = account(campaigns), account(campaigns, name="Otra")
    ana, luis = contact(campaigns, owner, "Ana"), contact(campaigns, other, "Luis")
    won(campaigns, str(uuid.uuid4()), owner, "900.00", NOW, line_items=[
        {"product_code": "ERP-LIC", "description": "Licencia", "quantity": 2,
         "unit_price": {"amount": "450.00", "currency": "EUR"}}])
    won(campaigns, str(uuid.uuid4()), other, "10.00", NOW, line_items=[
        {"product_code": None, "description": "A medida", "quantity": 1,
         "unit_price": {"amount": "10.00", "currency": "EUR"}}])
    count = campaigns.client.post("/api/v1/campaigns/segment-count", json={"segment": {"products": ["ERP-LIC"]}},
                                  headers=mk)
    assert count.get_json() == {"count": 1}
    body = create(campaigns, mk, segment={"products": ["ERP-LIC"]})
    assert body["segment"]["products"] == ["ERP-LIC"]
    campaigns.client.post(f"/api/v1/campaigns/{body['id']}/members/build", headers=mk)
    assert [m["contact_id"] for m in members(campaigns, body["id"], mk)] == [ana]
    assert luis


# -- mail -----------------------------------------------------------------------------

def _sent(campaigns, mk, **mail):
    bodega = account(campaigns)
    ana = contact(campaigns, bodega, "Ana", stage="active_customer")
    body = create(campaigns, mk, segment={})
    path = f"/api/v1/campaigns/{body['id']}"
    campaigns.client.post(f"{path}/members/build", headers=mk)
    campaigns.client.post(f"{path}/launch", headers=mk)
    transport = FakeTransport()
    sender(campaigns, transport, public_url="https://crm.example.test", unsubscribe_secret=SECRET, **mail).run_once()
    return body, ana, transport.sent


def test_mail_has_text_and_html_and_rfc_8058_headers(campaigns, mk):
    body, ana, sent = _sent(campaigns, mk, lang="es")
    message = BytesParser(policy=policy.default).parsebytes(sent[0].as_bytes(policy=policy.SMTP))
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    assert "Bodegas Valdeolmos" in text and "news for our customers" in message["Subject"]  # the customer text
    assert '<html lang="es">' in page and "<title>" in page and "Bodegas Valdeolmos" in page
    link = message["List-Unsubscribe"].strip("<>")
    assert link.startswith("https://crm.example.test/api/v1/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in text and link in page
    assert message["Message-ID"] == f"<campaign-{body['id']}.{ana}@cadena.local>" and message["Date"]
    assert unsubscribe.read_token(SECRET, link.rsplit("/", 1)[1]) == (body["id"], ana)


def test_a_token_cannot_be_forged_or_reused_for_someone_else():
    token = unsubscribe.make_token(SECRET, str(uuid.uuid4()), str(uuid.uuid4()))
    payload, signature = token.split(".")
    assert unsubscribe.read_token(b"other-secret", token) is None
    other = unsubscribe.make_token(SECRET, str(uuid.uuid4()), str(uuid.uuid4())).split(".")[0]
    assert unsubscribe.read_token(SECRET, f"{other}.{signature}") is None
    for garbage in ("", "abc", "a.b.c", f"{payload}.", "!!!.???"):
        assert unsubscribe.read_token(SECRET, garbage) is None


def test_one_click_unsubscribe_needs_no_login_is_idempotent_and_holds_for_every_campaign(campaigns, mk):
    secret = unsubscribe.secret_of(campaigns.settings)
    bodega = account(campaigns)
    ana = contact(campaigns, bodega, "Ana")
    first = create(campaigns, mk, segment={})
    campaigns.client.post(f"/api/v1/campaigns/{first['id']}/members/build", headers=mk)
    path = "/api/v1/unsubscribe/" + unsubscribe.make_token(secret, first["id"], ana)
    page = campaigns.client.get(path)
    assert page.status_code == 200 and page.mimetype == "text/html" and "<form method=\"post\"" in page.text
    assert members(campaigns, first["id"], mk)[0]["status"] == "targeted"  # a GET changes nothing
    reply = campaigns.client.post(path, data="List-Unsubscribe=One-Click",
                                  content_type="application/x-www-form-urlencoded")
    assert reply.status_code == 200 and reply.get_json() == {"status": "unsubscribed"}
    assert campaigns.client.post(path).status_code == 200  # again: nothing more happens
    assert members(campaigns, first["id"], mk)[0]["status"] == "opted_out"
    with campaigns.db.sessions() as session:
        from sqlalchemy import select
        outbox = campaigns.db.tables.outbox
        keys = session.scalars(select(outbox.c.routing_key)).all()
    assert keys.count("campaigns.member.opted_out") == 1
    second = create(campaigns, mk, segment={})
    campaigns.client.post(f"/api/v1/campaigns/{second['id']}/members/build", headers=mk)
    campaigns.client.post(f"/api/v1/campaigns/{second['id']}/launch", headers=mk)
    transport = FakeTransport()
    assert sender(campaigns, transport).run_once() == 0 and transport.sent == []


def test_a_bad_or_forged_link_is_a_404_problem(campaigns):
    forged = unsubscribe.make_token(b"not-our-secret", str(uuid.uuid4()), str(uuid.uuid4()))
    for path in ("/api/v1/unsubscribe/" + forged, "/api/v1/unsubscribe/garbage"):
        for method in ("GET", "POST"):
            reply = campaigns.client.open(path, method=method)
            assert reply.status_code == 404 and reply.mimetype == "application/problem+json"
