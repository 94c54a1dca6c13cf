"""Demo accounts and contacts: Spanish and Latin American companies."""
from __future__ import annotations

COMPANIES = [
    # name, industry, segment, country, region, city, tax_id, revenue (EUR), employees, tags
    ("Construcciones Aranda S.L.", "Construcción", "solutions", "ES", "Castilla y León", "Burgos", "B09412345", "18500000", 140, ["obra civil"]),
    ("Bodegas Valdeolmos S.A.", "Alimentación y bebidas", "relational", "ES", "La Rioja", "Haro", "A26123987", "9200000", 65, ["exportación"]),
    ("Transportes Levante Express S.L.", "Logística", "transactional", "ES", "Comunidad Valenciana", "Valencia", "B46223311", "32000000", 310, ["flota"]),
    ("Clínica Dental Sonrisa S.L.P.", "Salud", "transactional", "ES", "Comunidad de Madrid", "Madrid", "B87654321", "2100000", 28, []),
    ("Textiles Mediterráneo S.A.", "Textil", "solutions", "ES", "Cataluña", "Sabadell", "A08334455", "27500000", 220, ["industria"]),
    ("Hotel Costa Azahar S.L.", "Hostelería", "relational", "ES", "Comunidad Valenciana", "Castellón de la Plana", "B12098765", "6400000", 90, ["turismo"]),
    ("Ingeniería Norte Cantábrico S.L.", "Ingeniería", "collaborative", "ES", "Cantabria", "Santander", "B39111222", "12800000", 75, ["proyectos"]),
    ("Distribuciones Guadalquivir S.A.", "Distribución", "transactional", "ES", "Andalucía", "Sevilla", "A41556677", "45000000", 380, ["gran cuenta"]),
    ("Software Meseta S.L.", "Tecnología", "collaborative", "ES", "Castilla-La Mancha", "Toledo", "B45667788", "4300000", 42, ["partner"]),
    ("Conservas del Cantábrico S.A.", "Alimentación y bebidas", "solutions", "ES", "País Vasco", "Bermeo", "A48998877", "21000000", 160, ["exportación"]),
    ("Agrícola Campo de Cartagena S.Coop.", "Agricultura", "relational", "ES", "Región de Murcia", "Cartagena", "F30123456", "15600000", 120, []),
    ("Farmacias Galenas S.L.", "Salud", "transactional", "ES", "Galicia", "A Coruña", "B15443322", "8700000", 60, []),
    ("Muebles Artesanos de Yecla S.L.", "Fabricación", "relational", "ES", "Región de Murcia", "Yecla", "B73221100", "5200000", 48, ["industria"]),
    ("Energías Renovables del Ebro S.A.", "Energía", "collaborative", "ES", "Aragón", "Zaragoza", "A50887766", "64000000", 410, ["gran cuenta", "proyectos"]),
    ("Grupo Editorial Alcalá S.L.", "Medios", "solutions", "ES", "Comunidad de Madrid", "Alcalá de Henares", "B28765432", "7300000", 55, []),
    ("Academia Idiomas Salamanca S.L.", "Educación", "transactional", "ES", "Castilla y León", "Salamanca", "B37001122", "1400000", 22, []),
    ("Talleres Mecánicos Asturias S.L.", "Automoción", "transactional", "ES", "Principado de Asturias", "Gijón", "B33445566", "3900000", 35, []),
    ("Inmobiliaria Bahía de Cádiz S.A.", "Inmobiliario", "relational", "ES", "Andalucía", "Cádiz", "A11224466", "11200000", 30, []),
    ("Comercializadora Azteca S.A. de C.V.", "Distribución", "transactional", "MX", "Ciudad de México", "Ciudad de México", "CAZ010203AB1", "52000000", 450, ["gran cuenta"]),
    ("Manufacturas del Bajío S.A. de C.V.", "Fabricación", "solutions", "MX", "Guanajuato", "León", "MBA990812KJ3", "38000000", 520, ["industria"]),
    ("Aceros de Monterrey S.A. de C.V.", "Metalurgia", "collaborative", "MX", "Nuevo León", "Monterrey", "AMO851120QW2", "120000000", 900, ["gran cuenta", "proyectos"]),
    ("Café de Altura Chiapas S.C.", "Alimentación y bebidas", "relational", "MX", "Chiapas", "Tapachula", "CAC120305PL9", "4600000", 70, ["exportación"]),
    ("Viñedos Valle de Uco S.A.", "Alimentación y bebidas", "relational", "AR", "Mendoza", "Tunuyán", "30-71234567-8", "13500000", 95, ["exportación"]),
    ("Logística Rioplatense S.R.L.", "Logística", "transactional", "AR", "Buenos Aires", "Buenos Aires", "30-70987654-3", "26000000", 260, ["flota"]),
    ("Agroindustrias Pampeanas S.A.", "Agricultura", "solutions", "AR", "Córdoba", "Río Cuarto", "30-69876543-2", "41000000", 300, []),
    ("Minera Atacama Norte S.A.", "Minería", "collaborative", "CL", "Antofagasta", "Antofagasta", "76.123.456-7", "210000000", 1300, ["gran cuenta", "proyectos"]),
    ("Salmones del Sur S.A.", "Alimentación y bebidas", "solutions", "CL", "Los Lagos", "Puerto Montt", "96.543.210-K", "58000000", 640, ["exportación"]),
    ("Retail Andino SpA", "Comercio minorista", "transactional", "CL", "Región Metropolitana", "Santiago", "77.888.999-1", "33000000", 410, []),
    ("Flores de la Sabana S.A.S.", "Agricultura", "relational", "CO", "Cundinamarca", "Chía", "900.123.456-7", "9800000", 210, ["exportación"]),
    ("Textiles Antioqueños S.A.S.", "Textil", "solutions", "CO", "Antioquia", "Medellín", "890.987.654-3", "24000000", 350, ["industria"]),
    ("Clínica del Caribe S.A.S.", "Salud", "relational", "CO", "Atlántico", "Barranquilla", "901.222.333-4", "17500000", 280, []),
    ("Pesquera del Pacífico S.A.C.", "Alimentación y bebidas", "transactional", "PE", "Lima", "Callao", "20512345678", "29000000", 330, ["exportación"]),
    ("Constructora Inca S.A.C.", "Construcción", "solutions", "PE", "Cusco", "Cusco", "20498765432", "14500000", 190, ["obra civil"]),
    ("Banana Export Guayas S.A.", "Agricultura", "transactional", "EC", "Guayas", "Guayaquil", "0991234567001", "19000000", 400, ["exportación"]),
    ("Frigorífico Oriental S.A.", "Alimentación y bebidas", "solutions", "UY", "Montevideo", "Montevideo", "214567890012", "22000000", 240, ["exportación"]),
    ("Servicios Tecnológicos Caribe S.R.L.", "Tecnología", "collaborative", "DO", "Distrito Nacional", "Santo Domingo", "1-31-45678-9", "3600000", 38, ["partner"]),
]

CURRENCY = {"ES": "EUR", "MX": "MXN", "AR": "ARS", "CL": "CLP", "CO": "COP", "PE": "PEN", "EC": "USD", "UY": "UYU", "DO": "DOP"}
TEAM = {"ES": "Iberia"}

FIRST = ["María", "José", "Carmen", "Antonio", "Ana", "Manuel", "Laura", "Francisco", "Isabel", "David", "Lucía", "Jorge",
         "Paula", "Alejandro", "Sara", "Miguel", "Elena", "Raúl", "Beatriz", "Sergio", "Gabriela", "Rodrigo", "Daniela", "Mateo"]
LAST = ["García", "Martínez", "López", "González", "Rodríguez", "Fernández", "Pérez", "Gómez", "Díaz", "Moreno", "Álvarez",
        "Romero", "Navarro", "Torres", "Ramírez", "Flores", "Vargas", "Castro", "Ortiz", "Silva", "Mendoza", "Rojas"]
ROLES = [  # title, role
    ("Director General", "decision_maker"), ("Directora Financiera", "decision_maker"),
    ("Responsable de Compras", "influencer"), ("Jefe de Operaciones", "influencer"),
    ("Técnico de Sistemas", "user"), ("Administrativa", "user"), ("Asesor externo", "other"),
]
# What a rep notes about a person after a few visits (nickname, informal notes).
NICKNAMES = {"José": "Pepe", "Francisco": "Paco", "Manuel": "Manolo", "Antonio": "Toño", "Alejandro": "Álex",
             "Isabel": "Isa", "Beatriz": "Bea", "Rodrigo": "Rodri", "Gabriela": "Gabi", "Daniela": "Dani"}
PERSONAL_NOTES = ["Muy del Real Madrid: evitar reuniones en día de partido.", "Prefiere WhatsApp a llamadas.",
                  "Corredora de maratones; pregunta por su última carrera.", "Le gusta cerrar antes de fin de trimestre.",
                  "Dos hijos en el colegio; no está disponible de 17:00 a 18:00.", "Fan del Atleti; no mencionar el derbi.",
                  None, None]
INTERESTS = ["logística", "facturación electrónica", "movilidad", "analítica", "sostenibilidad", "exportación", "formación"]


def _slug(name: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return "".join(c for c in plain.split(" ")[0] if c.isalnum())


def seed(ctx) -> None:
    rng = ctx.rng
    reps = {team: [u for u in ctx.users if u["role"] == "rep" and u["team"] == team] for team in ("Iberia", "LatAm")}
    for (name, industry, segment, country, region, city, tax_id, revenue, employees, tags) in COMPANIES:
        owner = rng.choice(reps[TEAM.get(country, "LatAm")])
        domain = _slug(name) + {"ES": ".es", "MX": ".com.mx", "AR": ".com.ar", "CL": ".cl", "CO": ".com.co",
                                "PE": ".pe", "EC": ".ec", "UY": ".com.uy", "DO": ".com.do"}[country]
        account = ctx.client.post("/api/v1/accounts", {
            "name": name, "industry": industry, "segment": segment, "country": country, "region": region,
            "city": city, "website": f"https://www.{domain}", "tax_id": tax_id, "employees": employees,
            "annual_revenue": {"amount": revenue + ".00", "currency": "EUR"},
            "billing_address": {"street": f"Calle {rng.choice(LAST)} {rng.randint(1, 120)}", "city": city,
                                "postal_code": f"{rng.randint(10000, 52999)}", "country": country},
            "owner_id": owner["id"], "tags": tags,
            "notes": rng.choice(["Prefiere reuniones los martes por la mañana.", "Cliente muy sensible al precio.",
                                 "Conocen a la competencia; piden referencias.", None]),
        })
        ctx.accounts.append(account)
        people = rng.sample(ROLES, rng.randint(3, 5))
        boss = None
        for title, role in people:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            contact = ctx.client.post("/api/v1/contacts", {
                "first_name": first, "last_name": f"{last} {rng.choice(LAST)}", "title": title, "role": role,
                "email": f"{_slug(first)}.{_slug(last)}.{len(ctx.contacts)}@{domain}",
                "phone": f"+{rng.choice(['34', '52', '54', '56', '57', '51'])} {rng.randint(600, 699)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
                "account_id": account["id"], "owner_id": owner["id"], "reports_to_id": boss,
                "interests": rng.sample(INTERESTS, rng.randint(0, 3)),
                "nickname": NICKNAMES.get(first), "notes": rng.choice(PERSONAL_NOTES),
            })
            boss = boss or contact["id"]  # the first one heads the org chart
            ctx.contacts.append(contact)
