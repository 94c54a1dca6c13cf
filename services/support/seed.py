"""Demo cases: open, breached and resolved (with satisfaction ratings),
spread over the demo accounts and assigned to the support users.

Due times cannot be backdated through the API, so the breached cases are
made honestly: the urgent SLA policy is shortened for a moment (5 s to a
first response, 30 s to a resolution), a few urgent cases are opened and
left unanswered, and the policy is put back. Their due times were computed
at creation, so the worker marks them breached (and publishes
support.case.sla_breached) within about half a minute of seeding.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from email.message import EmailMessage

from shared.demo import DemoError

SUBJECTS = [
    # subject, description, channel, priority
    ("No se generan las facturas de noviembre", "Al cerrar el mes, la facturación se queda colgada.", "phone", "high"),
    ("Error al exportar el informe de ventas a PDF", "El botón Exportar devuelve un error genérico.", "web", "normal"),
    ("Alta de nuevos usuarios en la plataforma", "Hay que dar de alta a tres personas de compras.", "email", "low"),
    ("La app móvil no sincroniza pedidos", "Los comerciales no ven los pedidos del día en la tablet.", "chat", "high"),
    ("Duda sobre el cálculo del IVA intracomunitario", "Las facturas a Portugal salen con IVA.", "email", "normal"),
    ("Integración con el ERP caída", "Desde esta mañana no entran albaranes desde el ERP.", "phone", "urgent"),
    ("Cambio de datos fiscales", "Hemos cambiado de domicilio social; hay que actualizar las facturas.", "web", "low"),
    ("Lentitud general en la plataforma", "Las pantallas tardan más de 10 segundos en cargar.", "chat", "normal"),
    ("No llegan los correos de confirmación", "Los clientes no reciben la confirmación del pedido.", "email", "high"),
    ("Formación para el equipo nuevo", "Piden una sesión de formación de dos horas.", "phone", "low"),
    ("Certificado digital caducado", "La firma de facturas electrónicas falla por el certificado.", "web", "urgent"),
    ("Importación de tarifas con errores", "El CSV de tarifas se importa con los decimales mal.", "web", "normal"),
]
RESOLUTIONS = [
    "Hemos reprocesado la cola y ya funciona. ¿Nos confirma?",
    "Corregido en la versión publicada hoy.",
    "Le hemos enviado las instrucciones paso a paso por correo.",
    "Configuración ajustada; el problema no debería repetirse.",
]
FEEDBACK = {5: "Rápidos y muy amables.", 4: "Bien resuelto.", 3: "Correcto, aunque tardó.",
            2: "Tardaron demasiado en responder.", 1: "Tuvimos que llamar tres veces."}


class _Desk:
    """The support desk the demo plays: agents opening, answering and moving cases."""

    def __init__(self, ctx):
        self.ctx, self.rng, self.client = ctx, ctx.rng, ctx.client
        self.contacts: dict[str, list[dict]] = {}
        for contact in ctx.contacts:
            self.contacts.setdefault(contact.get("account_id"), []).append(contact)
        self.cases: list[dict] = []

    def open_case(self, account: dict, agent: dict, subject, description, channel, priority) -> dict:
        contact = self.rng.choice(self.contacts.get(account["id"]) or [None])
        case = self.client.post("/api/v1/cases", {
            "subject": subject, "description": description, "channel": channel, "priority": priority,
            "account_id": account["id"], "contact_id": contact["id"] if contact else None,
        }, token=self.ctx.token_for(agent))
        self.cases.append(case)
        return case

    def reply(self, case: dict, agent: dict, body: str, public: bool = True) -> None:
        self.client.post(f"/api/v1/cases/{case['id']}/comments", {"body": body, "public": public},
                         token=self.ctx.token_for(agent))

    def move(self, case: dict, agent: dict, status: str) -> None:
        self.client.patch(f"/api/v1/cases/{case['id']}", {"status": status}, token=self.ctx.token_for(agent))


def seed(ctx) -> None:
    agents = ctx.by_role("support")
    if not agents or not ctx.accounts:
        return
    desk, rng = _Desk(ctx), ctx.rng
    accounts = rng.sample(ctx.accounts, min(len(ctx.accounts), 24))
    _breached(desk, agents, accounts[:3])
    for i, account in enumerate(accounts[3:13]):  # open: new, in progress and waiting on the customer
        agent = agents[i % len(agents)]
        case = desk.open_case(account, agent, *rng.choice(SUBJECTS))
        if i % 3 >= 1:
            desk.reply(case, agent, "Gracias por avisarnos; lo estamos revisando.")
        if i % 3 == 2:
            desk.reply(case, agent, "Pedimos al cliente una captura del error.", public=False)
            desk.move(case, agent, "pending")
    for i, account in enumerate(accounts[13:]):  # resolved (some closed) and rated: mostly happy customers
        agent = agents[i % len(agents)]
        case = desk.open_case(account, agent, *rng.choice(SUBJECTS))
        desk.reply(case, agent, "Estamos en ello.")
        desk.reply(case, agent, rng.choice(RESOLUTIONS))
        desk.move(case, agent, "resolved")
        score = rng.choice([5, 5, 4, 4, 3, 2, 1])
        desk.client.post(f"/api/v1/cases/{case['id']}/satisfaction", {"score": score, "comment": FEEDBACK[score]})
        if i % 2:
            desk.move(case, agent, "closed")
    _by_email(desk)
    ctx.extra["cases"] = desk.cases
    desk.client.put("/api/v1/sla-policy", {"calendar": CALENDAR})  # last: the breached demo cases stay breached


# Business hours of the support desk: SLA clocks stop at night, at weekends and on Spanish public holidays.
CALENDAR = {"timezone": "Europe/Madrid", "holidays_country": "ES",
            "hours": {"mon": ["08:00", "19:00"], "tue": ["08:00", "19:00"], "wed": ["08:00", "19:00"],
                      "thu": ["08:00", "19:00"], "fri": ["08:00", "15:00"]}}


def _breached(desk: _Desk, agents: list[dict], accounts: list[dict]) -> None:
    """A short urgent policy for a moment, so these cases breach; then the real one back."""
    policy = desk.client.get("/api/v1/sla-policy")
    desk.client.put("/api/v1/sla-policy", {"urgent": {"first_response_seconds": 5, "resolution_seconds": 30}})
    try:
        for account in accounts:
            subject, description, channel, _ = desk.rng.choice([s for s in SUBJECTS if s[3] in ("urgent", "high")])
            desk.open_case(account, desk.rng.choice(agents), subject, description, channel, "urgent")
    finally:
        desk.client.put("/api/v1/sla-policy", {"urgent": policy["urgent"]})


def _by_email(desk: _Desk) -> None:
    """A customer writes in, and answers the reference in a reply."""
    writer = next((c for c in desk.ctx.contacts if c.get("email") and c.get("account_id")), None)
    if writer is None:
        return
    case = _inbound(desk.client, writer, "Consulta sobre el contrato de mantenimiento",
                    "Buenos días, ¿el contrato cubre las actualizaciones de este año?")
    desk.cases.append(case)
    _inbound(desk.client, writer, f"Re: {case['reference']} Consulta sobre el contrato de mantenimiento",
             "Añado que tenemos 40 licencias.\n\n> Buenos días, ¿el contrato cubre las actualizaciones?")


def _inbound(client, contact: dict, subject: str, body: str) -> dict:
    msg = EmailMessage()
    msg["From"] = f"{contact.get('name') or contact['email']} <{contact['email']}>"
    msg["To"] = "soporte@cadena.local"
    msg["Subject"] = subject
    msg.set_content(body)
    request = urllib.request.Request(f"{client.url}/api/v1/cases/inbound-email", data=msg.as_bytes(), method="POST",
                                     headers={"Content-Type": "message/rfc822",
                                              "Authorization": f"Bearer {client.token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise DemoError(f"POST /api/v1/cases/inbound-email → {exc.code}: {exc.read()[:300].decode(errors='replace')}") \
            from None
