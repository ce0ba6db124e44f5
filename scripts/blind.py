"""Score a labelled folder never seen: the rules alone, then rules + model trained on tests/corpora.

    .venv/bin/python scripts/blind.py FOLDER [FOLDER…] [--errors]

Prints one table line per folder for each (categories, per category, topics,
citizen requests taken for automatic mail) and, with --errors, the file names
wrong (names only: the point is to measure before anyone reads the messages).
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
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--corpora", default=str(ROOT / "tests" / "corpora"))
    parser.add_argument("--errors", action="store_true")
    args = parser.parse_args()
    rules = classify.load_rules(paths.default_rules_dir(), model=None)
    model = training.train(learning.corpus_examples(rules, Path(args.corpora)))
    lines = {"rules": [], "model": []}
    for folder in map(Path, args.folders):
        for kind, ruleset in (("rules", rules), ("model", rules.with_model(model))):
            s = learning.evaluate(ruleset, folder)
            lines[kind].append(training.table_line(folder.name, s))
            if args.errors:
                for r in s["rows"]:
                    if r["got"] != r["category"] or r["topic_ok"] is False:
                        print(f"  [{kind}] {folder.name}/{r['file']}: {r['category']}/{r['topic']} -> {r['got']}/{r['got_topic']}")
    print("Règles seules :\n" + training.TABLE_HEAD + "\n" + "\n".join(lines["rules"]))
    print("\nRègles + modèle (entraîné sur tests/corpora) :\n" + training.TABLE_HEAD + "\n" + "\n".join(lines["model"]))


if __name__ == "__main__":
    main()
