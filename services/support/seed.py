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


def seed(ctx) -> None:
    agents = ctx.by_role("support")
    if not agents or not ctx.accounts:
        return
    rng = ctx.rng
    client = ctx.client
    contacts: dict[str, list[dict]] = {}
    for contact in ctx.contacts:
        contacts.setdefault(contact.get("account_id"), []).append(contact)
    accounts = rng.sample(ctx.accounts, min(len(ctx.accounts), 24))
    cases: list[dict] = []

    def open_case(account: dict, agent: dict, subject, description, channel, priority) -> dict:
        contact = rng.choice(contacts.get(account["id"]) or [None])
        case = client.post("/api/v1/cases", {
            "subject": subject, "description": description, "channel": channel, "priority": priority,
            "account_id": account["id"], "contact_id": contact["id"] if contact else None,
        }, token=ctx.token_for(agent))
        cases.append(case)
        return case

    def reply(case: dict, agent: dict, body: str, public: bool = True) -> None:
        client.post(f"/api/v1/cases/{case['id']}/comments", {"body": body, "public": public},
                    token=ctx.token_for(agent))

    def move(case: dict, agent: dict, status: str) -> None:
        client.patch(f"/api/v1/cases/{case['id']}", {"status": status}, token=ctx.token_for(agent))

    # Breached: a short urgent policy for a moment, then the real one back.
    policy = client.get("/api/v1/sla-policy")
    client.put("/api/v1/sla-policy", {"urgent": {"first_response_seconds": 5, "resolution_seconds": 30}})
    try:
        for account in accounts[:3]:
            subject, description, channel, _ = rng.choice([s for s in SUBJECTS if s[3] in ("urgent", "high")])
            open_case(account, rng.choice(agents), subject, description, channel, "urgent")
    finally:
        client.put("/api/v1/sla-policy", {"urgent": policy["urgent"]})

    # Open: new, in progress and waiting on the customer.
    for i, account in enumerate(accounts[3:13]):
        agent = agents[i % len(agents)]
        case = open_case(account, agent, *rng.choice(SUBJECTS))
        if i % 3 >= 1:
            reply(case, agent, "Gracias por avisarnos; lo estamos revisando.")
        if i % 3 == 2:
            reply(case, agent, "Pedimos al cliente una captura del error.", public=False)
            move(case, agent, "pending")

    # Resolved (some closed) and rated: mostly happy customers, a few unhappy ones.
    for i, account in enumerate(accounts[13:]):
        agent = agents[i % len(agents)]
        case = open_case(account, agent, *rng.choice(SUBJECTS))
        reply(case, agent, "Estamos en ello.")
        reply(case, agent, rng.choice(RESOLUTIONS))
        move(case, agent, "resolved")
        score = rng.choice([5, 5, 4, 4, 3, 2, 1])
        client.post(f"/api/v1/cases/{case['id']}/satisfaction", {"score": score, "comment": FEEDBACK[score]})
        if i % 2:
            move(case, agent, "closed")

    # By e-mail: a customer writes in, and answers the reference in a reply.
    writer = next((c for c in ctx.contacts if c.get("email") and c.get("account_id")), None)
    if writer is not None:
        case = _inbound(client, writer, "Consulta sobre el contrato de mantenimiento",
                        "Buenos días, ¿el contrato cubre las actualizaciones de este año?")
        cases.append(case)
        _inbound(client, writer, f"Re: {case['reference']} Consulta sobre el contrato de mantenimiento",
                 "Añado que tenemos 40 licencias.\n\n> Buenos días, ¿el contrato cubre las actualizaciones?")
    ctx.extra["cases"] = cases


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
