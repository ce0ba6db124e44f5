"""Retrain the model shipped in the wheel (tracer/rules/model/scorer.json.gz) on tests/corpora.

    .venv/bin/python scripts/train_shipped.py

Run after a change to the corpora, the rules or tracer/rules/scorer.py's
features (bump FEATURES_VERSION then), and commit the file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracer.core import paths  # noqa: E402
from tracer.mail import learning  # noqa: E402
from tracer.rules import classify, scorer, training  # noqa: E402


def main() -> None:
    began = time.perf_counter()
    rules = classify.load_rules(paths.default_rules_dir(), model=None)
    examples = learning.corpus_examples(rules, ROOT / "tests" / "corpora")
    model = training.train(examples, {"trained_at": "livré", "corrections": 0, "last_correction": 0})
    model.write(scorer.SHIPPED_MODEL)
    size = scorer.SHIPPED_MODEL.stat().st_size
    print(f"{len(examples)} exemples, {len(model.category.vocabulary)} indices de catégorie, "
          f"{len(model.topic.vocabulary)} de thème ; {size / 1024:.0f} Kio ; {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
