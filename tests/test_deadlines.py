"""Deadline rules (rules/deadlines.toml): resolution and French load errors."""

from __future__ import annotations

import pytest

from tracer.rules.deadlines import DeadlineRules, load_deadline_rules
from tracer.core.paths import default_rules_dir
from tracer.rules.errors import RulesError

RULES = """
[defaults]
email = 5
paper = 10

[[rule]]
channel = "email"
service = "etrangers"
working_days = 8

[[rule]]
channel = "email"
category = "reclamation"
service = "etrangers"
working_days = 3

[[rule]]
category = "suggestion"
working_days = 15

[[rule]]
channel = "email"
category = "reclamation"
working_days = 4

[[rule]]
service = "cabinet"
working_days = 2
"""


def load(tmp_path, text: str, name: str = "deadlines.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_deadline_rules(path)


def problems(tmp_path, text: str) -> list[str]:
    with pytest.raises(RulesError) as err:
        load(tmp_path, text)
    assert str(err.value) == "\n".join(err.value.problems)
    return err.value.problems


def test_most_specific_rule_wins(tmp_path):
    rules = load(tmp_path, RULES)
    assert rules.days_for("email", "information", "etrangers") == 8  # channel + service
    assert rules.days_for("email", "reclamation", "etrangers") == 3  # three fields beat two
    assert rules.days_for("email", "reclamation", "qualite") == 4
    assert rules.days_for("paper", "reclamation", "etrangers") == 10  # default for paper
    assert rules.days_for("email", "suggestion", "qualite") == 15
    assert rules.days_for("paper", "suggestion", None) == 15
    assert rules.days_for("email", "information", "qualite") == 5
    assert rules.days_for("paper", "information", "qualite") == 10
    assert rules.days_for("email", "information", "cabinet") == 2
    # equal specificity, both match: service beats category (fixed precedence)
    assert rules.days_for("paper", "suggestion", "cabinet") == 2
    assert rules.rule_for("email", "reclamation", "etrangers").index == 2


def test_rule_order_in_the_file_does_not_matter(tmp_path):
    blocks = RULES.split("[[rule]]")
    reversed_text = blocks[0] + "".join("[[rule]]" + b for b in reversed(blocks[1:]))
    a, b = load(tmp_path, RULES, "a.toml"), load(tmp_path, reversed_text, "b.toml")
    for channel in ("email", "paper"):
        for category in ("information", "reclamation", "suggestion"):
            for service in ("etrangers", "cabinet", "qualite", None):
                assert a.days_for(channel, category, service) == b.days_for(channel, category, service)


def test_no_deadline_for_automatic_out_of_scope_and_anonymous(tmp_path):
    rules = load(tmp_path, RULES)
    assert rules.days_for("email", "automatique", "etrangers") is None
    assert rules.days_for("email", "hors_perimetre", "etrangers") is None
    assert rules.days_for("paper", "information", "etrangers", has_reply_address=False) is None
    assert DeadlineRules.default().days_for("email", "automatique", None) is None


def test_defaults_without_file_and_partial_defaults(tmp_path):
    default = DeadlineRules.default()
    assert default.days_for("email", "information", None) == 5
    assert default.days_for("paper", "reclamation", None) == 10
    assert default.rules == []
    rules = load(tmp_path, "[defaults]\nemail = 7\n")
    assert rules.days_for("email", "information", None) == 7
    assert rules.days_for("paper", "information", None) == 10
    assert load(tmp_path, "").days_for("email", "reclamation", "x") == 5


def test_shipped_rules_load():
    rules = load_deadline_rules(default_rules_dir() / "deadlines.toml")
    assert rules.defaults == {"email": 5, "paper": 10}
    assert rules.days_for("email", "information", None) == 5
    assert rules.days_for("email", "reclamation", None) == 5
    assert rules.days_for("paper", "information", None) == 10
    assert rules.days_for("paper", "reclamation", "etrangers") == 10
    assert any(r.channel == "paper" and r.category == "reclamation" and r.working_days == 10 for r in rules.rules)


def test_bad_values_are_refused_in_french(tmp_path):
    found = problems(
        tmp_path,
        """
[defaults]
email = 0
fax = 3
paper = "dix"

[[rule]]
channel = "fax"
working_days = -2

[[rule]]
working_days = 3
colour = 1

[[rule]]
category = "reclamation"
working_days = 2.5

[[rule]]
category = "plainte"
working_days = 3

[[rule]]
channel = "email"

[[rule]]
category = "automatique"
working_days = 1

[[rule]]
service = ""
working_days = true
""",
    )
    assert "deadlines.toml, defaults.email : entier positif attendu" in found
    assert "deadlines.toml, defaults.paper : entier positif attendu" in found
    assert any(p.startswith("deadlines.toml, defaults.fax : canal inconnu") for p in found)
    assert "deadlines.toml, rule[1].working_days : entier positif attendu" in found
    assert any(p.startswith("deadlines.toml, rule[1].channel : canal inconnu « fax »") for p in found)
    assert any(p.startswith("deadlines.toml, rule[2].colour : clé inconnue") for p in found)
    assert "deadlines.toml, rule[3].working_days : entier positif attendu" in found
    assert any(p.startswith("deadlines.toml, rule[4].category : catégorie inconnue « plainte »") for p in found)
    assert "deadlines.toml, rule[5].working_days : clé obligatoire manquante" in found
    assert "deadlines.toml, rule[6].category : « automatique » n'a jamais d'échéance" in found
    assert "deadlines.toml, rule[7].working_days : entier positif attendu" in found
    assert any(p.startswith("deadlines.toml, rule[7].service :") for p in found)


def test_duplicate_criteria_are_ambiguous(tmp_path):
    found = problems(
        tmp_path,
        """
[[rule]]
channel = "paper"
category = "reclamation"
working_days = 10

[[rule]]
channel = "email"
working_days = 4

[[rule]]
category = "reclamation"
channel = "paper"
working_days = 12
""",
    )
    assert found == [
        "deadlines.toml, rule[3] : mêmes critères que rule[1] (channel = paper, category = reclamation) : "
        "règle ambiguë, n'en garder qu'une"
    ]


def test_same_fields_with_other_values_are_fine(tmp_path):
    rules = load(tmp_path, '[[rule]]\nservice = "a"\nworking_days = 3\n\n[[rule]]\nservice = "b"\nworking_days = 4\n')
    assert rules.days_for("email", "information", "a") == 3
    assert rules.days_for("email", "information", "b") == 4


def test_structure_and_syntax_errors(tmp_path):
    assert problems(tmp_path, "[defaults\nemail = 5\n")[0].startswith("deadlines.toml : syntaxe TOML invalide, ligne 1, colonne 10")
    found = problems(tmp_path, 'defaults = 5\nrule = "x"\n[delais]\nemail = 5\n')
    assert "deadlines.toml, defaults : table attendue ([defaults])" in found
    assert "deadlines.toml, rule : liste de règles attendue ([[rule]])" in found
    assert any(p.startswith("deadlines.toml, delais : section inconnue") for p in found)
    with pytest.raises(RulesError) as err:
        load_deadline_rules(tmp_path / "absent.toml")
    assert err.value.problems[0].startswith("absent.toml : fichier introuvable")


def test_rules_error_message():
    err = RulesError(["a.toml, rule[1].x : clé inconnue", "a.toml, rule[2] : table attendue"])
    assert err.problems == ["a.toml, rule[1].x : clé inconnue", "a.toml, rule[2] : table attendue"]
    assert str(err) == "a.toml, rule[1].x : clé inconnue\na.toml, rule[2] : table attendue"
