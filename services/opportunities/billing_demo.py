"""A reference billing consumer of the won-deal contract (docs/billing-won-deal.md).

It binds its own quorum queue (with a dead-letter queue) to
``opportunities.opportunity.won``, prints a draft invoice per won deal and
is idempotent: the ids of the events it has handled live in a small SQLite
file under var/, written in the same transaction that decides to print, so
a redelivered event prints nothing the second time.

    cadena billing-demo            # or: python -m services.opportunities.billing_demo
"""
from __future__ import annotations

import signal
import sqlite3
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from shared import config
from shared.bus import Consumer, QueueSpec
from shared.events import InvalidEvent, decode

WON = "opportunities.opportunity.won"
DEFAULT_QUEUE = "billing.demo.won-deals"


class Ledger:
    """The events already invoiced (by event id, and by deal: one invoice per deal)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS invoiced (event_id TEXT PRIMARY KEY, "
                        "opportunity_id TEXT NOT NULL UNIQUE, amount TEXT NOT NULL, currency TEXT NOT NULL, "
                        "invoiced_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)")

    def record(self, event: dict, emit) -> bool:
        """Run ``emit`` and remember the event, atomically; False if it was handled before."""
        data = event["data"]
        self.db.execute("BEGIN IMMEDIATE")
        try:
            seen = self.db.execute("SELECT 1 FROM invoiced WHERE event_id = ? OR opportunity_id = ?",
                                   (event["id"], data["opportunity_id"])).fetchone()
            if seen:
                self.db.execute("ROLLBACK")
                return False
            self.db.execute("INSERT INTO invoiced (event_id, opportunity_id, amount, currency) VALUES (?, ?, ?, ?)",
                            (event["id"], data["opportunity_id"], data["amount"]["amount"], data["currency"]))
            emit()
            self.db.execute("COMMIT")
            return True
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM invoiced").fetchone()[0]

    def close(self) -> None:
        self.db.close()


def _fmt(amount: str | Decimal) -> str:
    return f"{Decimal(str(amount)):,.2f}"


def draft_invoice(data: dict) -> str:
    """The draft invoice text for one won deal (the contract's data)."""
    account, contact, currency = data["account"], data.get("primary_contact"), data["currency"]
    address = account.get("billing_address") or {}
    lines = [
        "=" * 78,
        f"DRAFT INVOICE — {data.get('name') or 'won deal'}",
        f"Deal {data['opportunity_id']}   won {data['won_at']}   close date {data['close_date']}",
        f"Bill to: {account['name']}   tax id: {account.get('tax_id') or '—'}   country: "
        f"{account.get('country') or '—'}",
    ]
    where = ", ".join(p for p in (address.get("street"), " ".join(
        p for p in (address.get("postal_code"), address.get("city")) if p), address.get("country")) if p)
    if where:
        lines.append(f"         {where}")
    if contact:
        lines.append(f"Attn:    {contact['name']} <{contact.get('email') or 'no e-mail'}>")
    lines.append(f"Sales owner: {data['owner_id']}")
    lines.append("-" * 78)
    items = data.get("line_items") or []
    if items:
        lines.append(f"{'code':<12}{'description':<30}{'qty':>8}{'unit price':>13}{'total':>15}")
        for item in items:
            lines.append(f"{(item.get('product_code') or '')[:11]:<12}{(item.get('description') or '')[:29]:<30}"
                         f"{item['quantity']:>8}{_fmt(item['unit_price']['amount']):>13}"
                         f"{_fmt(item['total']['amount']):>15}")
        total = sum(Decimal(i["total"]["amount"]) for i in items)
        if total != Decimal(data["amount"]["amount"]):
            lines.append(f"!! line totals {_fmt(total)} differ from the deal amount — check before issuing")
    else:
        lines.append(f"{'(no line items)':<50}{_fmt(data['amount']['amount']):>28}")
    lines.append("-" * 78)
    lines.append(f"{'TOTAL (before tax)':<50}{_fmt(data['amount']['amount']) + ' ' + currency:>28}")
    lines.append("=" * 78)
    return "\n".join(lines)


def handler(ledger: Ledger, out: TextIO):
    """on_message(routing_key, body) → "ack" | "reject" for shared.bus.Consumer."""

    def on_message(routing_key: str, body: bytes) -> str:
        try:
            event = decode(body)
            if event["type"] != WON:
                return "ack"
            text = draft_invoice(event["data"])
        except (InvalidEvent, KeyError, TypeError, ValueError, ArithmeticError) as exc:
            print(f"billing-demo: cannot read this event ({exc!r}); it goes to the dead-letter queue",
                  file=sys.stderr)
            return "reject"

        def emit():
            print(text, file=out, flush=True)

        if not ledger.record(event, emit):
            print(f"billing-demo: event {event['id']} already invoiced; skipped", file=sys.stderr)
        return "ack"

    return on_message


def run(amqp_url: str | None = None, queue: str = DEFAULT_QUEUE, *, state_path: str | Path | None = None,
        stop: threading.Event | None = None, out: TextIO | None = None) -> None:
    """Consume won deals until ``stop`` is set (or Ctrl-C), printing a draft invoice per deal.

    amqp_url defaults to CADENA_AMQP_URL; the ledger of handled events to
    var/billing-demo-<queue>.sqlite (CADENA_VAR_DIR).
    """
    amqp_url = amqp_url or config.load("opportunities").amqp_url
    path = Path(state_path) if state_path else config.var_dir() / f"billing-demo-{queue}.sqlite"
    ledger = Ledger(path)
    if stop is None:
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():  # a command line: stop cleanly on Ctrl-C / TERM
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
    consumer = Consumer(amqp_url, QueueSpec(queue, (WON,), delivery_limit=5), handler(ledger, out or sys.stdout),
                        prefetch=20, stop=stop, name=queue)
    try:
        consumer.run()
    except KeyboardInterrupt:
        stop.set()
    finally:
        ledger.close()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="billing-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--amqp-url", default=None, help="broker URL (default: CADENA_AMQP_URL)")
    parser.add_argument("--queue", default=DEFAULT_QUEUE, help=f"queue to bind (default: {DEFAULT_QUEUE})")
    args = parser.parse_args(argv)
    print(f"billing-demo: waiting for won deals on queue {args.queue} (Ctrl-C to stop)", file=sys.stderr)
    run(args.amqp_url, args.queue)
    return 0


if __name__ == "__main__":
    sys.exit(main())
