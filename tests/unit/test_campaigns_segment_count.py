"""POST /api/v1/campaigns/segment-count: a segment builder's live count is
the number of members a build of the same segment makes."""
from __future__ import annotations

from tests.support.auth import headers
from tests.unit.test_campaigns_service import MARKETING, account, campaigns, contact, create, members, mk  # noqa: F401


def count(built, hdrs, segment: dict):
    return built.client.post("/api/v1/campaigns/segment-count", json={"segment": segment}, headers=hdrs)


def test_the_count_equals_the_members_a_build_makes(campaigns, mk):  # noqa: F811
    rioja = account(campaigns, region="La Rioja", revenue="9200000.00")
    small = account(campaigns, name="Tienda", revenue="90000.00")
    contact(campaigns, rioja, first="Ana", stage="prospect", interests=["vino"])
    contact(campaigns, rioja, first="Luis", stage="active_customer", interests=["vino"])
    contact(campaigns, small, first="Eva", stage="prospect", interests=["vino"])
    segment = {"country": ["es"], "lifecycle_stage": ["prospect", "active_customer"], "interests": ["vino"],
               "annual_revenue_min": "1000000"}
    reply = count(campaigns, mk, segment)
    assert reply.status_code == 200 and reply.get_json() == {"count": 2}
    campaign = create(campaigns, mk, segment=segment)
    built = campaigns.client.post(f"/api/v1/campaigns/{campaign['id']}/members/build", headers=mk).get_json()
    assert built["total"] == 2 == len(members(campaigns, campaign["id"], mk))


def test_an_empty_segment_counts_every_known_contact(campaigns, mk):  # noqa: F811
    contact(campaigns, account(campaigns), first="Ana")
    contact(campaigns, account(campaigns, name="Otra"), first="Eva")
    assert count(campaigns, mk, {}).get_json() == {"count": 2}


def test_a_bad_or_inconsistent_segment_is_422_beside_its_field(campaigns, mk):  # noqa: F811
    bad = count(campaigns, mk, {"country": ["España"]})
    assert bad.status_code == 422 and "segment.country.0" in bad.get_json()["errors"]
    upside_down = count(campaigns, mk, {"annual_revenue_min": "5000", "annual_revenue_max": "10"})
    assert upside_down.status_code == 422
    assert "segment.annual_revenue_max" in upside_down.get_json()["errors"]


def test_any_role_may_count_since_counting_changes_nothing(campaigns):  # noqa: F811
    assert count(campaigns, headers("rep", "r-1", "Iberia"), {}).status_code == 200
    assert count(campaigns, headers("readonly", "ro-1", None), {}).status_code == 200
    # ... but readonly still may not change anything
    reply = campaigns.client.post("/api/v1/campaigns", json={"name": "x", "channel": "email"},
                                  headers=headers("readonly", "ro-1", None))
    assert reply.status_code == 403
