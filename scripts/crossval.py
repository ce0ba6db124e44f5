"""Cross-validation by corpus: train the scorer on every corpus but one, measure on that one.

    .venv/bin/python scripts/crossval.py [--corpora tests/corpora] [--only fifth] [--errors]

Prints the Markdown table of tests/corpora/README.md: per corpus, categories
right (all and per category), topics right (complaints and suggestions) and
citizen requests taken for automatic mail, for the rules alone and for rules +
model trained on the other corpora.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracer.core import paths  # noqa: E402
from tracer.mail import learning  # noqa: E402
from tracer.rules import classify, training  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpora", default=str(ROOT / "tests" / "corpora"))
    parser.add_argument("--extra", action="append", default=[], help="another labelled folder, trained on too")
    parser.add_argument("--only", action="append")
    parser.add_argument("--errors", action="store_true")
    parser.add_argument("--no-rules", action="store_true")
    args = parser.parse_args()
    rules = classify.load_rules(paths.default_rules_dir(), model=None)
    corpora = Path(args.corpora)
    names = sorted(p.name for p in corpora.iterdir() if (p / "labels.json").exists())
    examples = {name: learning.corpus_examples(rules, corpora, [name]) for name in names}
    for extra in args.extra:
        extra = Path(extra)
        examples[extra.name] = learning.corpus_examples(rules, extra.parent, [extra.name])
    lines_rules, lines_model = [], []
    totals = {"rules": [], "model": []}
    for name in names:
        if args.only and name not in args.only:
            continue
        base = learning.evaluate(rules, corpora / name)
        model = training.train([e for other, ex in examples.items() if other != name for e in ex])
        scored = learning.evaluate(rules.with_model(model), corpora / name)
        lines_rules.append(training.table_line(name, base))
        lines_model.append(training.table_line(name, scored))
        totals["rules"] += base["rows"]
        totals["model"] += scored["rows"]
        if args.errors:
            for r in scored["rows"]:
                if r["got"] != r["category"] or r["topic_ok"] is False:
                    print(f"  {name}/{r['file']}: {r['category']}/{r['topic']} -> {r['got']}/{r['got_topic']}")
    print("Règles seules :\n" + training.TABLE_HEAD)
    print("\n".join(lines_rules + [training.table_line("**tous**", training.summarise(totals["rules"]))]))
    print("\nRègles + modèle entraîné sur les autres corpus :\n" + training.TABLE_HEAD)
    print("\n".join(lines_model + [training.table_line("**tous**", training.summarise(totals["model"]))]))


if __name__ == "__main__":
    main()
