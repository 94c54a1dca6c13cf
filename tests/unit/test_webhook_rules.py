"""The rules of webhooks without I/O: signatures (the Standard Webhooks
spec's published test vector), the retry schedule, and where a webhook may
point (with a fake resolver)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook as Verifier

from shared import config

from gateway import signing
from gateway.delivery import Schedule
from gateway.ssrf import Refused, UrlGuard, parse, why_not_public

# From the specification's reference libraries' tests (standard-webhooks, libraries/*/tests).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


# -- signatures -------------------------------------------------------------------------

def test_the_spec_test_vector_signs_as_published():
    assert signing.signature([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_the_signature_is_the_specs_algorithm_written_out():
    key = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"{SPEC_ID}.{SPEC_TIMESTAMP}.{SPEC_BODY}".encode(), hashlib.sha256).digest()
    assert SPEC_SIGNATURE == "v1," + base64.b64encode(digest).decode()


def test_while_a_rotation_overlaps_both_secrets_sign_and_either_verifies():
    old, new = signing.new_secret(), signing.new_secret()
    now = datetime.now(timezone.utc)
    headers = signing.headers([new, old], "evt-1", '{"a":1}', now)
    first, second = headers["webhook-signature"].split(" ")
    assert first.startswith("v1,") and second.startswith("v1,")
    for secret in (old, new):
        assert Verifier(secret).verify('{"a":1}', headers) == {"a": 1}
    assert headers["webhook-id"] == "evt-1" and headers["webhook-timestamp"] == str(int(now.timestamp()))


def test_secrets_look_like_the_spec_says_and_are_32_random_bytes():
    secret = signing.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert secret != signing.new_secret()


def test_a_rotated_out_secret_signs_only_until_its_overlap_ends():
    class Hook:
        secret, previous_secret = "whsec_new", "whsec_old"
        previous_secret_expires_at = datetime(2026, 1, 2, tzinfo=timezone.utc)

    assert signing.secrets_in_use(Hook, datetime(2026, 1, 1, tzinfo=timezone.utc)) == ["whsec_new", "whsec_old"]
    assert signing.secrets_in_use(Hook, datetime(2026, 1, 3, tzinfo=timezone.utc)) == ["whsec_new"]


# -- the retry schedule ---------------------------------------------------------------------------

def test_backoff_doubles_from_the_base_up_to_the_cap_with_jitter():
    schedule = Schedule(base=10, cap=3600, window=86400)
    assert [schedule.delay(n, rng=lambda: 0.5) for n in range(1, 6)] == [10, 20, 40, 80, 160]
    assert schedule.delay(30, rng=lambda: 0.5) == 3600
    assert schedule.delay(1, rng=lambda: 0.0) == pytest.approx(8) and schedule.delay(1, rng=lambda: 1.0) == pytest.approx(12)


def test_the_default_schedule_retries_for_three_days_then_gives_up():
    settings = config.load("gateway")
    schedule = Schedule.from_settings(settings)
    first = now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    attempts = 1
    while (later := schedule.next_attempt(attempts, first, now, rng=lambda: 0.5)) is not None:
        assert later > now
        now, attempts = later, attempts + 1
    assert now - first == timedelta(days=3)  # the last retry falls at the window's end
    assert 15 <= attempts <= 30
    assert schedule.next_attempt(attempts, first, now) is None


# -- where a webhook may point -------------------------------------------------------------------

def resolver(table: dict[str, list[str]]):
    def resolve(host, port):
        if host not in table:
            raise Refused(f"The host {host} does not resolve.")
        return table[host]
    return resolve


HOSTS = {"erp.example.com": ["93.184.216.34"], "dual.example.com": ["93.184.216.34", "10.0.0.7"],
         "rebound.example.com": ["127.0.0.1"], "v6.example.com": ["2606:2800:220:1:248:1893:25c8:1946"],
         "meta.example.com": ["169.254.169.254"], "ec2v6.example.com": ["fd00:ec2::254"],
         "mapped.example.com": ["::ffff:127.0.0.1"], "zero.example.com": ["0.0.0.0"],
         "multi.example.com": ["239.1.2.3"], "cgnat.example.com": ["100.64.1.1"], "ll6.example.com": ["fe80::1"]}


@pytest.mark.parametrize("url", ["https://erp.example.com/hook", "http://erp.example.com:8080/a?b=c",
                                 "https://v6.example.com/"])
def test_public_destinations_pass(url):
    target = UrlGuard(resolve=resolver(HOSTS)).check(url)
    assert target.addresses and target.path.startswith("/")


@pytest.mark.parametrize("url, why", [
    ("https://rebound.example.com/", "loopback"), ("https://dual.example.com/", "private"),
    ("https://meta.example.com/latest", "cloud metadata"), ("https://ec2v6.example.com/", "cloud metadata"),
    ("https://mapped.example.com/", "loopback"), ("https://zero.example.com/", "unspecified"),
    ("https://multi.example.com/", "multicast"), ("https://cgnat.example.com/", "reserved"),
    ("https://ll6.example.com/", "link-local"), ("https://nowhere.example.com/", "does not resolve"),
    ("ftp://erp.example.com/", "http and https"), ("file:///etc/passwd", "http and https"),
    ("https://user:pw@erp.example.com/", "Credentials"), ("https:///nohost", "no host"),
    ("https://erp.example.com/a b", "spaces"), ("https://erp.example.com:99999/", "valid URL"),
])
def test_what_is_not_public_is_refused_and_says_why(url, why):
    with pytest.raises(Refused, match=why):
        UrlGuard(resolve=resolver(HOSTS)).check(url)


def test_the_dev_flag_allows_private_addresses_and_networks_narrow_everything():
    assert UrlGuard(allow_private=True, resolve=resolver(HOSTS)).check("http://rebound.example.com:9000/").port == 9000
    loopback_only = UrlGuard(allow_private=True, networks=(ipaddress.ip_network("127.0.0.0/8"),),
                             resolve=resolver(HOSTS))
    assert loopback_only.check("http://rebound.example.com/")
    with pytest.raises(Refused, match="outside the networks"):
        loopback_only.check("https://erp.example.com/")


def test_a_guard_follows_the_settings():
    settings = config.load("gateway", webhook_allow_private=True, webhook_allowed_networks=("127.0.0.0/8",))
    guard = UrlGuard.from_settings(settings)
    assert guard.allow_private and guard.networks == (ipaddress.ip_network("127.0.0.0/8"),)


def test_nat64_and_6to4_carry_the_address_they_embed():
    assert why_not_public(ipaddress.ip_address("64:ff9b::7f00:1")) == "loopback"
    assert why_not_public(ipaddress.ip_address("2002:a00:1::")) == "private"
    assert why_not_public(ipaddress.ip_address("8.8.8.8")) is None


def test_urls_are_taken_apart_with_default_ports():
    assert parse("https://a.example/x?y=1") == ("https", "a.example", 443, "/x?y=1")
    assert parse("http://a.example") == ("http", "a.example", 80, "/")


# -- lanes: who sends next -----------------------------------------------------------------------

def test_lanes_take_in_turn_and_never_more_than_the_endpoints_share():
    import threading

    from gateway.delivery import Prepared
    from gateway.lanes import Lanes

    def made(webhook, n):
        return Prepared(n, webhook, "https://x.example/", f"e{n}", "accounts.account.created", "{}", ["whsec_x"])

    lanes, stop = Lanes(per_endpoint=2), threading.Event()
    for n in range(5):
        lanes.put(made("hung", n))
    lanes.put(made("fine", 10))
    lanes.put(made("fine", 11))
    taken = [lanes.take(stop) for _ in range(4)]
    assert [p.webhook_id for p in taken] == ["hung", "fine", "hung", "fine"]
    assert lanes.held() == {"hung": 5, "fine": 2}  # waiting or being sent here
    timer = threading.Timer(0.2, stop.set)
    timer.start()
    assert lanes.take(stop, wait=0.05) is None  # "hung" has its two in flight, and nothing else waits
    lanes.done(taken[0])
    assert lanes.take(threading.Event()).delivery_id == 2
