"""The outbox against a real SMTP server (aiosmtpd): delivered once, never twice."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session

from tracer.core import config as config_mod
from tracer.outgoing import outbox
from tracer.core.errors import NotFound
from tracer.store.models import Outbox

UTC = timezone.utc
NOW = datetime(2026, 9, 7, 8, 30, tzinfo=UTC)
SENDER = "pref-qualite@haute-savoie.gouv.fr"
CITIZEN = "jeanne.martin@example.org"


def smtp_config(port: int | None, **smtp) -> config_mod.Config:
    if port is None:
        return config_mod.from_dict({})
    return config_mod.from_dict({"smtp": {"host": "127.0.0.1", "port": port, "tls": "none", "timeout": 5, **smtp}})


def queue(engine, html: str | None = None, kind: str = "reply", **extra) -> int:
    with Session(engine) as session:
        row = outbox.enqueue(
            session, kind=kind, sender=SENDER, recipients=[CITIZEN], subject="RE: Titre de séjour [PREF74-2026-00042]",
            text="Bonjour,\n\nVoici les pièces à fournir… à bientôt.\n", html=html, in_reply_to="<demande@exemple.fr>",
            references=["<avant@exemple.fr>", "<demande@exemple.fr>"], created_by="agent.martin", now=NOW, **extra,
        )
        session.commit()
        return row.id


def row_of(engine, outbox_id: int) -> Outbox:
    with Session(engine) as session:
        return session.get(Outbox, outbox_id)


def test_enqueue_stores_a_complete_message_pending_without_sending(engine, smtp_server):
    outbox_id = queue(engine)
    row = row_of(engine, outbox_id)
    assert row.status == "pending" and row.attempts == 0 and smtp_server.messages == []
    raw = row.data.decode("ascii")  # 7-bit clean: any relay takes it
    assert f"Message-ID: {row.message_id}" in raw and row.message_id.endswith("@haute-savoie.gouv.fr>")
    assert "Date: Mon, 07 Sep 2026 10:30:00 +0200" in raw  # Paris local time
    assert "In-Reply-To: <demande@exemple.fr>" in raw and "References: <avant@exemple.fr> <demande@exemple.fr>" in raw


def test_delivered_to_the_real_server_as_queued(engine, smtp_server):
    outbox_id = queue(engine)
    assert outbox.deliver(engine, smtp_config(smtp_server.port), outbox_id, NOW) == "sent"
    (envelope,) = smtp_server.messages
    assert envelope.mail_from == SENDER and envelope.rcpt_tos == [CITIZEN]
    (mail,) = smtp_server.parsed()
    row = row_of(engine, outbox_id)
    assert mail["Message-ID"] == row.message_id and mail["Subject"] == "RE: Titre de séjour [PREF74-2026-00042]"
    assert mail.get_content().replace("\r\n", "\n") == "Bonjour,\n\nVoici les pièces à fournir… à bientôt.\n"
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1 and row.last_error is None


def test_html_makes_a_multipart_alternative(engine, smtp_server):
    outbox_id = queue(engine, html="<p>Bonjour, à bientôt</p>")
    outbox.deliver(engine, smtp_config(smtp_server.port), outbox_id, NOW)
    (mail,) = smtp_server.parsed()
    assert mail.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_content() for p in mail.iter_parts()}
    assert parts["text/html"].strip() == "<p>Bonjour, à bientôt</p>" and "pièces" in parts["text/plain"]


def test_without_smtp_section_the_mail_stays_queued_with_a_french_error(engine):
    outbox_id = queue(engine)
    assert outbox.deliver(engine, smtp_config(None), outbox_id, NOW) == "pending"
    row = row_of(engine, outbox_id)
    assert row.status == "pending" and row.last_error == "aucun serveur SMTP configuré ([smtp])"


def test_server_down_stays_pending_then_one_retry_delivers_exactly_once(engine, smtp_server):
    cfg = smtp_config(smtp_server.port)
    outbox_id = queue(engine)
    smtp_server.stop()
    assert outbox.deliver(engine, cfg, outbox_id, NOW) == "pending"
    row = row_of(engine, outbox_id)
    assert "connexion impossible au serveur SMTP 127.0.0.1" in row.last_error
    assert row.attempts == 1 and row.next_attempt_at == NOW + timedelta(minutes=1)
    assert outbox.retry_due(engine, cfg, NOW + timedelta(seconds=30)) == []  # not due yet
    smtp_server.start()
    assert outbox.retry_due(engine, cfg, NOW + timedelta(minutes=1)) == [{"id": outbox_id, "status": "sent"}]
    assert outbox.retry_due(engine, cfg, NOW + timedelta(minutes=2)) == []
    assert outbox.retry_due(engine, cfg, NOW + timedelta(minutes=3), all_pending=True) == []
    assert len(smtp_server.messages) == 1 and row_of(engine, outbox_id).status == "sent"


def test_4xx_keeps_it_pending_with_a_doubling_backoff_capped_at_an_hour(engine, smtp_server):
    cfg = smtp_config(smtp_server.port)
    outbox_id = queue(engine)
    smtp_server.fail_with(451, "4.3.0 Réessayez plus tard")
    at, delays = NOW, []
    for _ in range(9):
        assert outbox.retry_due(engine, cfg, at) == [{"id": outbox_id, "status": "pending"}]
        row = row_of(engine, outbox_id)
        delays.append(row.next_attempt_at - at)
        at = row.next_attempt_at
    assert [int(d.total_seconds() // 60) for d in delays] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert row.status == "pending" and row.attempts == 9
    assert "a répondu 451 4.3.0 Réessayez plus tard" in row.last_error
    smtp_server.fail_with(None)
    assert outbox.retry_due(engine, cfg, at) == [{"id": outbox_id, "status": "sent"}]
    assert len(smtp_server.messages) == 1


def test_5xx_fails_for_good_and_is_listed(engine, smtp_server):
    cfg = smtp_config(smtp_server.port)
    outbox_id = queue(engine)
    smtp_server.fail_with(550, "5.1.1 Destinataire inconnu")
    assert outbox.deliver(engine, cfg, outbox_id, NOW) == "failed"
    smtp_server.fail_with(None)
    assert outbox.retry_due(engine, cfg, NOW + timedelta(days=1), all_pending=True) == []
    assert smtp_server.messages == []
    with Session(engine) as session:
        (item,) = outbox.listing(session, config_mod.from_dict({}).tz)
    assert item["status"] == "failed" and "550 5.1.1 Destinataire inconnu" in item["last_error"]
    assert item["to"] == [CITIZEN] and item["attempts"] == 1 and item["kind"] == "reply"
    # an agent who fixed the cause can force it
    assert outbox.retry_due(engine, cfg, NOW, force_ids=[outbox_id]) == [{"id": outbox_id, "status": "sent"}]
    assert len(smtp_server.messages) == 1


def test_a_row_left_sending_by_a_crash_is_not_resent_without_force(engine, smtp_server):
    cfg = smtp_config(smtp_server.port)
    outbox_id = queue(engine)
    with Session(engine) as session:  # the process died after the SMTP answer, before committing "sent"
        row = session.get(Outbox, outbox_id)
        row.status, row.attempts = "sending", 1
        session.add(row)
        session.commit()
    assert outbox.retry_due(engine, cfg, NOW + timedelta(hours=2), all_pending=True) == []
    assert outbox.deliver(engine, cfg, outbox_id, NOW) == "sending"
    assert smtp_server.messages == []
    with Session(engine) as session:
        (item,) = outbox.listing(session, cfg.tz)
    assert item["status"] == "uncertain"
    assert outbox.retry_due(engine, cfg, NOW, force_ids=[outbox_id]) == [{"id": outbox_id, "status": "sent"}]
    assert len(smtp_server.messages) == 1 and row_of(engine, outbox_id).attempts == 2


def test_connection_cut_while_the_message_is_on_the_wire_is_uncertain_never_resent(engine, smtp_server):
    cfg = smtp_config(smtp_server.port)
    outbox_id = queue(engine)
    smtp_server.hang_up_after_data()
    assert outbox.deliver(engine, cfg, outbox_id, NOW) == "sending"
    row = row_of(engine, outbox_id)
    assert row.status == "sending" and row.last_error.startswith("état incertain : connexion interrompue")
    smtp_server.hang_up_after_data(False)
    assert outbox.retry_due(engine, cfg, NOW + timedelta(hours=2), all_pending=True) == []
    assert len(smtp_server.messages) == 1  # the server did get it once: not a second time


def test_refused_recipient_among_others_is_noted_but_the_mail_is_sent(engine, smtp_server):
    cfg = smtp_config(smtp_server.port)
    smtp_server.refused.add("b@example.org")
    with Session(engine) as session:
        row = outbox.enqueue(session, kind="alert", sender=SENDER, recipients=["a@example.org", "b@example.org"],
                             subject="Alerte", text="Échéance proche.\n", now=NOW)
        session.commit()
        outbox_id = row.id
    assert outbox.deliver(engine, cfg, outbox_id, NOW) == "sent"
    assert smtp_server.messages[0].rcpt_tos == ["a@example.org"]
    assert row_of(engine, outbox_id).last_error == "envoyé, sauf à : b@example.org (550 5.1.1 Destinataire inconnu)"


def test_every_recipient_refused_with_5xx_fails(engine, smtp_server):
    smtp_server.refused.add(CITIZEN)
    outbox_id = queue(engine)
    assert outbox.deliver(engine, smtp_config(smtp_server.port), outbox_id, NOW) == "failed"
    assert "destinataire refusé par 127.0.0.1" in row_of(engine, outbox_id).last_error and smtp_server.messages == []


def test_only_one_of_two_deliveries_of_the_same_row_sends(engine, smtp_server):
    cfg = smtp_config(smtp_server.port)
    outbox_id = queue(engine)
    assert outbox.deliver(engine, cfg, outbox_id, NOW) == "sent"
    assert outbox.deliver(engine, cfg, outbox_id, NOW) == "sent"  # already done: nothing sent
    assert outbox.deliver(engine, cfg, row_of(engine, outbox_id), NOW, force=True) == "sent"  # a row works too
    assert len(smtp_server.messages) == 1


def test_unknown_outbox_id_is_not_found(engine):
    with pytest.raises(NotFound, match="envoi n° 999 introuvable"):
        outbox.deliver(engine, smtp_config(None), 999, NOW, force=True)


def test_authentication_refused_is_retried_not_failed(engine, smtp_server, monkeypatch):
    monkeypatch.setenv("TRACER_TEST_SMTP_PASSWORD", "secret")
    # aiosmtpd's test server offers no AUTH: logging in is refused by our own client
    cfg = config_mod.from_dict({"smtp": {"host": "127.0.0.1", "port": smtp_server.port, "tls": "none", "timeout": 5,
                                         "username": "qualite", "password_env": "TRACER_TEST_SMTP_PASSWORD"}})
    outbox_id = queue(engine)
    assert outbox.deliver(engine, cfg, outbox_id, NOW) == "pending"
    assert "ne propose pas l'authentification" in row_of(engine, outbox_id).last_error and smtp_server.messages == []


# --------------------------------------------------------------------------
# The copy in the mailbox's Sent folder (Dovecot).


def imap_config(dovecot, user: str, smtp_port: int, imap_port: int | None = None) -> config_mod.Config:
    return config_mod.from_dict({
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "tls": "none", "timeout": 5},
        "mailbox": [{"name": "qualite", "address": user, "username": user, "host": "127.0.0.1",
                     "port": imap_port or dovecot.port, "tls": "none", "password_env": "TRACER_TEST_IMAP_PASSWORD",
                     "timeout": 5}],
    })


@pytest.fixture
def imap_password(monkeypatch):
    monkeypatch.setenv("TRACER_TEST_IMAP_PASSWORD", "mot-de-passe")


def test_a_sent_reply_is_copied_to_the_sent_folder_seen(engine, smtp_server, dovecot, imap_password):
    user, _ = dovecot.user("qualite")
    cfg = imap_config(dovecot, user, smtp_server.port)
    outbox_id = queue(engine, mailbox="qualite")
    assert outbox.deliver(engine, cfg, outbox_id, NOW) == "sent"
    flags = dovecot.server.flags(user, "Sent")
    assert len(flags) == 1 and all(b"\\Seen" in f for f in flags.values())
    assert row_of(engine, outbox_id).appended_at is not None


def test_a_failed_sent_copy_never_blocks_the_reply_and_is_retried_later(engine, smtp_server, dovecot, imap_password):
    from smtpsink import free_port

    user, _ = dovecot.user("qualite")
    outbox_id = queue(engine, mailbox="qualite")
    down = imap_config(dovecot, user, smtp_server.port, imap_port=free_port())
    assert outbox.deliver(engine, down, outbox_id, NOW) == "sent"
    row = row_of(engine, outbox_id)
    assert row.status == "sent" and row.appended_at is None and len(smtp_server.messages) == 1
    up = imap_config(dovecot, user, smtp_server.port)
    later = row.next_attempt_at + timedelta(seconds=1)
    assert outbox.retry_due(engine, up, later) == []  # nothing resent by SMTP…
    assert row_of(engine, outbox_id).appended_at is not None  # …but the copy is now in Sent
    assert len(dovecot.server.flags(user, "Sent")) == 1 and len(smtp_server.messages) == 1
    outbox.retry_due(engine, up, later + timedelta(hours=1))
    assert len(dovecot.server.flags(user, "Sent")) == 1  # appended once


def test_cli_lists_the_uncertain_row_and_force_resends_it(make_config, smtp_server):
    import json
    import os
    import subprocess
    import sys

    from tracer.store import db

    config = make_config(extra=f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\ntls = "none"\n')
    engine = db.open_engine(f"sqlite:///{config.parent / 'tracer.store.db'}")
    outbox_id = queue(engine)
    with Session(engine) as session:
        row = session.get(Outbox, outbox_id)
        row.status, row.last_error = "sending", None
        session.add(row)
        session.commit()
    engine.dispose()

    def tracer(*args):
        return subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), "outbox", *args],
                              capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "300"})

    shown = tracer()
    assert shown.returncode == 0 and "état incertain" in shown.stdout and "--force" in shown.stdout
    assert "[PREF74-2026-00042]" in shown.stdout  # no markup eaten
    retried = json.loads(tracer("--retry", "--json").stdout)
    assert retried["sent"] == 0 and retried["queued"][0]["status"] == "uncertain" and smtp_server.messages == []
    forced = json.loads(tracer("--retry", "--force", str(outbox_id), "--json").stdout)
    assert forced["sent"] == 1 and forced["queued"] == [] and len(smtp_server.messages) == 1
