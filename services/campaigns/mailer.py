"""Sending mail through a real SMTP server (stdlib smtplib), telling apart
"certainly not delivered" (safe to retry) from "maybe delivered" (never
retried: a member gets a message at most once)."""
from __future__ import annotations

import email.policy
import html
import email.utils
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit


class NotSent(Exception):
    """The server did not take the message: nothing was delivered."""

    def __init__(self, reason: str, *, permanent: bool = False, broken: bool = False):
        super().__init__(reason)
        self.permanent = permanent
        self.broken = broken  # the connection is gone, not just this recipient refused


class Uncertain(Exception):
    """The connection broke while the message was being handed over: the
    server may or may not have taken it."""


@dataclass(frozen=True)
class SmtpUrl:
    host: str
    port: int
    tls: bool = False        # smtps:// — TLS from the first byte
    starttls: bool = False   # smtp://…?starttls=1
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> "SmtpUrl":
        """smtp://[user:password@]host[:port][?starttls=1] or smtps://…"""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"not an SMTP URL (smtp://host:port or smtps://host:port): {url!r}")
        tls = parts.scheme == "smtps"
        query = parse_qs(parts.query)
        return cls(host=parts.hostname, port=parts.port or (465 if tls else 25), tls=tls,
                   starttls=query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes"),
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None)


def _refused(code: int, reply: bytes | str, what: str) -> NotSent:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return NotSent(f"{what} refused: {code} {text}"[:400], permanent=500 <= code < 600)


class SmtpTransport:
    """One connection, many messages: ``with SmtpTransport(url) as t: t.send(msg, to)``."""

    def __init__(self, url: str, timeout: float = 30.0, local_hostname: str | None = None):
        self.url = SmtpUrl.parse(url)
        self.timeout = timeout
        self.local_hostname = local_hostname
        self.conn: smtplib.SMTP | None = None

    def __enter__(self) -> "SmtpTransport":
        u = self.url
        try:
            if u.tls:
                self.conn = smtplib.SMTP_SSL(u.host, u.port, timeout=self.timeout, local_hostname=self.local_hostname,
                                             context=ssl.create_default_context())
            else:
                self.conn = smtplib.SMTP(u.host, u.port, timeout=self.timeout, local_hostname=self.local_hostname)
            self.conn.ehlo_or_helo_if_needed()
            if u.starttls:
                self.conn.starttls(context=ssl.create_default_context())
                self.conn.ehlo()
            if u.username:
                self.conn.login(u.username, u.password or "")
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise NotSent(f"cannot reach the SMTP server {u.host}:{u.port}: {exc!r}"[:400], broken=True) from None
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                try:
                    self.conn.close()
                except OSError:
                    pass
            self.conn = None

    def send(self, message: EmailMessage, sender: str, recipient: str) -> None:
        """Hand one message over. NotSent: nothing delivered (a reply said no,
        or the link broke before DATA); Uncertain: it broke during DATA."""
        conn = self.conn
        payload = message.as_bytes(policy=email.policy.SMTP)
        try:
            code, reply = conn.mail(sender)
            if code != 250:
                self._reset()
                raise _refused(code, reply, "sender")
            code, reply = conn.rcpt(recipient)
            if code not in (250, 251):
                self._reset()
                raise _refused(code, reply, "recipient")
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException, OSError) as exc:
            raise NotSent(f"connection lost before the message was sent: {exc!r}"[:400], broken=True) from None
        try:
            conn.data(payload)
        except smtplib.SMTPDataError as exc:  # the server answered no: it did not take the message
            self._reset()
            raise _refused(exc.smtp_code, exc.smtp_error, "message") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise Uncertain(f"connection lost while sending the message: {exc!r}"[:400]) from None

    def _reset(self) -> None:
        try:
            self.conn.rset()
        except (smtplib.SMTPException, OSError):
            pass


def domain_of(address: str) -> str:
    _, addr = email.utils.parseaddr(address)
    return addr.rpartition("@")[2] or "cadena.local"


def message_id(campaign_id: str, contact_id: str, domain: str) -> str:
    """Derived from (campaign, contact): the same member always yields the
    same id, so a receiving system can recognise a copy."""
    return f"<campaign-{campaign_id}.{contact_id}@{domain}>"


def html_of(text: str, *, subject: str, unsubscribe_url: str | None, lang: str = "en") -> str:
    """A plain, accessible HTML alternative of the text: the language and a
    title, one paragraph per block of text, real links, no images, no
    layout tables, and the way out stated in words."""
    paragraphs = "\n".join(f"<p>{'<br>'.join(html.escape(line) for line in block.splitlines())}</p>"
                           for block in text.strip().split("\n\n") if block.strip())
    footer = (f'<p><small>{html.escape(UNSUBSCRIBE_TEXT[lang if lang in UNSUBSCRIBE_TEXT else "en"])} '
              f'<a href="{html.escape(unsubscribe_url)}">{html.escape(unsubscribe_url)}</a></small></p>'
              if unsubscribe_url else "")
    return (f'<!DOCTYPE html>\n<html lang="{html.escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(subject)}</title>\n</head>\n"
            f'<body style="font-family: sans-serif; font-size: 16px; line-height: 1.5; color: #1a1a1a; '
            f'max-width: 40em;">\n{paragraphs}\n{footer}\n</body>\n</html>\n')


UNSUBSCRIBE_TEXT = {"en": "To stop receiving these messages, unsubscribe here:",
                    "es": "Para dejar de recibir estos mensajes, date de baja aquí:"}


def build_message(*, sender: str, to_name: str | None, to_email: str, subject: str, body: str,
                  campaign_id: str, contact_id: str, unsubscribe_url: str | None = None,
                  lang: str = "en") -> EmailMessage:
    """Text and HTML alternatives (multipart/alternative) and, with an
    ``unsubscribe_url``, RFC 8058 one-click unsubscribe headers."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    username, _, domain = to_email.rpartition("@")
    msg["To"] = Address(display_name=to_name or "", username=username, domain=domain)
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg["Message-ID"] = message_id(campaign_id, contact_id, domain_of(sender))
    msg["X-Cadena-Campaign-Id"] = campaign_id
    msg["X-Cadena-Contact-Id"] = contact_id
    msg["Auto-Submitted"] = "auto-generated"
    text = body
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        text = f"{body.rstrip()}\n\n-- \n{UNSUBSCRIBE_TEXT.get(lang, UNSUBSCRIBE_TEXT['en'])}\n{unsubscribe_url}\n"
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html_of(body, subject=subject, unsubscribe_url=unsubscribe_url, lang=lang),
                        subtype="html", cte="quoted-printable")
    return msg
