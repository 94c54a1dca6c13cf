"""Support's rules as pure functions (no I/O): the status workflow, SLA due
times, case references in subjects, and reading an inbound e-mail."""
from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from html.parser import HTMLParser

from services.support import business_hours

CHANNELS = ("phone", "email", "web", "chat")
PRIORITIES = ("urgent", "high", "normal", "low")
STATUSES = ("new", "open", "pending", "resolved", "closed")
OPEN_STATUSES = ("new", "open", "pending")
RATEABLE = ("resolved", "closed")

# status → the statuses it may move to. Setting the current status again is
# not a move (nothing changes). `closed` is final; `resolved → open` is the
# reopen. Nothing goes back to `new` (it means "nobody has looked yet").
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"open", "pending", "resolved", "closed"}),
    "open": frozenset({"pending", "resolved", "closed"}),
    "pending": frozenset({"open", "resolved", "closed"}),
    "resolved": frozenset({"open", "closed"}),
    "closed": frozenset(),
}
INITIAL_STATUSES = ("new", "open")

# Seconds per priority: (first response, resolution), calendar time.
DEFAULT_POLICY: dict[str, dict[str, int]] = {
    "urgent": {"first_response_seconds": 1 * 3600, "resolution_seconds": 4 * 3600},
    "high": {"first_response_seconds": 4 * 3600, "resolution_seconds": 24 * 3600},
    "normal": {"first_response_seconds": 8 * 3600, "resolution_seconds": 72 * 3600},
    "low": {"first_response_seconds": 24 * 3600, "resolution_seconds": 120 * 3600},
}
MAX_SLA_SECONDS = 366 * 24 * 3600


class IllegalTransition(Exception):
    def __init__(self, current: str, target: str):
        super().__init__(f"A {current} case cannot move to {target}.")
        self.current = current
        self.target = target
        self.allowed = sorted(TRANSITIONS.get(current, ()))


def check_transition(current: str, target: str) -> bool:
    """True if the status changes, False if it stays; IllegalTransition if the move is not allowed."""
    if current == target:
        return False
    if target not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(current, target)
    return True


def due_times(start: datetime, policy: dict[str, dict[str, int]], priority: str,
              calendar: business_hours.Calendar | None = None) -> tuple[datetime, datetime]:
    """(first_response_due_at, resolution_due_at) for a case opened at ``start``: the
    targets in calendar time, or in business time when there is a calendar."""
    targets = policy.get(priority) or DEFAULT_POLICY[priority]
    return (business_hours.add_business_seconds(start, targets["first_response_seconds"], calendar),
            business_hours.add_business_seconds(start, targets["resolution_seconds"], calendar))


_REFERENCE = re.compile(r"\[#\s*(\d{1,15})\s*\]")


def parse_reference(subject: str | None) -> int | None:
    """The case number a subject carries as ``[#<number>]`` (the first one), or None."""
    if not subject:
        return None
    match = _REFERENCE.search(subject)
    return int(match.group(1)) if match else None


# -- inbound e-mail -------------------------------------------------------------

class BadEmail(ValueError):
    """A message we cannot open a case from; ``field`` names the culprit."""

    def __init__(self, message: str, field: str = "body"):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class InboundEmail:
    sender: str  # lower-cased address
    sender_name: str | None
    subject: str
    text: str
    message_id: str | None


class _TextOfHtml(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


_QUOTE_HEADER = re.compile(r"^\s*(on\b.*\bwrote:|el\b.*\bescribi[oó]:|-{2,}\s*original message\s*-{2,})\s*$", re.I)


def strip_quoted(text: str) -> str:
    """The new part of a reply: drop '>' quoted lines and what follows an
    'On … wrote:' header; keep the whole text if nothing new is left."""
    kept = []
    for line in text.splitlines():
        if _QUOTE_HEADER.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    new = "\n".join(kept).strip()
    return new or text.strip()


def _text_of(message) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, AssertionError):  # unknown charset or broken transfer encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        content = html_to_text(content)
    return content.replace("\r\n", "\n").strip()


def parse_email(raw: bytes) -> InboundEmail:
    """Read a raw RFC 5322 message; BadEmail if no case can come of it."""
    if not raw or not raw.strip():
        raise BadEmail("The body is empty; send the raw RFC 5322 message.")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        header = message["From"]
        addresses: tuple[Address, ...] = tuple(header.addresses) if header is not None else ()
    except Exception:  # the parser is lenient, header parsing less so
        raise BadEmail("The From header cannot be read.", "From") from None
    if not addresses:
        raise BadEmail("The message has no From address.", "From")
    sender = addresses[0]
    addr = (sender.addr_spec or "").strip().lower()
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", addr) or len(addr) > 320:
        raise BadEmail("The From address is not an e-mail address.", "From")
    try:
        subject = " ".join(str(message["Subject"] or "").split())
        message_id = str(message["Message-ID"] or "").strip() or None
        text = _text_of(message)
    except Exception:
        raise BadEmail("The message cannot be read (headers or body are malformed).") from None
    if not subject and not text:
        raise BadEmail("The message has neither a subject nor a text body.")
    return InboundEmail(
        sender=addr,
        sender_name=(sender.display_name or "").strip()[:200] or None,
        subject=(subject or "(no subject)")[:300],
        text=text[:100_000],
        message_id=message_id[:300] if message_id else None,
    )
