"""The client always gets its answer: a write that the gateway gave up on
(the service was frozen past the gateway's timeout) still commits once, and
a retry with the same Idempotency-Key returns the original 201."""
from __future__ import annotations

import threading
import uuid

from tests.support.wait import until


def test_a_retry_after_a_gateway_timeout_returns_the_original_201(system):
    email = f"timeout-{uuid.uuid4().hex[:8]}@example.com"
    body = {"first_name": "Tomás", "last_name": "Espera", "email": email}
    headers = {"Idempotency-Key": f"retry-{uuid.uuid4().hex}"}
    system.pause("accounts.web")
    try:
        first = system.post("/api/v1/contacts", body, headers=headers, timeout=30)
    finally:
        # Let it go a moment later, so the request it already holds commits after the gateway gave up.
        threading.Timer(0.5, system.resume, args=("accounts.web",)).start()
    assert first.status == 503, first.body
    assert "same Idempotency-Key" in first.json()["detail"]
    # The service still held the request and commits it after the gateway gave up ...
    def contacts():
        return system.get(f"/api/v1/contacts?q={email}").json()["items"]

    try:
        committed = until(contacts, timeout=20, interval=0.3)
    except AssertionError:
        committed = []  # it never got to the request: the retry must create it, once
    retried = system.post("/api/v1/contacts", body, headers=headers)
    assert retried.status == 201
    assert [c["id"] for c in contacts()] == [retried.json()["id"]]
    if committed:  # ... so a retry with the same key gets that answer, not a second contact
        assert retried.headers.get("Idempotent-Replayed") == "true"
        assert retried.json()["id"] == committed[0]["id"]
