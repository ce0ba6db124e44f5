"""The shipped rules on the four labelled corpora written by other hands (tests/corpora/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracer.rules import classify
from tracer.core import paths
from tracer.mail.parse import ParseError, parse

CORPORA = Path(__file__).resolve().parent / "corpora"
PERIMETER = {"information", "reclamation", "suggestion"}
# Measured on 2026-11-25 with the rules of round 4: dev 121/121, heldout 99/101,
# final 100/100, fourth 104/107 (these four tuned on), fifth 86/100 through the
# CLI (never tuned on). The floors leave room for a deliberate trade-off, not
# for a slide.
FLOORS = {"dev": 0.97, "heldout": 0.95, "final": 0.95, "fourth": 0.93, "fifth": 0.83}


@pytest.fixture(scope="module")
def rules():
    return classify.load_rules(paths.default_rules_dir())


def results(name: str, rules) -> list[tuple[str, dict, str | None, str | None]]:
    labels = json.loads((CORPORA / name / "labels.json").read_text(encoding="utf-8"))
    out = []
    for file, label in sorted(labels.items()):
        try:
            decision = rules.classify(parse((CORPORA / name / file).read_bytes()), mailbox_name="prefecture",
                                      mailbox_address="prefecture@exemple.gouv.fr")
            out.append((file, label, decision.category, decision.topic))
        except ParseError:
            out.append((file, label, None, None))
    return out


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_categories_stay_above_their_floor(name, rules):
    rows = results(name, rules)
    right = sum(category == label["category"] for _file, label, category, _topic in rows)
    wrong = [f"{file}: {label['category']} -> {category}" for file, label, category, _ in rows if category != label["category"]]
    assert right / len(rows) >= FLOORS[name], f"{right}/{len(rows)}; " + "; ".join(wrong)


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_no_clear_citizen_request_is_lost_to_automatique(name, rules):
    """The worst error: a request in the perimeter taken for a robot is never answered."""
    lost = [file for file, label, category, _ in results(name, rules)
            if label["category"] in PERIMETER and not label.get("ambiguous") and category == "automatique"]
    assert lost == []
