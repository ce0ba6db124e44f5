"""Alembic environment: the engine comes from tracer.db (no alembic.ini)."""

from alembic import context
from sqlmodel import SQLModel

from tracer.store import models  # noqa: F401

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds a table (copy, drop, rename): with foreign keys
            # enforced, dropping « request » while messages and events point at it fails
            # (FOREIGN KEY constraint failed) on any database holding data. The pragma
            # only takes effect outside a transaction: set it on the raw connection
            # before BEGIN, check every reference before COMMIT, and set it back.
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                context.configure(
                    connection=connection,
                    target_metadata=target_metadata,
                    render_as_batch=sqlite,
                    compare_type=True,
                    transactional_ddl=True,  # all or nothing, SQLite included (see tracer.db)
                )
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration: {len(broken)} foreign key(s) left dangling, rolled back")
        finally:
            if sqlite:
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


run_migrations_online()
