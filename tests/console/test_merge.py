"""The merge pages of contacts and accounts: choose the duplicate, pick the
winning values side by side, confirm; and a merged record's page leads to
its survivor."""
from __future__ import annotations

from tests.console.fake_api import ACCOUNT, ACCOUNT_ID, CONTACT, CONTACT_ID, page

TWIN_ID = "33333333-3333-4333-8333-33333333aaaa"
TWIN = {**CONTACT, "id": TWIN_ID, "version": 4, "first_name": "José", "last_name": "García López",
        "name": "José García López", "email": "jose.garcia@valdeolmos.es", "nickname": None}
OTHER_ACCOUNT_ID = "22222222-2222-4222-8222-22222222aaaa"
OTHER_ACCOUNT = {**ACCOUNT, "id": OTHER_ACCOUNT_ID, "name": "Bodegas Valdeolmos", "tax_id": None, "version": 2}


def test_the_contact_page_offers_a_merge_to_those_who_may_change_contacts(sign_in):
    rep = sign_in("rep")
    assert "Fusionar un duplicado" in rep.get(f"/contacts/{CONTACT_ID}").get_data(as_text=True)
    readonly = sign_in("readonly")
    assert "Fusionar un duplicado" not in readonly.get(f"/contacts/{CONTACT_ID}").get_data(as_text=True)


def test_choosing_the_duplicate_searches_by_the_contacts_name(signed_in, fake):
    fake.on("GET", "/api/v1/contacts", 200, page([CONTACT, TWIN]))
    html = signed_in.get(f"/contacts/{CONTACT_ID}/merge").get_data(as_text=True)
    assert fake.called("GET", "/api/v1/contacts")[-1]["query"]["q"] == ["García"]
    assert f"other={TWIN_ID}" in html and f"other={CONTACT_ID}" not in html  # never itself
    assert 'lang="es"' in html and "Buscar el duplicado" in html


def test_the_fields_that_differ_are_shown_side_by_side_with_this_records_value_chosen(signed_in, fake):
    fake.on("GET", f"/api/v1/contacts/{TWIN_ID}", 200, TWIN)
    html = signed_in.get(f"/contacts/{CONTACT_ID}/merge?other={TWIN_ID}").get_data(as_text=True)
    assert "pepe@valdeolmos.es" in html and "jose.garcia@valdeolmos.es" in html
    assert 'name="pick-email" value="this" checked' in html
    assert 'name="pick-title"' not in html  # the same on both: nothing to choose
    assert 'name="confirm"' in html


def test_a_merge_needs_the_confirmation_and_sends_the_chosen_fields(signed_in, fake):
    fake.on("GET", f"/api/v1/contacts/{TWIN_ID}", 200, TWIN)
    fake.on("POST", f"/api/v1/contacts/{CONTACT_ID}/merge", 200, CONTACT)
    form = {"other": TWIN_ID, "version": "1", "pick-email": "other", "pick-last_name": "this"}
    refused = signed_in.post(f"/contacts/{CONTACT_ID}/merge?other={TWIN_ID}", data=form)
    assert refused.status_code == 422 and "Marca la casilla" in refused.get_data(as_text=True)
    assert fake.called("POST", r".*/merge") == []
    done = signed_in.post(f"/contacts/{CONTACT_ID}/merge?other={TWIN_ID}", data={**form, "confirm": "1"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/contacts/{CONTACT_ID}?merged=1")
    call = fake.called("POST", rf"/api/v1/contacts/{CONTACT_ID}/merge")[-1]
    assert call["body"] == {"merge_ids": [TWIN_ID], "fields": {"email": TWIN_ID}}
    assert call["headers"]["If-Match"] == '"1"'
    assert "se fusionó con este contacto" in signed_in.get(f"/contacts/{CONTACT_ID}?merged=1").get_data(as_text=True)


def test_the_apis_refusal_is_shown_on_the_page(signed_in, fake):
    fake.on("GET", f"/api/v1/contacts/{TWIN_ID}", 200, TWIN)
    fake.on("POST", f"/api/v1/contacts/{CONTACT_ID}/merge", 409, {
        "status": 409, "detail": f"The contact {TWIN_ID} was already merged into another."})
    reply = signed_in.post(f"/contacts/{CONTACT_ID}/merge?other={TWIN_ID}",
                           data={"other": TWIN_ID, "version": "1", "confirm": "1"})
    assert reply.status_code == 409 and "already merged" in reply.get_data(as_text=True)


def test_a_merged_records_page_leads_to_its_survivor(signed_in, fake):
    moved = {"status": 308, "detail": "merged", "merged_id": TWIN_ID, "survivor_id": CONTACT_ID}
    fake.on("GET", f"/api/v1/contacts/{TWIN_ID}", 308, moved)
    reply = signed_in.get(f"/contacts/{TWIN_ID}")
    assert reply.status_code == 302 and reply.headers["Location"].endswith(f"/contacts/{CONTACT_ID}")


def test_an_account_merge_takes_the_duplicates_tax_id(signed_in, fake):
    fake.on("GET", f"/api/v1/accounts/{OTHER_ACCOUNT_ID}", 200, OTHER_ACCOUNT)
    fake.on("POST", f"/api/v1/accounts/{OTHER_ACCOUNT_ID}/merge", 200, OTHER_ACCOUNT)
    html = signed_in.get(f"/accounts/{OTHER_ACCOUNT_ID}/merge?other={ACCOUNT_ID}").get_data(as_text=True)
    assert "A26123987" in html and 'name="pick-tax_id"' in html and 'name="pick-industry"' not in html
    done = signed_in.post(f"/accounts/{OTHER_ACCOUNT_ID}/merge",
                          data={"other": ACCOUNT_ID, "version": "2", "pick-tax_id": "other", "confirm": "1"})
    assert done.status_code == 303
    call = fake.called("POST", rf"/api/v1/accounts/{OTHER_ACCOUNT_ID}/merge")[-1]
    assert call["body"] == {"merge_ids": [ACCOUNT_ID], "fields": {"tax_id": ACCOUNT_ID}}
