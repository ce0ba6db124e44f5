"""Configuration: refused as a whole, one French line per problem naming the key."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tracer.core import config

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tracer.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid(monkeypatch):
    monkeypatch.setenv("TRACER_QUALITE_PASSWORD", "x")
    monkeypatch.setenv("TRACER_PREFECTURE_PASSWORD", "x")
    monkeypatch.setenv("TRACER_SMTP_PASSWORD", "x")
    cfg = config.load(str(ROOT / "config.example.toml"))
    assert cfg.mailboxes[0].address == "pref-qualite@haute-savoie.gouv.fr"
    assert cfg.mailboxes[0].password == "x"


def test_every_declared_key_is_documented_in_the_example():
    """Like Datasette's test_docs: an undocumented setting fails."""
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    missing = []
    for dotted in config.all_declared_keys():
        key = dotted.rsplit(".", 1)[1]
        if not re.search(rf"^\s*#?\s*{re.escape(key)}\s*=", text, re.MULTILINE):
            missing.append(dotted)
    assert missing == []


def test_port_as_text_is_refused_naming_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("P", "secret")
    path = write(
        tmp_path,
        """
[[mailbox]]
name = "a"
address = "a@example.org"
host = "127.0.0.1"
tls = "none"
password_env = "P"

[[mailbox]]
name = "b"
address = "b@example.org"
host = "127.0.0.1"
port = "abc"
tls = "none"
password_env = "P"
""",
    )
    with pytest.raises(config.ConfigError) as err:
        config.load(str(path))
    assert err.value.problems == ['mailbox[2].port : entier attendu, reçu "abc"']


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(
        tmp_path,
        """
[tracer]
holiday_zone = "mars"
closure_days = ["2026-13-01"]
unknown = 1

[[mailbox]]
address = "a@example.org"
host = "imap.example.org"
tls = "none"
password = "en clair"

[schedule]
digest = "lundi 8h"
""",
    )
    with pytest.raises(config.ConfigError) as err:
        config.load(str(path))
    text = "\n".join(err.value.problems)
    assert "tracer.holiday_zone : zone attendue" in text
    assert "tracer.closure_days : élément 1 : date AAAA-MM-JJ attendue" in text
    assert "tracer.unknown : clé inconnue" in text
    assert "mailbox[1].name : clé obligatoire manquante" in text
    assert "mailbox[1].password : mot de passe interdit" in text
    assert 'mailbox[1].tls : "none" refusé pour un serveur distant' in text
    assert "schedule.digest" in text


def test_secret_from_file_and_env(tmp_path, monkeypatch):
    (tmp_path / "pw").write_text("s3cret\n")
    monkeypatch.setenv("SMTP_PW", "other")
    path = write(
        tmp_path,
        """
[[mailbox]]
name = "a"
address = "a@example.org"
host = "imap.example.org"
password_file = "pw"

[smtp]
host = "smtp.example.org"
username = "u"
password_env = "SMTP_PW"
""",
    )
    cfg = config.load(str(path))
    assert cfg.mailboxes[0].password == "s3cret"
    assert cfg.mailboxes[0].port == 993 and cfg.mailboxes[0].tls == "ssl"
    assert cfg.smtp.password == "other" and cfg.smtp.port == 587
    assert "s3cret" not in repr(cfg.mailboxes[0].password)


def test_missing_secret_is_named_by_the_commands_that_connect_and_only_them(tmp_path, monkeypatch):
    monkeypatch.delenv("NOPE", raising=False)
    monkeypatch.delenv("TRACER_SMTP_NOPE", raising=False)
    path = write(tmp_path, f'[tracer]\ndatabase_url = "sqlite:///{tmp_path}/t.db"\n'
                           '[[mailbox]]\nname="a"\naddress="a@x.fr"\nhost="imap.x.fr"\npassword_env="NOPE"\n'
                           '[smtp]\nhost="smtp.x.fr"\nusername="u"\npassword_file="absent.secret"\n')
    cfg = config.load(str(path))
    assert cfg.secret_problems() == ["mailbox[1].password_env : variable d'environnement NOPE non définie"]
    assert cfg.secret_problems([], smtp=True) == [f"smtp.password_file : fichier illisible ({tmp_path / 'absent.secret'})"]
    mail = tmp_path / "m.eml"
    mail.write_bytes(b"From: a@b.fr\nTo: a@x.fr\nSubject: horaires\nMessage-ID: <m1@b.fr>\nDate: Mon, 6 Jul 2026 10:00:00 +0200\n\nBonjour, quels horaires ?\n")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "tracer", "--config", str(path), *args], capture_output=True, text=True)

    imported = run("import", str(mail), "--json")  # a backfill needs no password
    assert imported.returncode == 0, imported.stderr
    assert '"recorded": 1' in imported.stdout
    assert run("cases", "--json").returncode == 0
    polled = run("poll")
    assert polled.returncode == 2
    assert polled.stderr.strip() == "configuration : mailbox[1].password_env : variable d'environnement NOPE non définie"
    assert "Traceback" not in polled.stderr
    digest = run("digest")
    assert digest.returncode == 2 and "smtp.password_file : fichier illisible" in digest.stderr


def test_bad_config_exits_2_with_french_line_and_no_traceback(tmp_path):
    path = write(tmp_path, '[[mailbox]]\nname="a"\naddress="a@x.fr"\nhost="127.0.0.1"\nport="abc"\ntls="none"\n')
    result = subprocess.run(
        [sys.executable, "-m", "tracer", "--config", str(path), "cases"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert 'mailbox[1].port : entier attendu, reçu "abc"' in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_toml_is_refused_in_french(tmp_path):
    path = write(tmp_path, "[tracer\n")
    result = subprocess.run([sys.executable, "-m", "tracer", "--config", str(path), "cases"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "syntaxe TOML invalide" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_file_gives_embedded_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("TRACER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    cfg = config.load(None)
    assert cfg.tracer.holiday_zone == "metropole"
    assert cfg.database_url.startswith("sqlite:///")
    assert (cfg.rules_dir / "README.md").exists()


def test_missing_rules_dir_falls_back_to_the_shipped_rules_with_a_warning(tmp_path, capsys):
    path = write(tmp_path, '[tracer]\nrules_dir = "nulle-part"\n')
    cfg = config.load(str(path))
    assert (cfg.rules_dir / "automatique.toml").exists()
    assert "tracer.rules_dir : dossier introuvable" in capsys.readouterr().err


# --------------------------------------------------------------------------
# Issue 15, low: secrets others can read, clear-text connections, the database password.


def test_a_password_file_others_can_read_and_allow_insecure_are_warned_by_the_commands_that_connect(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    path = write(tmp_path, f'[tracer]\ndatabase_url = "sqlite:///{tmp_path}/t.db"\n'
                           '[[mailbox]]\nname="a"\naddress="a@x.fr"\nhost="192.0.2.1"\nport=1\ntls="none"\n'
                           'allow_insecure=true\npassword_file="pw"\ntimeout=1\n')
    cfg = config.load(str(path))
    warnings = cfg.secret_warnings()
    assert warnings == [
        "mailbox[1].allow_insecure : connexion sans chiffrement vers 192.0.2.1 : le mot de passe et les courriels "
        "circulent en clair",
        f"mailbox[1].password_file : {secret} est lisible par d'autres comptes (mode 0644) ; restreignez-le au "
        f"compte de service : chmod 600 {secret}",
    ]
    polled = subprocess.run([sys.executable, "-m", "tracer", "--config", str(path), "poll"], capture_output=True, text=True,
                            timeout=60)
    assert "configuration : avertissement : mailbox[1].password_file : " in polled.stderr
    assert "configuration : avertissement : mailbox[1].allow_insecure" in polled.stderr
    assert "s3cret" not in polled.stderr
    secret.chmod(0o600)
    assert [w for w in config.load(str(path)).secret_warnings() if "password_file" in w] == []
    cases = subprocess.run([sys.executable, "-m", "tracer", "--config", str(path), "cases"], capture_output=True, text=True)
    assert "avertissement" not in cases.stderr  # a command that connects to nothing says nothing


def test_the_database_password_comes_from_database_password_env(tmp_path, monkeypatch):
    body = ('[tracer]\ndatabase_url = "postgresql+psycopg://tracer@db.example.org/tracer"\n'
            'database_password_env = "TRACER_DB_PW"\n')
    monkeypatch.delenv("TRACER_DB_PW", raising=False)
    with pytest.raises(config.ConfigError) as refused:
        config.load(str(write(tmp_path, body)))
    assert refused.value.problems == ["tracer.database_password_env : variable d'environnement TRACER_DB_PW non définie"]
    monkeypatch.setenv("TRACER_DB_PW", "p@ss:wörd/")
    cfg = config.load(str(write(tmp_path, body)))
    from sqlalchemy.engine import make_url

    url = make_url(cfg.database_url)
    assert (url.username, url.password, url.host, url.database) == ("tracer", "p@ss:wörd/", "db.example.org", "tracer")
    assert "p@ss" not in cfg.tracer.database_url
