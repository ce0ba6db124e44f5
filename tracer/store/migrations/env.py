"""Alembic environment: the engine comes from tracer.db (no alembic.ini)."""

from alembic import context
from sqlmodel import SQLModel

from tracer.store import models  # noqa: F401

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            transactional_ddl=True,  # all or nothing, SQLite included (see tracer.db)
        )
        context.run_migrations()


run_migrations_online()
