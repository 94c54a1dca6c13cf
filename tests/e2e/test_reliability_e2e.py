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
    # The service still held the request and committed it after the gateway gave up ...
    committed = until(lambda: system.get(f"/api/v1/contacts?q={email}").json()["items"], timeout=20, interval=0.3)
    assert len(committed) == 1
    # ... so a retry with the same key gets that answer, not a second contact.
    retried = system.post("/api/v1/contacts", body, headers=headers)
    assert retried.status == 201 and retried.headers.get("Idempotent-Replayed") == "true"
    assert retried.json()["id"] == committed[0]["id"]
    assert len(system.get(f"/api/v1/contacts?q={email}").json()["items"]) == 1
