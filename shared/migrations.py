"""Alembic, one migration history per component (services/<name>/migrations,
gateway/migrations), applied by `cadena migrate` and `cadena up`."""
from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

from shared import config as cadena_config


def migrations_dir(component: str) -> Path:
    package = "gateway" if component == "gateway" else f"services.{component}"
    module = importlib.import_module(package)
    return Path(module.__file__).resolve().parent / "migrations"


def alembic_config(component: str, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir(component)))
    cfg.set_main_option("version_table", "alembic_version")
    cfg.attributes["url"] = url or cadena_config.database_url(component)
    return cfg


def upgrade(component: str, url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(component, url), revision)


def revision(component: str, message: str) -> None:
    """Autogenerate a revision against a database at head (developers' tool)."""
    cfg = alembic_config(component)
    command.upgrade(cfg, "head")
    command.revision(cfg, message=message, autogenerate=True)


def outbox_notify_sql(component: str) -> list[str]:
    """A statement-level trigger that wakes the relay (LISTEN) when outbox rows
    commit: NOTIFY is transactional, and a trigger costs the write path no
    extra round trip."""
    from shared.db import notify_channel

    return [
        "CREATE OR REPLACE FUNCTION cadena_outbox_notify() RETURNS trigger AS $$ "
        "BEGIN PERFORM pg_notify(TG_ARGV[0], ''); RETURN NULL; END $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS outbox_notify ON outbox",
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT "
        f"EXECUTE FUNCTION cadena_outbox_notify('{notify_channel(component)}')",
    ]


def run_env(context, metadata: MetaData) -> None:
    """The body of every component's migrations/env.py."""
    from sqlalchemy import inspect, text

    from shared.db import make_engine

    component = Path(context.config.get_main_option("script_location")).parent.name
    url = context.config.attributes.get("url") or cadena_config.database_url(component)
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if connection.dialect.name == "postgresql" and inspect(connection).has_table("outbox"):
                for statement in outbox_notify_sql(component):
                    connection.execute(text(statement))
        if connection.in_transaction():
            connection.commit()
    engine.dispose()
