"""The terminal: tables fit 80 columns, outside text is printed as plain text, empty results are sentences."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tracer.cli.tables import Output, Table, clean

HOSTILE_SUBJECT = "Dossier [/] [link=https://evil.example]cliquez ici[/link] \x1b]0;titre\x07\x1b[2K\x1b]52;c;Zm9v\x07 [bold]fin"


def mail(n: int, subject: str, sender: str = "Camille Bernard <camille@exemple.fr>") -> bytes:
    return (
        f"From: {sender}\nTo: prefecture@exemple.gouv.fr\nSubject: {subject}\n"
        f"Message-ID: <term-{n}@exemple.fr>\nDate: Mon, 6 Jul 2026 10:00:00 +0200\n"
        "Received: from mx by mx; Mon, 6 Jul 2026 08:00:00 +0000\nContent-Type: text/plain; charset=utf-8\n\n"
        "Bonjour, je n'arrive pas à obtenir un rendez-vous, c'est inadmissible, je suis très mécontent.\n"
    ).encode()


def run(config, *args, columns: int = 80):
    env = {**os.environ, "COLUMNS": str(columns), "TRACER_NOW": "2026-07-20T09:00:00+02:00"}
    return subprocess.run([sys.executable, "-m", "tracer", "--config", str(config), *args], capture_output=True,
                          text=True, env=env)


def setup(tmp_path):
    config = tmp_path / "tracer.toml"
    config.write_text(
        f'[tracer]\ndatabase_url = "sqlite:///{tmp_path}/t.db"\nreference_prefix = "PREF74"\n'
        '[[mailbox]]\nname = "accueil"\naddress = "prefecture@exemple.gouv.fr"\nservice = "accueil"\nhost = "127.0.0.1"\n'
        '[[service]]\nname = "accueil"\nlabel = "Accueil général"\nalert_to = ["referent@exemple.gouv.fr"]\n',
        encoding="utf-8")
    return config


def test_outside_text_is_plain_without_controls_in_every_listing(tmp_path):
    config = setup(tmp_path)
    (tmp_path / "a.eml").write_bytes(mail(1, HOSTILE_SUBJECT, sender='"[/] Jean\x1b[31m" <jean@exemple.fr>'))
    weird = tmp_path / "q["  # the quarantined file's path holds « [/] »
    weird.mkdir()
    (weird / "]x.eml").write_bytes(b"\x00\x01 pas un message\n")
    sent = (
        f"From: prefecture@exemple.gouv.fr\nTo: autre@exemple.fr\nSubject: RE: {HOSTILE_SUBJECT}\n"
        "Message-ID: <sent-1@exemple.gouv.fr>\nDate: Tue, 7 Jul 2026 10:00:00 +0200\n\nRéponse.\n"
    ).encode()
    (tmp_path / "s.eml").write_bytes(sent)
    assert run(config, "import", str(tmp_path / "a.eml"), str(weird / "]x.eml")).returncode == 0
    assert run(config, "import", "--sent", str(tmp_path / "s.eml")).returncode == 0
    for command in (["cases"], ["show", "PREF74-2026-00001"], ["alerts", "--dry-run"], ["replies", "--unlinked"],
                    ["quarantine"], ["status"]):
        result = run(config, *command)
        assert result.returncode == 0, (command, result.stderr)
        out = result.stdout + result.stderr
        assert "Traceback" not in out and "MarkupError" not in out, command
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", out), (command, out)  # no ESC, no OSC, no C1
        assert "]8;" not in out, command  # no terminal hyperlink
    shown = run(config, "show", "PREF74-2026-00001", columns=300).stdout
    assert "Dossier [/] [link=https://evil.example]cliquez ici[/link]" in shown  # printed as written
    assert "[bold]fin" in shown and "[/] Jean" in shown
    assert "q[/]x.eml" in run(config, "quarantine", columns=300).stdout


def test_tables_fit_80_columns_and_never_split_references_dates_or_statuses(tmp_path):
    config = setup(tmp_path)
    long_subject = "Demande de renseignements concernant le renouvellement de mon titre de sejour pluriannuel"
    for n in range(1, 4):
        (tmp_path / f"{n}.eml").write_bytes(mail(n, long_subject, sender=f"Marie-Christine de La Tour d'Auvergne <tres.long.nom.{n}@exemple-de-messagerie.fr>"))
    assert run(config, "import", *(str(tmp_path / f"{n}.eml") for n in range(1, 4))).returncode == 0
    for columns in (80, 100, 132):
        out = run(config, "cases", columns=columns).stdout
        lines = out.splitlines()
        assert max(len(line) for line in lines) <= columns, (columns, out)
        rows = [line for line in lines if line.startswith("PREF74-")]
        assert len(rows) == 3  # one line each: nothing wrapped
        for line in rows:
            assert re.match(r"PREF74-2026-0000\d  06/07/2026  13/07/2026  en retard  ", line), line
            assert "Accueil g" in line and "accueil" not in line  # the service's label, not its code
        assert "…" in out  # the subject was shortened
    wide = run(config, "cases", columns=300).stdout
    assert long_subject in wide and "tres.long.nom.1@" not in wide and "Marie-Christine de La Tour d'Auvergne" in wide
    for command in (["show", "PREF74-2026-00001"], ["stats", "--from", "2026-07-01", "--to", "2026-08-01", "--by", "category", "month"],
                    ["stats", "--from", "2026-07-01", "--to", "2026-08-01", "--by", "service"], ["alerts", "--dry-run"], ["status"]):
        out = run(config, *command).stdout
        assert out.strip() and max(len(line) for line in out.splitlines()) <= 80, (command, out)
        assert "PREF74-2026-0" not in out or re.search(r"PREF74-2026-0000\d", out)  # references whole


def test_an_empty_result_is_a_sentence(tmp_path):
    config = setup(tmp_path)
    assert run(config, "cases").stdout.strip() == "Aucune demande."
    assert run(config, "quarantine").stdout.strip() == "Aucun message en quarantaine."
    assert run(config, "replies", "--unlinked").stdout.strip() == "Aucun message envoyé non rattaché."
    assert run(config, "outbox").stdout.strip() == "File d'envoi vide : tout est parti."
    assert run(config, "alerts", "--dry-run").stdout.strip() == "Aucune alerte à envoyer."


def test_the_widest_column_gives_way_first_and_fixed_columns_stay_whole():
    table = Table("Essai")
    table.add_column("Référence", fixed=True)
    table.add_column("Court", min_width=4)
    table.add_column("Long", min_width=4)
    table.add_row("PREF74-2026-00001", "abcdefghij", "x" * 60)
    out = table.render(50)
    head, rule, row = out.splitlines()[1:]
    assert row.startswith("PREF74-2026-00001  abcdefghij  ") and row.endswith("…")
    assert len(row) == 50
    table.add_row("PREF74-2026-00002", "y" * 40, "z" * 40)
    rows = table.render(50).splitlines()[3:]
    assert all(len(r) <= 50 and r.startswith("PREF74-2026-0000") for r in rows)
    # both flexible columns now share the room: neither below its floor, both cut
    assert rows[1].count("…") == 2


def test_plain_output_cleans_and_wraps_without_splitting_dates(tmp_path):
    class Buffer:
        def __init__(self):
            self.text = ""

        def write(self, s):
            self.text += s

        def flush(self):
            pass

    buf = Buffer()
    out = Output(buf, width=40)
    out.print("Reçue le 03/07/2026 à 18:12 · échéance 10/07/2026 à 23:59 \x1b[2K\u202e[red]x[/red]")
    lines = buf.text.splitlines()
    assert all(len(line) <= 40 for line in lines)
    assert "03/07/2026 à 18:12" in buf.text and "10/07/2026 à 23:59" in buf.text
    assert "\x1b" not in buf.text and "\u202e" not in buf.text and "[red]x[/red]" in buf.text
    assert clean("a\x00b\x85c\x9bd\te\nf") == "abcd\te\nf"
