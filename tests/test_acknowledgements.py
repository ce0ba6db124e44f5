"""Acknowledgements of receipt against hostile senders (issue 15, items 6, 8 and 9)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlmodel import Session

from mailfactory import make_mail
from tracer.core import config as config_mod
from tracer.outgoing import reply
from tracer.services import Runtime
from tracer.store.models import Message, Outbox, Request

UTC = timezone.utc
NOW = datetime(2026, 10, 1, 8, tzinfo=UTC)
BOX = "pref-qualite@haute-savoie.gouv.fr"


def runtime(smtp_port: int, **box) -> Runtime:
    return Runtime(config_mod.from_dict({
        "tracer": {"reference_prefix": "PREF74"},
        "mailbox": [{"name": "qualite", "address": BOX, "host": "127.0.0.1", "tls": "none", "acknowledge": True, **box}],
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "tls": "none", "timeout": 5},
    }))


def insert(engine, number: int, from_addr: str, sender_addr: str | None = None, name: str = "Jeanne Martin",
           subject: str = "Question sur mon titre de séjour", at: datetime = NOW) -> str:
    reference = f"PREF74-2026-{number:05d}"
    with Session(engine) as session:
        request = Request(reference=reference, channel="email", mailbox="qualite", service="qualite", category="information",
                          sender_addr=sender_addr or from_addr, sender_name=name, subject=subject, received_at=at,
                          deadline=at + timedelta(days=7), created_at=at)
        session.add(request)
        session.flush()
        mid = f"<ack-{number}@example.org>"
        session.add(Message(dedup_key=mid, message_id=mid, direction="in", request_id=request.id, mailbox="qualite",
                            folder="INBOX", received_at=at, from_addr=from_addr, from_name=name, subject=subject,
                            reply_to=sender_addr, created_at=at))
        session.commit()
    return reference


def test_one_bad_address_fails_its_own_acknowledgement_only_in_french(engine, smtp_server, caplog):
    """Item 6: an address holding U+2028, a line feed, NEL or VT breaks only its acknowledgement."""
    rt = runtime(smtp_server.port)
    bad = ["a\u2028b@example.org", "a\nb@example.org", "a\x85b@example.org", "a\x0bb@example.org"]
    for i, address in enumerate(bad, start=1):
        insert(engine, i, address)
    good = insert(engine, 9, "paul.durand@example.org")
    with caplog.at_level(logging.ERROR, logger="tracer.outgoing.reply"):
        sent = reply.acknowledge_new(engine, rt, NOW)
    assert sent == [good]
    assert [m["To"] for m in smtp_server.parsed()] == ["paul.durand@example.org"]
    errors = [r.getMessage() for r in caplog.records]
    assert len(errors) == 4 and all("adresse de réponse invalide" in e for e in errors)


def test_acknowledgement_goes_to_from_only_quotes_nothing_and_is_capped_per_hour(engine, smtp_server):
    """Item 9: a Reply-To pointing at a victim gets nothing; neither the subject nor the
    name is quoted; at most acknowledge_per_hour per mailbox, the rest later."""
    rt = runtime(smtp_server.port, acknowledge_per_hour=2)
    insert(engine, 1, "stranger@example.org", sender_addr="victim@example.net", name="Cliquez ici http://evil.example",
           subject="Gagnez 1000 euros sur http://evil.example")
    for i in range(2, 5):
        insert(engine, i, f"citoyen{i}@example.org")
    assert len(reply.acknowledge_new(engine, rt, NOW)) == 2
    first = smtp_server.parsed()
    assert first[0]["To"] == "stranger@example.org"
    body = first[0].get_body(("plain",)).get_content()
    for text in (str(first[0]["Subject"]), body):
        assert "evil.example" not in text and "Gagnez" not in text and "Cliquez" not in text
    assert "Madame, Monsieur" in body
    assert reply.acknowledge_new(engine, rt, NOW + timedelta(minutes=5)) == []  # the hour's cap is reached
    assert len(reply.acknowledge_new(engine, rt, NOW + timedelta(hours=1, minutes=1))) == 2
    recipients = sorted(m["To"] for m in smtp_server.parsed())
    assert recipients == ["citoyen2@example.org", "citoyen3@example.org", "citoyen4@example.org", "stranger@example.org"]


def test_the_database_refuses_a_second_acknowledgement_of_a_request(engine, smtp_server):
    """Item 8, at the cause: whatever the timing, a second one for the same request is not written nor sent."""
    rt = runtime(smtp_server.port)
    reference = insert(engine, 1, "jeanne@example.org")
    first = reply.send_reply(engine, rt, reference, "accuse_reception", "tracer", {}, NOW, kind="ack")
    second = reply.send_reply(engine, rt, reference, "accuse_reception", "tracer", {}, NOW, kind="ack")
    assert (first["status"], second["status"]) == ("sent", "already")
    with Session(engine) as session:
        assert len(session.execute(select(Outbox).where(Outbox.kind == "ack")).scalars().all()) == 1
        assert len(session.execute(select(Message).where(Message.kind == "ack")).scalars().all()) == 1
    assert len(smtp_server.parsed()) == 1


def test_two_acknowledging_mailboxes_and_concurrent_polls_send_one_acknowledgement_each(dovecot, db_url, tmp_path, smtp_server):
    """Item 8 end to end: each citizen writes to both mailboxes; two polls run at once."""
    qualite, _ = dovecot.user("qualite")
    accueil, _ = dovecot.user("accueil")
    citizens = [f"citoyen{i}@example.org" for i in range(8)]
    when = datetime.now(UTC) - timedelta(minutes=30)
    for i, citizen in enumerate(citizens):
        raw = make_mail(sender=citizen, to=qualite, cc=accueil, message_id=f"<two-{i}@example.org>", subject=f"Question {i}")
        dovecot.server.append(qualite, "INBOX", raw, when)
        dovecot.server.append(accueil, "INBOX", raw, when)
    secret = tmp_path / "imap.secret"
    secret.write_text("mot-de-passe\n")
    secret.chmod(0o600)
    boxes = "".join(
        f'\n[[mailbox]]\nname = "{name}"\naddress = "{user}"\nusername = "{user}"\nhost = "127.0.0.1"\nport = {dovecot.port}\n'
        f'tls = "none"\npassword_file = "{secret}"\nacknowledge = true\n'
        for name, user in (("qualite", qualite), ("accueil", accueil)))
    cfg = tmp_path / "tracer.toml"
    cfg.write_text(f'[tracer]\ndatabase_url = "{db_url}"\nreference_prefix = "PREF74"\n{boxes}\n'
                   f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\ntls = "none"\n', encoding="utf-8")
    subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg), "db", "upgrade"], check=True, capture_output=True)
    results = []

    def poll():
        results.append(subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg), "poll", "--json"],
                                      capture_output=True, text=True, timeout=300))

    threads = [threading.Thread(target=poll) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.returncode == 0 and "Traceback" not in r.stderr for r in results), [r.stderr for r in results]
    recorded = sum(json.loads(r.stdout)["recorded"] for r in results)
    assert recorded == 8
    received = sorted(m["To"] for m in smtp_server.parsed())
    assert received == sorted(citizens)  # one each: none twice, none forgotten
