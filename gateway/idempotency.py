"""Idempotency-Key for every POST that creates, in one place for the whole API.

The key is reserved (pending) before the request runs and holds the answer
after it; a repeat with the same key and body replays that answer, the same
key with another body is a 422. A key whose request failed is freed so the
client can correct and retry; one whose process died mid-request stays
pending and answers 409 rather than risk applying the request twice.
"""
from __future__ import annotations

import hashlib

from datetime import timedelta

from flask import Flask, Response, g, request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from shared.db import utcnow
from shared.http import Conflict, Invalid

from gateway.models import IdempotencyRecord

TTL = timedelta(hours=24)
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(request.full_path.encode())
    digest.update(request.get_data())
    return digest.hexdigest()


def install(app: Flask, db) -> None:
    @app.before_request
    def _reserve():
        g.idempotency = None
        key = request.headers.get("Idempotency-Key")
        principal = getattr(g, "principal", None)
        if request.method != "POST" or not key or principal is None:
            return None
        if len(key) > 255:
            raise Invalid("Idempotency-Key is at most 255 characters.", errors={"Idempotency-Key": ["Too long."]})
        fingerprint = _fingerprint()
        with db.sessions() as session:
            session.execute(delete(IdempotencyRecord).where(
                IdempotencyRecord.principal_id == principal.id, IdempotencyRecord.key == key,
                IdempotencyRecord.created_at < utcnow() - TTL))
            session.add(IdempotencyRecord(principal_id=principal.id, key=key, request_hash=fingerprint))
            try:
                session.commit()
                g.idempotency = (principal.id, key)
                return None
            except IntegrityError:
                session.rollback()
            record = session.get(IdempotencyRecord, (principal.id, key))
        if record is None:  # freed between our insert and read: the client may retry
            raise Conflict("A request with this Idempotency-Key just finished; retry it.")
        if record.request_hash != fingerprint:
            raise Invalid("This Idempotency-Key was used with a different request; use a new key.",
                          errors={"Idempotency-Key": ["Already used with a different body."]})
        if record.status != "done":
            raise Conflict("A request with this Idempotency-Key is in progress (or did not finish); "
                           "retry in a moment, or use a new key.", slug="idempotency-in-progress")
        response = Response(record.response_body, status=record.response_status)
        for name, value in (record.response_headers or {}).items():
            response.headers[name] = value
        response.headers["Idempotent-Replayed"] = "true"
        return response

    @app.after_request
    def _record(response):
        reserved = getattr(g, "idempotency", None)
        if not reserved:
            return response
        with db.sessions() as session:
            record = session.get(IdempotencyRecord, reserved)
            if record is not None:
                if 200 <= response.status_code < 300:
                    record.status = "done"
                    record.response_status = response.status_code
                    record.response_body = response.get_data(as_text=True)
                    record.response_headers = {h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers}
                else:
                    session.delete(record)
                session.commit()
        return response



