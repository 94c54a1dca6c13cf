"""Every page renders from the API's answers, with the user's token."""
from __future__ import annotations

import pytest

from tests.console.fake_api import ACCOUNT_ID, CONTACT_ID, customer_360

PAGES = ["/", "/accounts", "/accounts/new", f"/accounts/{ACCOUNT_ID}", f"/accounts/{ACCOUNT_ID}/edit", "/contacts",
         "/contacts/new", f"/contacts/{CONTACT_ID}", f"/contacts/{CONTACT_ID}/edit", "/pipeline", "/search?q=pepe",
         "/search", "/duplicates/contacts", "/duplicates/accounts"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_with_navigation(signed_in, fake, path):
    reply = signed_in.get(path)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200, html[:500]
    assert '<html lang="es">' in html and 'href="/pipeline"' in html and 'id="global-q"' in html
    assert all(c["headers"]["Authorization"].startswith("Bearer ") for c in fake.calls
               if c["path"] != "/api/v1/auth/token")


def test_the_360_shows_the_org_chart_with_nicknames_and_notes(signed_in):
    html = signed_in.get(f"/accounts/{ACCOUNT_ID}").get_data(as_text=True)
    assert "«Pepe»" in html and "Real Madrid" in html and "Decisor" in html
    assert "−5: 1 caso abierto" in html and "sin actividad en los últimos 90 días" in html
    assert "Oportunidad ganada: Renovación ERP" in html


def test_an_unavailable_slice_is_a_notice_not_an_error(signed_in, fake):
    fake.on("GET", f"/api/v1/customers/{ACCOUNT_ID}/360", 200, customer_360(partial=True, unavailable=["support"]))
    fake.on("GET", f"/api/v1/customers/{ACCOUNT_ID}/timeline", 503, {"status": 503})
    reply = signed_in.get(f"/accounts/{ACCOUNT_ID}")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert "Algunas partes no se pueden mostrar" in html and "La cronología: no se puede mostrar" in html


def test_an_unknown_account_is_a_404_page(signed_in):
    reply = signed_in.get("/accounts/99999999-9999-4999-8999-999999999999")
    assert reply.status_code == 404 and "No encontrado" in reply.get_data(as_text=True)


def test_list_filters_go_to_the_api_and_more_pages_come_as_a_fragment(signed_in, fake):
    fake.on("GET", "/api/v1/accounts", 200, {"items": [], "next_cursor": None})
    signed_in.get("/accounts?q=rioja&segment=relational&country=ES")
    query = fake.called("GET", "/api/v1/accounts")[-1]["query"]
    assert query["q"] == ["rioja"] and query["segment"] == ["relational"] and query["limit"] == ["25"]
    html = signed_in.get("/accounts?cursor=abc&fragment=items", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in html


def test_the_account_lifecycle_filter_uses_its_contacts(signed_in, fake):
    html = signed_in.get("/accounts?lifecycle_stage=potential_customer").get_data(as_text=True)
    assert fake.called("GET", "/api/v1/contacts")[-1]["query"]["lifecycle_stage"] == ["potential_customer"]
    assert "Bodegas Valdeolmos" in html


def test_search_asks_the_search_api_and_groups_results_by_kind(signed_in, fake):
    from tests.console.fake_api import ACCOUNT_ID, CONTACT_ID, DEAL_ID
    html = signed_in.get("/search?q=600 111 222").get_data(as_text=True)
    assert fake.called("GET", "/api/v1/search")[-1]["query"]["q"] == ["600 111 222"]
    assert html.index('id="h-r-account"') < html.index('id="h-r-contact"') < html.index('id="h-r-opportunity"')
    assert f'href="/contacts/{CONTACT_ID}"' in html and f'href="/accounts/{ACCOUNT_ID}"' in html
    assert f'href="/search/deals/{DEAL_ID}"' in html and "Director General · pepe@valdeolmos.es" in html


def test_search_by_kind_and_its_validation_message(signed_in, fake):
    signed_in.get("/search?q=garcia&type=case")
    assert fake.called("GET", "/api/v1/search")[-1]["query"]["types"] == ["case"]
    fake.on("GET", "/api/v1/search", 422, {"status": 422, "detail": "The search parameters are not valid.",
                                           "errors": {"q": ["Type at least one letter or digit."]}})
    reply = signed_in.get("/search?q=!!!")
    assert reply.status_code == 200 and "Type at least one letter or digit." in reply.get_data(as_text=True)


def test_a_deal_found_leads_to_its_customer(signed_in):
    from tests.console.fake_api import ACCOUNT_ID, DEAL_ID
    reply = signed_in.get(f"/search/deals/{DEAL_ID}")
    assert reply.status_code == 302 and reply.headers["Location"].endswith(f"/accounts/{ACCOUNT_ID}#h-deals")


def test_duplicates_show_each_group_side_by_side_with_its_reasons(signed_in, fake):
    from tests.console.fake_api import CONTACT_ID, TWIN_ID
    html = signed_in.get("/duplicates/contacts").get_data(as_text=True)
    assert "Mismo teléfono" in html and "Nombre parecido, misma cuenta" in html
    assert f'href="/contacts/{CONTACT_ID}"' in html and f'href="/contacts/{TWIN_ID}"' in html
    assert "jgarcia@valdeolmos.es" in html and "Bodegas Valdeolmos" in html
    empty = signed_in.get("/duplicates/accounts?lang=en").get_data(as_text=True)
    assert "No duplicates found" in empty
    assert signed_in.get("/duplicates/planets").status_code == 404


def test_the_board_has_a_column_per_open_stage_with_totals(signed_in):
    html = signed_in.get("/pipeline").get_data(as_text=True)
    for stage in ("Prospección", "Cualificación", "Propuesta", "Negociación"):
        assert stage in html
    assert "12.600,50" in html and "6300,25" in html.replace(".", "").replace("\xa0", "")


def test_moving_a_card_patches_the_stage_with_the_version_seen(signed_in, fake):
    from tests.console.fake_api import DEAL, DEAL_ID
    fake.on("PATCH", f"/api/v1/opportunities/{DEAL_ID}", 200, DEAL)
    reply = signed_in.post(f"/pipeline/{DEAL_ID}/stage", data={"stage": "negotiation", "version": "5", "name": "X"},
                           headers={"HX-Request": "true"})
    call = fake.called("PATCH", f"/api/v1/opportunities/{DEAL_ID}")[0]
    assert call["body"] == {"stage": "negotiation"} and call["headers"]["If-Match"] == '"5"'
    assert 'id="board"' in reply.get_data(as_text=True)


def test_a_stale_move_says_someone_else_changed_it(signed_in, fake):
    from tests.console.fake_api import DEAL_ID
    fake.on("PATCH", f"/api/v1/opportunities/{DEAL_ID}", 412, {"status": 412, "detail": "stale"})
    html = signed_in.post(f"/pipeline/{DEAL_ID}/stage", data={"stage": "negotiation", "version": "4"},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Alguien ha cambiado esta oportunidad" in html


def test_winning_and_losing_send_the_reason(signed_in, fake):
    from tests.console.fake_api import DEAL, DEAL_ID
    fake.on("POST", f"/api/v1/opportunities/{DEAL_ID}/lose", 200, DEAL)
    reply = signed_in.post(f"/pipeline/{DEAL_ID}/lose", data={"reason": "Precio", "name": "Renovación ERP"})
    assert reply.status_code == 303
    assert fake.called("POST", f"/api/v1/opportunities/{DEAL_ID}/lose")[0]["body"] == {"reason": "Precio"}


PAGES_BY_ROLE = [("/forecast", "manager"), ("/forecast", "rep"), ("/agenda", "rep"), ("/agenda/new", "rep"),
                 ("/agenda/log", "rep"), ("/agenda/88888888-8888-4888-8888-888888888888", "rep"), ("/cases", "support"),
                 ("/cases/new", "support"), ("/cases/66666666-6666-4666-8666-666666666666", "support"),
                 ("/campaigns", "marketing"), ("/campaigns/new", "marketing"),
                 ("/campaigns/77777777-7777-4777-8777-777777777777", "marketing"),
                 ("/campaigns/77777777-7777-4777-8777-777777777777/edit", "marketing"), ("/admin/users", "admin"),
                 ("/admin/users/new", "admin"), ("/admin/users/11111111-1111-4111-8111-111111111111/edit", "admin"),
                 ("/admin/handovers/new", "admin"), ("/admin/handovers/99999999-9999-4999-8999-999999999990", "admin"),
                 ("/admin/api-clients", "admin"), ("/admin/users", "manager")]


@pytest.mark.parametrize("lang", ["es", "en"])
@pytest.mark.parametrize("path,role", PAGES_BY_ROLE)
def test_every_page_of_part_two_renders_for_its_role_in_both_languages(sign_in, path, role, lang):
    reply = sign_in(role).get(f"{path}?lang={lang}")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200, html[:500]
    assert f'<html lang="{lang}">' in html and 'href="/forecast"' in html and 'href="/cases"' in html
    assert ('href="/admin/users"' in html) == (role in ("admin", "manager"))
