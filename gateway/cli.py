"""`cadena api-client create|list|revoke`: API clients for internal apps,
managed on the gateway's database by an operator (no admin password needed)."""
from __future__ import annotations

import click

from shared import config
from shared.auth import ROLES, Principal


def _db():
    from shared.cli import Failure, require_databases

    from gateway.app import open_db

    require_databases(["gateway"])
    try:
        return open_db(config.load("gateway"))
    except Exception as exc:  # pragma: no cover - reported as one line
        raise Failure(f"cannot open the gateway's database ({exc}); run `cadena migrate gateway`.") from None


@click.group("api-client")
def api_client():
    """API clients: identities for internal apps (client-credentials grant)."""


@api_client.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="readonly", show_default=True)
def create(name, role):
    """Create a client; its secret is printed once (store it in the app's secrets)."""
    from gateway.api_clients import create_client

    db = _db()
    with db.transaction() as uow:
        client = create_client(uow, Principal(id="cli", role="admin", team=None), {"name": name, "role": role})
    db.dispose()
    click.echo(f"client_id:     {client['client_id']}")
    click.echo(f"client_secret: {client['client_secret']}")
    click.echo("The secret is shown only now. Exchange both at POST /api/v1/auth/token with "
               '{"grant_type": "client_credentials", "client_id": …, "client_secret": …}.')


@api_client.command("list")
def list_():
    """List clients, newest last."""
    from gateway.api_clients import list_clients

    db = _db()
    cursor = None
    with db.sessions() as session:
        while True:
            items, cursor = list_clients(session, {"limit": 200, "cursor": cursor})
            for c in items:
                state = "active" if c["active"] else f"revoked {c['revoked_at']:%Y-%m-%d %H:%M}"
                click.echo(f"{c['client_id']}  {c['role']:<10} {state:<22} {c['name']}")
            if not cursor:
                break
    db.dispose()


@api_client.command("revoke")
@click.argument("client_id")
def revoke(client_id):
    """Revoke a client: its tokens are refused within seconds."""
    from shared.cli import Failure
    from shared.http import NotFound

    from gateway.api_clients import revoke_client

    db = _db()
    try:
        with db.transaction() as uow:
            revoke_client(uow, client_id)
    except NotFound:
        raise Failure(f"no API client {client_id}; `cadena api-client list` shows them.") from None
    finally:
        db.dispose()
    click.echo(f"Revoked {client_id}.")


@click.group("webhooks")
def webhooks_group():
    """Webhooks: test one with a signed ping, or run the delivery worker."""


@webhooks_group.command("test")
@click.argument("webhook_id")
def test_webhook(webhook_id):
    """Send a signed ping (a gateway.webhook.ping event) to a webhook and print what it answered."""
    from shared.cli import Failure
    from shared.http import NotFound

    from gateway.sender import Sender
    from gateway.ssrf import UrlGuard
    from gateway.webhooks import ping

    settings = config.load("gateway")
    db = _db()
    sender = Sender(UrlGuard.from_settings(settings), settings.webhook_timeout)
    try:
        outcome, event = ping(db, sender, webhook_id)
    except NotFound:
        raise Failure(f"no webhook {webhook_id}; GET /api/v1/webhooks lists them.") from None
    finally:
        sender.close()
        db.dispose()
    click.echo(f"ping {event['id']}: {outcome.describe()} in {outcome.duration_ms} ms")
    if not outcome.ok:
        raise Failure(f"the endpoint did not accept the ping ({outcome.describe()}).")


@webhooks_group.command("deliver")
def deliver():
    """Run the webhook delivery worker on its own (deployments where the gateway's worker has
    CADENA_WEBHOOK_INLINE=0); replicas compete for the work."""
    from gateway.delivery_worker import DeliveryWorker
    from shared.cli import require_broker

    settings = config.load("gateway")
    require_broker(settings.amqp_url)
    DeliveryWorker(settings, _db()).run_forever()
