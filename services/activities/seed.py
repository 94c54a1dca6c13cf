"""Demo agenda: a realistic working week for each rep — calls, visits and
meetings with the reps' own accounts and contacts (minutes and agreements for
the ones already past), tasks with due dates (one or two overdue) and
reminders on what is still ahead. Created through the gateway as the reps."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

ZONES = {"Iberia": "Europe/Madrid", "LatAm": "America/Mexico_City"}

CALLS = ["Llamada de seguimiento con {contact}", "Confirmar condiciones de pago con {contact}",
         "Llamada: plazos de entrega con {contact}", "Resolver dudas de la oferta con {contact}"]
MEETINGS = ["Presentación de propuesta a {account}", "Revisión trimestral con {account}",
            "Demo del producto para el equipo de {contact}", "Negociación de renovación con {account}"]
VISITS = ["Visita comercial a {account}", "Visita a planta de {account}", "Visita de cortesía a {account}"]
EMAILS = ["Enviar resumen de la reunión a {contact}", "Enviar catálogo actualizado a {contact}"]
TASKS = ["Preparar oferta para {account}", "Actualizar previsión de cierre de {account}",
         "Enviar contrato revisado a {account}", "Pedir referencias de cliente para {account}",
         "Revisar incidencias abiertas de {account}"]
OUTCOMES = ["Interesados; piden oferta formal.", "Aplazan la decisión al próximo trimestre.",
            "Pedido piloto confirmado.", "Necesitan aprobación de la dirección financiera.",
            "Comparando con la competencia; el precio es la clave."]
MINUTES = [
    "Acta: asistieron {contact} y el equipo de compras. Se repasaron volúmenes del último año y la "
    "propuesta de servicio; preocupa el plazo de implantación.",
    "Acta: {contact} presentó su situación actual. Valoran la integración con su ERP y la formación "
    "incluida; piden una referencia de su sector.",
    "Acta: revisamos la oferta punto por punto. Aceptan el alcance; la discusión se centró en el "
    "descuento por volumen y la forma de pago.",
]
AGREEMENTS = [
    ["Enviar oferta revisada antes del viernes", "Agendar demo con el equipo técnico"],
    ["Compartir caso de éxito del sector", "Nueva reunión en dos semanas"],
    ["Enviar borrador de contrato", "{contact} confirma presupuesto con dirección"],
    ["Preparar plan de implantación por fases"],
]


def _zone(team: str | None):
    try:
        return ZoneInfo(ZONES.get(team or "", "Europe/Madrid"))
    except Exception:  # no tz database: the week is in UTC
        return timezone.utc


def _at(day, hour: int, minute: int, zone) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _address(account: dict) -> str | None:
    addr = account.get("billing_address") or {}
    parts = [addr.get("street"), account.get("city") or addr.get("city")]
    return ", ".join(p for p in parts if p) or None


def _workdays(today, before: int = 2, after: int = 2) -> list:
    """A working week around today: a couple of days already past (with
    minutes to show), today, and the days ahead (with reminders)."""
    days, day = [], today
    while len([d for d in days if d < today]) < before:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            days.insert(0, day)
    if today.weekday() < 5:
        days.append(today)
    day = today
    while len([d for d in days if d > today]) < after:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


def _plan(rng, accounts: list[dict], contacts: list[dict], opportunities: list[dict], days: list, zone) -> list[dict]:
    """One rep's week: 2-3 entries a working day, plus tasks due during it."""
    plan = []

    def pick():
        account = rng.choice(accounts)
        people = [c for c in contacts if c.get("account_id") == account["id"]] or [None]
        contact = rng.choice(people)
        deals = [o for o in opportunities if o.get("account_id") == account["id"]]
        return account, contact, (rng.choice(deals) if deals and rng.random() < 0.5 else None)

    def names(account, contact):
        who = (contact or {}).get("name") or " ".join(
            p for p in ((contact or {}).get("first_name"), (contact or {}).get("last_name")) if p) or "el cliente"
        return {"account": account["name"], "contact": who}

    for day in days:
        slots = rng.sample([(9, 30, "call"), (11, 0, "visit"), (13, 0, "call"), (16, 0, "meeting"), (17, 30, "email")],
                           rng.randint(2, 3))
        for hour, minute, kind in sorted(slots):
            account, contact, deal = pick()
            starts = _at(day, hour, minute, zone)
            length = {"call": 20, "visit": 90, "meeting": 60, "email": 10}[kind]
            subject = rng.choice({"call": CALLS, "visit": VISITS, "meeting": MEETINGS, "email": EMAILS}[kind])
            entry = {"type": kind, "subject": subject.format(**names(account, contact))[:300],
                     "starts_at": starts, "ends_at": starts + timedelta(minutes=length),
                     "account_id": account["id"], "contact_id": (contact or {}).get("id"),
                     "opportunity_id": (deal or {}).get("id"), "names": names(account, contact)}
            if kind == "visit":
                entry["location"] = _address(account)
            if kind in ("meeting", "visit"):
                entry["notes"] = "Orden del día: situación actual, propuesta y próximos pasos."
            plan.append(entry)
    for _ in range(rng.randint(3, 4)):
        account, contact, deal = pick()
        due = _at(rng.choice(days), rng.choice([10, 13, 18]), 0, zone)
        plan.append({"type": "task", "subject": rng.choice(TASKS).format(**names(account, contact))[:300],
                     "due_at": due, "account_id": account["id"], "opportunity_id": (deal or {}).get("id"),
                     "names": names(account, contact)})
    return plan


def seed(ctx) -> None:
    rng = ctx.rng
    now = datetime.now(timezone.utc)
    opportunities = [o for o in ctx.extra.get("opportunities", []) if isinstance(o, dict)]
    for user in ctx.by_role("rep"):
        accounts = [a for a in ctx.accounts if a.get("owner_id") == user["id"]]
        if not accounts:
            continue
        ids = {a["id"] for a in accounts}
        contacts = [c for c in ctx.contacts if c.get("account_id") in ids]
        mine = [o for o in opportunities if o.get("account_id") in ids and o.get("owner_id", user["id"]) == user["id"]]
        zone = _zone(user.get("team"))
        days = _workdays(now.astimezone(zone).date())
        token = ctx.token_for(user)
        for entry in _plan(rng, accounts, contacts, mine, days, zone):
            names = entry.pop("names")
            when = entry.get("starts_at") or entry["due_at"]
            past = when < now
            if not past:  # reminders on what is still ahead
                entry["remind_at"] = when - (timedelta(minutes=30) if entry["type"] != "task" else timedelta(hours=2))
            body = {k: (_iso(v) if isinstance(v, datetime) else v) for k, v in entry.items() if v is not None}
            activity = ctx.client.post("/api/v1/activities", body, token=token)
            ctx.extra.setdefault("activities", []).append(activity)
            if not past:
                continue
            if entry["type"] == "task" and rng.random() < 0.4:
                continue  # left open: overdue in the agenda
            done = {"outcome": rng.choice(OUTCOMES)}
            if entry["type"] in ("meeting", "visit", "call"):
                done["notes"] = rng.choice(MINUTES).format(**names)
                done["agreements"] = [a.format(**names) for a in rng.choice(AGREEMENTS)]
            ctx.client.post(f"/api/v1/activities/{activity['id']}/complete", done, token=token)
