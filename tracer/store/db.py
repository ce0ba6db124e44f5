"""Engine, sessions and schema migrations (Alembic, applied automatically)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from tracer.store import models  # noqa: F401  (registers the tables)
from tracer.core import paths

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration. Checked against Alembic by tests/test_db.py; lets a
# command with an up-to-date schema start without importing Alembic.
SCHEMA_HEAD = "0006"


class DatabaseError(Exception):
    """A database that cannot be opened or upgraded (French message)."""


# hide_parameters: a database error's text (a log line, a traceback) never
# carries the row's values, which are personal data (a citizen's address,
# name, subject).
def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:":
        path = Path(database)
        paths.make_private_dir(path.parent)
        if not path.exists():
            # readable by the service user only (personal data)
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
    engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        # pysqlite starts transactions only before DML: take control so that DDL
        # (migrations) is transactional too and a crash mid-migration rolls back
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()
        # SQLite's lower() folds ASCII only: the register's search folds « É » like PostgreSQL
        dbapi_conn.create_function("tracer_lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _begin(conn):  # pragma: no cover - exercised by every test
        # A transaction that writes takes the write lock at BEGIN (IMMEDIATE) and so
        # waits its turn on busy_timeout. A deferred BEGIN that reads, then writes,
        # cannot wait in WAL mode: once another writer has committed, its snapshot is
        # stale and SQLite answers "database is locked" at once. Only a session on
        # ``reader(engine)`` begins deferred, and its connection is then query_only,
        # so a write there fails loudly instead of colliding now and then.
        read_only = bool(conn.get_execution_options().get(READ_ONLY))
        info = conn.connection.info
        if info.get(READ_ONLY, False) != read_only:
            conn.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
            info[READ_ONLY] = read_only
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


READ_ONLY = "tracer_read_only"


def reader(engine: Engine) -> Engine:
    """The same engine (same pool) for sessions that only read: pages, reports.

    On SQLite their transactions begin deferred and never wait for a writer
    (WAL: readers see the last commit); a write through them is refused. On
    PostgreSQL nothing changes.
    """
    return engine.execution_options(**{READ_ONLY: True})


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def alembic_config(engine: Engine):
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    # A read: on SQLite it must not queue for the write lock behind busy pollers
    # (every command opens the database; a starved wait ended in "database is locked")
    with reader(engine).connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the schema to the newest revision; return (before, after)."""
    before = current_revision(engine)
    if before != SCHEMA_HEAD:
        from alembic import command

        if engine.dialect.name == "postgresql":
            # several daemons starting together: one migrates, the others wait
            from tracer.core.locks import lock_key

            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key("migrations")})
                conn.commit()
                try:
                    if current_revision(engine) != SCHEMA_HEAD:
                        command.upgrade(alembic_config(engine), "head")
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key("migrations")})
                    conn.commit()
        else:
            command.upgrade(alembic_config(engine), "head")
    return before, current_revision(engine)


def open_engine(url: str, migrate: bool = True) -> Engine:
    """Engine for ``url`` with its schema up to date."""
    try:
        engine = make_engine(url)
        if migrate:
            upgrade(engine)
        return engine
    except DatabaseError:
        raise
    except Exception as exc:  # driver errors: connection refused, bad URL…
        raise DatabaseError(f"base de données inaccessible ({_safe_url(url)}) : {exc.__class__.__name__}: {_first_line(exc)}") from exc


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "URL invalide"


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:300]


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A session that only reads (see ``reader``); rolled back at the end."""
    with Session(reader(engine), expire_on_commit=False) as session:
        try:
            yield session
        finally:
            session.rollback()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed on success, rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
