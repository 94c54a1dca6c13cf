"""The customer 360's deadline and degradation, and the timeline's reading of
events, with fake service clients (no network)."""
from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl

import pytest

from gateway.aggregates import Customer360
from gateway.clients import Reply, ServiceUnavailable
from gateway.timeline import account_of, summarize
from shared.http import Merged, NotFound
from shared.parts import PATH as PARTS


class FakeClient:
    def __init__(self, name, delay=0.0, down=False, account_status=200):
        self.name, self.delay, self.down, self.account_status = name, delay, down, account_status
        self.calls = []

    def request(self, method, path, headers=None, body=None, timeout=None):
        time.sleep(self.delay)
        if self.down:
            raise ServiceUnavailable(self.name, "refused")
        self.calls.append(path)
        if path.startswith(PARTS + "?"):  # a service's parts call: each part answered as alone
            answers = {}
            for name, part in parse_qsl(path.split("?", 1)[1]):
                reply = self.answer(part)
                answers[name] = {"status": reply.status, "body": reply.json()}
            return Reply(200, {}, json.dumps(answers).encode())
        return self.answer(path)

    def answer(self, path):
        if path.startswith("/api/v1/accounts/") and path.count("/") == 4:
            status = self.account_status
            return Reply(status, {}, json.dumps({"id": path.rsplit("/", 1)[1], "name": "Acme"}).encode())
        if path.endswith("/view"):
            return Reply(200, {}, b'{"health_score": 80}')
        return Reply(200, {}, json.dumps({"items": [{"path": path}], "next_cursor": None}).encode())


def make(**overrides):
    names = ("accounts", "opportunities", "activities", "support", "campaigns")
    clients = {n: overrides.get(n, FakeClient(n)) for n in names}
    return Customer360(clients, deadline=0.3, pool=ThreadPoolExecutor(max_workers=16))


def test_all_slices_arrive():
    result = make().build(str(uuid.uuid4()), {})
    assert result["partial"] is False and result["unavailable"] == []
    assert result["account"]["name"] == "Acme" and result["view"]["health_score"] == 80
    assert result["opportunities"]["open"] and result["activities"]["upcoming"] and result["campaigns"]


def test_a_dead_service_is_named_not_fatal():
    result = make(support=FakeClient("support", down=True)).build(str(uuid.uuid4()), {})
    assert result["partial"] is True and result["unavailable"] == ["support"]
    assert result["cases"] == {"open": [], "recent": []}
    assert result["account"]["name"] == "Acme"


def test_a_slow_service_does_not_hold_the_answer_past_the_deadline():
    started = time.monotonic()
    result = make(activities=FakeClient("activities", delay=2.0)).build(str(uuid.uuid4()), {})
    elapsed = time.monotonic() - started
    assert result["unavailable"] == ["activities"]
    assert elapsed < 0.3 + 0.2  # the deadline, plus scheduling slack; not the 2 s of the slow call


def test_parallel_not_sequential():
    slow = {n: FakeClient(n, delay=0.1) for n in ("accounts", "opportunities", "activities", "support", "campaigns")}
    started = time.monotonic()
    result = make(**slow).build(str(uuid.uuid4()), {})
    assert result["partial"] is False
    assert time.monotonic() - started < 0.25  # nine 0.1 s calls in about one call's time


def test_each_service_is_asked_once():
    clients = {n: FakeClient(n) for n in ("accounts", "opportunities", "activities", "support", "campaigns")}
    result = make(**clients).build(str(uuid.uuid4()), {})
    assert {n: len(c.calls) for n, c in clients.items()} == dict.fromkeys(clients, 1)
    assert clients["campaigns"].calls[0].startswith("/api/v1/campaigns?")  # one part: asked directly
    assert clients["accounts"].calls[0].startswith(PARTS + "?")
    assert result["opportunities"]["won"] == [{"path": f"/api/v1/opportunities?account_id="
                                                       f"{result['account']['id']}&status=won&limit=200"}]


class PartFails(FakeClient):
    def answer(self, path):
        return Reply(500, {}, b"") if "status=won" in path else super().answer(path)


def test_a_part_that_fails_makes_its_service_unavailable():
    result = make(opportunities=PartFails("opportunities")).build(str(uuid.uuid4()), {})
    assert result["partial"] is True and result["unavailable"] == ["opportunities"]
    assert result["opportunities"] == {"open": [], "won": []}


class MergedAccount(FakeClient):
    def answer(self, path):
        if path.count("/") == 4 and path.startswith("/api/v1/accounts/"):
            return Reply(308, {}, json.dumps({"survivor_id": "s-1"}).encode())
        return super().answer(path)


def test_a_merged_account_answers_with_its_survivor():
    with pytest.raises(Merged) as caught:
        make(accounts=MergedAccount("accounts")).build(str(uuid.uuid4()), {})
    assert caught.value.extra["survivor_id"] == "s-1"


def test_unknown_account_is_404():
    with pytest.raises(NotFound):
        make(accounts=FakeClient("accounts", account_status=404)).build(str(uuid.uuid4()), {})


def test_timeline_finds_the_account_of_each_kind_of_event():
    assert account_of({"type": "accounts.account.updated", "subject": "a1", "data": {"id": "a1"}}) == "a1"
    assert account_of({"type": "support.case.opened", "subject": "c1", "data": {"account_id": "a2"}}) == "a2"
    assert account_of({"type": "opportunities.opportunity.won", "subject": "o1",
                       "data": {"account": {"id": "a3"}}}) == "a3"
    assert account_of({"type": "identity.user.created", "subject": "u1", "data": {"id": "u1"}}) is None


def test_timeline_summaries_read_like_sentences():
    assert summarize({"type": "opportunities.opportunity.won",
                      "data": {"name": "Flota 2027", "amount": {"amount": "48000.00", "currency": "EUR"}}}) == \
        "Opportunity “Flota 2027” won (48000.00 EUR)"
    assert summarize({"type": "accounts.contact.lifecycle_changed",
                      "data": {"from": "prospect", "to": "potential_customer"}}) == \
        "Contact changed lifecycle stage: prospect → potential_customer"
