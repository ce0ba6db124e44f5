"""Issue 14: every word a person reads is French, dates are French, exports a référent hands out.

Each test reads the real output of a command (stdout, stderr, the written file).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import datetime

from openpyxl import load_workbook

from tracer.cli import build_parser

NOW = "2026-10-02T09:00:00+02:00"


def mail(n: int, subject: str, body: str, received: str) -> bytes:
    return (
        f"From: Camille Bernard <camille{n}@exemple.fr>\nTo: pref-qualite@exemple.gouv.fr\nSubject: {subject}\n"
        f"Message-ID: <fr14-{n}@exemple.fr>\nDate: {received}\nReceived: from mx by mx; {received}\n"
        "Content-Type: text/plain; charset=utf-8\n\n" + body + "\n"
    ).encode()


COMPLAINT = "Bonjour, cela fait trois semaines que je n'arrive pas à obtenir un rendez-vous, c'est inadmissible."
QUESTION = "Bonjour, quels sont les horaires d'ouverture de l'accueil le samedi ? Merci."


def run(config, *args, columns: int = 80, now: str = NOW):
    env = {**os.environ, "COLUMNS": str(columns), "TRACER_NOW": now}
    return subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), *args], capture_output=True,
                          text=True, env=env)


def setup(tmp_path):
    config = tmp_path / "tracer.toml"
    config.write_text(
        f'[tracer]\ndatabase_url = "sqlite:///{tmp_path}/t.db"\nreference_prefix = "PREF74"\n'
        '[[mailbox]]\nname = "qualite"\naddress = "pref-qualite@exemple.gouv.fr"\nservice = "qualite"\nhost = "127.0.0.1"\n'
        '[[service]]\nname = "qualite"\nlabel = "Mission qualité"\nalert_to = ["referent@exemple.gouv.fr"]\n',
        encoding="utf-8")
    files = []
    for n, (subject, body, received) in enumerate([
        ("Rendez-vous impossible", COMPLAINT, "Mon, 6 Jul 2026 10:00:00 +0200"),
        ("Horaires", QUESTION, "Tue, 7 Jul 2026 10:00:00 +0200"),
        ("Encore le rendez-vous", COMPLAINT, "Mon, 3 Aug 2026 10:00:00 +0200"),
    ], start=1):
        path = tmp_path / f"{n}.eml"
        path.write_bytes(mail(n, subject, body, received))
        files.append(str(path))
    assert run(config, "import", *files).returncode == 0
    answer = ("From: pref-qualite@exemple.gouv.fr\nTo: camille1@exemple.fr\nSubject: RE: Rendez-vous impossible\n"
              "Message-ID: <fr14-r1@exemple.gouv.fr>\nIn-Reply-To: <fr14-1@exemple.fr>\n"
              "Date: Wed, 8 Jul 2026 10:00:00 +0200\nReceived: by mx; Wed, 8 Jul 2026 10:00:00 +0200\n\n"
              "Madame, Monsieur,\n\nVoici comment prendre rendez-vous.\n")
    (tmp_path / "r1.eml").write_text(answer, encoding="utf-8")
    assert run(config, "import", "--sent", str(tmp_path / "r1.eml")).returncode == 0
    return config


def _actions(parser, path=("tracer",)):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, (*path, name))
        else:
            yield path, action


def test_every_option_and_argument_of_every_command_has_a_french_help():
    missing = [f"{' '.join(path)} {'/'.join(a.option_strings) or a.dest}" for path, a in _actions(build_parser())
               if not a.help or a.help == argparse.SUPPRESS]
    assert missing == []
    english = [f"{' '.join(path)} {a.option_strings}" for path, a in _actions(build_parser())
               if re.search(r"\b(show|the|and|exit|number|program)\b", a.help)]
    assert english == []
    # placeholders are French words, not the option's name in capitals (« --config CONFIG »)
    echoed = [f"{' '.join(path)} {a.option_strings}" for path, a in _actions(build_parser())
              if a.option_strings and a.nargs != 0 and not a.choices and a.metavar is None]
    assert echoed == []


def test_help_headings_and_version_speak_french(tmp_path):
    shown = run(tmp_path / "absent.toml", "--help")
    assert shown.returncode == 0
    assert "Options :" in shown.stdout and "options:" not in shown.stdout
    assert "show program's version" not in shown.stdout and "--version             affiche la version" in shown.stdout
    assert "--config FICHIER" in shown.stdout
    sub = run(tmp_path / "absent.toml", "reclassify", "--help").stdout
    assert "Arguments :" in sub and "positional arguments" not in sub and "CATEGORIE       nouvelle catégorie" in sub


def test_an_argument_error_is_one_french_line(tmp_path):
    for args, words in ((["cases", "--status", "late"], "argument --status : choix invalide : 'late'"),
                        (["show"], "arguments obligatoires manquants : REF"),
                        (["stats", "--bogus"], "arguments inconnus : --bogus")):
        bad = run(tmp_path / "absent.toml", *args)
        assert bad.returncode == 2
        assert bad.stdout == "" and len(bad.stderr.splitlines()) == 1, bad.stderr
        assert words in bad.stderr and "usage" not in bad.stderr and "--help" in bad.stderr


def test_a_toml_syntax_error_is_french_with_its_line_and_column(tmp_path):
    config = tmp_path / "tracer.toml"
    config.write_text('[tracer]\ntimezone = "Europe/Paris"\n[[mailbox]\nname = "x"\n', encoding="utf-8")
    bad = run(config, "cases")
    assert bad.returncode == 2
    assert bad.stderr.strip() == (f"configuration : {config} : syntaxe TOML invalide ligne 3, colonne 10 : "
                                  "« ]] » attendu à la fin du nom de section")
    config.write_text('[tracer]\nreference_prefix = "PREF74\n', encoding="utf-8")
    assert "ligne 2, colonne 27 : caractère interdit" in run(config, "cases").stderr
    assert "Expected" not in run(config, "cases").stderr


def test_dates_are_typed_as_french_people_write_them(tmp_path):
    config = setup(tmp_path)
    french = json.loads(run(config, "stats", "--from", "01/07/2026", "--to", "01/10/2026", "--format", "json").stdout)
    iso = json.loads(run(config, "stats", "--from", "2026-07-01", "--to", "2026-10-01", "--format", "json").stdout)
    assert french == iso and french["period"]["from"] == "2026-07-01" and french["total"]["received"] == 3
    past = json.loads(run(config, "cases", "--as-of", "07/07/2026 12:00", "--json").stdout)
    assert [c["subject"] for c in past] == ["Rendez-vous impossible", "Horaires"]
    paper = run(config, "register-paper", "--received", "30/11/2026", "--sender", "M. Martin, 3 rue des Lilas",
                "--subject", "Courrier", "--service", "qualite", "--json", now="2026-12-01T09:00:00+01:00")
    assert paper.returncode == 0, paper.stderr
    assert json.loads(paper.stdout)["received_at"].startswith("2026-11-30T")
    refused = run(config, "stats", "--from", "31/02/2026", "--to", "01/10/2026")
    assert refused.returncode != 0 and "JJ/MM/AAAA" in refused.stderr


def test_classify_explains_in_french(tmp_path):
    config = setup(tmp_path)
    out = run(config, "classify", "--explain", str(tmp_path / "1.eml")).stdout
    assert "Catégorie : réclamation" in out and "Catégorie : reclamation" not in out
    assert "le texte contient « " in out or "l'objet contient « " in out
    assert not re.search(r"\b(text|subject|body) contient", out)
    assert "(reclamation)" not in out and "dit reclamation" not in out and "choisit reclamation" not in out
    assert not re.search(r"\(\+\d+\.\d\d\)", out)  # weights with a decimal comma


def test_a_topics_table_total_is_the_sum_of_its_rows(tmp_path):
    config = setup(tmp_path)
    data = json.loads(run(config, "stats", "--from", "2026-07-01", "--to", "2026-10-01", "--by", "topic",
                          "--format", "json").stdout)
    assert {g["key"]["topic"] for g in data["groups"]} == {"rendez_vous"}  # no « — » row for the information request
    assert data["total"]["received"] == sum(g["received"] for g in data["groups"]) == 2
    table = run(config, "stats", "--from", "2026-07-01", "--to", "2026-10-01", "--topics").stdout
    total = next(line for line in table.splitlines() if line.startswith("Total"))
    assert re.match(r"Total\s+2\s+1\s+1\s+1", total), table


def test_sample_without_output_prints_a_french_table(tmp_path):
    config = setup(tmp_path)
    out = run(config, "sample", "--quarter", "2026-Q3", "--seed", "1")
    assert out.returncode == 0
    assert out.stdout.startswith("Échantillon de contrôle, 3e trimestre 2026 : 1 demande(s)")
    assert "PREF74-2026-00001  06/07/2026  08/07/2026" in out.stdout and "oui" in out.stdout
    assert "{" not in out.stdout and "2026-07-06T" not in out.stdout
    assert json.loads(run(config, "sample", "--quarter", "2026-Q3", "--json").stdout)[0]["reference"] == "PREF74-2026-00001"


def test_exports_say_what_they_wrote_and_csv_is_for_french_excel(tmp_path):
    config = setup(tmp_path)
    for fmt, said in (("csv", "Tableau CSV écrit"), ("html", "Page HTML écrite"), ("xlsx", "Classeur écrit")):
        target = tmp_path / f"indicateurs.{fmt}"
        done = run(config, "stats", "--from", "2026-07-01", "--to", "2026-10-01", "--by", "month", "--format", fmt,
                   "--output", str(target))
        assert done.returncode == 0 and f"{said} : {target}" in " ".join(done.stderr.split()) and target.exists()
    data = (tmp_path / "indicateurs.csv").read_bytes()
    assert data.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert [row[0] for row in table] == ["Mois", "juillet 2026", "août 2026", "Total"]
    assert table[-1][6] == "33,33"
    page = (tmp_path / "indicateurs.html").read_text(encoding="utf-8")
    assert "du 1er juillet au 30 septembre 2026" in page and "2026-07-01 au" not in page


def test_the_xlsx_is_one_a_referent_hands_out(tmp_path):
    config = setup(tmp_path)
    path = tmp_path / "transparence.xlsx"
    assert run(config, "stats", "--transparence", "2026-Q3", "--format", "xlsx", "--output", str(path)).returncode == 0
    book = load_workbook(path)
    sheet = book.worksheets[0]
    assert sheet.title == "Transparence 2026-Q3"
    assert sheet["A1"].value == "Indicateurs du 1er juillet au 30 septembre 2026, arrêtés au 02/10/2026 à 09:00"
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A2:")
    header = [c.value for c in sheet[2]]
    rate, delay = header.index("Taux dans les délais (%)"), header.index("Délai moyen (jours)")
    total = sheet[sheet.max_row]
    assert total[0].value == "Total" and total[rate].value == 33.33
    assert total[rate].number_format == '0.00" %"' and total[delay].number_format == "0.00"
    assert sheet.column_dimensions["A"].width >= 12 and sheet.column_dimensions["B"].width >= 20  # « Demande d'information »
    months = [row[0] for row in book["Taux mensuel"].iter_rows(min_row=2, values_only=True)]
    assert months == ["juillet 2026", "août 2026"]
    definitions = " ".join(str(v) for row in book["Définitions"].iter_rows(values_only=True) for v in row)
    assert "as_of" not in definitions

    grid = tmp_path / "grille.xlsx"
    assert run(config, "sample", "--quarter", "2026-Q3", "--output", str(grid)).returncode == 0
    ws = load_workbook(grid).active
    head = [c.value for c in ws[1]]
    row = ws[2]
    assert row[head.index("Reçue le")].value == datetime(2026, 7, 6, 10, 0)  # a date cell, Paris time
    assert row[head.index("Reçue le")].number_format == "dd/mm/yyyy hh:mm"
    assert row[head.index("Catégorie")].value == "réclamation" and row[head.index("Service")].value == "Mission qualité"
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    (check,) = ws.data_validations.dataValidation
    assert check.formula1 == '"oui,non"' and {'J2', 'O2'} <= set(str(check.sqref).split())


def test_the_demo_tells_a_believable_quarter_and_leaves_a_config_that_works(tmp_path):
    folder = tmp_path / "demo"
    for now in ("2026-12-04T19:00:00+01:00", "2027-06-15T08:30:00+02:00"):  # the sample is dated up to « today »
        shown = run(tmp_path / "absent.toml", "demo", "--data-dir", str(folder), now=now)
        assert shown.returncode == 0, shown.stderr
        out = shown.stdout
        # every line fits 80 columns but the commands to copy, kept whole, and a long folder name alone on its line
        assert all(len(line) <= 80 or line.startswith(("  tracer ", "  export ")) or " " not in line
                   for line in out.splitlines()), out
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", out)
        rate = re.search(r"Taux de réponse dans les délais : (\d+),(\d\d) %", out)
        assert rate and float(f"{rate.group(1)}.{rate.group(2)}") > 80, out
        register = [line for line in out.splitlines() if line.startswith("PREF74-")]
        statuses = [re.split(r"\s{2,}", line)[3] for line in register]
        assert statuses.count("en retard") == 1 and statuses.count("en cours") == 3, statuses
        assert statuses.count("répondue tard") >= 2 and statuses.count("répondue") >= 18, statuses
        for name in ("bilan-hebdomadaire.html", "indicateurs.xlsx", "demo.toml"):
            assert f"{folder / name}" in " ".join(out.split()), name
        assert f"Tout est conservé dans le dossier {folder}" in " ".join(out.split())
        assert f"tracer --config {folder / 'demo.toml'} cases" in out
    cases = run(folder / "demo.toml", "cases", "--json", now="2027-06-15T08:30:00+02:00")
    assert cases.returncode == 0, cases.stderr
    listed = json.loads(cases.stdout)
    assert len(listed) == 40 and sum(c["status"] == "overdue" for c in listed) == 1
    assert max(c["received_at"] for c in listed) < "2027-06-15"
    page = (folder / "bilan-hebdomadaire.html").read_text(encoding="utf-8")
    assert "Ensemble de la préfecture" in page and "Jours de retard" in page and "Échéance" in page
    assert "<img src='data:image/png;base64," in page  # the weekly chart, inside the one file
    book = load_workbook(folder / "indicateurs.xlsx")
    assert book.worksheets[0]["A1"].value.startswith("Indicateurs du ")


def mail_setup(tmp_path, smtp_port: int):
    config = tmp_path / "tracer.toml"
    config.write_text(
        f'[tracer]\ndatabase_url = "sqlite:///{tmp_path}/t.db"\nreference_prefix = "PREF74"\n'
        '[[mailbox]]\nname = "qualite"\naddress = "pref-qualite@exemple.gouv.fr"\nservice = "qualite"\nhost = "127.0.0.1"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\ntls = "none"\ntimeout = 5\n'
        '[[service]]\nname = "qualite"\nlabel = "Mission qualité"\nalert_to = ["referent@exemple.gouv.fr"]\n'
        'signature = "Préfecture de la Haute-Savoie – Mission qualité"\n'
        '[digest]\nto = ["referent@exemple.gouv.fr"]\n', encoding="utf-8")
    (tmp_path / "1.eml").write_bytes(mail(1, "Rendez-vous impossible", COMPLAINT, "Mon, 6 Jul 2026 10:00:00 +0200"))
    assert run(config, "import", str(tmp_path / "1.eml")).returncode == 0
    return config


def test_replies_greet_in_administrative_style_from_the_services_name(tmp_path, smtp_server):
    config = mail_setup(tmp_path, smtp_server.port)
    preview = run(config, "reply", "PREF74-2026-00001", "--template", "rendez_vous", "--by", "agent.martin",
                  "--preview", columns=300).stdout
    assert "De : Mission qualité <pref-qualite@exemple.gouv.fr>" in preview
    body = preview.split("\n\n", 1)[1]
    assert body.startswith("Madame, Monsieur,\n") and "Bonjour Camille" not in body  # her civility is not known
    # a template made for information requests is refused for a complaint, in French, unless --force
    refused = run(config, "reply", "PREF74-2026-00001", "--template", "titre_sejour_renouvellement", "--by", "agent.martin")
    assert refused.returncode == 1 and len(refused.stderr.splitlines()) == 1
    assert "« titre_sejour_renouvellement » est prévue pour : information" in refused.stderr and "--force" in refused.stderr
    assert smtp_server.messages == []
    forced = run(config, "reply", "PREF74-2026-00001", "--template", "titre_sejour_renouvellement", "--by", "agent.martin",
                 "--force")
    assert forced.returncode == 0, forced.stderr
    (sent,) = smtp_server.parsed()
    assert sent["From"].addresses[0].display_name == "Mission qualité"
    assert sent["From"].addresses[0].addr_spec == "pref-qualite@exemple.gouv.fr"
    # a letter: « votre courrier du 30 novembre 2026 », no time of day; « Monsieur, » when he said so
    paper = run(config, "register-paper", "--received", "30/11/2026", "--sender", "M. Jean Martin", "--email",
                "jean.martin@exemple.fr", "--subject", "Carte grise", "--service", "qualite", "--category", "information",
                now="2026-12-01T09:00:00+01:00")
    assert paper.returncode == 0, paper.stderr
    ack = run(config, "reply", "PREF74-2026-00002", "--template", "accuse_reception", "--by", "agent.martin", "--preview",
              columns=300, now="2026-12-01T09:00:00+01:00").stdout
    assert "Monsieur,\n" in ack and "votre courrier du 30 novembre 2026, enregistré" in ack and " h " not in ack


def test_alert_and_digest_mails_are_french_with_deadlines_days_late_and_totals(tmp_path, smtp_server):
    config = mail_setup(tmp_path, smtp_server.port)
    paper = run(config, "register-paper", "--received", "06/07/2026", "--sender", "M. Martin, 3 rue des Lilas",
                "--subject", "Courrier resté sans réponse", "--service", "qualite", "--category", "reclamation")
    assert paper.returncode == 0, paper.stderr
    assert run(config, "alerts", now="2026-07-27T09:00:00+02:00").returncode == 0
    (alert,) = smtp_server.parsed()
    text = alert.get_content().replace("\r\n", "\n")
    assert alert["From"].addresses[0].display_name == "Suivi Qual-e-Pref (tracer)"
    assert "Échéance" in text and "Jours ouvrés de retard" in text and "Total : 2 demande(s) ; en retard : 2" in text
    assert "Expéditeur : M. Martin, 3 rue des Lilas\n" in text and "<—>" not in text and "<>" not in text
    assert re.search(r"PREF74-2026-00001\s+06/07/2026\s+13/07/2026\s+9\s+Rendez-vous impossible", text), text
    assert not re.search(r"\d{4}-\d\d-\d\dT", text) and "overdue" not in text.replace("--status overdue", "")
    smtp_server.messages.clear()
    assert run(config, "digest", now="2026-07-27T09:00:00+02:00").returncode == 0
    (digest,) = smtp_server.parsed()
    plain = digest.get_body(("plain",)).get_content().replace("\r\n", "\n")
    page = digest.get_body(("html",)).get_content()
    assert "== Ensemble de la préfecture ==" in plain and "jours de retard" in plain
    assert "du 28 avril au 27 juillet 2026" in plain and "(reclamation)" not in plain
    assert "Jours de retard" in page and ">Échéance<" in page and "Ensemble de la préfecture" in page
    assert "cid:" in page and any(p.get_content_type() == "image/png" for p in digest.walk())


def test_a_failed_sent_copy_shows_in_status_and_outbox_in_french(tmp_path, smtp_server, monkeypatch):
    from smtpsink import free_port

    config = mail_setup(tmp_path, smtp_server.port)
    text = config.read_text(encoding="utf-8").replace(
        'host = "127.0.0.1"\n[smtp]', f'host = "127.0.0.1"\nport = {free_port()}\ntls = "none"\ntimeout = 3\n'
        'password_env = "TRACER_TEST_IMAP_PASSWORD"\n[smtp]', 1)
    config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("TRACER_TEST_IMAP_PASSWORD", "x")  # inherited by the subprocesses
    sent = run(config, "reply", "PREF74-2026-00001", "--template", "rendez_vous", "--by", "agent.martin")
    assert sent.returncode == 0, sent.stderr
    assert len(smtp_server.messages) == 1  # the reply left; its copy to « Sent » could not be made
    status = run(config, "status")
    assert status.returncode == 0
    flat = " ".join(status.stdout.split())
    assert "Copies absentes des dossiers Envoyés : 1 réponse(s) partie(s) sans copie" in flat
    assert "copie impossible dans le dossier « Sent » de qualite" in flat
    listed = run(config, "outbox")
    flat = " ".join(listed.stdout.split())
    assert "Réponses parties dont la copie manque dans Envoyés : 1" in flat and "copie impossible" in flat
    assert max(len(line) for line in listed.stdout.splitlines()) <= 80
    data = json.loads(run(config, "outbox", "--json").stdout)
    assert data["queued"] == [] and data["sent_copies_missing"][0]["error"].startswith("copie impossible")
    assert json.loads(run(config, "status", "--json").stdout)["sent_copies"]["missing"] == 1


# What must never reach a person's eyes: English words and code words found in the outputs (issue 14).
LEAKS = re.compile(r"(?<![\w-])(sent_at|linked_by|before:\d|overdue|non_conforme|hors_perimetre|reclamation|as_of|frozen|"
                   r"options:|usage:|show this help|positional arguments|Traceback|None|True|False|null|"
                   r"text contient|subject contient|canal : email|choose from|Expected)(?![\w-])")  # rule ids (a-b) are names
ISO_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def test_every_commands_human_output_is_french_dated_in_french_and_fits_80_columns(tmp_path):
    folder = tmp_path / "d"
    now = "2026-12-04T19:00:00+01:00"
    assert run(tmp_path / "absent.toml", "demo", "--data-dir", str(folder), now=now).returncode == 0
    config = folder / "demo.toml"
    commands = [
        ["cases"], ["cases", "--status", "excluded"], ["cases", "--status", "overdue"], ["show", "PREF74-2026-00010"],
        ["show", "PREF74-2026-00026"], ["quarantine"], ["status"], ["templates"], ["outbox"], ["replies", "--unlinked"],
        ["stats", "--from", "01/09/2026", "--to", "05/12/2026"],
        ["stats", "--from", "01/09/2026", "--to", "05/12/2026", "--by", "category", "month"],
        ["stats", "--from", "01/09/2026", "--to", "05/12/2026", "--topics"], ["stats", "--transparence", "2026-Q3"],
        ["rules", "report"], ["alerts", "--dry-run"], ["digest", "--preview"], ["sample", "--quarter", "2026-Q3"],
        ["classify", "--explain", str(folder / "courriels" / "17-reclamation.eml")],
        ["reply", "PREF74-2026-00026", "--template", "suggestion_merci", "--by", "agent.demo", "--preview"],
        ["control", "PREF74-2026-00001", "--result", "non_conforme", "--by", "referent", "--notes", "signature absente"],
        ["show", "PREF74-2026-00001"], ["cases", "--status", "late"], ["stats", "--from", "x", "--to", "y"],
    ]
    for command in commands:
        shown = run(config, *command, now=now)
        assert "Traceback" not in shown.stderr, (command, shown.stderr)
        out = shown.stdout + shown.stderr
        assert out.strip(), command
        said = re.sub(r"« [^»]* »", "«»", out)  # what tracer quotes from the mail is the writer's own words
        said = re.sub(r"\(possibles : [^)]*\)", "", said)  # the values one types are the ids
        leak = LEAKS.search(said.replace("--status overdue", ""))
        assert leak is None, (command, leak and said[max(0, leak.start() - 80): leak.end() + 80])
        assert not ISO_INSTANT.search(out), (command, out)
        # stdout fits 80 columns (a path alone on its line aside); an error is one line on stderr, whatever its length
        wide = [line for line in shown.stdout.splitlines() if len(line) > 80 and " " in line.strip()]
        assert shown.returncode == 0 or len(shown.stderr.strip().splitlines()) == 1, (command, shown.stderr)
        assert wide == [], (command, wide)


def test_daemon_log_lines_carry_paris_time_with_its_offset_and_french_levels():
    import logging

    from tracer.core.logs import TextFormatter

    record = logging.LogRecord("tracer.outbox", logging.WARNING, __file__, 1, "envoi %s en attente", (3,), None)
    record.created = datetime.fromisoformat("2026-12-02T19:16:39+00:00").timestamp()
    assert TextFormatter().format(record) == "2026-12-02 20:16:39+01:00 avertissement tracer.outbox : envoi 3 en attente"
    record.created = datetime.fromisoformat("2026-07-02T18:16:39+00:00").timestamp()
    assert TextFormatter().format(record).startswith("2026-07-02 20:16:39+02:00 ")  # summer time, said so


def test_libreoffice_opens_the_xlsx_and_prints_it(tmp_path):
    import shutil

    import pytest

    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice absent (apt-get install libreoffice-calc-nogui)")
    config = setup(tmp_path)
    book = tmp_path / "transparence.xlsx"
    assert run(config, "stats", "--transparence", "2026-Q3", "--format", "xlsx", "--output", str(book)).returncode == 0
    converted = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/profil",
                                "--convert-to", "csv:Text - txt - csv (StarCalc):59,34,76,1,,0,false,true,true",
                                "--outdir", str(tmp_path / "out"), str(book)],
                               capture_output=True, text=True, timeout=300)
    assert converted.returncode == 0, converted.stderr
    shown = (tmp_path / "out" / "transparence.csv").read_text(encoding="utf-8")  # as LibreOffice shows the cells
    assert "Indicateurs du 1er juillet au 30 septembre 2026" in shown
    assert re.search(r"Total;+3;1;1;2;0;33[.,]33 %;", shown), shown  # the rate shown as a percentage
