"""Data in and out through the gateway with every process running (CONTRACTS
§9): CSV exports streamed, imports run by the owners' workers (row errors,
errors.csv, dry run, match, undo) and the imported records reaching the
other services' replicas through their normal events."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.support.wait import until

TAG = uuid.uuid4().hex[:6]


def start(system, kind: str, body: str, **params) -> str:
    reply = system.post("/api/v1/imports?" + urlencode({"kind": kind, **params}), raw=body.encode(),
                        headers={"Content-Type": "text/csv"})
    assert reply.status == 202, reply.body
    assert reply.headers["Location"] == f"/api/v1/imports/{reply.json()['import_id']}"
    return reply.json()["import_id"]


def finished(system, import_id: str) -> dict:
    def done():
        job = system.get(f"/api/v1/imports/{import_id}").json()
        return job if job["status"] in ("done", "failed") else None
    return until(done, timeout=60, interval=0.3)


def imported(system, kind: str, body: str, **params) -> dict:
    job = finished(system, start(system, kind, body, **params))
    assert job["status"] == "done", job
    return job


def contacts_with(system, email: str) -> list:
    return system.get("/api/v1/contacts?" + urlencode({"email": email})).json()["items"]


CONTACTS = (f"first_name,last_name,email,title\nAna,García,ana.{TAG}@bodegas.es,CEO\nLuis,Pérez,not-an-email,\n"
            f"Marta,Ruiz,marta.{TAG}@bodegas.es,\n")


def test_every_list_exports_as_a_streamed_csv(system):
    imported(system, "accounts", f"name,country,tax_id\nExport {TAG} Uno,ES,X{TAG}1\nExport {TAG} Dos,PT,X{TAG}2\n")
    reply = system.get("/api/v1/accounts/export?" + urlencode({"country": "ES", "q": f"Export {TAG}"}))
    assert reply.status == 200 and reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert reply.headers.get("Transfer-Encoding") == "chunked"  # streamed, not buffered
    rows = list(csv.DictReader(io.StringIO(reply.body.decode())))
    assert [r["name"] for r in rows] == [f"Export {TAG} Uno"] and rows[0]["created_at"].endswith("Z")
    for path in ("/api/v1/contacts/export", "/api/v1/opportunities/export?status=open",
                 "/api/v1/activities/export", "/api/v1/cases/export"):
        answer = system.get(path)
        assert answer.status == 200 and answer.body.split(b"\r\n", 1)[0].startswith(b"id,"), path
    assert system.get("/api/v1/cases/export?priority=whenever").status == 422


def test_an_import_reports_bad_rows_applies_the_rest_and_can_be_undone(system):
    dry = imported(system, "contacts", CONTACTS, dry_run="true")
    assert (dry["dry_run"], dry["created"], dry["failed"]) == (True, 2, 1)
    assert contacts_with(system, f"ana.{TAG}@bodegas.es") == []  # a dry run changes nothing
    job = imported(system, "contacts", CONTACTS)
    assert (job["total"], job["created"], job["updated"], job["failed"]) == (3, 2, 0, 1)
    assert [(e["row"], list(e["errors"])) for e in job["errors"]] == [(3, ["email"])]
    errors = system.get(f"/api/v1/imports/{job['id']}/errors.csv")
    assert errors.status == 200 and errors.headers["Content-Type"] == "text/csv; charset=utf-8"
    table = list(csv.reader(io.StringIO(errors.body.decode())))
    assert table[0][:3] == ["row", "errors", "first_name"] and table[1][0] == "3" and table[1][3] == "Pérez"
    again = imported(system, "contacts", f"email,title\nANA.{TAG}@bodegas.es,CFO\n", match="email")
    assert (again["created"], again["updated"]) == (0, 1)
    [ana] = contacts_with(system, f"ana.{TAG}@bodegas.es")
    assert ana["title"] == "CFO" and ana["version"] == 2
    assert system.delete(f"/api/v1/imports/{job['id']}").status == 204
    assert system.get(f"/api/v1/contacts/{ana['id']}").status == 404
    assert contacts_with(system, f"marta.{TAG}@bodegas.es") == []


@pytest.mark.parametrize("params,body,content_type,status", [
    ({"kind": "invoices"}, "name\nX\n", "text/csv", 422),
    ({"kind": "contacts", "match": "phone"}, "email\na@b.es\n", "text/csv", 422),
    ({"kind": "contacts", "mapping": "{"}, "email\na@b.es\n", "text/csv", 422),
    ({"kind": "opportunities", "mapping": json.dumps({"Nombre": "title"})}, "Nombre\nX\n", "text/csv", 422),
    ({"kind": "accounts"}, "", "text/csv", 422),
    ({"kind": "accounts"}, "name\nX\n", "application/json", 415),
])
def test_a_bad_import_request_is_a_problem(system, params, body, content_type, status):
    reply = system.post("/api/v1/imports?" + urlencode(params), raw=body.encode(), headers={"Content-Type": content_type})
    assert reply.status == status and reply.headers["Content-Type"] == "application/problem+json", reply.body


def test_an_unknown_import_is_a_404_and_a_readonly_user_may_not_import(system):
    assert system.get(f"/api/v1/imports/{uuid.uuid4()}").status == 404
    assert system.delete(f"/api/v1/imports/{uuid.uuid4()}").status == 404
    reader = system.make_user("readonly")
    reply = system.post("/api/v1/imports?kind=contacts", raw=b"email\na@b.es\n", token=reader["token"],
                        headers={"Content-Type": "text/csv"})
    assert reply.status == 403


def test_imported_records_reach_the_replicas_of_other_services(system):
    job = imported(system, "accounts", f"name,tax_id\nReplica {TAG} A,R{TAG}A\nReplica {TAG} B,R{TAG}B\n")
    assert job["created"] == 2
    ids = [a["id"] for a in system.get("/api/v1/accounts?" + urlencode({"q": f"Replica {TAG}"})).json()["items"]]
    deals = "name,account_id,amount,amount_currency,stage\n" + "".join(
        f"Deal {i},{account_id},1000.00,EUR,proposal\n" for i, account_id in enumerate(ids))
    # the opportunities job checks accounts against its replica only: it knows them once their events arrived
    until(lambda: imported(system, "opportunities", deals, dry_run="true")["created"] == 2, timeout=30, interval=1)
    real = imported(system, "opportunities", deals)
    assert (real["created"], real["failed"]) == (2, 0)
    listed = system.get(f"/api/v1/opportunities?account_id={ids[0]}").json()["items"]
    assert [d["amount"] for d in listed] == [{"amount": "1000.00", "currency": "EUR"}]
    until(lambda: system.get(f"/api/v1/accounts/{ids[0]}/view").json()["open_pipeline"]["amount"] == "1000.00",
          timeout=20)


def test_the_command_line_imports_with_a_progress_bar_and_saves_the_refused_rows(system, tmp_path: Path):
    source = tmp_path / "people.csv"
    source.write_text(f"first_name,email\nCli,cli.{TAG}@bodegas.es\nBad,nope\n", encoding="utf-8")
    cli = str(Path(sys.executable).with_name("cadena"))
    env = {k: v for k, v in system.env.items() if not k.startswith("CADENA_API_")}
    done = subprocess.run([cli, "import", "contacts", str(source), "--gateway", system.url, "--email",
                           "admin@cadena.local", "--password", "admin"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "created 1" in done.stdout and "refused 1" in done.stdout
    saved = tmp_path / "people.errors.csv"
    assert saved.exists() and "nope" in saved.read_text()
    assert len(contacts_with(system, f"cli.{TAG}@bodegas.es")) == 1
