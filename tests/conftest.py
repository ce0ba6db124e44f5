"""Shared fixtures: databases (SQLite and PostgreSQL), and the real servers.

Under ``.ci/run`` (``TRACER_REQUIRE_SERVICES=1``) a missing PostgreSQL or
Dovecot is a failure, elsewhere a visible skip.
"""

from __future__ import annotations

import os
import uuid

import pytest

from tracer import db

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
    return f"sqlite:///{tmp_path / 'tracer.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """Each storage test runs on both engines."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracer.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url):
    eng = db.open_engine(db_url)
    yield eng
    eng.dispose()
