"""Classification cost, per message and per rule: the rules run on every message of every poll.

    .venv/bin/python bench/classify.py [--rules rules/] [--repeat 20] [--top 15]

Classifies the project's labelled corpus (tests/corpus_classification.py) many
times and prints the mean time per message, then every rule evaluated alone on
every message, costliest first: a rule whose regular expressions make the
regex engine try every position (a leading look-behind, an alternation with
no fixed first letters, an unbounded ``.*``) shows at the top.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from corpus_classification import messages  # noqa: E402
from tracer.rules import classify
from tracer.core import paths  # noqa: E402
from tracer.mail.parse import parse  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules", default=str(paths.default_rules_dir()))
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    began = time.perf_counter()
    rules = classify.load_rules(Path(args.rules))
    load_s = time.perf_counter() - began
    parsed = [parse(raw) for *_, raw in messages()]
    facts = [classify.Facts.of(p, "accueil", "prefecture@haute-savoie.gouv.fr") for p in parsed]
    began = time.perf_counter()
    for _ in range(args.repeat):
        for message in parsed:
            rules._classify(message, "accueil", "prefecture@haute-savoie.gouv.fr")
    per_message = (time.perf_counter() - began) / (args.repeat * len(parsed))
    costs = []
    for rule in rules.category_rules + rules.topic_rules:
        began = time.perf_counter()
        for _ in range(args.repeat):
            for f in facts:
                rule.check(f)
        costs.append(((time.perf_counter() - began) / (args.repeat * len(facts)), rule.id, rule.source))
    costs.sort(reverse=True)
    print(f"rules loaded and compiled: {len(rules)} in {load_s * 1000:.0f} ms")
    print(f"classification: {per_message * 1e6:.0f} µs per message ({len(parsed)} messages x {args.repeat})")
    print(f"every rule alone on every message: {sum(c for c, *_ in costs) * 1e6:.0f} µs per message; costliest:")
    for cost, rule_id, source in costs[: args.top]:
        print(f"  {cost * 1e6:7.1f} µs  {rule_id} ({source})")


if __name__ == "__main__":
    main()
