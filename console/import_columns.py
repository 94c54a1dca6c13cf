"""The import's mapping page: each field the API takes, called for people in
their language (its code beside, as a file's header may already use it), and
a first choice for each column of the file from its header: the field's own
name, or what people call it in Spanish or in English ("Correo electrónico",
"E-mail address", "NIF/CIF"). Every choice stays theirs to change."""
from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l

from console import labels as L

ADDRESS = [f"billing_address_{p}" for p in ("street", "city", "postal_code", "country")]
# The columns each kind takes, named as its export names them (tests hold them to the services').
FIELDS = {
    "contacts": ["first_name", "last_name", "nickname", "email", "phone", "title", "account_id", "role",
                 "reports_to_id", "lifecycle_stage", "owner_id", "interests", "notes", "id"],
    "accounts": ["name", "industry", "segment", "country", "region", "city", "website", "tax_id", *ADDRESS,
                 "annual_revenue", "annual_revenue_currency", "employees", "owner_id", "parent_account_id", "tags",
                 "notes", "id"],
    "opportunities": ["name", "account_id", "primary_contact_id", "amount", "amount_currency", "close_date", "stage",
                      "probability", "forecast_category", "owner_id", "description", "campaign_id", "id"],
}

# Each field by its name for people (the record's own labels); the links by what the column must hold, an id.
LABELS = {
    **L.FIELDS, "billing_address_street": _l("Billing street"),
    "billing_address_city": _l("Billing city"), "billing_address_postal_code": _l("Billing postal code"),
    "billing_address_country": _l("Billing country"), "annual_revenue_currency": _l("Annual revenue's currency"),
    "amount_currency": _l("Amount's currency"), "account_id": _l("Account's id"),
    "reports_to_id": _l("Boss's contact id"), "owner_id": _l("Owner's user id"),
    "parent_account_id": _l("Parent account's id"), "primary_contact_id": _l("Primary contact's id"),
    "campaign_id": _l("Campaign's id"), "id": _l("Id of a record to update"),
}

# What people write in a header for a field, as ``plain()`` leaves it, beyond the field's own name.
SAID = {
    "contacts": {
        "first_name": ["nombre", "nombre de pila", "given name", "firstname"],
        "last_name": ["apellido", "apellidos", "primer apellido", "surname", "family name", "lastname"],
        "nickname": ["apodo", "alias"],
        "email": ["correo", "correo electronico", "e mail", "mail", "email address", "e mail address",
                  "direccion de correo", "direccion de email"],
        "phone": ["telefono", "tel", "tlf", "movil", "telefono movil", "numero de telefono", "celular", "phone number",
                  "mobile", "telephone"],
        "title": ["cargo", "puesto", "job title", "position"],
        "role": ["rol", "papel"],
        "lifecycle_stage": ["etapa", "etapa del ciclo de vida", "ciclo de vida", "lifecycle"],
        "interests": ["intereses"],
        "notes": ["notas", "observaciones", "comentarios", "comments"],
    },
    "accounts": {
        "name": ["nombre", "empresa", "razon social", "nombre de la empresa", "cuenta", "company", "company name",
                 "account", "account name"],
        "industry": ["sector", "industria"],
        "segment": ["segmento"],
        "country": ["pais", "country code"],
        "region": ["provincia", "comunidad autonoma", "estado", "state", "province"],
        "city": ["ciudad", "localidad", "poblacion", "municipio", "town"],
        "website": ["web", "sitio web", "pagina web", "url", "web site", "dominio", "domain"],
        "tax_id": ["nif", "cif", "nif cif", "cif nif", "nif iva", "vat", "vat number", "tax number", "rfc", "ruc",
                   "cuit", "nit", "rut"],
        "billing_address_street": ["direccion", "calle", "domicilio", "street", "address"],
        "billing_address_postal_code": ["codigo postal", "cp", "postal code", "zip", "zip code"],
        "annual_revenue": ["facturacion", "facturacion anual", "ingresos", "ingresos anuales", "revenue"],
        "annual_revenue_currency": ["moneda", "divisa", "currency"],
        "employees": ["empleados", "numero de empleados", "plantilla", "headcount"],
        "tags": ["etiquetas"],
        "notes": ["notas", "observaciones", "comentarios", "comments"],
    },
    "opportunities": {
        "name": ["nombre", "oportunidad", "negocio", "deal", "deal name", "opportunity"],
        "amount": ["importe", "valor", "value"],
        "amount_currency": ["moneda", "divisa", "currency"],
        "close_date": ["fecha de cierre", "fecha cierre", "cierre", "expected close date"],
        "stage": ["etapa", "fase"],
        "probability": ["probabilidad"],
        "forecast_category": ["categoria de prevision", "prevision"],
        "description": ["descripcion"],
    },
}


def plain(header: str) -> str:
    """A header as compared: no accents, lower case, words split by one space ("E-Mail_Adresse " → "e mail adresse")."""
    folded = unicodedata.normalize("NFKD", header or "")
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    return re.sub(r"[^0-9a-z]+", " ", folded).strip()


def choices(kind: str) -> list[tuple[str, str]]:
    """The options of a column's select: each field by its name for people, its code beside."""
    return [(code, f"{LABELS[code]} ({code})" if code in LABELS else code) for code in FIELDS[kind]]


def guesses(kind: str, header: list[str]) -> list[str]:
    """A field for each column (or "" to skip it); no field is guessed for two
    columns. A header matches with its words apart or run together ("C.P."
    is "cp", "E-Mail" is "email")."""
    said = {plain(code): code for code in FIELDS[kind]}
    for code, names in SAID.get(kind, {}).items():
        said.update({name: code for name in names if name not in said})
    run_together = {name.replace(" ", ""): code for name, code in said.items()}
    said.update({name: code for name, code in run_together.items() if name not in said})
    taken: set[str] = set()
    out = []
    for column in header:
        words = plain(column)
        code = said.get(words) or said.get(words.replace(" ", ""), "")
        out.append("" if code in taken else code)
        taken.add(code)
    return out
