"""Forms write through the API: its problems show beside the fields, what was
typed stays, a stale version offers a reload, and a call is logged."""
from __future__ import annotations

from tests.console.fake_api import ACCOUNT, ACCOUNT_ID, CONTACT, CONTACT_ID


def test_a_new_contact_goes_to_the_api_with_an_idempotency_key(signed_in, fake):
    fake.on("POST", "/api/v1/contacts", 201, CONTACT)
    form = {"first_name": "Ana", "last_name": "", "email": "ana@valdeolmos.es", "interests": "vino, exportación",
            "account_id": ACCOUNT_ID, "idempotency_key": "k-1"}
    reply = signed_in.post("/contacts/new", data=form)
    assert reply.status_code == 303 and reply.headers["Location"].endswith(f"/contacts/{CONTACT_ID}")
    call = fake.called("POST", "/api/v1/contacts")[0]
    assert call["headers"]["Idempotency-Key"] == "k-1"
    assert call["body"]["last_name"] is None and call["body"]["interests"] == ["vino", "exportación"]


def test_bad_input_shows_the_api_messages_beside_the_fields_and_keeps_what_was_typed(signed_in, fake):
    fake.on("POST", "/api/v1/contacts", 422, {"status": 422, "detail": "The request has invalid fields; see errors.",
                                             "errors": {"email": ["Not a valid email address."]}})
    reply = signed_in.post("/contacts/new", data={"first_name": "Ana", "email": "not-an-email"})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert 'id="e-email"' in html and "Not a valid email address." in html and 'aria-invalid="true"' in html
    assert 'value="not-an-email"' in html and 'value="Ana"' in html
    assert "Corrige los campos marcados" in html


def test_the_apis_reasons_are_said_in_the_users_language(signed_in, fake):
    """Known messages whole or by their shape; one the console does not know stays as the API wrote it."""
    fake.on("POST", "/api/v1/contacts", 422, {"status": 422, "errors": {
        "email": ["Not a valid e-mail address: An email address must have an @-sign."],
        "lifecycle_stage": ["Must be one of: prospect, lead."], "title": ["Longer than maximum length 200."],
        "phone": ["A reason the console has never seen."]}})
    form = {"first_name": "Ana", "email": "ana.valdeolmos.es", "title": "t" * 201}
    spanish = signed_in.post("/contacts/new", data=form).get_data(as_text=True)
    assert "No es una dirección de correo válida: Una dirección de correo debe llevar una arroba (@)." in spanish
    assert "Debe ser uno de: prospect, lead." in spanish and "Supera la longitud máxima de 200." in spanish
    assert "A reason the console has never seen." in spanish and 'value="ana.valdeolmos.es"' in spanish
    english = signed_in.post("/contacts/new?lang=en", data=form).get_data(as_text=True)
    assert "Not a valid e-mail address: An email address must have an @-sign." in english
    assert "Must be one of: prospect, lead." in english and "Longer than maximum length 200." in english


def test_a_conflicts_sentence_is_said_in_the_users_language_too(signed_in, fake):
    fake.on("POST", "/api/v1/contacts", 409, {"status": 409, "detail": "A contact with the email ana@valdeolmos.es "
                                              "already exists: 5b0e8a8e-0c59-4a43-9d61-3f3f0e0d8a11."})
    reply = signed_in.post("/contacts/new", data={"first_name": "Ana", "email": "ana@valdeolmos.es"})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 409 and "Ya existe un contacto con el correo ana@valdeolmos.es." in html
    assert 'value="ana@valdeolmos.es"' in html


def test_nested_errors_land_beside_their_field(signed_in, fake):
    fake.on("POST", "/api/v1/accounts", 422, {"status": 422, "errors": {"annual_revenue.amount": ["Not a number."]}})
    html = signed_in.post("/accounts/new", data={"name": "X", "annual_revenue_amount": "mucho",
                                                 "annual_revenue_currency": "EUR"}).get_data(as_text=True)
    assert 'id="e-annual_revenue"' in html and "Not a number." in html and 'value="mucho"' in html


def test_a_stale_edit_says_someone_else_changed_it_and_offers_a_reload(signed_in, fake):
    fake.on("PATCH", f"/api/v1/accounts/{ACCOUNT_ID}", 412, {"status": 412, "detail": "stale"})
    reply = signed_in.post(f"/accounts/{ACCOUNT_ID}/edit", data={"name": "Nuevo nombre", "version": "2"})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 412
    assert "Alguien ha cambiado este registro" in html and f'href="/accounts/{ACCOUNT_ID}/edit"' in html
    assert 'value="Nuevo nombre"' in html
    assert fake.called("PATCH", f"/api/v1/accounts/{ACCOUNT_ID}")[0]["headers"]["If-Match"] == '"2"'


def test_an_edit_form_starts_from_the_record(signed_in):
    html = signed_in.get(f"/accounts/{ACCOUNT_ID}/edit").get_data(as_text=True)
    assert f'value="{ACCOUNT["name"]}"' in html and 'name="version" value="3"' in html
    assert 'value="9200000.00"' in html


def test_logging_a_call_records_it_done_in_one_request(signed_in, fake):
    fake.on("POST", "/api/v1/activities", 201, {"id": "a-1", "status": "done"})
    reply = signed_in.post(f"/accounts/{ACCOUNT_ID}/calls", data={
        "subject": "Precio del lote", "contact_id": CONTACT_ID, "notes": "Quieren descuento",
        "agreements": "Enviar oferta\nLlamar el lunes", "outcome": ""})
    assert reply.status_code == 303
    created = fake.called("POST", "/api/v1/activities")[0]["body"]
    assert created["type"] == "call" and created["account_id"] == ACCOUNT_ID and created["contact_id"] == CONTACT_ID
    assert created["agreements"] == ["Enviar oferta", "Llamar el lunes"]
    assert created["status"] == "done" and created["notes"] == "Quieren descuento"
    assert not fake.called("POST", "/api/v1/activities/.*/complete")


def test_a_call_the_api_refuses_is_not_completed(signed_in, fake):
    fake.on("POST", "/api/v1/activities", 422, {"status": 422, "errors": {"subject": ["Too long."]}})
    reply = signed_in.post(f"/accounts/{ACCOUNT_ID}/calls", data={"subject": "x" * 400})
    assert reply.status_code == 422 and "Demasiado largo." in reply.get_data(as_text=True)
    assert not fake.called("POST", "/api/v1/activities/.*/complete")
