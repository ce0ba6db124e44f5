"""The classifier on the labelled corpora written by other hands (tests/corpora/).

Three kinds of checks:
- the rules alone keep their floors (a rule change that wins on one set and
  loses on another shows at once);
- rules + the shipped model (trained on all of these corpora) classify them
  all, and never take a citizen's request for automatic mail;
- cross-validation: trained without a corpus, the model still scores it well
  (the full table: scripts/crossval.py, figures in tests/corpora/README.md).
"""

from __future__ import annotations

import pytest

from tracer.core import paths
from tracer.mail import learning
from tracer.rules import classify, training

CORPORA = paths.default_corpora_dir()
PERIMETER = {"information", "reclamation", "suggestion"}
NAMES = sorted(p.name for p in CORPORA.iterdir() if (p / "labels.json").exists())
# The rules alone, measured on 2026-12-03: dev 121/121, heldout 99/101, final
# 100/100, fourth 105/107 (tuned on), fifth 86/100, robots 83/92, seventh 87/110,
# sixth 91/110 (never tuned on); on 2026-12-04 eighth 103/112 and ninth 73/101 (measured blind, never
# tuned on). The floors leave room for a trade-off, not a slide.
RULE_FLOORS = {"dev": 0.97, "heldout": 0.95, "final": 0.95, "fourth": 0.93, "fifth": 0.83,
               "robots": 0.87, "seventh": 0.76, "sixth": 0.80, "eighth": 0.89, "ninth": 0.69}


@pytest.fixture(scope="module")
def rules():
    return classify.load_rules(paths.default_rules_dir(), model=None)


@pytest.fixture(scope="module")
def shipped():
    ruleset = classify.load_rules(paths.default_rules_dir())
    assert ruleset.model is not None and ruleset.model_source == "livré"
    return ruleset


def _wrong(summary: dict) -> str:
    return "; ".join(f"{r['file']}: {r['category']} -> {r['got']}" for r in summary["rows"] if r["got"] != r["category"])


def test_every_corpus_has_a_rule_floor():
    assert set(NAMES) == set(RULE_FLOORS)


@pytest.mark.parametrize("name", NAMES)
def test_rules_alone_stay_above_their_floor(name, rules):
    s = learning.evaluate(rules, CORPORA / name)
    assert s["right"] / s["n"] >= RULE_FLOORS[name], f"{s['right']}/{s['n']}; {_wrong(s)}"
    assert s["lost_to_auto"] == []


@pytest.mark.parametrize("name", NAMES)
def test_shipped_model_on_the_corpora_it_learnt(name, shipped):
    s = learning.evaluate(shipped, CORPORA / name)
    assert s["right"] / s["n"] >= 0.97, f"{s['right']}/{s['n']}; {_wrong(s)}"
    assert s["topic"][0] / s["topic"][1] >= 0.95
    assert s["lost_to_auto"] == []
    right, total = s["auto_recall"]
    assert total == 0 or right / total >= 0.99


def test_cross_validation_on_a_corpus_never_learnt(rules):
    """Trained on every corpus but the sixth (a prefecture's mailbox measured blind), it scores the sixth."""
    examples = [e for name in NAMES if name != "sixth" for e in learning.corpus_examples(rules, CORPORA, [name])]
    s = learning.evaluate(rules.with_model(training.train(examples)), CORPORA / "sixth")
    assert s["right"] / s["n"] >= 0.90, _wrong(s)
    assert s["topic"][0] / s["topic"][1] >= 0.85
    assert s["lost_to_auto"] == []
