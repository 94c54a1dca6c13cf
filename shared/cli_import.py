"""`cadena import <kind> <file.csv>`: a CSV import through the gateway's
public API (CONTRACTS §9), with a progress bar while the service's worker
runs it, a summary at the end and the refused rows saved beside the file."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import click

from shared import config

KINDS = ("accounts", "contacts", "opportunities")
POLL = 0.5


class ApiFailure(click.ClickException):
    def show(self, file=None):
        click.echo(f"cadena: {self.format_message()}", err=True)


def _call(url: str, method: str, path: str, token: str | None, *, body: bytes | None = None,
          content_type: str | None = None, timeout: float = 130) -> tuple[int, bytes]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise ApiFailure(f"the gateway at {url} is not answering ({getattr(exc, 'reason', exc)}); start the "
                         "system with `cadena up` or pass --gateway.") from None


def _problem(status: int, raw: bytes) -> ApiFailure:
    try:
        problem = json.loads(raw)
    except ValueError:
        problem = {}
    detail = problem.get("detail") or problem.get("title") or f"HTTP {status}"
    fields = "; ".join(f"{k}: {' '.join(v)}" for k, v in (problem.get("errors") or {}).items())
    return ApiFailure(f"{detail}" + (f" ({fields})" if fields else ""))


def login(url: str, email: str | None, password: str | None, token: str | None) -> str:
    if token:
        return token
    if not password:
        raise ApiFailure("no credentials: pass --email and --password (or set CADENA_API_EMAIL and "
                         "CADENA_API_PASSWORD, or CADENA_API_TOKEN).")
    status, raw = _call(url, "POST", "/api/v1/auth/token", None, content_type="application/json",
                        body=json.dumps({"email": email, "password": password}).encode(), timeout=15)
    if status != 200:
        raise _problem(status, raw)
    return json.loads(raw)["access_token"]


def start(url: str, token: str, kind: str, path: Path, match: str | None, dry_run: bool, mapping: str | None) -> str:
    query = {"kind": kind, "dry_run": "true" if dry_run else "false"}
    if match:
        query["match"] = match
    if mapping:
        query["mapping"] = mapping
    status, raw = _call(url, "POST", "/api/v1/imports?" + urllib.parse.urlencode(query), token,
                        body=path.read_bytes(), content_type="text/csv")
    if status != 202:
        raise _problem(status, raw)
    return json.loads(raw)["import_id"]


def follow(url: str, token: str, import_id: str) -> dict:
    """Poll the import, drawing its progress, until it is done or failed."""
    job = _status(url, token, import_id)
    with click.progressbar(length=max(job["total"], 1), label=f"Importing {job['total']} rows",
                           show_pos=True, show_percent=True, file=click.get_text_stream("stderr")) as bar:
        shown = 0
        while True:
            bar.update(job["processed"] - shown)
            shown = job["processed"]
            if job["status"] in ("done", "failed"):
                return job
            time.sleep(POLL)
            job = _status(url, token, import_id)


def _status(url: str, token: str, import_id: str) -> dict:
    status, raw = _call(url, "GET", f"/api/v1/imports/{import_id}", token, timeout=15)
    if status != 200:
        raise _problem(status, raw)
    return json.loads(raw)


def save_errors(url: str, token: str, import_id: str, beside: Path) -> Path:
    status, raw = _call(url, "GET", f"/api/v1/imports/{import_id}/errors.csv", token)
    if status != 200:
        raise _problem(status, raw)
    target = beside.with_name(beside.stem + ".errors.csv")
    target.write_bytes(raw)
    return target


@click.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--match", help="update the live record whose FIELD matches (contacts: email|id; accounts: tax_id|id; "
                              "opportunities: id) instead of creating one")
@click.option("--dry-run", is_flag=True, help="check every row and count; change nothing")
@click.option("--mapping", help='JSON {"csv column": "field" | null} when the header does not name the fields')
@click.option("--gateway", "url", help="the gateway's URL (default: CADENA_GATEWAY_URL or the local one)")
@click.option("--email", help="log in as (default: CADENA_API_EMAIL, else the bootstrap admin)")
@click.option("--password", help="with this password (default: CADENA_API_PASSWORD, else CADENA_ADMIN_PASSWORD)")
def import_file(kind, file, match, dry_run, mapping, url, email, password):
    """Import a CSV file of accounts, contacts or opportunities through the public API."""
    url = (url or config.service_url("gateway")).rstrip("/")
    credentials = config.api_credentials()
    token = login(url, email or credentials["email"], password or credentials["password"],
                  None if (email or password) else credentials["token"])
    import_id = start(url, token, kind, file, match, dry_run, mapping)
    job = follow(url, token, import_id)
    if job["status"] == "failed":
        raise ApiFailure(f"import {import_id} failed: {job.get('failure') or 'see the service log'}")
    verb = "would create" if dry_run else "created"
    click.echo(f"Import {import_id} ({'dry run, nothing changed' if dry_run else 'done'}): {job['total']} rows, "
               f"{verb} {job['created']}, {'would update' if dry_run else 'updated'} {job['updated']}, "
               f"refused {job['failed']}.")
    if job["failed"]:
        saved = save_errors(url, token, import_id, file)
        click.echo(f"Refused rows: {saved} (also at {url}/api/v1/imports/{import_id}/errors.csv).")
    if not dry_run and job["created"]:
        click.echo(f"Undo within 24 h: DELETE {url}/api/v1/imports/{import_id}")
