"""What a person reads on the command line is French, with times in Europe/Paris."""

from __future__ import annotations

import json
import os
import subprocess
import sys

MAIL = (
    b"From: Camille Bernard <camille@exemple.fr>\nTo: prefecture@exemple.gouv.fr\n"
    b"Subject: Impossible d'obtenir un rendez-vous\nMessage-ID: <fr-1@exemple.fr>\n"
    b"Date: Mon, 6 Jul 2026 10:00:00 +0200\n"
    b"Received: from mx by mx; Mon, 6 Jul 2026 08:00:00 +0000\n\n"
    b"Bonjour, cela fait trois semaines que je n'arrive pas a obtenir un rendez-vous, c'est inadmissible.\n"
)


def run(config, *args):
    env = {**os.environ, "COLUMNS": "400"}  # tables unwrapped
    return subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), *args], capture_output=True, text=True, env=env)


def setup(tmp_path):
    config = tmp_path / "tracer.toml"
    config.write_text(f'[tracer]\ndatabase_url = "sqlite:///{tmp_path}/t.db"\nreference_prefix = "PREF74"\n', encoding="utf-8")
    (tmp_path / "m.eml").write_bytes(MAIL)
    assert run(config, "import", str(tmp_path / "m.eml")).returncode == 0
    return config


def test_help_and_usage_errors_are_french(tmp_path):
    config = tmp_path / "tracer.toml"
    config.write_text("", encoding="utf-8")
    shown = run(config, "cases", "--help")
    assert shown.returncode == 0
    assert "affiche cette aide et quitte" in shown.stdout and "show this help" not in shown.stdout
    bad = run(config, "stats", "--from", "2026-07-01", "--to", "2026-08-01", "--format", "pdf")
    assert bad.returncode == 2
    assert "choix invalide : 'pdf' (possibles : 'table'" in bad.stderr and "choose from" not in bad.stderr
    missing = run(config, "show")
    assert "arguments obligatoires manquants : REF" in missing.stderr


def test_history_is_french_with_paris_times(tmp_path):
    config = setup(tmp_path)
    assert run(config, "reclassify", "PREF74-2026-00001", "information", "--by", "agent.dupont").returncode == 0
    view = json.loads(run(config, "show", "PREF74-2026-00001", "--json").stdout)
    received = view["events"][0]
    assert received["kind"] == "received"
    # stored in UTC, shown in Paris: 6 July + 5 working days, 23:59:59 summer time
    assert received["data"]["deadline"] == "2026-07-13T23:59:59+02:00"
    table = run(config, "show", "PREF74-2026-00001").stdout
    assert "reçue" in table and "reclassée" in table
    assert "échéance : 13/07/2026 à 23:59" in table
    assert "nouvelle catégorie : information" in table
    assert "T21:59:59+00:00" not in table and "reclassified" not in table


def test_unknown_service_is_refused_in_french(tmp_path):
    config = setup(tmp_path)
    result = run(config, "cases", "--service", "inconnu")
    assert result.returncode == 1
    assert result.stderr.startswith("tracer : service inconnu « inconnu »")
    assert "Traceback" not in result.stderr
    assert json.loads(run(config, "cases", "--service", "import", "--json").stdout)[0]["reference"] == "PREF74-2026-00001"


def test_import_of_a_folder_reads_the_mail_and_names_the_files_that_are_not(tmp_path):
    config = tmp_path / "tracer.toml"
    config.write_text(f'[tracer]\ndatabase_url = "sqlite:///{tmp_path}/t.db"\n', encoding="utf-8")
    folder = tmp_path / "courriels"
    folder.mkdir()
    (folder / "a.eml").write_bytes(MAIL)
    (folder / "b.txt").write_bytes(MAIL.replace(b"<fr-1@", b"<fr-2@"))  # any other name is read as mail
    (folder / "labels.json").write_text('{"a.eml": "reclamation"}', encoding="utf-8")
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4 ...")
    result = run(config, "import", str(folder), "--json")
    assert result.returncode == 0
    summary = json.loads(result.stdout)
    assert (summary["recorded"], summary["duplicates"], summary["quarantined"]) == (2, 0, 0)
    assert sorted(summary["skipped"]) == [str(folder / "labels.json"), str(folder / "scan.pdf")]
    assert "2 fichier(s) ignoré(s), ce ne sont pas des messages" in result.stderr
    # named on the command line, a file is always read (here: quarantined, kept)
    named = json.loads(run(config, "import", str(folder / "labels.json"), "--json").stdout)
    assert named["quarantined"] == 1


def test_the_register_lists_mail_dated_ahead_of_the_clock_unless_a_past_view_is_asked(tmp_path):
    config = setup(tmp_path)  # received 6 July 2026, 10:00 Paris
    env = {**os.environ, "TRACER_NOW": "2026-07-01T12:00:00+02:00"}  # a clock behind the mail
    listed = subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), "cases", "--json"],
                            capture_output=True, text=True, env=env)
    (case,) = json.loads(listed.stdout)
    assert case["received_at"] == "2026-07-06T10:00:00+02:00" and case["status"] == "open"
    past = run(config, "cases", "--as-of", "2026-07-02T00:00:00+02:00", "--json")
    assert json.loads(past.stdout) == []


def test_every_command_prints_its_french_table_without_a_traceback(tmp_path):
    """The readable output of each command (not only --json) runs: tables load rich lazily."""
    config = setup(tmp_path)
    (tmp_path / "illisible.eml").write_bytes(b"\x00\x01 pas un message\n")
    assert run(config, "import", str(tmp_path / "illisible.eml")).returncode == 0
    commands = [
        ["cases"], ["show", "PREF74-2026-00001"], ["quarantine"], ["status"], ["templates"], ["outbox"],
        ["replies", "--unlinked"], ["stats", "--from", "2026-07-01", "--to", "2026-08-01"],
        ["stats", "--from", "2026-07-01", "--to", "2026-08-01", "--by", "category", "month"],
        ["rules", "check"], ["alerts", "--dry-run", "--as-of", "2026-07-20T09:00:00+02:00"],
        ["digest", "--preview", "--as-of", "2026-07-20T09:00:00+02:00"],
    ]
    for command in commands:
        result = run(config, *command)
        assert result.returncode == 0 and "Traceback" not in result.stderr, (command, result.stderr[-500:])
        assert result.stdout.strip(), command
