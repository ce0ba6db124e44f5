"""Hostile mail (issue 15, mail side) and raw 8-bit headers (issue 13, item 1).

Each test names the item it proves. Databases through the ``engine`` fixture
(SQLite and PostgreSQL), IMAP through a real Dovecot.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlmodel import Session

from mailfactory import make_mail
from tracer.core import config
from tracer.core.text import SUBJECT_MAX
from tracer.mail import ingest
from tracer.mail.parse import parse, read_addresses
from tracer.services import Runtime
from tracer.store.models import Event, FolderState, Message, Quarantine, Request

PARIS = ZoneInfo("Europe/Paris")
UTC = timezone.utc
NOW = datetime(2026, 10, 1, 9, tzinfo=PARIS)
BOX = "pref-qualite@haute-savoie.gouv.fr"
os.environ.setdefault("TRACER_TEST_IMAP_PASSWORD", "mot-de-passe")  # the test Dovecot's one password


def rt_for(**box):
    return Runtime(config.from_dict({
        "mailbox": [{"name": "q", "address": BOX, "host": "127.0.0.1", "tls": "none", **box}],
    }))


def raw_mail(headers: list[tuple[str, bytes | str]], body: bytes = b"Bonjour,\nma demande.\n") -> bytes:
    lines = [name.encode() + b": " + (value.encode() if isinstance(value, str) else value) for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def incoming(raw: bytes, when: datetime = NOW, role: str = "inbox", **kw) -> ingest.Incoming:
    return ingest.Incoming(raw, when, "q", role, source="test", **kw)


def record(engine, rt, *raws: bytes, on_commit=None) -> ingest.Summary:
    return ingest.record_batch(engine, rt, [incoming(raw) for raw in raws], NOW, on_commit=on_commit)


def tracer_cli(config_path, *args, check=True):
    result = subprocess.run([sys.executable, "-m", "tracer", "--config", str(config_path), *args],
                            capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"tracer {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


# --------------------------------------------------------------------------
# 13.1 Raw 8-bit headers: UTF-8 first, then the declared charset, then windows-1252.

SUBJECT = "Réclamation - accueil au guichet des titres de séjour"
NAME = "Hélène Lefèvre"


def test_raw_8bit_headers_read_as_utf8_then_declared_charset_then_windows_1252():
    utf8 = parse(raw_mail([("From", f"{NAME} <helene@example.org>".encode()), ("Subject", SUBJECT.encode()),
                           ("Content-Type", "text/plain; charset=utf-8")], "Le guichet était fermé.\n".encode()))
    assert (utf8.subject, utf8.from_name, utf8.from_addr) == (SUBJECT, NAME, "helene@example.org")
    assert utf8.body_text.strip() == "Le guichet était fermé."
    # raw latin-1 bytes that are not UTF-8: the part's declared charset
    latin = parse(raw_mail([("From", "Hélène <h@example.org>".encode("latin-1")), ("Subject", SUBJECT.encode("latin-1")),
                            ("Content-Type", "text/plain; charset=iso-8859-15")]))
    assert (latin.subject, latin.from_name) == (SUBJECT, "Hélène")
    # no charset at all: windows-1252 (the apostrophe is 0x92 there)
    cp = parse(raw_mail([("From", "a@example.org"), ("Subject", "L’accueil".encode("cp1252"))]))
    assert cp.subject == "L’accueil"
    # encoded words and raw bytes in one header
    mixed = parse(raw_mail([("From", b"=?utf-8?q?H=C3=A9l=C3=A8ne?= Lef\xc3\xa8vre <h@example.org>"),
                            ("Subject", b"R\xc3\xa9clamation =?iso-8859-1?q?accueil_au_guichet_des_titres_de_s=E9jour?=")]))
    assert mixed.from_name == NAME
    assert mixed.subject == "Réclamation accueil au guichet des titres de séjour"
    for parsed in (utf8, latin, cp, mixed):
        assert "\ufffd" not in repr(parsed.__dict__)


def test_raw_utf8_subject_name_and_body_round_trip_through_import_poll_and_every_output(make_config, tmp_path, dovecot):
    """13.1 across import, poll, cases --json, show --json, the digest and the CSV and XLSX control grids."""
    user, _ = dovecot.user("qualite")
    cfg = make_config([{"name": "qualite", "address": BOX, "username": user}], port=dovecot.port)
    mail = raw_mail([("From", f"{NAME} <helene@example.org>".encode()), ("To", BOX), ("Subject", SUBJECT.encode()),
                     ("Message-ID", "<raw8-1@example.org>"), ("Date", "Mon, 06 Jul 2026 10:00:00 +0200"),
                     ("Content-Type", "text/plain; charset=utf-8")], "Le guichet était fermé à 14 h.\n".encode())
    answer = raw_mail([("From", BOX), ("To", "helene@example.org"), ("Subject", f"RE: {SUBJECT}".encode()),
                       ("Message-ID", "<raw8-answer@haute-savoie.gouv.fr>"), ("In-Reply-To", "<raw8-1@example.org>"),
                       ("Date", "Wed, 08 Jul 2026 10:00:00 +0200"), ("Content-Type", "text/plain; charset=utf-8")],
                      "Madame, nous regrettons la fermeture du guichet à 14 h.\n".encode())
    (tmp_path / "in.eml").write_bytes(mail)
    (tmp_path / "answer.eml").write_bytes(answer)
    assert json.loads(tracer_cli(cfg, "import", str(tmp_path / "in.eml"), "--json").stdout)["recorded"] == 1
    (case,) = json.loads(tracer_cli(cfg, "cases", "--json").stdout)
    assert (case["subject"], case["sender_name"]) == (SUBJECT, NAME)
    shown = json.loads(tracer_cli(cfg, "show", case["reference"], "--json").stdout)
    assert shown["messages"][0]["subject"] == SUBJECT and shown["messages"][0]["from_name"] == NAME
    assert "Le guichet était fermé à 14 h." in shown["messages"][0]["body"]
    digest = tracer_cli(cfg, "digest", "--preview", "--as-of", "2026-09-20T09:00:00+02:00").stdout
    assert SUBJECT in digest
    assert tracer_cli(cfg, "import", "--sent", str(tmp_path / "answer.eml"), "--json").returncode == 0
    grid = tmp_path / "grille.csv"
    tracer_cli(cfg, "sample", "--quarter", "2026-Q3", "--output", str(grid))
    assert "nous regrettons la fermeture du guichet à 14 h." in grid.read_bytes().decode("utf-8-sig")
    book = tmp_path / "grille.xlsx"
    tracer_cli(cfg, "sample", "--quarter", "2026-Q3", "--output", str(book))
    from openpyxl import load_workbook

    cells = [c.value for row in load_workbook(book).active.iter_rows() for c in row]
    assert any(isinstance(v, str) and "fermeture du guichet à 14 h." in v for v in cells)
    polled = mail.replace(b"raw8-1@", b"raw8-polled@").replace(SUBJECT.encode(), f"{SUBJECT} (bis)".encode())
    dovecot.server.append(user, "INBOX", polled, datetime(2026, 7, 7, 8, tzinfo=UTC))
    assert json.loads(tracer_cli(cfg, "poll", "--json").stdout)["recorded"] == 1
    by_subject = {c["subject"]: c for c in json.loads(tracer_cli(cfg, "cases", "--json").stdout)}
    assert by_subject[f"{SUBJECT} (bis)"]["sender_name"] == NAME
    polled_view = json.loads(tracer_cli(cfg, "show", by_subject[f"{SUBJECT} (bis)"]["reference"], "--json").stdout)
    assert "Le guichet était fermé à 14 h." in polled_view["messages"][0]["body"]
    everything = (json.dumps(case, ensure_ascii=False) + json.dumps(polled_view, ensure_ascii=False) + json.dumps(shown, ensure_ascii=False) + digest
                  + grid.read_bytes().decode("utf-8-sig"))
    assert "\ufffd" not in everything and "Ã" not in everything


# --------------------------------------------------------------------------
# 15.3 Addresses read from the undecoded header; display names only decoded.


def test_addresses_are_parsed_before_decoding_and_hostile_ones_refused():
    # « Nom, Prénom » as Thunderbird and Python write it: one mailbox, its address
    assert read_addresses("=?utf-8?q?Lef=C3=A8vre=2C_St=C3=A9phane?= <s.lefevre@example.org>") == [
        ("Lefèvre, Stéphane", "s.lefevre@example.org")]
    # a display name decoding to another address, or to a header line, stays a name
    assert read_addresses("=?utf-8?q?H=C3=A9l=C3=A8ne_=3Cother=40evil.example=3E?= <real@example.org>") == [
        ("Hélène <other@evil.example>", "real@example.org")]
    assert read_addresses("=?utf-8?q?Jean=0D=0ABcc=3A_x=40evil.example?= <real@example.org>") == [
        ("Jean Bcc: x@evil.example", "real@example.org")]
    # CVE-2023-27043: Python 3.11.7's email.utils reads alice here; nobody is better than the wrong one
    assert read_addresses("alice@example.org)<bob@evil.example>") == []
    # controls or spaces in the address, encoded words in the address itself: refused
    for hostile in ["=?utf-8?q?b=00b?=@example.fr", '"=?utf-8?q?a=E2=80=A8b?="@example.fr', 'x <"a\u2028b"@example.fr>',
                    'x <"a\\\x0bb"@example.fr>', "jean dupont@example.fr", "x <=?utf-8?q?bob?=@example.fr>"]:
        assert read_addresses(hostile) == [], hostile
    parsed = parse(raw_mail([("From", "=?utf-8?q?Lef=C3=A8vre=2C_St=C3=A9phane?= <s.lefevre@example.org>"),
                             ("Reply-To", "=?utf-8?q?x_=3Cvictim=40example.net=3E?= <s.lefevre@example.org>"),
                             ("To", f'"Service, qualité" <{BOX}>'), ("Subject", "Question")]))
    assert (parsed.from_addr, parsed.reply_to, parsed.to_addrs) == ("s.lefevre@example.org", "s.lefevre@example.org", [BOX])


def test_an_encoded_nom_prenom_sender_gets_a_deadline(engine):
    rt = rt_for()
    record(engine, rt, raw_mail([("From", "=?utf-8?q?Lef=C3=A8vre=2C_St=C3=A9phane?= <s.lefevre@example.org>"),
                                 ("To", BOX), ("Subject", "Quels documents pour mon titre de séjour ?"),
                                 ("Message-ID", "<nom-prenom@example.org>")]))
    with Session(engine) as session:
        request = session.execute(select(Request)).scalars().one()
    assert (request.sender_addr, request.sender_name) == ("s.lefevre@example.org", "Lefèvre, Stéphane")
    assert request.deadline is not None


# --------------------------------------------------------------------------
# 15.1 Header text cleaned and fitted in one place; a refused batch replayed.

HOSTILE = [
    # an encoded NUL in the From (plain ASCII on the wire)
    [("From", "=?utf-8?q?b=00b?=@example.fr"), ("Reply-To", "=?utf-8?q?b=00b?= <=?utf-8?q?b=00b?=@example.fr>"),
     ("Sender", "=?utf-8?q?b=00b?=@example.fr"), ("Subject", "=?utf-8?q?nul=00ici?="), ("Message-ID", "<h1@example.org>")],
    # a display name of 600 characters, on a message that is part of a thread
    [("From", "=?utf-8?q?" + "N%C3%A9" * 0 + "Jean" * 150 + "?= <long@example.org>"), ("Subject", "Suite [PREF74-2026-00001]"),
     ("In-Reply-To", "<h1@example.org>"), ("References", "<h1@example.org> <other@example.org>"), ("Message-ID", "<h2@example.org>")],
    # raw NUL and controls in the ids, ESC and U+2028 in the subject
    [("From", "c@example.org"), ("Message-ID", b"<h3\x00@example.org>"), ("In-Reply-To", b"<h\x00x@example.org>"),
     ("References", b"<ok@example.org> <b\x00d@example.org>"), ("Subject", "=?utf-8?q?a=1B]0;titre=07b=E2=80=A8c?=")],
]


def test_hostile_header_values_are_cleaned_and_fitted_and_recorded(engine):
    rt = rt_for()
    raws = [raw_mail(headers) for headers in HOSTILE]
    summary = record(engine, rt, *raws)
    assert (summary.recorded, summary.quarantined) == (3, 0)
    with Session(engine) as session:
        messages = session.execute(select(Message).order_by(Message.id)).scalars().all()
        requests = session.execute(select(Request)).scalars().all()
    assert messages[0].from_addr is None and messages[0].subject == "nulici"
    assert len(messages[1].from_name) <= 500 and messages[1].from_addr == "long@example.org"
    assert messages[2].message_id is None and messages[2].in_reply_to is None and messages[2].references == ["<ok@example.org>"]
    assert messages[2].subject == "a]0;titreb c"
    for row in messages + requests:
        for key, value in row.__dict__.items():
            if isinstance(value, str) and key != "body_text":
                assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in value), value


def _poison(engine) -> None:
    """A real database refusal of one message's row (a trigger), on either engine."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("CREATE TRIGGER poison BEFORE INSERT ON message WHEN NEW.subject LIKE '%poison%' "
                              "BEGIN SELECT RAISE(ABORT, 'poison'); END"))
        else:
            conn.execute(text("CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.subject LIKE '%poison%' THEN "
                              "RAISE EXCEPTION 'poison' USING ERRCODE = '22000'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER poison BEFORE INSERT ON message FOR EACH ROW EXECUTE FUNCTION poison()"))


def test_a_batch_the_database_refuses_is_replayed_and_only_the_bad_message_quarantined(engine):
    rt = rt_for()
    _poison(engine)
    raws = [make_mail(subject=f"Question {i}" if i != 1 else "poison", message_id=f"<b{i}@example.org>") for i in range(3)]
    marks = []
    summary = record(engine, rt, *raws, on_commit=lambda session: marks.append(1))
    assert (summary.recorded, summary.quarantined) == (2, 1)
    assert marks  # the batch's high-water mark is committed with its last message
    with Session(engine) as session:
        (q,) = session.execute(select(Quarantine)).scalars().all()
        assert session.execute(select(Message.message_id).order_by(Message.id)).scalars().all() == ["<b0@example.org>", "<b2@example.org>"]
    assert q.reason.startswith("enregistrement refusé par la base de données") and "poison" not in q.reason


def test_an_unexpected_poll_error_is_the_folders_last_error_without_a_traceback(dovecot, engine):
    """15.1: status --json turns ok false, no traceback, no row value in the output."""
    user, _ = dovecot.user("qualite")
    dovecot.server.append(user, "INBOX", make_mail(sender="Jeanne Secret <jeanne.secret@example.org>"), NOW)
    rt = rt_for(username=user, port=dovecot.port, password_env="TRACER_TEST_IMAP_PASSWORD")
    with engine.begin() as conn:  # the database refuses the folder's progress: nothing the message can be blamed for
        if engine.dialect.name == "sqlite":
            conn.execute(text("CREATE TRIGGER stuck BEFORE UPDATE OF last_uid ON folder_state WHEN NEW.last_uid <> OLD.last_uid "
                              "BEGIN SELECT RAISE(ABORT, 'stuck'); END"))
        else:
            conn.execute(text("CREATE FUNCTION stuck() RETURNS trigger AS $$ BEGIN IF NEW.last_uid <> OLD.last_uid THEN "
                              "RAISE EXCEPTION 'stuck' USING ERRCODE = 'XX000'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER stuck BEFORE UPDATE ON folder_state FOR EACH ROW EXECUTE FUNCTION stuck()"))
    reports = ingest.poll_mailbox(engine, rt, rt.cfg.mailboxes[0])
    inbox = next(r for r in reports if r.folder == "INBOX")
    assert inbox.error and "erreur" in inbox.error and "jeanne" not in inbox.error.lower()
    from tracer.reports import status

    with Session(engine) as session:
        state = status.status(session, rt, datetime.now(UTC))
    assert state["mailboxes"][0]["ok"] is False and state["mailboxes"][0]["last_error"] == inbox.error


def test_database_errors_never_carry_row_values(engine):
    """Low: SQLAlchemy never adds the row's values to an error's text (a traceback,
    a log line). PostgreSQL's own DETAIL may still quote the row: that is why
    tracer's reasons and last_error name the error's kind only (tests above)."""
    from sqlalchemy.exc import SQLAlchemyError

    with pytest.raises(SQLAlchemyError) as caught:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO folder_state (mailbox, folder, role, last_uid) VALUES (:m, :f, :r, :u)"),
                         {"m": "jeanne.secret@example.org", "f": "x", "r": None, "u": 0})  # role is NOT NULL
    assert "parameters hidden" in str(caught.value)
    if engine.dialect.name == "sqlite":
        assert "jeanne.secret" not in str(caught.value)


# --------------------------------------------------------------------------
# Low: very long headers, non-ASCII attachment names.


def test_a_9_mb_subject_is_cut_before_decoding():
    words = "=?utf-8?q?=C3=A9t=C3=A9?= " * 350_000  # about 9 MB of encoded words
    parsed = parse(raw_mail([("From", "a@example.org"), ("Subject", words)]))
    assert parsed.subject.startswith("étéété") and len(parsed.subject) <= SUBJECT_MAX


def test_a_raw_non_ascii_attachment_name_is_read_not_quarantined():
    raw = ("From: a@example.org\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n"
           "--XX\nContent-Type: text/plain; charset=utf-8\n\nci-joint\n--XX\n"
           "Content-Type: application/pdf; name=\"récépissé.pdf\"\nContent-Disposition: attachment; filename=\"récépissé.pdf\"\n"
           "Content-Transfer-Encoding: base64\n\nAAAA\n--XX\nContent-Type: application/pdf\n"
           "Content-Disposition: attachment; filename*=utf-8''d%C3%A9cision.pdf\nContent-Transfer-Encoding: base64\n\nAAAA\n--XX--\n").encode()
    parsed = parse(raw)
    assert [a["filename"] for a in parsed.attachments] == ["récépissé.pdf", "décision.pdf"]


# --------------------------------------------------------------------------
# 15.10 Duplicates judged by Message-ID and content.


def test_a_reused_message_id_with_other_content_is_recorded_and_flagged(engine):
    rt = rt_for()
    first = make_mail(message_id="<form-1@site.example>", subject="Demande de rendez-vous", body="Je voudrais un rendez-vous.\n")
    other = make_mail(message_id="<form-1@site.example>", subject="Réclamation", body="Le guichet était fermé.\n",
                      sender="Paul Durand <paul@example.org>")
    copy = b"Received: from mx2.example by pref; Thu, 1 Oct 2026 09:00:00 +0200\r\n" + first.replace(b"\n", b"\r\n")
    assert record(engine, rt, first).recorded == 1
    summary = record(engine, rt, copy, other)
    assert (summary.recorded, summary.duplicates) == (1, 1)  # the copy another mailbox got is the same message
    assert record(engine, rt, other).duplicates == 1  # and the second one, seen again, too
    with Session(engine) as session:
        rows = session.execute(select(Message).order_by(Message.id)).scalars().all()
        kinds = session.execute(select(Event.kind)).scalars().all()
    assert [(m.message_id, m.subject) for m in rows] == [("<form-1@site.example>", "Demande de rendez-vous"),
                                                         ("<form-1@site.example>", "Réclamation")]
    assert rows[1].same_id_as == rows[0].id
    assert "Le guichet était fermé." in rows[1].body_text and rows[1].request_id != rows[0].request_id
    assert "message_id_reused" in kinds


# --------------------------------------------------------------------------
# 15.14 Import tells our own replies by the parsed From address.


def test_import_takes_a_citizens_mail_quoting_our_address_for_a_citizens_mail(engine, tmp_path):
    rt = rt_for()
    spoof = make_mail(sender=f'"{BOX}" <attacker@evil.example>', message_id="<spoof@evil.example>")
    ours = make_mail(sender=f"Service qualité <{BOX}>", to="jeanne@example.org", message_id="<ours@haute-savoie.gouv.fr>")
    (tmp_path / "a.eml").write_bytes(spoof)
    (tmp_path / "b.eml").write_bytes(ours)
    ingest.import_paths(engine, rt, [str(tmp_path)], "q", NOW)
    with Session(engine) as session:
        directions = dict(session.execute(select(Message.message_id, Message.direction)).all())
    assert directions == {"<spoof@evil.example>": "in", "<ours@haute-savoie.gouv.fr>": "out"}


# --------------------------------------------------------------------------
# 15.2 and 15.11 Big mailboxes, empty bodies over IMAP.


def maildir_of(dovecot, user: str):
    path = dovecot.server.base / "mail" / user / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def write_maildir(dovecot, user: str, raws: list[bytes]) -> None:
    """Messages written straight into the user's Maildir, as a delivery agent does."""
    path = maildir_of(dovecot, user)
    start = int(time.time()) - len(raws)
    for i, raw in enumerate(raws):
        file = path / "new" / f"{start + i}.M{i}P{os.getpid()}.tracer"
        file.write_bytes(raw)
    for root, dirs, files in os.walk(dovecot.server.base / "mail" / user):
        for name in dirs + files:
            shutil.chown(os.path.join(root, name), "dovecot", "dovecot")
    shutil.chown(dovecot.server.base / "mail" / user, "dovecot", "dovecot")


def test_a_20000_message_mailbox_is_read_in_bounded_commands(dovecot):
    from tracer.mail.mailbox import ImapMailbox

    user, _ = dovecot.user("historique")
    write_maildir(dovecot, user, [b"From: a%d@example.org\r\nSubject: m%d\r\n\r\nx\r\n" % (i, i) for i in range(20_000)])
    box = rt_for(username=user, port=dovecot.port, password_env="TRACER_TEST_IMAP_PASSWORD", timeout=120).cfg.mailboxes[0]
    with ImapMailbox(box) as imap:
        imap.select("INBOX")
        uids = imap.new_uids(0)
        assert len(uids) == 20_000
        batches = imap.batches(uids)  # one UID FETCH naming all 20,000 was refused: « Too long argument »
        assert [uid for batch in batches for uid in batch] == uids and max(map(len, batches)) <= 200
        (last,) = [fetched for _, fetched in imap.fetch_batches(batches[-1:])]
    assert [f.raw.split(b"\r\n")[1] for f in last][-1] == b"Subject: m19999"


def test_a_zero_byte_message_over_imap_is_quarantined_not_skipped(dovecot, engine):
    user, _ = dovecot.user("vide")
    write_maildir(dovecot, user, [b"", make_mail(message_id="<after-empty@example.org>")])
    rt = rt_for(username=user, port=dovecot.port, password_env="TRACER_TEST_IMAP_PASSWORD")
    reports = ingest.poll_mailbox(engine, rt, rt.cfg.mailboxes[0])
    inbox = next(r for r in reports if r.folder == "INBOX")
    assert inbox.error is None and (inbox.summary.recorded, inbox.summary.quarantined) == (1, 1)
    with Session(engine) as session:
        (q,) = session.execute(select(Quarantine)).scalars().all()
        state = session.execute(select(FolderState).where(FolderState.folder == "INBOX")).scalars().one()
    assert q.reason == "message vide" and q.uid == 1 and q.size == 0 and state.last_uid == 2
