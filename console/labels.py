"""What the API's codes are called for people, in their language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

STAGES = {
    "prospecting": _l("Prospecting"), "qualification": _l("Qualification"), "proposal": _l("Proposal"),
    "negotiation": _l("Negotiation"), "closed_won": _l("Won"), "closed_lost": _l("Lost"),
}
OPEN_STAGES = ("prospecting", "qualification", "proposal", "negotiation")

SEGMENTS = {
    "transactional": _l("Transactional"), "solutions": _l("Solutions"),
    "relational": _l("Relational"), "collaborative": _l("Collaborative"),
}
CONTACT_ROLES = {
    "decision_maker": _l("Decision maker"), "influencer": _l("Influencer"), "user": _l("User"), "other": _l("Other"),
}
LIFECYCLE = {
    "prospect": _l("Prospect"), "potential_customer": _l("Potential customer"),
    "active_customer": _l("Active customer"), "inactive_customer": _l("Inactive customer"),
}
LIFECYCLE_EXPLAINED = {
    "prospect": _l("A new contact: no open deal at their account yet."),
    "potential_customer": _l("Their account has an open deal; this changed on its own when the deal was opened."),
    "active_customer": _l("A deal of their account was won; this changed on its own when it was won."),
    "inactive_customer": _l("No won deal and no activity at their account for a long time (a year by default)."),
}
ACTIVITY_TYPES = {
    "call": _l("Call"), "meeting": _l("Meeting"), "visit": _l("Visit"), "email": _l("E-mail"), "task": _l("Task"),
}
ACTIVITY_STATUSES = {"planned": _l("Planned"), "done": _l("Done"), "cancelled": _l("Cancelled")}
PRIORITIES = {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"), "urgent": _l("Urgent")}
CASE_STATUSES = {
    "new": _l("New"), "open": _l("Open"), "pending": _l("Pending"), "resolved": _l("Resolved"), "closed": _l("Closed"),
}
RISKS = {"low": _l("Low risk"), "medium": _l("Medium risk"), "high": _l("High risk")}
ROLES = {
    "admin": _l("Administrator"), "manager": _l("Manager"), "rep": _l("Sales rep"), "support": _l("Support"),
    "marketing": _l("Marketing"), "readonly": _l("Read only"),
}
CAMPAIGN_STATUSES = {"draft": _l("Draft"), "active": _l("Active"), "completed": _l("Completed")}
CHANNELS = {
    "phone": _l("Phone"), "email": _l("E-mail"), "web": _l("Web"), "chat": _l("Chat"), "event": _l("Event"),
    "other": _l("Other"),
}
MEMBER_STATUSES = {
    "targeted": _l("Targeted"), "sent": _l("Sent"), "responded": _l("Responded"), "converted": _l("Converted"),
    "opted_out": _l("Opted out"),
}
DELIVERIES = {
    "pending": _l("Waiting to send"), "sending": _l("Sending"), "sent": _l("Sent"), "failed": _l("Failed"),
    "unknown": _l("Perhaps sent"), "skipped": _l("Not sent"),
}
FORECAST_CATEGORIES = {
    "pipeline": _l("Pipeline"), "best_case": _l("Best case"), "commit": _l("Commit"), "omitted": _l("Omitted"),
    "closed": _l("Closed"),
}
SERVICES = {
    "accounts": _l("Accounts"), "opportunities": _l("Deals"), "activities": _l("Activities"),
    "campaigns": _l("Campaigns"), "support": _l("Support"),
}

# A record's fields, as its forms and its history name them.
FIELDS = {
    "name": _l("Name"), "industry": _l("Industry"), "segment": _l("Segment"), "country": _l("Country"),
    "region": _l("Region"), "city": _l("City"), "website": _l("Website"), "tax_id": _l("Tax id"),
    "billing_address": _l("Billing address"), "employees": _l("Employees"), "owner_id": _l("Owner"),
    "parent_account_id": _l("Parent account"), "tags": _l("Tags"), "notes": _l("Notes"),
    "annual_revenue": _l("Annual revenue"), "first_name": _l("First name"), "last_name": _l("Last name"),
    "nickname": _l("Nickname"), "email": _l("E-mail"), "phone": _l("Phone"), "title": _l("Job title"),
    "account_id": _l("Account"), "role": _l("Role"), "reports_to_id": _l("Reports to"),
    "lifecycle_stage": _l("Lifecycle stage"), "interests": _l("Interests"), "stage": _l("Stage"),
    "amount": _l("Amount"), "probability": _l("Probability"), "forecast_category": _l("Forecast category"),
    "close_date": _l("Close date"), "primary_contact_id": _l("Primary contact"), "description": _l("Description"),
    "campaign_id": _l("Campaign"), "line_items": _l("Line items"), "closed_at": _l("Closed at"),
    "close_reason": _l("Reason"), "subject": _l("Subject"), "contact_id": _l("Contact"), "channel": _l("Channel"),
    "priority": _l("Priority"), "status": _l("Status"), "assignee_id": _l("Assignee"),
    "first_response_due_at": _l("First response due"), "resolution_due_at": _l("Resolution due"),
    "first_responded_at": _l("First response"), "resolved_at": _l("Resolved at"), "deleted_at": _l("Deleted at"),
    "satisfaction": _l("Satisfaction"), "number": _l("Number"),
}

def label(table: dict, code) -> str:
    """The label of a code, or the code itself when the API sends a new one."""
    return str(table.get(code, code or "—"))


ALL = dict(STAGES=STAGES, SEGMENTS=SEGMENTS, CONTACT_ROLES=CONTACT_ROLES, LIFECYCLE=LIFECYCLE,
           LIFECYCLE_EXPLAINED=LIFECYCLE_EXPLAINED, ACTIVITY_TYPES=ACTIVITY_TYPES,
           ACTIVITY_STATUSES=ACTIVITY_STATUSES, PRIORITIES=PRIORITIES, CASE_STATUSES=CASE_STATUSES, RISKS=RISKS,
           ROLES=ROLES, CAMPAIGN_STATUSES=CAMPAIGN_STATUSES, SERVICES=SERVICES,
           CHANNELS=CHANNELS, MEMBER_STATUSES=MEMBER_STATUSES, DELIVERIES=DELIVERIES, OPEN_STAGES=OPEN_STAGES)

EVENTS = {
    "accounts.account.created": _l("Account created"), "accounts.account.updated": _l("Account updated"),
    "accounts.account.deleted": _l("Account deleted"), "accounts.contact.created": _l("Contact created"),
    "accounts.contact.updated": _l("Contact updated"), "accounts.contact.deleted": _l("Contact deleted"),
    "accounts.contact.lifecycle_changed": _l("Contact changed lifecycle stage"),
    "opportunities.opportunity.created": _l("Deal created"), "opportunities.opportunity.updated": _l("Deal updated"),
    "opportunities.opportunity.stage_changed": _l("Deal changed stage"),
    "opportunities.opportunity.won": _l("Deal won"), "opportunities.opportunity.lost": _l("Deal lost"),
    "opportunities.opportunity.deleted": _l("Deal deleted"), "support.case.deleted": _l("Case deleted"),
    "activities.activity.created": _l("Activity planned"), "activities.activity.updated": _l("Activity updated"),
    "activities.activity.completed": _l("Activity done"), "activities.activity.cancelled": _l("Activity cancelled"),
    "activities.activity.reminder_due": _l("Reminder due"),
    "support.case.opened": _l("Case opened"), "support.case.updated": _l("Case updated"),
    "support.case.commented": _l("Case commented"), "support.case.resolved": _l("Case resolved"),
    "support.case.closed": _l("Case closed"), "support.case.sla_breached": _l("Case breached its SLA"),
    "support.case.satisfaction_rated": _l("Case rated"),
    "campaigns.member.responded": _l("Responded to a campaign"), "campaigns.campaign.launched": _l("Campaign launched"),
}
