"""Concurrent writers on one SQLite file: each waits its turn, none fails.

A deferred ``BEGIN`` that reads and then writes cannot wait on the busy timeout
in WAL mode (its snapshot is stale once another writer commits): SQLite answers
"database is locked" at once. Write transactions begin ``IMMEDIATE``. These run
real processes against one file, as the daemon, agents' commands and the web do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from mailfactory import make_mail
from tracer.core.clock import PARIS
from tracer.outgoing import outbox
from tracer.store import db
from tracer.store.models import Outbox


def run(config, *args):
    return subprocess.Popen([sys.executable, "-m", "tracer", "--config", str(config), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"})


def finish(procs):
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=240)
        out.append((proc.returncode, stdout, stderr))
    return out


def test_concurrent_polls_of_the_same_mailboxes_all_succeed_without_duplicates(dovecot, make_config):
    boxes = []
    for name in ("qualite", "titres"):
        user, _ = dovecot.user(name)
        for i in range(40):
            dovecot.server.append(user, "INBOX", make_mail(to=user, message_id=f"<{name}-{i}@x.fr>", subject=f"Demande {name} {i}"),
                                  datetime.now(PARIS) - timedelta(days=3, minutes=i))
        boxes.append({"name": name, "address": user, "username": user, "batch_size": 3})
    config = make_config(boxes, port=dovecot.port)
    results = finish([run(config, "poll", "--json") for _ in range(6)])
    for code, _out, err in results:
        assert code == 0, err
        assert "Traceback" not in err and "locked" not in err
    cases = json.loads(subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), "cases", "--json"],
                                      capture_output=True, text=True, timeout=60).stdout)
    ids = [mid for c in cases for mid in c["message_ids"]]
    assert len(ids) == 80 and len(set(ids)) == 80
    assert sum(json.loads(out)["recorded"] for _c, out, _e in results) == 80


def test_reclassify_during_a_poll_succeeds(dovecot, make_config):
    user, _ = dovecot.user("qualite")
    dovecot.server.append(user, "INBOX", make_mail(to=user, message_id="<premiere@x.fr>"), datetime.now(PARIS) - timedelta(days=4))
    config = make_config([{"name": "qualite", "address": user, "username": user, "batch_size": 2}], port=dovecot.port)
    first = subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), "poll", "--json"], capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    (case,) = json.loads(subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), "cases", "--json"],
                                        capture_output=True, text=True, timeout=60).stdout)
    for i in range(150):
        dovecot.server.append(user, "INBOX", make_mail(to=user, message_id=f"<suite-{i}@x.fr>", subject=f"Demande {i}"),
                              datetime.now(PARIS) - timedelta(days=2, minutes=i))
    poll = run(config, "poll", "--json")
    categories = ["reclamation", "information", "suggestion"]
    agents = [run(config, "reclassify", case["reference"], categories[i % 3], "--topic", "autre", "--by", f"agent{i}")
              if categories[i % 3] != "information" else
              run(config, "reclassify", case["reference"], "information", "--by", f"agent{i}") for i in range(6)]
    results = finish([poll, *agents])
    for code, _out, err in results:
        assert code == 0, err
        assert "Traceback" not in err
    assert json.loads(results[0][1])["recorded"] == 150
    shown = json.loads(subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), "show", case["reference"], "--json"],
                                      capture_output=True, text=True, timeout=60).stdout)
    assert sum(1 for e in shown["events"] if e["kind"] == "reclassified") == 6


def test_concurrent_outbox_retries_all_succeed_and_send_each_mail_once(make_config, smtp_server):
    config = make_config(extra=f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\ntls = "none"\n')
    engine = db.open_engine(f"sqlite:///{config.parent / 'tracer.store.db'}")
    now = datetime.now(PARIS) - timedelta(minutes=5)
    with Session(engine) as session:
        for i in range(30):
            outbox.enqueue(session, kind="reply", sender="pref-qualite@haute-savoie.gouv.fr", recipients=[f"c{i}@example.org"],
                           subject=f"RE: demande {i}", text="Bonjour,\n\nVoici.\n", created_by="agent", now=now)
        session.commit()
    results = finish([run(config, "outbox", "--retry", "--json") for _ in range(3)])
    for code, _out, err in results:
        assert code == 0, err
        assert "Traceback" not in err
    assert sum(json.loads(out)["sent"] for _c, out, _e in results) == 30
    assert sorted(e.rcpt_tos[0] for e in smtp_server.messages) == sorted(f"c{i}@example.org" for i in range(30))
    with Session(engine) as session:
        assert {r.status for r in session.execute(select(Outbox)).scalars()} == {"sent"}
    engine.dispose()


def test_a_deferred_reader_that_then_writes_waits_instead_of_failing(tmp_path):
    """At the depth of the cause: two sessions that read, then write, on one file."""
    engine = db.open_engine(f"sqlite:///{tmp_path / 'tracer.store.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE compteur (n INTEGER)"))
        conn.execute(text("INSERT INTO compteur VALUES (0)"))
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work():
        try:
            barrier.wait()
            for _ in range(25):
                with Session(engine) as session:
                    n = session.execute(text("SELECT n FROM compteur")).scalar()
                    session.execute(text("UPDATE compteur SET n = :n"), {"n": n + 1})
                    session.commit()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:  # no lost update either: each read-then-write was serialised
        assert conn.execute(text("SELECT n FROM compteur")).scalar() == 100
    engine.dispose()


def test_a_reader_session_does_not_wait_for_a_writer_and_cannot_write(tmp_path):
    engine = db.open_engine(f"sqlite:///{tmp_path / 'tracer.store.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE compteur (n INTEGER)"))
        conn.execute(text("INSERT INTO compteur VALUES (7)"))
    with Session(engine) as writer:  # holds the write lock (BEGIN IMMEDIATE)
        writer.execute(text("UPDATE compteur SET n = 8"))
        with db.read_scope(engine) as session:  # answered at once from the last commit
            assert session.execute(text("SELECT n FROM compteur")).scalar() == 7
        writer.commit()
    with db.read_scope(engine) as session, pytest.raises(OperationalError, match="readonly"):
        session.execute(text("UPDATE compteur SET n = 9"))
    with Session(engine) as session:  # the pooled connection writes again outside a reader
        session.execute(text("UPDATE compteur SET n = 10"))
        session.commit()
        assert session.execute(text("SELECT n FROM compteur")).scalar() == 10
    engine.dispose()


def test_a_command_opens_the_database_and_reads_while_a_writer_holds_the_lock(make_config):
    """Opening checks the schema's revision with a read: it does not queue behind writers.

    Several polls writing batch after batch could starve a command waiting for the
    write lock only to read the schema's revision ("database is locked" after the
    busy timeout, seen under CI load). Here one writer holds the lock throughout.
    """
    config = make_config()
    engine = db.open_engine(f"sqlite:///{config.parent / 'tracer.store.db'}")
    held = threading.Event()
    release = threading.Event()

    def writer():
        with engine.connect() as conn:  # BEGIN IMMEDIATE: the write lock, kept
            conn.execute(text("SELECT 1"))
            held.set()
            release.wait(120)
            conn.rollback()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert held.wait(30)
        result = subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), "cases", "--json"],
                                capture_output=True, text=True, timeout=90)
    finally:
        release.set()
        thread.join()
        engine.dispose()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
