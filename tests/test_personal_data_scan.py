"""Purge and erasure leave nothing of the person: every column of every table is
scanned (compressed blobs decompressed, queued mail decoded), and on SQLite the
database file and its WAL too. Published statistics stay identical."""

from __future__ import annotations

import zlib
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import inspect, select, text
from sqlmodel import Session

from mailfactory import make_mail, reply_to
from tracer.core import config
from tracer.mail import ingest
from tracer.outgoing import alerts, digest, outbox
from tracer.register import retention
from tracer.reports import stats
from tracer.services import Runtime
from tracer.store.models import Outbox, Request

PARIS = ZoneInfo("Europe/Paris")
NAME = "Gwendoline Trouvetout"
ADDRESS = "g.trouvetout@example.org"
NEEDLES = ("trouvetout", "gwendoline")  # address and name, case-insensitive
PREF = "pref-qualite@haute-savoie.gouv.fr"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)  # a Monday


def rt_for(days: int) -> Runtime:
    return Runtime(config.from_dict({
        "tracer": {"reference_prefix": "PREF74"},
        "retention": {"body_days": days},
        "mailbox": [{"name": "q", "address": PREF, "host": "127.0.0.1", "tls": "none", "service": "qualite"}],
        "service": [{"name": "qualite", "alert_to": ["referent@haute-savoie.gouv.fr"]}],
        "digest": {"to": ["referent@haute-savoie.gouv.fr"]},
    }))


def put(engine, rt, raw: bytes, when: datetime, role: str = "inbox", source: str = "imap") -> None:
    ingest.record_batch(engine, rt, [ingest.Incoming(raw, when, "q", role, source=source)], when + timedelta(minutes=1))


def fill(engine, rt) -> dict:
    """Everything the person can leave behind, and another citizen's request."""
    mine = f"<1.{ADDRESS}>"  # a Message-ID embedding the address (some webmails do)
    put(engine, rt, make_mail(message_id=mine, sender=f"{NAME} <{ADDRESS}>", to=PREF, subject="Mon titre de séjour",
                              body=f"Bonjour,\nJe suis {NAME}, mon titre expire.\n{NAME}\n",
                              headers={"Return-Path": f"<{ADDRESS}>", "Disposition-Notification-To": ADDRESS}), T0)
    # the reply, threaded and quoting her
    put(engine, rt, reply_to(mine, to=ADDRESS, message_id="<r1@pref.gouv.fr>", body=f"Madame {NAME},\nvoici les pièces.\n"),
        T0 + timedelta(days=2), "sent")
    # a request she never got an answer to
    put(engine, rt, make_mail(message_id="<2-gt@mailer.example.org>", sender=f"{NAME} <{ADDRESS}>", to=PREF,
                              subject=f"Réclamation de {NAME}", body="Toujours rien reçu, c'est inadmissible.\n"), T0 + timedelta(days=3))
    # a reply sent to her that links to nothing (unlinked)
    put(engine, rt, reply_to("<inconnu@ailleurs>", to=ADDRESS, message_id="<r2@pref.gouv.fr>", subject="RE: votre courrier",
                             body=f"Madame {NAME}, nous avons bien reçu votre courrier.\n"), T0 + timedelta(days=4), "sent")
    # a message of hers that could not be read: quarantined raw
    put(engine, rt, f"X-Bizarre: oui\n\nBonjour, je suis {NAME} <{ADDRESS}>\n".encode(), T0 + timedelta(days=5),
        source=f"/imports/{ADDRESS}.eml")
    # another citizen, who must keep everything
    put(engine, rt, make_mail(message_id="<paul-1@example.net>", sender="Paul Durandal <paul.durandal@example.net>", to=PREF,
                              subject="Permis de conduire"), T0 + timedelta(days=1))
    with Session(engine) as session:
        mine_open = session.execute(select(Request).where(Request.subject.contains("Réclamation"))).scalars().one()
        # a reply to her still waiting in the outbox
        outbox.enqueue(session, kind="reply", sender=PREF, recipients=[f"{NAME} <{ADDRESS}>"], subject=f"RE: Réclamation de {NAME}",
                       text=f"Madame {NAME},\n\nnous revenons vers vous.\n", in_reply_to="<2-gt@mailer.example.org>",
                       references=["<2-gt@mailer.example.org>"], request_id=mine_open.id, mailbox="q", created_by="agent.x",
                       now=T0 + timedelta(days=6))
        session.commit()
    # alerts and digest quoting her request (no SMTP: they stay queued)
    alerts.run(engine, rt, T0 + timedelta(days=40), T0 + timedelta(days=40))
    digest.send(engine, rt, T0 + timedelta(days=40), T0 + timedelta(days=40))
    with Session(engine) as session:
        queued = session.execute(select(Outbox.kind)).scalars().all()
    assert {"reply", "alert", "digest"} <= set(queued)
    return {"mine": mine}


def figures(engine, rt):
    with Session(engine) as session:
        return stats.compute(session, rt, date(2026, 1, 1), date(2026, 7, 1), datetime(2026, 7, 15, tzinfo=PARIS), ["category"])


def _texts(value) -> list[str]:
    """What a column value says, blobs decompressed and mail decoded."""
    if value is None:
        return []
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes):
        out = [value.decode("utf-8", "replace")]
        try:
            out.append(zlib.decompress(value).decode("utf-8", "replace"))
        except zlib.error:
            pass
        for blob in list(out):
            try:
                msg = message_from_bytes(blob.encode("utf-8", "replace"), policy=policy.default)
                out += [str(v) for _k, v in msg.items()]
                out += [p.get_content() for p in msg.walk() if p.get_content_maintype() == "text"]
            except Exception:  # noqa: BLE001 - not a mail
                pass
        return out
    return [str(value)]


def leaks(engine, needles=NEEDLES) -> list[str]:
    found = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            columns = [c["name"] for c in inspect(conn).get_columns(table)]
            for row in conn.execute(text(f'SELECT * FROM "{table}"')).mappings():
                for column in columns:
                    for piece in _texts(row[column]):
                        for needle in needles:
                            if needle in piece.lower():
                                found.append(f"{table}.{column} (id {row.get('id')}): {needle}")
    return sorted(set(found))


def file_leaks(engine) -> list[str]:
    if engine.dialect.name != "sqlite":
        return []
    path = Path(engine.url.database)
    found = []
    for p in (path, Path(f"{path}-wal")):
        if p.exists():
            data = p.read_bytes().lower()
            found += [f"{p.name}: {n}" for n in NEEDLES if n.encode() in data]
    return found


def test_purge_takes_everything_older_than_the_retention_whatever_its_status(engine):
    rt = rt_for(30)
    fill(engine, rt)
    assert leaks(engine)  # the data is there to begin with
    before = figures(engine, rt)
    result = retention.purge(engine, rt, T0 + timedelta(days=120))
    assert result["requests"] == 3 and result["quarantined"] == 1 and result["outbox"] >= 3
    assert leaks(engine) == []
    assert file_leaks(engine) == []
    assert figures(engine, rt) == before
    assert retention.purge(engine, rt, T0 + timedelta(days=121))["requests"] == 0  # nothing twice


def test_purge_keeps_what_is_younger_than_the_retention(engine):
    rt = rt_for(30)
    fill(engine, rt)
    # the limit is day 3: Paul's request (day 1, never answered) and her first one (answered on
    # day 2) go; her open request of day 3, the unlinked reply (day 4), the quarantine (day 5) stay
    result = retention.purge(engine, rt, T0 + timedelta(days=33))
    assert (result["requests"], result["quarantined"]) == (2, 0)
    with Session(engine) as session:
        kept = session.execute(select(Request).where(Request.purged_at.is_(None))).scalars().all()
        assert [r.sender_addr for r in kept] == [ADDRESS]
        unlinked = session.execute(text("select count(*) from message where request_id is null and from_addr is not null")).scalar()
        assert unlinked == 1
    assert leaks(engine, ("paul.durandal",)) == []


def test_erasure_leaves_nothing_of_the_person_and_cancels_pending_mail(engine):
    rt = rt_for(3650)
    fill(engine, rt)
    before = figures(engine, rt)
    result = retention.erase(engine, rt, ADDRESS.upper(), "dpo.durand", T0 + timedelta(days=41))
    assert result["requests"] == 2 and result["quarantined"] == 1 and result["cancelled"] >= 1
    assert leaks(engine) == []
    with Session(engine) as session:
        hashed = session.execute(text("select count(*) from message where content_hash is not null and from_addr is null "
                                      "and direction = 'in'")).scalar()
        assert hashed == 0  # her messages keep no hash of their content
    assert file_leaks(engine) == []
    assert figures(engine, rt) == before
    with Session(engine) as session:
        rows = session.execute(select(Outbox).where(Outbox.kind == "reply")).scalars().all()
        assert rows and all(r.status == "cancelled" for r in rows)  # a later outbox --retry sends nothing
    tried = outbox.retry_due(engine, rt.cfg, T0 + timedelta(days=42), all_pending=True)
    assert not {t["id"] for t in tried} & {r.id for r in rows}
    # the other citizen keeps their request whole
    assert leaks(engine, ("paul.durandal",)), "the other citizen's data was erased too"
    with Session(engine) as session:
        paul = session.execute(select(Request).where(Request.sender_addr == "paul.durandal@example.net")).scalars().one()
        assert paul.subject == "Permis de conduire" and paul.sender_name == "Paul Durandal"


def test_a_purged_message_polled_again_is_still_a_duplicate(engine):
    rt = rt_for(30)
    mine = f"<1.{ADDRESS}>"
    raw = make_mail(message_id=mine, sender=f"{NAME} <{ADDRESS}>", to=PREF)
    put(engine, rt, raw, T0)
    with Session(engine) as session:
        assert session.execute(text("select content_hash from message")).scalar()
    retention.purge(engine, rt, T0 + timedelta(days=120))
    with Session(engine) as session:  # the hash of her name, address, subject and body goes with them
        assert session.execute(text("select count(*) from message where content_hash is not null")).scalar() == 0
    summary = ingest.record_batch(engine, rt, [ingest.Incoming(raw, T0, "q", "inbox", source="imap")], T0 + timedelta(days=121))
    assert (summary.recorded, summary.duplicates) == (0, 1)
    with Session(engine) as session:  # one by one too (the batch's pre-query is not the only check)
        session.info.pop("known_keys", None)
        assert ingest.record_raw(session, rt, ingest.Incoming(raw, T0, "q", "inbox"), T0 + timedelta(days=121)) == ingest.DUPLICATE
        session.rollback()
