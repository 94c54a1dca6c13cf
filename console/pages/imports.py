"""Importing a CSV file: upload it, map its columns to fields (each column's
choice pre-filled from its header), preview a dry run (counts and the first
refused rows), then start it and follow it; undo within 24 h. The file
waits on the console's disk between the steps (one day at most); every
check and every write is the API's."""
from __future__ import annotations

import csv
import io
import json
import secrets
import time
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from console.api import ApiError
from console.auth import login_required, user_api
from console.forms import FormState
from console.import_columns import FIELDS, LABELS, choices, guesses
from console.permissions import can
from console.views import page_or_region

bp = Blueprint("imports", __name__, url_prefix="/imports")

MATCH = {"contacts": ("email", "id"), "accounts": ("tax_id", "id"), "opportunities": ("id",)}
MAX_UPLOAD = 100 * 1024 * 1024
KEEP_SECONDS = 24 * 3600
POLL_SECONDS = 1


def _kinds() -> list[tuple[str, str]]:
    return [("contacts", _("Contacts")), ("accounts", _("Accounts")), ("opportunities", _("Opportunities"))]


def _require() -> None:
    if not can("import_data"):
        abort(403)


def _folder() -> Path:
    from shared import config

    folder = Path(current_app.extensions["console.settings"].upload_dir or config.var_dir() / "console-uploads")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _upload(token: str) -> dict:
    """An upload of this user's session (else 404)."""
    upload = session.get("imports", {}).get(token)
    if upload is None or not (_folder() / f"{token}.csv").exists():
        abort(404)
    return upload


def _content(token: str) -> bytes:
    return (_folder() / f"{token}.csv").read_bytes()


def _header(raw: bytes) -> list[str]:
    text = raw.decode("utf-8-sig", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    return [h.strip() for h in next(csv.reader(io.StringIO(text), delimiter=delimiter), [])]


def _forget_old() -> None:
    for old in _folder().glob("*.csv"):
        if time.time() - old.stat().st_mtime > KEEP_SECONDS:
            old.unlink(missing_ok=True)


@bp.before_request
def _larger_bodies():
    request.max_content_length = MAX_UPLOAD  # the file itself; other console forms keep the small limit


@bp.route("", methods=["GET", "POST"])
@login_required
def start():
    _require()
    form = FormState(values={"kind": request.form.get("kind", request.args.get("kind", "contacts"))})
    if request.method == "POST":
        upload = request.files.get("file")
        raw = upload.read() if upload else b""
        if form.values["kind"] not in FIELDS:
            form.errors["kind"] = [_("Choose what the file holds.")]
        if not raw.strip():
            form.errors["file"] = [_("Choose a CSV file with a header row.")]
        elif not any(_header(raw)):
            form.errors["file"] = [_("The file's first row must name its columns.")]
        if not form.errors:
            _forget_old()
            token = secrets.token_urlsafe(16)
            (_folder() / f"{token}.csv").write_bytes(raw)
            session["imports"] = {**session.get("imports", {}), token: {"kind": form.values["kind"],
                                                                        "name": upload.filename or "file.csv"}}
            return redirect(url_for("imports.mapping", token=token), code=303)
    return render_template("imports/upload.html", form=form, kinds=_kinds()), 422 if form.errors else 200


@bp.route("/<token>/map", methods=["GET", "POST"])
@login_required
def mapping(token: str):
    _require()
    upload = _upload(token)
    header = _header(_content(token))
    if request.method == "GET":
        chosen = {f"col-{i}": code for i, code in enumerate(guesses(upload["kind"], header))}
        return _mapping_page(token, upload, header, FormState(values=chosen))
    chosen = {f"col-{i}": request.form.get(f"col-{i}", "") for i in range(len(header))}
    match = request.form.get("match", "")
    plan = {"mapping": {h: (chosen[f"col-{i}"] or None) for i, h in enumerate(header) if chosen[f"col-{i}"] != h},
            "match": match if match in MATCH[upload["kind"]] else ""}
    try:
        reply = _send(token, upload, plan, dry_run=True)
    except ApiError as exc:
        if exc.status not in (400, 403, 413, 415, 422):
            raise
        state = FormState(values={**chosen, "match": match}, message=exc.detail,
                          errors={("match" if "match" in exc.errors else "file"): sum(exc.errors.values(), [])})
        return _mapping_page(token, upload, header, state, exc.status)
    session["imports"] = {**session["imports"], token: {**upload, "plan": plan}}
    return redirect(url_for("imports.progress", import_id=reply.data["import_id"], token=token), code=303)


def _mapping_page(token: str, upload: dict, header: list[str], form: FormState, status: int = 200):
    return render_template("imports/map.html", token=token, upload=upload, header=header, form=form,
                           kind_label=dict(_kinds())[upload["kind"]],
                           fields=[("", _("— skip this column —"))] + choices(upload["kind"]),
                           matches=[("", _("Never: every row creates a record"))]
                           + [(m, f"{LABELS[m]} ({m})") for m in MATCH[upload["kind"]]]), status


def _send(token: str, upload: dict, plan: dict, *, dry_run: bool):
    query = {"kind": upload["kind"], "dry_run": "true" if dry_run else "false"}
    if plan.get("match"):
        query["match"] = plan["match"]
    if plan.get("mapping"):
        query["mapping"] = json.dumps(plan["mapping"])
    return user_api().call("POST", "/imports", query=query, csv=_content(token))


@bp.post("/<token>/run")
@login_required
def run(token: str):
    """The import itself, as previewed."""
    _require()
    upload = _upload(token)
    reply = _send(token, upload, upload.get("plan", {}), dry_run=False)
    (_folder() / f"{token}.csv").unlink(missing_ok=True)
    session["imports"] = {k: v for k, v in session["imports"].items() if k != token}
    return redirect(url_for("imports.progress", import_id=reply.data["import_id"]), code=303)


@bp.get("/<uuid:import_id>")
@login_required
def progress(import_id):
    """The page, or (htmx, every second while it runs) only its progress."""
    job = user_api().get(f"/imports/{import_id}")
    token = request.args.get("token", "")
    can_start = bool(job["dry_run"] and job["status"] == "done" and token in session.get("imports", {}))
    return page_or_region("imports/show.html", "imports/_progress.html", job=job, token=token, poll=POLL_SECONDS,
                          can_start=can_start, shown=job["errors"][:20])


@bp.post("/<uuid:import_id>/undo")
@login_required
def undo(import_id):
    try:
        user_api().delete(f"/imports/{import_id}")
        flash(_("Undone: what this import created is deleted."), "ok")
    except ApiError as exc:
        if exc.status not in (403, 404, 409):
            raise
        flash(exc.detail, "problem")
    return redirect(url_for("imports.progress", import_id=import_id), code=303)


@bp.get("/<uuid:import_id>/errors.csv")
@login_required
def errors_csv(import_id):
    answer = user_api().download(f"/imports/{import_id}/errors.csv", {})
    response = Response(answer.chunks, content_type="text/csv; charset=utf-8", direct_passthrough=True)
    response.call_on_close(answer.close)
    response.headers["Content-Disposition"] = f'attachment; filename="import-{import_id}-errors.csv"'
    return response
