"""One-click unsubscribe (RFC 8058; CONTRACTS §11, docs/campaigns.md).

Every campaign message carries ``List-Unsubscribe: <URL>`` and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``. The URL is
``{public URL}/api/v1/unsubscribe/{token}``: the token names the campaign and
the contact and is signed (HMAC-SHA256 with ``CADENA_UNSUBSCRIBE_SECRET``),
so it opts that member out without a login and cannot be forged. ``POST``
opts out (idempotent: a second POST changes nothing and publishes nothing);
``GET`` only shows a page with a button that POSTs, because mail scanners
follow links. An opt-out holds for every campaign. A bad or forged token is
a 404 problem.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import html
import uuid

from flask import Response, request
from shared.web import Blueprint

from shared.auth import public
from shared.db import dialect_of, utcnow
from shared.http import NotFound
from shared.schemas import ProblemSchema
from shared.web import current_db, current_settings

from services.campaigns.models import Member, OptOut

PATH = "/api/v1/unsubscribe/"


def secret_of(settings) -> bytes:
    """CADENA_UNSUBSCRIBE_SECRET; unset, a key derived from the campaigns database URL
    (the same for the web and the worker, and secret where the URL carries a password).
    Set it explicitly in production: changing it invalidates the links already sent."""
    if settings.unsubscribe_secret:
        return settings.unsubscribe_secret.encode()
    return hmac.new(b"cadena-unsubscribe", settings.database_url.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, b"unsubscribe:" + payload, hashlib.sha256).digest()


def make_token(secret: bytes, campaign_id: str, contact_id: str) -> str:
    payload = uuid.UUID(str(campaign_id)).bytes + uuid.UUID(str(contact_id)).bytes
    return f"{_b64(payload)}.{_b64(_signature(secret, payload))}"


def read_token(secret: bytes, token: str) -> tuple[str, str] | None:
    """(campaign id, contact id) of a genuine token, else None."""
    try:
        payload_text, signature_text = token.split(".")
        payload, signature = _unb64(payload_text), _unb64(signature_text)
    except (ValueError, TypeError):
        return None
    if len(payload) != 32 or not hmac.compare_digest(signature, _signature(secret, payload)):
        return None
    return str(uuid.UUID(bytes=payload[:16])), str(uuid.UUID(bytes=payload[16:]))


def unsubscribe_url(public_url: str, secret: bytes, campaign_id: str, contact_id: str) -> str:
    return f"{public_url.rstrip('/')}{PATH}{make_token(secret, campaign_id, contact_id)}"


def opt_out(uow, campaign_id: str, contact_id: str) -> bool:
    """Opt the contact out of every campaign; True when this changed something.
    No commit: the caller's transaction."""
    session = uow.session
    now = utcnow()
    dialect = dialect_of(uow.db)
    added = session.execute(dialect.insert(OptOut).values(contact_id=contact_id, campaign_id=campaign_id,
                                                          opted_out_at=now).on_conflict_do_nothing()).rowcount
    member = session.get(Member, (campaign_id, contact_id), with_for_update=uow.db.is_postgres or None)
    if member is None or member.status == "opted_out":
        return bool(added)
    member.status, member.opted_out_at, member.version = "opted_out", now, member.version + 1
    if member.delivery == "pending":
        member.delivery, member.last_error = "skipped", "opted out"
    session.flush()
    uow.publish("campaigns.member.opted_out", campaign_id, {
        "campaign_id": campaign_id, "contact_id": contact_id, "account_id": member.account_id,
        "opted_out_at": now.isoformat(), "source": "unsubscribe_link"})
    return True


# -- HTTP (public: the token is the credential) ------------------------------------------

blp = Blueprint("unsubscribe", __name__, url_prefix="/api/v1",
                description="One-click unsubscribe from campaign mail (RFC 8058); no login")

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 2em auto; line-height: 1.5">
<main><h1>{title}</h1><p>{text}</p>{form}</main></body></html>
"""


def _member(token: str) -> tuple[str, str]:
    found = read_token(secret_of(current_settings()), token)
    if found is None:
        raise NotFound("This unsubscribe link is not valid (it may have been mistyped).", slug="not-found")
    return found


def _page(title: str, text: str, form: str = "", status: int = 200) -> Response:
    body = _PAGE.format(title=html.escape(title), text=html.escape(text), form=form)
    return Response(body, status=status, mimetype="text/html", headers={"Cache-Control": "no-store"})


@blp.route("/unsubscribe/<string:token>", methods=["GET"])
@public
@blp.doc(security=[], responses={"200": {"description": "A page with a button that unsubscribes (POST).",
                                         "content": {"text/html": {"schema": {"type": "string"}}}}})
@blp.alt_response(404, schema=ProblemSchema)
def unsubscribe_page(token):
    """The page an unsubscribe link opens: it changes nothing (scanners follow links); its button POSTs."""
    _member(token)
    form = (f'<form method="post" action="{html.escape(PATH + token)}">'
            '<button type="submit">Unsubscribe</button></form>')
    return _page("Unsubscribe", "Stop receiving our campaign e-mails at this address?", form)


@blp.route("/unsubscribe/<string:token>", methods=["POST"])
@public
@blp.doc(security=[], responses={"200": {"description": "Unsubscribed (also when already unsubscribed).",
                                         "content": {"application/json": {"schema": {
                                             "type": "object", "properties": {"status": {"type": "string"}}}},
                                             "text/html": {"schema": {"type": "string"}}}}})
@blp.alt_response(404, schema=ProblemSchema)
def unsubscribe(token):
    """One-click unsubscribe (RFC 8058: the body `List-Unsubscribe=One-Click` is accepted and not needed):
    the contact gets no campaign mail again, from any campaign. Idempotent."""
    campaign_id, contact_id = _member(token)
    with current_db().transaction() as uow:
        opt_out(uow, campaign_id, contact_id)
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        return _page("Unsubscribed", "You will not receive our campaign e-mails any more.")
    return {"status": "unsubscribed"}


BLUEPRINTS = [blp]
