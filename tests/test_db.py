"""Schema migrations: applied automatically, never losing data, matching the models."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from tracer.store import db


def test_schema_head_constant_matches_alembic(sqlite_url):
    engine = db.make_engine(sqlite_url)
    assert db.head_revision(engine) == db.SCHEMA_HEAD


def test_migrations_produce_exactly_the_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    assert db.current_revision(engine) == db.SCHEMA_HEAD


def test_upgrade_is_idempotent_and_keeps_data(db_url):
    engine = db.open_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO reference_counter (prefix, year, last) VALUES ('PREF74', 2026, 41)"))
    assert db.upgrade(engine) == (db.SCHEMA_HEAD, db.SCHEMA_HEAD)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT last FROM reference_counter")).scalar() == 41
    engine.dispose()


def test_db_upgrade_command_and_private_file(tmp_path):
    cfg = tmp_path / "t.toml"
    cfg.write_text(f'[tracer]\ndatabase_url = "sqlite:///{tmp_path / "sub" / "t.db"}"\n')
    out = subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg), "db", "upgrade"], capture_output=True, text=True)
    assert out.returncode == 0 and f"vide → {db.SCHEMA_HEAD}" in out.stdout
    out = subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg), "db", "upgrade"], capture_output=True, text=True)
    assert "déjà à jour" in out.stdout
    assert (tmp_path / "sub" / "t.db").stat().st_mode & 0o077 == 0  # readable by the service user only


def test_unreachable_database_is_a_french_line(tmp_path):
    cfg = tmp_path / "t.toml"
    cfg.write_text('[tracer]\ndatabase_url = "postgresql+psycopg://nobody@127.0.0.1:1/none"\n')
    out = subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg), "cases"], capture_output=True, text=True)
    assert out.returncode == 1 and "base de données inaccessible" in out.stderr and "Traceback" not in out.stderr


def test_a_migration_killed_half_way_leaves_no_half_schema(tmp_path):
    """SIGKILL during the first migration: the next command migrates cleanly."""
    import signal
    import time

    url = f"sqlite:///{tmp_path / 't.db'}"
    code = (
        "import os, signal\n"
        "from sqlalchemy import event\n"
        "from tracer.store import db\n"
        f"engine = db.make_engine({url!r})\n"
        "count = [0]\n"
        "@event.listens_for(engine, 'before_cursor_execute')\n"
        "def kill(*a):\n"
        "    count[0] += 1\n"
        "    if count[0] == 12: os.kill(os.getpid(), signal.SIGKILL)\n"
        "db.upgrade(engine)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    engine = db.open_engine(url)
    assert db.current_revision(engine) == db.SCHEMA_HEAD
    engine.dispose()


def _demo_rows(tmp_path) -> dict[str, list[dict]]:
    """The demo's rows (requests with their messages, events, outbox), read from a head database."""
    from datetime import datetime, timezone

    from sqlalchemy import MetaData, create_engine as plain_engine

    from tracer import demo

    result = demo.run(str(tmp_path / "head"), datetime(2026, 10, 15, tzinfo=timezone.utc))
    source = plain_engine(result["database"])
    meta = MetaData()
    meta.reflect(source)
    with source.connect() as conn:
        rows = {t.name: [dict(r._mapping) for r in conn.execute(t.select())] for t in meta.sorted_tables}
    source.dispose()
    return rows


def test_a_database_made_before_0002_with_its_data_upgrades_to_head(db_url, tmp_path):
    """An old demo database (schema 0001, rows referencing requests) opens with the new code:
    on SQLite the table rebuilds of the migrations used to fail with FOREIGN KEY constraint failed."""
    from alembic import command
    from sqlalchemy import MetaData

    rows = _demo_rows(tmp_path)
    old = db.make_engine(db_url)
    command.upgrade(db.alembic_config(old), "0001")
    meta = MetaData()
    meta.reflect(old)
    with old.begin() as conn:
        for table in meta.sorted_tables:
            keep = set(table.columns.keys())
            data = [{k: v for k, v in row.items() if k in keep} for row in rows.get(table.name, [])]
            if data and table.name != "alembic_version":
                conn.execute(table.insert(), data)
    old.dispose()
    assert len(rows["request"]) == 40 and rows["message"] and rows["event"]

    engine = db.open_engine(db_url)
    assert db.current_revision(engine) == db.SCHEMA_HEAD
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM request")).scalar() == 40
        assert conn.execute(text("SELECT COUNT(*) FROM message")).scalar() == len(rows["message"])
        assert conn.execute(text("SELECT COUNT(*) FROM event")).scalar() == len(rows["event"])
        assert conn.execute(text("SELECT COUNT(*) FROM request WHERE category IN ('reclamation', 'suggestion') "
                                 "AND topic IS NULL")).scalar() == 0
        orphans = conn.execute(text("SELECT COUNT(*) FROM message m LEFT JOIN request r ON r.id = m.request_id "
                                    "WHERE m.request_id IS NOT NULL AND r.id IS NULL")).scalar()
        assert orphans == 0
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # back on for the program
    engine.dispose()


def test_a_new_data_folder_is_private_and_an_existing_one_is_left_alone(tmp_path):
    import os
    import stat

    nested = tmp_path / "var" / "lib" / "tracer"
    engine = db.open_engine(f"sqlite:///{nested / 'tracer.db'}")
    engine.dispose()
    for folder in (tmp_path / "var", tmp_path / "var" / "lib", nested):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE((nested / "tracer.db").stat().st_mode) == 0o600
    shared = tmp_path / "partage"
    shared.mkdir()
    os.chmod(shared, 0o755)
    db.open_engine(f"sqlite:///{shared / 't.db'}").dispose()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
