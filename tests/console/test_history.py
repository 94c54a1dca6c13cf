"""Field history on the console: who changed what, when, from → to."""
from __future__ import annotations

import pytest

from tests.console.fake_api import ACCOUNT_ID, CASE_ID, CONTACT_ID, DEAL_ID, history


@pytest.mark.parametrize("path", [f"/accounts/{ACCOUNT_ID}", f"/contacts/{CONTACT_ID}", f"/cases/{CASE_ID}"])
def test_a_record_page_shows_its_latest_changes_with_names(signed_in, fake, path):
    html = signed_in.get(path).get_data(as_text=True)
    assert 'id="h-history"' in html and ">Cambios<" in html
    assert "Lucía Fernández" in html and "Cadena (automático)" in html  # who: a name, or the system
    assert "Ciudad" in html and '<span class="from">Haro</span>' in html and '<span class="to">Logroño</span>' in html
    assert "9.800.000,50\xa0€" in html  # money formatted for the language
    assert '<span class="to">Lucía Fernández</span>' in html  # an owner id becomes a name
    assert fake.called("GET", r"/api/v1/(accounts|contacts|cases)/[^/]+/history")[-1]["query"]["limit"] == ["5"]


def test_account_ids_become_names(signed_in, fake):
    from tests.console.fake_api import page

    fake.on("GET", f"/api/v1/accounts/{ACCOUNT_ID}/history", 200, page([
        {"time": "2026-11-21T09:15:00+00:00", "actor_id": None, "type": "accounts.contact.updated",
         "changes": {"account_id": {"from": None, "to": ACCOUNT_ID}, "forecast_category": {"from": None,
                                                                                          "to": "best_case"}}}]))
    html = signed_in.get(f"/accounts/{ACCOUNT_ID}").get_data(as_text=True)
    assert '<span class="to">Bodegas Valdeolmos S.A.</span>' in html and '<span class="to">Mejor caso</span>' in html


def test_a_contacts_name_shows_as_its_parts_not_twice(signed_in, fake):
    from tests.console.fake_api import page

    fake.on("GET", f"/api/v1/contacts/{CONTACT_ID}/history", 200, page([
        {"time": "2026-11-21T09:15:00+00:00", "actor_id": None, "type": "accounts.contact.created",
         "changes": {"first_name": {"from": None, "to": "José"}, "last_name": {"from": None, "to": "García"},
                     "name": {"from": None, "to": "José García"}}}]))
    html = signed_in.get(f"/contacts/{CONTACT_ID}").get_data(as_text=True)
    history = html[html.index('id="h-history"'):]
    assert '<span class="to">José</span>' in history and '<span class="to">García</span>' in history
    assert '<span class="to">José García</span>' not in history  # the API's derived name: its parts say it


def test_english_labels_and_formats(signed_in):
    html = signed_in.get(f"/accounts/{ACCOUNT_ID}?lang=en").get_data(as_text=True)
    assert ">Changes<" in html and "City" in html and "€9,800,000.50" in html and "Relational" in html
    assert "Cadena (automatic)" in html and "Account updated" in html


def test_the_history_page_pages_on_with_more(signed_in, fake):
    fake.on("GET", f"/api/v1/opportunities/{DEAL_ID}/history", 200, history(cursor="next-1"))
    reply = signed_in.get(f"/history/opportunities/{DEAL_ID}")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200 and "<h1>Cambios en este registro (oportunidad)</h1>" in html
    assert f"/history/opportunities/{DEAL_ID}?cursor=next-1" in html
    more = signed_in.get(f"/history/opportunities/{DEAL_ID}?cursor=next-1", headers={"HX-Request": "true"})
    assert "<html" not in more.get_data(as_text=True)
    assert fake.called("GET", f"/api/v1/opportunities/{DEAL_ID}/history")[-1]["query"]["cursor"] == ["next-1"]


def test_a_deal_card_links_to_its_history(signed_in):
    assert f"/history/opportunities/{DEAL_ID}" in signed_in.get("/pipeline").get_data(as_text=True)


def test_an_unavailable_history_is_a_notice_and_an_unknown_record_a_404(signed_in, fake):
    fake.on("GET", f"/api/v1/accounts/{ACCOUNT_ID}/history", 503, {"status": 503})
    reply = signed_in.get(f"/accounts/{ACCOUNT_ID}")
    assert reply.status_code == 200 and "El historial de cambios: no se puede mostrar" in reply.get_data(as_text=True)
    assert signed_in.get("/history/accounts/99999999-9999-4999-8999-999999999999").status_code == 404
    assert signed_in.get(f"/history/campaigns/{ACCOUNT_ID}").status_code == 404
