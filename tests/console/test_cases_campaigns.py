"""The case queue and one case (comments, status, satisfaction), and
campaigns (list, segment builder with its live count, build, launch, ROI)."""
from __future__ import annotations

from tests.console.fake_api import CAMPAIGN, CAMPAIGN_ID, CASE, CASE_ID, MANAGER_ID, page


def test_the_queue_asks_for_open_cases_and_puts_the_most_urgent_first(sign_in, fake):
    later = {**CASE, "id": "c-2", "number": 8, "subject": "Factura duplicada", "sla_breached": False,
             "first_response_due_at": "2099-01-01T00:00:00+00:00"}
    fake.on("GET", "/api/v1/cases", 200, page([later, CASE]))
    html = sign_in("support").get("/cases?priority=urgent").get_data(as_text=True)
    query = fake.called("GET", "/api/v1/cases")[0]["query"]
    assert query["status"] == ["new,open,pending"] and query["priority"] == ["urgent"]
    assert html.index("Certificado caducado") < html.index("Factura duplicada")
    assert "SLA incumplido" in html and "Abrir un caso" in html


def test_a_rep_cannot_open_cases_and_an_empty_queue_says_so(signed_in):
    html = signed_in.get("/cases").get_data(as_text=True)
    assert "la cola está vacía" in html and "/cases/new" not in html


def test_the_case_page_shows_internal_notes_and_the_status_form_for_support(sign_in):
    html = sign_in("support").get(f"/cases/{CASE_ID}").get_data(as_text=True)
    assert "Revisado el certificado." in html and "Nota interna" in html and "Lucía Fernández" in html
    assert 'name="status"' in html and 'value="resolved"' in html and "satisfacción" not in html.lower()


def test_a_rep_may_comment_but_not_move_the_case(signed_in):
    html = signed_in.get(f"/cases/{CASE_ID}").get_data(as_text=True)
    assert 'id="f-body"' in html and "Avanzar el caso" not in html


def test_an_internal_comment_is_sent_as_not_public(sign_in, fake):
    fake.on("POST", f"/api/v1/cases/{CASE_ID}/comments", 201, {"id": "c-9"})
    reply = sign_in("support").post(f"/cases/{CASE_ID}/comments", data={"body": "Llamar al proveedor"})
    assert reply.status_code == 303
    assert fake.called("POST", ".*/comments")[0]["body"] == {"body": "Llamar al proveedor", "public": False}


def test_a_status_change_patches_with_the_version_and_a_refusal_is_polite(sign_in, fake):
    fake.on("PATCH", f"/api/v1/cases/{CASE_ID}", 409, {"status": 409, "detail": "Not allowed from closed.",
                                                       "errors": {"status": ["Not allowed from closed."]}})
    client = sign_in("support")
    reply = client.post(f"/cases/{CASE_ID}/status", data={"status": "resolved", "version": "4",
                                                          "assignee_id": MANAGER_ID, "current_assignee_id": MANAGER_ID})
    call = fake.called("PATCH", ".*")[0]
    assert call["body"] == {"status": "resolved"} and call["headers"]["If-Match"] == '"4"'
    assert reply.status_code == 409 and "Not allowed from closed." in reply.get_data(as_text=True)


def test_satisfaction_is_asked_once_resolved(sign_in, fake):
    fake.on("GET", f"/api/v1/cases/{CASE_ID}", 200, {**CASE, "status": "resolved"})
    fake.on("POST", f"/api/v1/cases/{CASE_ID}/satisfaction", 201, {"score": 4})
    client = sign_in("support")
    assert 'name="score"' in client.get(f"/cases/{CASE_ID}").get_data(as_text=True)
    client.post(f"/cases/{CASE_ID}/satisfaction", data={"score": "4", "comment": "Rápido"})
    assert fake.called("POST", ".*/satisfaction")[0]["body"] == {"score": 4, "comment": "Rápido"}


def test_a_new_case_keeps_what_was_typed_when_refused(sign_in, fake):
    fake.on("POST", "/api/v1/cases", 422, {"status": 422, "errors": {"subject": ["Missing data."]}})
    html = sign_in("support").post("/cases/new", data={"subject": "", "description": "No firma"}).get_data(
        as_text=True)
    assert 'id="e-subject"' in html and "No firma" in html


def test_campaigns_list_hides_new_from_a_rep_and_shows_it_to_marketing(signed_in, sign_in):
    assert "/campaigns/new" not in signed_in.get("/campaigns").get_data(as_text=True)
    assert "/campaigns/new" in sign_in("marketing").get("/campaigns").get_data(as_text=True)


def test_the_live_count_sends_the_segment_built_from_the_boxes(sign_in, fake):
    html = sign_in("marketing").post("/campaigns/segment-count", headers={"HX-Request": "true"}, data={
        "country": "es, mx", "lifecycle_stage": ["prospect", "active_customer"], "annual_revenue_min": "1.000.000",
        "industry": ""}).get_data(as_text=True)
    segment = fake.called("POST", "/api/v1/campaigns/segment-count")[0]["body"]["segment"]
    assert segment["country"] == ["es", "mx"] and segment["lifecycle_stage"] == ["prospect", "active_customer"]
    assert segment["industry"] == [] and segment["annual_revenue_min"] == "1.000.000"
    assert "<html" not in html and "12 contactos coinciden" in html


def test_a_refused_segment_shows_its_error_beside_the_box(sign_in, fake):
    fake.on("POST", "/api/v1/campaigns", 422, {"status": 422, "errors": {
        "segment.country.0": ["ISO 3166-1 alpha-2 code, e.g. ES."]}})
    html = sign_in("marketing").post("/campaigns/new", data={
        "name": "Vendimia", "channel": "email", "country": "España", "lifecycle_stage": "prospect"}).get_data(
        as_text=True)
    assert 'id="e-country"' in html and 'value="España"' in html and 'value="prospect" checked' in html


def test_the_campaign_page_offers_build_then_launch_and_shows_roi(sign_in, fake):
    client = sign_in("marketing")
    html = client.get(f"/campaigns/{CAMPAIGN_ID}").get_data(as_text=True)
    assert "Generar los miembros" in html and "Lanzar" not in html and "150\xa0%" in html
    assert "José García" in html and "Seleccionado" in html
    fake.on("GET", f"/api/v1/campaigns/{CAMPAIGN_ID}", 200, {**CAMPAIGN, "member_count": 1})
    assert "Lanzar a 1 miembros" in client.get(f"/campaigns/{CAMPAIGN_ID}").get_data(as_text=True)


def test_building_and_launching_post_to_the_api(sign_in, fake):
    fake.on("POST", f"/api/v1/campaigns/{CAMPAIGN_ID}/members/build", 200,
            {"campaign_id": CAMPAIGN_ID, "added": 12, "removed": 0, "kept": 0, "total": 12})
    fake.on("POST", f"/api/v1/campaigns/{CAMPAIGN_ID}/launch", 202, CAMPAIGN)
    client = sign_in("marketing")
    client.post(f"/campaigns/{CAMPAIGN_ID}/build")
    client.post(f"/campaigns/{CAMPAIGN_ID}/launch", data={"version": "3"})
    assert "12 miembros" in client.get(f"/campaigns/{CAMPAIGN_ID}").get_data(as_text=True)
    assert fake.called("POST", ".*/launch")[0]["headers"]["If-Match"] == '"3"'
