"""Users for admins, the team for managers, the handover wizard and API clients."""
from __future__ import annotations

from tests.console.fake_api import HANDOVER_ID, MANAGER_ID, USER_ID, USERS


def test_a_rep_sees_no_users_link_and_is_told_politely_at_the_address(signed_in):
    assert 'href="/admin/users"' not in signed_in.get("/").get_data(as_text=True)
    reply = signed_in.get("/admin/users")
    assert reply.status_code == 403 and "No tienes permiso" in reply.get_data(as_text=True)


def test_an_admin_manages_users(sign_in, fake):
    html = sign_in("admin", team=None).get("/admin/users").get_data(as_text=True)
    assert f'href="/admin/users/{USER_ID}/edit"' in html and "Desactivar" in html and "/admin/api-clients" in html
    assert "depende de Lucía Fernández" in html


def test_a_manager_sees_their_team_read_only_and_may_hand_over_their_reports(sign_in, fake):
    html = sign_in("manager", sub=MANAGER_ID).get("/admin/users?team=LatAm").get_data(as_text=True)
    teams = [c["query"].get("team") for c in fake.called("GET", "/api/v1/users")]
    assert ["Iberia"] in teams and ["LatAm"] not in teams
    assert "/edit" not in html and "Desactivar" not in html and f"/admin/handovers/new?from={USER_ID}" in html


def test_a_new_user_refused_keeps_what_was_typed(sign_in, fake):
    fake.on("POST", "/api/v1/users", 409, {"status": 409, "detail": "The e-mail is taken.",
                                          "errors": {"email": ["Already in use."]}})
    reply = sign_in("admin", team=None).post("/admin/users/new", data={
        "name": "Ana", "email": "ana@x.test", "role": "rep", "password": "12345678"})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 409 and 'id="e-email"' in html and 'value="ana@x.test"' in html


def test_deactivating_patches_active_with_the_version(sign_in, fake):
    fake.on("PATCH", f"/api/v1/users/{USER_ID}", 200, USERS[0])
    sign_in("admin", team=None).post(f"/admin/users/{USER_ID}/active", data={"active": "0", "version": "2"})
    call = fake.called("PATCH", ".*")[0]
    assert call["body"] == {"active": False} and call["headers"]["If-Match"] == '"2"'


def test_an_edit_without_a_password_keeps_it(sign_in, fake):
    fake.on("PATCH", f"/api/v1/users/{USER_ID}", 200, USERS[0])
    sign_in("admin", team=None).post(f"/admin/users/{USER_ID}/edit", data={
        "name": "Javier", "email": "j@x.test", "role": "rep", "team": "Iberia", "manager_id": "", "password": "",
        "version": "2"})
    assert "password" not in fake.called("PATCH", ".*")[0]["body"]


def test_the_handover_starts_and_its_progress_polls_until_done(sign_in, fake):
    fake.on("POST", f"/api/v1/users/{USER_ID}/handover", 202, {"handover_id": HANDOVER_ID})
    client = sign_in("manager", sub=MANAGER_ID)
    reply = client.post("/admin/handovers/new", data={"from_user_id": USER_ID, "to_user_id": MANAGER_ID})
    assert reply.status_code == 303 and reply.headers["Location"].endswith(HANDOVER_ID)
    assert fake.called("POST", ".*/handover")[0]["body"] == {"to_user_id": MANAGER_ID}
    region = client.get(f"/admin/handovers/{HANDOVER_ID}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in region and 'hx-trigger="every 1s"' in region and "1 de 2" in region


def test_a_handover_without_a_successor_says_so_beside_the_field(sign_in, fake):
    fake.on("POST", f"/api/v1/users/{USER_ID}/handover", 422, {"status": 422, "errors": {
        "to_user_id": ["Field may not be null."]}})
    html = sign_in("admin", team=None).post("/admin/handovers/new", data={"from_user_id": USER_ID}).get_data(
        as_text=True)
    assert 'id="e-to_user_id"' in html


def test_an_api_client_secret_is_shown_once_and_a_client_can_be_revoked(sign_in, fake):
    fake.on("POST", "/api/v1/api-clients", 201, {"id": "ac-2", "name": "BI", "role": "readonly",
                                                "client_id": "ac-2", "client_secret": "cs_secret", "active": True})
    fake.on("DELETE", "/api/v1/api-clients/11111111-2222-4333-8444-555555555555", 204)
    client = sign_in("admin", team=None)
    assert "cs_secret" in client.post("/admin/api-clients", data={"name": "BI", "role": "readonly"}).get_data(
        as_text=True)
    assert "cs_secret" not in client.get("/admin/api-clients").get_data(as_text=True)
    client.post("/admin/api-clients/11111111-2222-4333-8444-555555555555/revoke", data={"name": "BI"})
    assert fake.called("DELETE", ".*")
