"""Campaigns' scheduled work: sending launched e-mail campaigns.

Each member goes through three steps, each its own transaction or action:

1. claim: ``pending → sending`` with a claim token and time (a conditional
   update, after ``FOR UPDATE SKIP LOCKED`` on Postgres, so several workers
   never claim the same member);
2. hand the message to the SMTP server;
3. mark it ``sent`` (only if the claim is still ours) with
   ``campaigns.member.sent`` in the same transaction.

A claim older than the claim timeout belongs to a worker that died between
1 and 3; the message may or may not have left, so the member becomes
``unknown`` and is never sent again: at most one message per member.
"""
from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from typing import Callable

from sqlalchemy import case, select, update

from shared.db import Database, utcnow
from shared.observability import get_logger
from shared.worker import Job

from services.campaigns import rules, unsubscribe
from services.campaigns.mailer import NotSent, SmtpTransport, Uncertain, build_message, domain_of, message_id
from services.campaigns.models import AccountReplica, Campaign, ContactReplica, Member, OptOut

log = get_logger("cadena.campaigns.mail")


@dataclass(frozen=True)
class MailSettings:
    smtp_url: str | None
    mail_from: str = "Cadena Marketing <marketing@cadena.local>"
    claim_timeout: float = 600.0  # seconds; far above smtp_timeout
    smtp_timeout: float = 30.0
    max_attempts: int = 5
    batch: int = 200
    interval: float = 1.0
    public_url: str = ""              # where the unsubscribe links point (the gateway's public URL)
    unsubscribe_secret: bytes = b""   # signs them (services/campaigns/unsubscribe.py)
    lang: str = "en"                  # the HTML part's language (CADENA_CAMPAIGNS_MAIL_LANG)

    @classmethod
    def from_settings(cls, settings) -> "MailSettings":
        """settings.smtp_url (CADENA_SMTP_URL) and, from settings.extra
        (CADENA_CAMPAIGNS_MAIL_FROM / _CLAIM_TIMEOUT / _SMTP_TIMEOUT /
        _MAX_ATTEMPTS / _BATCH / _INTERVAL), the rest."""
        extra = dict(settings.extra or {})

        def get(name: str, cast, default):
            raw = extra.get(name)
            return default if raw in (None, "") else cast(raw)

        return cls(smtp_url=settings.smtp_url, mail_from=get("mail_from", str, cls.mail_from),
                   claim_timeout=get("claim_timeout", float, cls.claim_timeout),
                   smtp_timeout=get("smtp_timeout", float, cls.smtp_timeout),
                   max_attempts=get("max_attempts", int, cls.max_attempts), batch=get("batch", int, cls.batch),
                   interval=get("interval", float, cls.interval), public_url=settings.public_url,
                   unsubscribe_secret=unsubscribe.secret_of(settings), lang=get("mail_lang", str, cls.lang))


@dataclass
class Claim:
    campaign_id: str
    contact_id: str
    account_id: str | None
    token: str
    recipient: str
    to_name: str | None
    message: rules.Message


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** attempts * 5, 900))


class Sender:
    """Sends what launched e-mail campaigns owe; safe with several workers."""

    def __init__(self, db: Database, mail: MailSettings, transport: Callable | None = None):
        self.db = db
        self.mail = mail
        self.transport = transport or (lambda: SmtpTransport(mail.smtp_url, timeout=mail.smtp_timeout))
        self.envelope_from = parseaddr(mail.mail_from)[1] or "marketing@cadena.local"

    # -- the job ---------------------------------------------------------------

    def run_once(self) -> int:
        """Recover abandoned claims, then send up to one batch; return how many were sent."""
        self.recover_abandoned()
        if not self.mail.smtp_url or not self._has_work():
            return 0
        transport = self.transport()
        try:
            transport.__enter__()
        except NotSent as exc:  # nothing claimed yet: the members simply wait
            log.warning("smtp_unreachable", error=str(exc)[:200])
            return 0
        try:
            sent = self._send_batch(transport)
        except BaseException:
            transport.__exit__(*sys.exc_info())
            raise
        transport.__exit__(None, None, None)
        return sent

    def _send_batch(self, transport) -> int:
        sent = 0
        for _ in range(self.mail.batch):
            claim = self.claim_next()
            if claim is None:
                break
            try:
                message = self._message(claim)
            except (ValueError, TypeError) as exc:  # e.g. an address no mail header can carry
                self.release(claim, f"cannot compose the message: {exc}", permanent=True)
                continue
            try:
                transport.send(message, self.envelope_from, claim.recipient)
            except NotSent as exc:
                self.release(claim, str(exc), permanent=exc.permanent)
                if exc.broken:
                    break  # the connection is gone: stop this batch, the next run reconnects
                continue
            except Uncertain as exc:
                self.mark_unknown(claim, str(exc))
                break
            self.mark_sent(claim)
            sent += 1
        return sent

    # -- steps -----------------------------------------------------------------

    def _due(self):
        now = utcnow()
        return (select(Member)
                .join(Campaign, Campaign.id == Member.campaign_id)
                .where(Member.delivery == "pending", Campaign.status == "active", Campaign.channel == "email",
                       Campaign.deleted_at.is_(None),
                       (Member.next_attempt_at.is_(None)) | (Member.next_attempt_at <= now)))

    def _has_work(self) -> bool:
        with self.db.sessions() as session:
            return session.scalar(self._due().with_only_columns(Member.contact_id).limit(1)) is not None

    def recover_abandoned(self) -> int:
        """Claims older than the timeout: maybe sent, so never resent."""
        cutoff = utcnow() - timedelta(seconds=self.mail.claim_timeout)
        with self.db.transaction() as uow:
            n = uow.session.execute(
                update(Member).where(Member.delivery == "sending", Member.claimed_at < cutoff)
                .values(delivery="unknown", version=Member.version + 1, updated_at=utcnow(),
                        last_error="interrupted between claim and confirmation; perhaps delivered, "
                                   "not resent (at most once)")).rowcount
        if n:
            log.warning("mail_claims_abandoned", members=n)
        return n

    def claim_next(self) -> Claim | None:
        """Claim one due member in its own transaction; skip (never claim)
        members who opted out or have no address."""
        while True:
            with self.db.transaction() as uow:
                session = uow.session
                stmt = self._due().order_by(Campaign.launched_at, Member.created_at, Member.contact_id).limit(1)
                if self.db.is_postgres:
                    stmt = stmt.with_for_update(skip_locked=True, of=Member)
                member = session.scalar(stmt)
                if member is None:
                    return None
                campaign = session.get(Campaign, member.campaign_id)
                contact = session.get(ContactReplica, member.contact_id)
                account = session.get(AccountReplica, contact.account_id) if contact and contact.account_id else None
                opted = member.status == "opted_out" or session.get(OptOut, member.contact_id) is not None
                reason = ("opted out" if opted else "contact deleted" if contact is None or contact.deleted
                          else "no e-mail address" if not contact.email else None)
                token = str(uuid.uuid4())
                now = utcnow()
                values = dict(delivery="skipped", last_error=reason) if reason else \
                    dict(delivery="sending", claim_token=token, claimed_at=now, attempts=Member.attempts + 1)
                # Conditional: on SQLite (no row locks) a second worker's claim finds no pending row.
                won = session.execute(
                    update(Member).where(Member.campaign_id == member.campaign_id,
                                         Member.contact_id == member.contact_id, Member.delivery == "pending")
                    .values(version=Member.version + 1, updated_at=now, **values)).rowcount == 1
                if not won or reason:
                    continue
                message = rules.compose(contact.lifecycle_stage, campaign.templates or {}, {
                    "first_name": contact.first_name, "last_name": contact.last_name,
                    "name": " ".join(p for p in (contact.first_name, contact.last_name) if p) or None,
                    "account_name": account.name if account else None, "campaign_name": campaign.name})
                session.execute(update(Member).where(Member.campaign_id == member.campaign_id,
                                                     Member.contact_id == member.contact_id)
                                .values(template=message.template))
                return Claim(member.campaign_id, member.contact_id, member.account_id, token, contact.email,
                             " ".join(p for p in (contact.first_name, contact.last_name) if p) or None, message)

    def _message(self, claim: Claim):
        link = (unsubscribe.unsubscribe_url(self.mail.public_url, self.mail.unsubscribe_secret, claim.campaign_id,
                                            claim.contact_id) if self.mail.public_url else None)
        return build_message(sender=self.mail.mail_from, to_name=claim.to_name, to_email=claim.recipient,
                             subject=claim.message.subject, body=claim.message.body,
                             campaign_id=claim.campaign_id, contact_id=claim.contact_id, unsubscribe_url=link,
                             lang=self.mail.lang)

    def _ours(self, claim: Claim):
        return update(Member).where(Member.campaign_id == claim.campaign_id, Member.contact_id == claim.contact_id,
                                    Member.claim_token == claim.token)

    def mark_sent(self, claim: Claim) -> None:
        now = utcnow()
        mid = message_id(claim.campaign_id, claim.contact_id, domain_of(self.mail.mail_from))
        with self.db.transaction() as uow:
            # Keyed by our claim token, not by "sending": the truth wins even
            # if a slow send was already written off as unknown.
            done = uow.session.execute(self._ours(claim).values(
                delivery="sent", sent_at=now, message_id=mid, last_error=None, updated_at=now,
                version=Member.version + 1,
                status=case((Member.status == "targeted", "sent"), else_=Member.status))).rowcount
            if done:
                uow.publish("campaigns.member.sent", claim.campaign_id, {
                    "campaign_id": claim.campaign_id, "contact_id": claim.contact_id,
                    "account_id": claim.account_id, "message_id": mid, "template": claim.message.template,
                    "sent_at": now.isoformat()})

    def mark_unknown(self, claim: Claim, reason: str) -> None:
        with self.db.transaction() as uow:
            uow.session.execute(self._ours(claim).values(delivery="unknown", last_error=reason[:500],
                                                        version=Member.version + 1, updated_at=utcnow()))
        log.warning("mail_uncertain", campaign_id=claim.campaign_id, contact_id=claim.contact_id, error=reason[:200])

    def release(self, claim: Claim, reason: str, *, permanent: bool) -> None:
        """Not delivered: back to pending after a delay, or failed for good."""
        with self.db.transaction() as uow:
            member = uow.session.scalar(select(Member).where(
                Member.campaign_id == claim.campaign_id, Member.contact_id == claim.contact_id,
                Member.claim_token == claim.token, Member.delivery == "sending"))
            if member is not None:
                give_up = permanent or member.attempts >= self.mail.max_attempts
                uow.session.execute(self._ours(claim).values(
                    delivery="failed" if give_up else "pending", last_error=reason[:500], claim_token=None,
                    next_attempt_at=None if give_up else utcnow() + _retry_delay(member.attempts),
                    version=Member.version + 1, updated_at=utcnow()))
        log.warning("mail_not_sent", campaign_id=claim.campaign_id, contact_id=claim.contact_id,
                    permanent=permanent, error=reason[:200])


def jobs(db, settings) -> list[Job]:
    mail = MailSettings.from_settings(settings)
    if not mail.smtp_url:
        log.warning("smtp_not_configured", detail="CADENA_SMTP_URL is unset: launched e-mail campaigns wait")
    sender = Sender(db, mail)
    return [Job("campaign-mail", mail.interval, sender.run_once)]
