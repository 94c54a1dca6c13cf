"""Demo campaigns, created by the marketing user through the gateway: an
e-mail campaign to food & beverage prospects in Spain (launched: the local
SMTP sink receives its mail) and a trade fair in Mexico, each with members
built from the replica and a few responses."""
from __future__ import annotations

import time

FOOD = "Alimentación y bebidas"

EMAIL_TEMPLATES = {
    "prospect": {
        "subject": "{first_name}, le invitamos a la Cata Digital 2027",
        "body": "Hola {first_name}:\n\nEn {campaign_name} mostramos cómo empresas como {account_name} "
                "digitalizan su cadena de suministro y su exportación.\n\nResponda a este correo y le "
                "reservamos plaza.\n\nUn saludo,\nEquipo de Marketing",
    },
    "customer": {
        "subject": "{first_name}, novedades para clientes de {account_name}",
        "body": "Hola {first_name}:\n\nGracias por confiar en nosotros. Como cliente, {account_name} tiene "
                "acceso anticipado a {campaign_name}.\n\nUn saludo,\nEquipo de Marketing",
    },
}


def _members(ctx, campaign_id: str, token: str) -> list[dict]:
    page = ctx.client.get(f"/api/v1/campaigns/{campaign_id}/members?limit=200", token=token)
    return page["items"]


def _build_when_replicated(ctx, campaign_id: str, token: str, expected: int, deadline: float = 60.0) -> dict:
    """The replica fills from accounts' events a moment after they are
    created: rebuild until it holds what the demo created (or time runs out)."""
    stop = time.monotonic() + deadline
    while True:
        result = ctx.client.post(f"/api/v1/campaigns/{campaign_id}/members/build", token=token)
        if result["total"] >= expected or time.monotonic() > stop:
            return result
        time.sleep(0.5)


def seed(ctx) -> None:
    marketing = ctx.by_role("marketing")
    if not marketing:
        return
    owner = marketing[0]
    token = ctx.token_for(owner)
    rng = ctx.rng
    accounts = {a["id"]: a for a in ctx.accounts}
    in_mexico = [c for c in ctx.contacts if accounts.get(c.get("account_id"), {}).get("country") == "MX"]

    fair = ctx.client.post("/api/v1/campaigns", {
        "name": "Expo Industria Monterrey 2027", "channel": "event", "owner_id": owner["id"],
        "description": "Stand propio en la feria; invitaciones a clientes y prospectos de México.",
        "starts_at": "2027-03-09T16:00:00Z", "ends_at": "2027-03-11T23:00:00Z",
        "budget": {"amount": "350000.00", "currency": "MXN"}, "actual_cost": {"amount": "327450.80", "currency": "MXN"},
        "segment": {"country": ["MX"]},
    }, token=token)
    _build_when_replicated(ctx, fair["id"], token, len(in_mexico))

    mailing = ctx.client.post("/api/v1/campaigns", {
        "name": "Cata Digital 2027", "channel": "email", "owner_id": owner["id"],
        "description": "Webinar para bodegas, conserveras y alimentación en España.",
        "starts_at": "2027-01-20T09:00:00Z", "ends_at": "2027-02-28T18:00:00Z",
        "budget": {"amount": "12000.00", "currency": "EUR"},
        "segment": {"industry": [FOOD], "country": ["ES"], "lifecycle_stage": ["prospect", "potential_customer"]},
        "templates": EMAIL_TEMPLATES,
    }, token=token)
    ctx.client.post(f"/api/v1/campaigns/{mailing['id']}/members/build", token=token)

    # The fair: launched (activated), with visitors who came and one who bought.
    ctx.client.post(f"/api/v1/campaigns/{fair['id']}/launch", token=token)
    visitors = _members(ctx, fair["id"], token)
    for i, member in enumerate(rng.sample(visitors, min(4, len(visitors)))):
        status = "converted" if i == 0 else "responded"
        ctx.client.patch(f"/api/v1/campaigns/{fair['id']}/members/{member['contact_id']}", {"status": status},
                         token=token)

    # The mailing: one prospect had unsubscribed; the rest get mail; two answer.
    members = _members(ctx, mailing["id"], token)
    chosen = rng.sample(members, min(3, len(members)))
    if chosen:
        ctx.client.patch(f"/api/v1/campaigns/{mailing['id']}/members/{chosen[0]['contact_id']}",
                         {"status": "opted_out"}, token=token)
    ctx.client.post(f"/api/v1/campaigns/{mailing['id']}/launch", token=token)
    for member in chosen[1:]:
        ctx.client.patch(f"/api/v1/campaigns/{mailing['id']}/members/{member['contact_id']}",
                         {"status": "responded"}, token=token)
    ctx.extra["campaigns"] = [fair, mailing, _upsell(ctx, owner, token)]


def _upsell(ctx, owner: dict, token: str) -> dict:
    """A campaign for the accounts that own a product (segment by products)."""
    upsell = ctx.client.post("/api/v1/campaigns", {
        "name": "Renovación del soporte 24x7", "channel": "email", "owner_id": owner["id"],
        "description": "Para las cuentas que ya tienen el soporte 24x7: la renovación con formación incluida.",
        "budget": {"amount": "3000.00", "currency": "EUR"}, "segment": {"products": ["SOP-24"]},
        "templates": EMAIL_TEMPLATES,
    }, token=token)
    _build_when_replicated(ctx, upsell["id"], token, 1, deadline=20.0)  # the won deals' lines arrive as events
    return upsell
