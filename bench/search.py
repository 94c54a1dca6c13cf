"""`cadena bench search`: the search index at --rows records (1,000,000 by
default) on Postgres, the target p50 < 50 ms.

The index is filled with synthetic records of every kind (names, companies,
e-mails, phones, case numbers drawn from Spanish-looking vocabularies), through
the same text search configuration the worker uses, then typical queries are
timed through GET /api/v1/search on the gateway's app and through the index
alone: a name prefix, an accent-free surname, an e-mail, phone digits typed
with the country code, a company name with a typo. The raw baseline, measured
in the same run, is a primary-key lookup of one row of the same table.
"""
from __future__ import annotations

import argparse
import os
import random
import time
import uuid
from pathlib import Path
from typing import Callable

from bench.latency import summary

FIRST = ["María", "José", "Carmen", "Antonio", "Ana", "Manuel", "Laura", "Francisco", "Isabel", "David", "Lucía",
         "Jorge", "Paula", "Alejandro", "Sara", "Miguel", "Elena", "Raúl", "Beatriz", "Sergio", "Gabriela", "Rodrigo",
         "Daniela", "Mateo", "Álvaro", "Inés", "Íñigo", "Nuria", "Óscar", "Begoña"]
LAST = ["García", "Martínez", "López", "González", "Rodríguez", "Fernández", "Pérez", "Gómez", "Díaz", "Moreno",
        "Álvarez", "Romero", "Navarro", "Torres", "Ramírez", "Flores", "Vargas", "Castro", "Ortiz", "Silva", "Mendoza",
        "Rojas", "Muñoz", "Jiménez", "Ruiz", "Hernández", "Sánchez", "Domínguez", "Vázquez", "Ibáñez", "Peña", "Núñez"]
SECTORS = ["Bodegas", "Construcciones", "Transportes", "Textiles", "Hotel", "Ingeniería", "Distribuciones", "Software",
           "Conservas", "Agrícola", "Farmacias", "Muebles", "Energías", "Grupo", "Academia", "Talleres", "Clínica"]
SYLLABLES = ["val", "de", "ol", "mos", "ar", "an", "da", "ri", "ber", "me", "go", "na", "la", "sa", "to", "ca", "mar",
             "lo", "ba", "ze", "cu", "pi", "ti", "rro", "qui", "gue", "nar", "sil", "fer", "mon", "che", "ven"]
FORMS = ["S.L.", "S.A.", "SL", "SA", "S.L.U.", "S.Coop.", "S.A. de C.V.", "Ltd", "GmbH"]
SUBJECTS = ["La impresora no imprime", "Factura duplicada", "Error al acceder", "Pedido retrasado", "Cambio de tarifa"]
KINDS = [("contact", 0.40), ("account", 0.25), ("opportunity", 0.15), ("case", 0.10), ("activity", 0.10)]
STAGING = ("type", "id", "title", "subtitle", "title_key", "account_id", "terms", "keys")


def plain_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4))).capitalize()


def synthetic(rows: int, seed: int = 7):
    """(type, id, title, subtitle, title_key, account_id, terms, keys) rows, drawn reproducibly."""
    from gateway.search.documents import Document
    from shared.normalize import fold, phone_keys, raw_words

    rng = random.Random(seed)
    accounts: list[tuple[str, str]] = []
    kinds, weights = zip(*KINDS)
    for number in range(1, rows + 1):
        kind = rng.choices(kinds, weights)[0] if accounts else "account"
        ident = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        account_id, account_word = rng.choice(accounts) if accounts else (None, "")
        terms, keys = "", ""
        if kind == "account":
            word = _word(rng)
            title = f"{rng.choice(SECTORS)} {word} {rng.choice(FORMS)}"
            accounts.append((ident, word.lower()))
            account_id, terms = ident, f"B{rng.randint(10**7, 10**8 - 1)} {word.lower()} es"
        elif kind == "contact":
            first, last = rng.choice(FIRST), f"{rng.choice(LAST)} {rng.choice(LAST)}"
            title = f"{first} {last}"
            phone = f"+34 {rng.choice('679')}{rng.randint(10**7, 10**8 - 1)}"
            email = f"{fold(first)}.{fold(last.split()[0])}{number}@{account_word}.es"
            terms, keys = " ".join(raw_words(email)), " ".join(phone_keys(phone))
        elif kind == "opportunity":
            title = f"{rng.choice(['Renovación', 'Ampliación', 'Proyecto', 'Licencias'])} {_word(rng)}"
        elif kind == "case":
            title, keys = f"#{number} {rng.choice(SUBJECTS)}", str(number)
        else:
            title = f"Llamar a {rng.choice(FIRST)} {rng.choice(LAST)}"
        doc = Document(kind, ident, title)
        yield (kind, ident, title, "", doc.title_key, account_id, terms, keys)
        if kind == "contact" and number % 1000 == 0:
            yield ("sample", phone, email)  # remembered for the queries, not indexed


def _records(rows: int, samples: dict):
    """The synthetic rows to index; what the queries will look for goes into ``samples`` on the way."""
    for row in synthetic(rows):
        if row[0] == "sample":
            samples["phones"].append(row[1])
            samples["emails"].append(row[2])
            continue
        if row[0] == "account" and len(samples["companies"]) < 200:
            samples["companies"].append(row[6].split()[1])
        yield row


def new_samples() -> dict:
    return {"phones": [], "emails": [], "companies": [], "surnames": LAST}


def fill(url: str, rows: int) -> tuple[float, dict]:
    """COPY the rows into a staging table, build the index's rows and lexicon in SQL, then the GIN index."""
    import psycopg

    began, samples = time.perf_counter(), new_samples()
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        conn.execute("DROP INDEX IF EXISTS ix_search_entries_document")
        conn.execute(f"CREATE UNLOGGED TABLE staging ({', '.join(c + ' text' for c in STAGING)})")
        with conn.cursor().copy(f"COPY staging ({', '.join(STAGING)}) FROM STDIN") as copy:
            for row in _records(rows, samples):
                copy.write_row(row)
        conn.execute("""
            INSERT INTO search_entries (type, id, title, subtitle, title_key, account_id, facts, updated_at, document)
            SELECT type, id, title, subtitle, title_key, account_id, '{}', now(),
                   setweight(to_tsvector('cadena_search', title), 'A')
                   || setweight(to_tsvector('cadena_search', terms), 'B')
                   || setweight(to_tsvector('cadena_search', keys), 'C')
            FROM staging""")
        conn.execute("""INSERT INTO search_words (word) SELECT DISTINCT w FROM search_entries,
                        unnest(tsvector_to_array(document)) AS w WHERE length(w) >= 4 AND w !~ '^[0-9]'
                        ON CONFLICT DO NOTHING""")
        conn.execute("DROP TABLE staging")
        conn.execute("CREATE INDEX ix_search_entries_document ON search_entries USING gin (document)")
        conn.execute("VACUUM ANALYZE search_entries")
        conn.execute("VACUUM ANALYZE search_words")
    return time.perf_counter() - began, samples


def queries(samples: dict, rng: random.Random, each: int) -> dict[str, list[str]]:
    def typo(word: str) -> str:
        i = rng.randrange(1, len(word) - 2)
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]

    companies = rng.sample(samples["companies"], each)
    return {
        "name prefix": [c[:7] for c in companies],
        "accent-free surname": [rng.choice(samples["surnames"]).lower().replace("á", "a").replace("é", "e")
                                .replace("í", "i").replace("ó", "o").replace("ú", "u").replace("ñ", "n")
                                for _ in range(each)],
        "e-mail": rng.sample(samples["emails"], each),
        "phone digits": [p for p in rng.sample(samples["phones"], each)],
        "typo": [typo(c) for c in companies],
    }


def _server_cpu(session) -> Callable[[], float]:
    """Seconds of CPU the session's Postgres backend has used (a local server's /proc), or nothing."""
    from sqlalchemy import text

    pid = session.scalar(text("SELECT pg_backend_pid()"))
    stat = Path(f"/proc/{pid}/stat")
    tick = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        if not stat.exists():
            return 0.0
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return used


def _timed(call, repeat: int) -> list[float]:
    call()  # warm: plans cached, pages in memory
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return times


def measure(url: str, amqp_url: str, samples: dict, each: int, repeat: int) -> dict:
    """Each query class through the API and through the index alone; the primary-key baseline."""
    import psycopg

    from gateway.app import create_app
    from gateway.search.index import index_for
    from gateway.search.query import parse
    from shared import config

    app = create_app(config.load("gateway", database_url=url, amqp_url=amqp_url))
    db = app.extensions["cadena"].db
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"email": "admin@cadena.local", "password": "admin"})
    headers = {"Authorization": "Bearer " + token.get_json()["access_token"]}
    index, figures, found = index_for(db), {}, {}
    for name, texts in queries(samples, random.Random(11), each).items():
        api, alone, hits, cpu = [], [], [], 0.0
        for q in texts:
            def by_api(q=q):
                reply = client.get("/api/v1/search", query_string={"q": q}, headers=headers)
                assert reply.status_code == 200, reply.get_json()
                return reply
            api += _timed(by_api, repeat)
            with db.sessions() as session:
                server = _server_cpu(session)
                before = server() + time.process_time()
                alone += _timed(lambda q=q: index.search(session, parse(q, None, None)), repeat)
                cpu += server() + time.process_time() - before
            hits.append(len(by_api().get_json()["items"]))
        figures[name] = {"api": summary(api), "index": summary(alone),
                         "index_cpu_ms": round(cpu * 1000 / (len(texts) * (repeat + 1)), 2)}
        found[name] = {"queries": len(texts), "with_results": sum(1 for h in hits if h), "example": texts[0]}
    with psycopg.connect(plain_url(url)) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM search_entries TABLESAMPLE SYSTEM (1) LIMIT 200")]
        if len(ids) < each:  # a small table: a 1 % sample of its pages may hold no row at all
            ids = [r[0] for r in conn.execute("SELECT id FROM search_entries ORDER BY random() LIMIT 200")]
        baseline = []
        for ident in ids[:each]:
            baseline += _timed(lambda i=ident: conn.execute(
                "SELECT type, id, title, subtitle FROM search_entries WHERE type = 'contact' AND id = %s",
                (i,)).fetchall(), repeat)
    db.dispose()
    return {"queries": figures, "found": found, "baseline_pk_lookup": summary(baseline)}


def bench_search(servers, rows: int, each: int, repeat: int, database: str | None = None) -> dict:
    from shared.migrations import upgrade

    if database:  # one filled by an earlier run (--database): measure again without filling
        samples = new_samples()
        for _ in _records(rows, samples):
            pass
        return {"rows": rows, "fill_seconds": 0, "target_p50_ms": 50,
                **measure(database, servers.amqp_url, samples, each, repeat)}
    url = servers.new_database("cadena_bench")
    try:
        upgrade("gateway", url)
        fill_s, samples = fill(url, rows)
        measured = measure(url, servers.amqp_url, samples, each, repeat)
        return {"rows": rows, "fill_seconds": round(fill_s, 1), "target_p50_ms": 50, **measured}
    finally:
        servers.drop_database(url)


def report(figures: dict) -> None:
    base = figures["baseline_pk_lookup"]
    print(f"search at {figures['rows']:,} indexed records (filled in {figures['fill_seconds']} s); "
          f"raw baseline, primary-key lookup: p50 {base['p50_ms']} ms, p99 {base['p99_ms']} ms")
    print(f"  {'query':<22} {'API p50':>9} {'API p99':>9} {'index p50':>10} {'index p99':>10} {'CPU/query':>10}"
          f"  found  e.g.")
    for name, f in figures["queries"].items():
        seen = figures["found"][name]
        print(f"  {name:<22} {f['api']['p50_ms']:>9} {f['api']['p99_ms']:>9} {f['index']['p50_ms']:>10} "
              f"{f['index']['p99_ms']:>10} {f['index_cpu_ms']:>10}  {seen['with_results']}/{seen['queries']}  "
              f"{seen['example']!r}")
    print("  (ms; CPU/query: the database server's and this process's CPU per index query, which other load on the"
          " machine does not inflate)")
    worst = max(f["api"]["p50_ms"] for f in figures["queries"].values())
    print(f"  worst API p50 {worst} ms (target < {figures['target_p50_ms']} ms)")


def main(args: list[str]) -> dict:
    import os

    os.environ.setdefault("CADENA_LOG_LEVEL", "WARNING")
    from shared.observability import configure_logging

    configure_logging("bench")
    parser = argparse.ArgumentParser(prog="cadena bench search")
    parser.add_argument("--rows", type=int, default=1_000_000, help="records in the index (default 1,000,000)")
    parser.add_argument("--queries", type=int, default=20, help="different texts per kind of query")
    parser.add_argument("--repeat", type=int, default=5, help="timings per text")
    parser.add_argument("--database", default=None,
                        help="an index an earlier run filled with the same --rows (kept by hand): measure only")
    opts, _ = parser.parse_known_args(args)
    from tests.support.servers import start as start_servers

    servers = start_servers()
    try:
        figures = bench_search(servers, opts.rows, opts.queries, opts.repeat, opts.database)
    finally:
        servers.stop()
    report(figures)
    from bench.runner import save

    print(f"report: {save('search', figures)}")
    return figures
