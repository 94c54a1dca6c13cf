"""What the search index holds for each kind of record, read from the
events that carry it (no service is called): a title and a subtitle to show,
the words to find it by, and digit keys (phones, case numbers).

Pure: events in, documents out. docs/search.md lists what is indexed."""
from __future__ import annotations

from dataclasses import dataclass, field

from shared.normalize import (DEFAULT_PHONE_REGION, email_key, phone_keys, raw_words, website_domain, with_initials,
                              words)

TYPES = ("account", "contact", "opportunity", "case", "activity")


@dataclass(frozen=True)
class Document:
    """One record as the index keeps it."""

    type: str
    id: str
    title: str
    facts: dict = field(default_factory=dict)  # what the subtitle is made of, kept to redo it after a patch
    account_id: str | None = None
    version: int | None = None
    terms: str = ""  # other words to find it by (e-mail, nickname, tax id, city…)
    keys: str = ""  # digit strings: phone numbers however typed, the case number

    @property
    def subtitle(self) -> str:
        return subtitle(self.type, self.facts)

    @property
    def title_words(self) -> str:
        """The title's words as written; the engine folds case and accents."""
        return " ".join(with_initials(raw_words(self.title)))

    @property
    def title_key(self) -> str:
        """The title folded, to rank an exact match first."""
        return " ".join(words(self.title))


@dataclass(frozen=True)
class Patch:
    """New facts for a record already indexed (a closed deal's stage)."""

    type: str
    id: str
    facts: dict


@dataclass(frozen=True)
class Removal:
    """A record that leaves the search: deleted, or merged into another."""

    type: str
    id: str
    reason: str = "deleted"
    merged_into: str | None = None


def subtitle(kind: str, facts: dict) -> str:
    parts: list = {
        "account": [facts.get("industry"), _place(facts.get("city"), facts.get("country"))],
        "contact": [facts.get("job_title"), facts.get("email"), facts.get("phone")],
        "opportunity": [facts.get("stage"), _money(facts.get("amount"))],
        "case": [facts.get("status"), facts.get("priority")],
        "activity": [facts.get("kind"), facts.get("status"), (facts.get("when") or "")[:10]],
    }.get(kind, [])
    return " · ".join(str(p) for p in parts if p)


def _place(city, country) -> str | None:
    if city and country:
        return f"{city} ({country})"
    return city or country


def _money(value) -> str | None:
    if isinstance(value, dict) and value.get("amount") is not None:
        return f"{value['amount']} {value.get('currency') or ''}".strip()
    return None


def _joined(*texts) -> str:
    return " ".join(" ".join(raw_words(t)) for t in texts if t)


# -- one builder per kind ------------------------------------------------------------------------------

def account_document(data: dict, region: str) -> Document:
    return Document(
        "account", str(data["id"]), data.get("name") or "", account_id=str(data["id"]), version=data.get("version"),
        facts={"industry": data.get("industry"), "city": data.get("city"), "country": data.get("country")},
        terms=_joined(data.get("tax_id"), website_domain(data.get("website")), data.get("city")),
        keys=" ".join(w for w in raw_words(data.get("tax_id")) if w.isdigit()))


def contact_document(data: dict, region: str) -> Document:
    name = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p) or data.get("email") or ""
    email = data.get("email")
    return Document(
        "contact", str(data["id"]), name, account_id=data.get("account_id"), version=data.get("version"),
        facts={"job_title": data.get("title"), "email": email, "phone": data.get("phone")},
        terms=_joined(data.get("nickname"), email, email_key(email) if email else None, data.get("title")),
        keys=" ".join(phone_keys(data.get("phone"), region)))


def opportunity_document(data: dict, region: str) -> Document:
    return Document(
        "opportunity", str(data["id"]), data.get("name") or "", account_id=data.get("account_id"),
        version=data.get("version"), facts={"stage": data.get("stage"), "amount": data.get("amount")})


def case_document(data: dict, region: str) -> Document:
    number = data.get("number")
    title = f"#{number} {data.get('subject') or ''}".strip() if number is not None else data.get("subject") or ""
    return Document(
        "case", str(data["id"]), title, account_id=data.get("account_id"), version=data.get("version"),
        facts={"status": data.get("status"), "priority": data.get("priority")},
        terms=_joined(data.get("requester_email"), data.get("requester_name")),
        keys=str(number) if number is not None else "")


def activity_document(data: dict, region: str) -> Document:
    return Document(
        "activity", str(data["id"]), data.get("subject") or data.get("type") or "", account_id=data.get("account_id"),
        version=data.get("version"),
        facts={"kind": data.get("type"), "status": data.get("status"),
               "when": data.get("starts_at") or data.get("due_at")},
        terms=_joined(data.get("type")))


BUILDERS = {
    "accounts.account": account_document,
    "accounts.contact": contact_document,
    "opportunities.opportunity": opportunity_document,
    "support.case": case_document,
    "activities.activity": activity_document,
}
KIND_OF = {"accounts.account": "account", "accounts.contact": "contact", "opportunities.opportunity": "opportunity",
           "support.case": "case", "activities.activity": "activity"}
REMOVING = {"deleted"}
# Events that carry the full record (the others of these aggregates carry part of it, or nothing we show).
FULL = {"created", "updated", "stage_changed", "completed", "cancelled", "opened", "resolved", "closed"}


def changes_of(event: dict, region: str = DEFAULT_PHONE_REGION) -> list[Document | Patch | Removal]:
    """What an event changes in the index (nothing, for most events)."""
    aggregate, _, verb = event["type"].rpartition(".")
    kind = KIND_OF.get(aggregate)
    data = event.get("data") or {}
    if kind is None:
        return []
    if verb == "merged":  # {survivor_id, merged_ids}: the merged records leave the search, the survivor stays
        survivor = str(data.get("survivor_id") or "")
        return [Removal(kind, str(ident), "merged", survivor or None) for ident in data.get("merged_ids") or []]
    ident = str(data.get("id") or data.get(f"{kind}_id") or event.get("subject") or "")
    if not ident:
        return []
    if verb in REMOVING:
        return [Removal(kind, ident)]
    if kind == "opportunity" and verb in ("won", "lost"):
        return [Patch(kind, ident, {"stage": f"closed_{verb}"})]
    if verb in FULL and data.get("id"):
        return [BUILDERS[aggregate](data, region)]
    return []
