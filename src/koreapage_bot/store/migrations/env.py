"""Alembic environment. The bot runs migrations itself at start (store/migrate.py) and passes
its own connection in `config.attributes["connection"]`; no engine is built here."""

from __future__ import annotations

from alembic import context

from koreapage_bot.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only the bot's own runner is supported
    raise RuntimeError("run migrations through koreapage_bot.store.migrate")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
