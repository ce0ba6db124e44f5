"""Personal data: retention purge keeps the indicators; access and erasure."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlmodel import Session

from mailfactory import make_mail, reply_to
from tracer.core import config
from tracer.mail import ingest
from tracer.register import retention
from tracer.reports import stats
from tracer.services import Runtime

PARIS = ZoneInfo("Europe/Paris")


def rt_for(days=30):
    return Runtime(config.from_dict({
        "retention": {"body_days": days},
        "mailbox": [{"name": "q", "address": "pref-qualite@haute-savoie.gouv.fr", "host": "127.0.0.1", "tls": "none"}],
    }))


def put(engine, rt, raw, when, role="inbox"):
    ingest.record_batch(engine, rt, [ingest.Incoming(raw, datetime.fromisoformat(when), "q", role, source="t")],
                        datetime(2026, 10, 1, tzinfo=PARIS))


def fill(engine, rt):
    put(engine, rt, make_mail(message_id="<p1@x>", sender="Jeanne Martin <jeanne@example.org>"), "2026-07-06T10:00:00+02:00")
    put(engine, rt, reply_to("<p1@x>", to="jeanne@example.org"), "2026-07-08T10:00:00+02:00", "sent")
    put(engine, rt, make_mail(message_id="<p2@x>", sender="Paul <paul@example.org>"), "2026-07-07T10:00:00+02:00")
    put(engine, rt, make_mail(message_id="<p3@x>", sender="Jeanne Martin <jeanne@example.org>", subject="Autre"),
        "2026-09-28T10:00:00+02:00")


def figures(engine, rt):
    with Session(engine) as session:
        return stats.compute(session, rt, date(2026, 7, 1), date(2026, 10, 1), datetime(2026, 10, 15, tzinfo=PARIS), ["category"])


def test_purge_blanks_personal_data_and_keeps_the_indicators(engine):
    rt = rt_for(30)
    fill(engine, rt)
    before = figures(engine, rt)
    now = datetime(2026, 9, 1, tzinfo=PARIS)
    dry = retention.purge(engine, rt, now, dry_run=True)
    assert dry["requests"] == 2 and dry["dry_run"]
    done = retention.purge(engine, rt, now, by="tracer")
    assert done["requests"] == 2 and done["messages"] == 3
    assert figures(engine, rt) == before
    with engine.connect() as conn:
        rows = conn.execute(text("select sender_addr, subject, purged_at from request order by id")).all()
        assert rows[0][0] is None and rows[0][1] is None and rows[0][2] is not None
        assert rows[1][0] is None and rows[1][2] is not None  # never answered, older than the retention: purged too
        assert rows[2][0] == "jeanne@example.org" and rows[2][2] is None  # younger: kept
        bodies = conn.execute(text("select count(*) from message where body_text is not null")).scalar()
        assert bodies == 1
        assert conn.execute(text("select count(*) from raw_message where data is null")).scalar() == 3
    assert retention.purge(engine, rt, now)["requests"] == 0  # nothing twice


def test_person_export_and_erase(engine, tmp_path):
    rt = rt_for(365)
    fill(engine, rt)
    with Session(engine) as session:
        data = retention.export_person(session, rt, "Jeanne@Example.org")
    assert len(data["requests"]) == 2 and len(data["messages"]) == 3
    assert any(m["body"] for m in data["messages"])
    before = figures(engine, rt)
    with Session(engine) as session, session.begin():
        result = retention.erase_person(session, rt, "jeanne@example.org", "dpo.durand", datetime(2026, 10, 2, tzinfo=PARIS))
    assert result == {"requests": 2, "messages": 3, "quarantined": 0, "outbox": 0, "cancelled": 0}
    assert figures(engine, rt) == before
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from message where from_addr = 'jeanne@example.org'")).scalar() == 0
        events = conn.execute(text("select actor, data from event where kind = 'erased'")).all()
    assert len(events) == 2 and all(e[0] == "dpo.durand" for e in events)
    assert all("jeanne" not in str(e[1]) for e in events)  # the event holds none of the erased data
    with Session(engine) as session:
        assert retention.export_person(session, rt, "jeanne@example.org")["requests"] == []


def test_database_file_is_private(tmp_path):
    cfg = tmp_path / "t.toml"
    cfg.write_text(f'[tracer]\ndatabase_url = "sqlite:///{tmp_path / "t.db"}"\n')
    subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg), "cases"], check=True, capture_output=True)
    assert stat.S_IMODE(os.stat(tmp_path / "t.db").st_mode) == 0o600
