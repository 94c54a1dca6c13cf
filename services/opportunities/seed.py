"""Demo pipeline: deals in every stage with line items, created by the
reps who own the accounts (so every event flows as in real use), a few won
and lost this quarter, and quotas for each rep for the current quarter and
month set by their managers."""
from __future__ import annotations

from datetime import date, timedelta, timezone, datetime
from decimal import Decimal

from services.opportunities import rules

# code, description, unit price (EUR), usual quantities
PRODUCTS = [
    ("ERP-LIC", "Licencia ERP Cadena Gestión (usuario/año)", "450.00", (5, 10, 12, 20, 35)),
    ("ERP-IMPL", "Implantación ERP (jornada de consultoría)", "780.00", (5, 8, 12, 20)),
    ("CRM-LIC", "Licencia CRM (usuario/año)", "320.00", (5, 10, 15, 25)),
    ("SGA-MOD", "Módulo de gestión de almacén", "6500.00", (1,)),
    ("FACT-E", "Facturación electrónica (conector Facturae / CFDI)", "2400.00", (1,)),
    ("BI-PACK", "Paquete de cuadros de mando", "3900.00", (1, 2)),
    ("FORM", "Formación presencial (jornada)", "650.00", (1, 2, 3, 5)),
    ("SOP-24", "Soporte 24x7 (anual)", "5200.00", (1,)),
    ("MIG-DAT", "Migración de datos", "2850.50", (1,)),
    ("HW-TPV", "Terminal punto de venta", "899.90", (2, 4, 6, 10)),
]
FAMILIES = {"ERP-LIC": "Software", "CRM-LIC": "Software", "SGA-MOD": "Software", "BI-PACK": "Analítica",
            "FACT-E": "Conectores", "ERP-IMPL": "Servicios", "FORM": "Servicios", "SOP-24": "Servicios",
            "MIG-DAT": "Servicios", "HW-TPV": "Hardware"}
# Units of EUR (the demo's base currency) per unit: what converts the pipeline, the forecast and lifetime value.
RATES = {"USD": "0.925", "MXN": "0.0512", "GBP": "1.1650", "COP": "0.000231"}
# how many deals of each kind, out of 20 (every stage appears)
MIX = (["prospecting"] * 5 + ["qualification"] * 4 + ["proposal"] * 3 + ["negotiation"] * 3
       + ["won"] * 3 + ["lost"] * 2)
WIN_REASONS = ["Mejor precio total", "Plazo de implantación más corto", "Referencias en su sector",
               "Integración con su facturación electrónica"]
LOSS_REASONS = ["Precio", "Eligieron a la competencia", "Proyecto aplazado", "Sin presupuesto este año"]
USD_RATE = Decimal("1.08")


def _price(eur: str, currency: str) -> str:
    amount = Decimal(eur) if currency == "EUR" else rules.cents(Decimal(eur) * USD_RATE)
    return f"{amount:.2f}"


def _day_between(rng, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, max(0, (end - start).days)))


def seed_catalogue(ctx) -> None:
    """The product catalogue (so deal lines are named from it) and exchange rates into EUR."""
    existing = {p["code"] for p in ctx.client.get("/api/v1/products?limit=200")["items"]}
    for code, text, price, _ in PRODUCTS:
        if code not in existing:
            ctx.client.post("/api/v1/products", {"code": code, "name": text.split(" (")[0], "family": FAMILIES[code],
                                                 "unit_price": {"amount": price, "currency": "EUR"}})
    for currency, rate in RATES.items():
        ctx.client.put(f"/api/v1/exchange-rates/{currency}", {"rate": rate})


def seed(ctx) -> None:
    seed_catalogue(ctx)
    rng = ctx.rng
    today = datetime.now(timezone.utc).date()
    quarter, month = rules.quarter_of(today), rules.month_of(today)
    quarter_start, quarter_end = rules.parse_period(quarter)
    next_quarter_end = rules.end_of_quarter(quarter_end + timedelta(days=1))
    users = {u["id"]: u for u in ctx.users}
    contacts: dict[str, list[dict]] = {}
    for contact in ctx.contacts:
        contacts.setdefault(contact.get("account_id"), []).append(contact)

    kinds = list(MIX)
    rng.shuffle(kinds)
    for index, account in enumerate(ctx.accounts):
        owner = users.get(account["owner_id"])
        token = ctx.token_for(owner) if owner and owner["role"] in ("rep", "manager") else None
        currency = "EUR" if account.get("country") == "ES" else "USD"
        for n in range(rng.randint(1, 3)):
            kind = kinds[(index * 3 + n) % len(kinds)]
            _deal(ctx, rng, account, contacts.get(account["id"], []), token, currency, kind, today,
                  quarter_start, next_quarter_end)

    for rep in (u for u in ctx.users if u["role"] == "rep"):
        manager = users.get(rep.get("manager_id"))
        token = ctx.token_for(manager) if manager else None
        currency = "EUR" if rep.get("team") == "Iberia" else "USD"
        quarterly = Decimal(rng.randrange(60_000, 140_000, 5_000))
        for period, amount in ((quarter, quarterly), (month, rules.cents(quarterly / 3))):
            ctx.client.put(f"/api/v1/quotas/{rep['id']}/{period}",
                           {"amount": {"amount": f"{amount:.2f}", "currency": currency}}, token=token)


def _deal(ctx, rng, account, people, token, currency, kind, today, quarter_start, horizon) -> None:
    products = rng.sample(PRODUCTS, rng.randint(1, 3))
    lines = [{"product_code": code, "description": text, "quantity": rng.choice(quantities),
              "unit_price": {"amount": _price(price, currency), "currency": currency}}
             for code, text, price, quantities in products]
    short = account["name"].split(" S.")[0].split(" SpA")[0]
    closed = kind in ("won", "lost")
    if closed:
        close_date = _day_between(rng, quarter_start, today)
    elif rng.random() < 0.3:  # some deals close this month, whatever day of the month the demo starts on
        month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        close_date = _day_between(rng, today, month_end)
    else:
        close_date = _day_between(rng, today + timedelta(days=3), horizon)
    contact = rng.choice(people)["id"] if people else None
    deal = ctx.client.post("/api/v1/opportunities", {
        "name": f"{products[0][1].split(' (')[0]} — {short}", "account_id": account["id"],
        "primary_contact_id": contact, "close_date": close_date.isoformat(), "line_items": lines,
        "description": rng.choice([None, "Piden demo con datos reales.", "Decisión en comité de dirección.",
                                   "Compiten con una solución local."]),
    }, token=token)
    target = {"won": "negotiation", "lost": rng.choice(["qualification", "proposal"])}.get(kind, kind)
    for stage in rules.OPEN_STAGES[1:rules.OPEN_STAGES.index(target) + 1]:
        deal = ctx.client.patch(f"/api/v1/opportunities/{deal['id']}", {"stage": stage}, token=token)
    if kind == "won":
        ctx.client.post(f"/api/v1/opportunities/{deal['id']}/win",
                        {"reason": rng.choice(WIN_REASONS), "close_date": close_date.isoformat()}, token=token)
    elif kind == "lost":
        ctx.client.post(f"/api/v1/opportunities/{deal['id']}/lose",
                        {"reason": rng.choice(LOSS_REASONS), "close_date": close_date.isoformat()}, token=token)
