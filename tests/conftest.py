"""Shared fixtures: databases (SQLite and PostgreSQL), and the real servers.

Under ``.ci/run`` (``TRACER_REQUIRE_SERVICES=1``) a missing PostgreSQL or
Dovecot is a failure, elsewhere a visible skip.
"""

from __future__ import annotations

import os
import uuid

import pytest

from tracer.store import db

PG_BASE = os.environ.get("TRACER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_SERVICES = os.environ.get("TRACER_REQUIRE_SERVICES") == "1"


def require(reason: str) -> None:
    """Skip with a visible reason, or fail when the services are required."""
    if REQUIRE_SERVICES:
        pytest.fail(f"service required under CI: {reason}")
    pytest.skip(reason)


def _pg_admin():
    import psycopg

    dsn = PG_BASE.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(dsn, autocommit=True, connect_timeout=3)


@pytest.fixture
def pg_url():
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    try:
        admin = _pg_admin()
    except Exception as exc:  # no server on this machine
        require(f"PostgreSQL unreachable at {PG_BASE}: {exc.__class__.__name__}")
    schema = "t_" + uuid.uuid4().hex[:12]
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'tracer.store.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """Each storage test runs on both engines."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracer.store.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url):
    eng = db.open_engine(db_url)
    yield eng
    eng.dispose()


# --------------------------------------------------------------------------
# Dovecot: one private server per test session, a fresh user per test.

import itertools
from pathlib import Path

from dovecot import Dovecot, available as dovecot_available

_users = itertools.count(1)


@pytest.fixture(scope="session")
def dovecot_server():
    if not dovecot_available():
        require("Dovecot (/usr/sbin/dovecot, paquet dovecot-imapd) absent ou pas root")
    server = Dovecot().start()
    yield server
    server.destroy()


class DovecotUsers:
    def __init__(self, server: Dovecot):
        self.server = server
        self.port = server.port

    def user(self, hint: str = "boite") -> tuple[str, str]:
        name = f"{hint}{next(_users)}@haute-savoie.gouv.fr"
        return self.server.add_user(name, "mot-de-passe")


@pytest.fixture
def dovecot(dovecot_server):
    return DovecotUsers(dovecot_server)


@pytest.fixture
def make_config(tmp_path):
    """Write a real tracer.toml (subprocess CLI tests use ``--config PATH``)."""

    def build(mailboxes: list[dict] = (), extra: str = "", port: int | None = None, **tracer_keys) -> Path:
        secret = tmp_path / "imap.secret"
        secret.write_text("mot-de-passe\n")
        secret.chmod(0o600)  # as a service account keeps it (a shared one is warned about)
        lines = ["[tracer]", f'database_url = "sqlite:///{tmp_path / "tracer.store.db"}"', 'reference_prefix = "PREF74"']
        for key, value in tracer_keys.items():
            lines.append(f"{key} = {_toml(value)}")
        for box in mailboxes:
            values = {"host": "127.0.0.1", "tls": "none", "password_file": str(secret), "timeout": 10}
            if port is not None:
                values["port"] = port
            values.update(box)
            lines.append("\n[[mailbox]]")
            lines += [f"{k} = {_toml(v)}" for k, v in values.items()]
        path = tmp_path / "tracer.toml"
        path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
        return path

    return build


def _toml(value) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


# --------------------------------------------------------------------------
# SMTP: aiosmtpd in-process, able to answer errors or be stopped.

from smtpsink import SmtpSink  # noqa: E402


@pytest.fixture
def smtp_server():
    sink = SmtpSink().start()
    yield sink
    sink.stop()
