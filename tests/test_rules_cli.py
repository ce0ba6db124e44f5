"""``tracer rules check`` and ``tracer classify --explain``."""

from __future__ import annotations

import json

import pytest

from mailfactory import make_mail
from tracer.cli import main


def test_rules_check_on_shipped_rules(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRACER_CONFIG", raising=False)
    assert main(["rules", "check"]) == 0
    assert "Règles valides" in capsys.readouterr().out


def test_rules_check_refuses_bad_rules_naming_file_rule_and_key(capsys, tmp_path):
    rules = tmp_path / "regles"
    rules.mkdir()
    (rules / "x.toml").write_text('[[rule]]\nid = "mauvaise"\ncategory = "reclamation"\nwhen = { subject_regex = "[" }\n')
    (rules / "deadlines.toml").write_text("[defaults]\nemail = 0\n")
    cfg = tmp_path / "t.toml"
    cfg.write_text(f'[tracer]\nrules_dir = "{rules}"\ndatabase_url = "sqlite:///{tmp_path / "t.db"}"\n')
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(cfg), "rules", "check"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert 'x.toml, règle "mauvaise", when.subject_regex : expression régulière invalide' in err
    assert "deadlines.toml, defaults.email : entier positif attendu" in err


def test_classify_explains(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRACER_CONFIG", raising=False)
    path = tmp_path / "m.eml"
    path.write_bytes(make_mail(subject="Réclamation", body="Personne ne décroche au standard, c'est inadmissible."))
    assert main(["classify", "--explain", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Catégorie : réclamation" in out and "reclamation-mecontentement" in out and "theme-telephone" in out
    assert main(["classify", "--json", str(path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["category"] == "reclamation" and data["topic"] == "accueil_telephonique"
