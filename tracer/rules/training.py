"""Training the scorer (tracer.rules.scorer): labelled examples in, a model file out.

Examples come from the labelled corpora shipped with tracer (written by other
hands, see tests/corpora/README.md) and from the prefecture's own corrections
(every ``reclassify`` event, tracer.register.learning). scikit-learn's
logistic regression fits the weights; it is imported here only, never when
classifying. What the model keeps is pruned: a cue is kept only if it occurs
in the messages of at least two distinct writers, so a name, an address or a
file number written by one person never reaches the file.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tracer.rules.scorer import FEATURES_VERSION, Linear, Model, features
from tracer.rules.vocabulary import CATEGORIES, DEFAULT_TOPIC, TOPIC_CATEGORIES, topic_ids

MIN_WRITERS = 2
CATEGORY_C = 4.0
TOPIC_C = 4.0
CORRECTION_WEIGHT = 3.0  # a prefecture's correction weighs more than a message of the shipped corpora
# The rules were tuned on most corpora, so there the rule that applies is nearly
# always right and the model would learn to trust it alone. Each example is
# also given once without the rules' cues, at this weight, so the words weigh
# too (cross-validation, 5 corpora never tuned on: 483 -> 486 of 513).
WITHOUT_RULES_WEIGHT = 0.5
# Requests outside the perimeter (one's own file, another administration) are fewer in the corpora than in a
# sous-préfecture's mailbox, and the model reads them as information: their bias is raised by this much,
# measured by corpus (trained without ninth, seventh and eighth: 296 -> 299 of 323 right at 0.3, no corpus worse;
# without sixth, fifth and robots: no change; 0.6 starts losing information requests).
OUT_OF_PERIMETER_PRIOR = 0.3


@dataclass
class Example:
    features: list[str]
    category: str
    topic: str | None
    writer: str       # messages of one writer count once when pruning
    source: str       # the corpus name, or "corrections"
    topic_features: list[str] | None = None  # features plus the topic rule's cue
    weight: float = 1.0


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


_TOPIC_BY_LABEL = None


def topic_id(value: str | None) -> str | None:
    """A corpus's topic, given as id or as French label (« rendez-vous en ligne »), as an id."""
    global _TOPIC_BY_LABEL
    if value is None:
        return None
    if value in topic_ids():
        return value
    if _TOPIC_BY_LABEL is None:
        from tracer.rules.vocabulary import topic_label

        _TOPIC_BY_LABEL = {}
        for tid in topic_ids():
            _TOPIC_BY_LABEL[_fold(topic_label(tid)).replace(" ", "")] = tid
            _TOPIC_BY_LABEL[_fold(tid).replace("_", "")] = tid
        _TOPIC_BY_LABEL["rendez-vousenligne"] = "rendez_vous"
    key = _fold(value).replace(" ", "").replace("_", "")
    return _TOPIC_BY_LABEL.get(key, _TOPIC_BY_LABEL.get(key.replace("-", ""), DEFAULT_TOPIC))


def example_of(rules, parsed, category: str, topic: str | None, writer: str, source: str,
               mailbox_name: str | None = "prefecture", mailbox_address: str | None = None,
               weight: float = 1.0) -> Example | None:
    """The example a labelled message gives.

    Messages a final rule decides are examples too: the model learns from
    them what automatic mail looks like when no header says so.
    """
    from tracer.rules.classify import Facts

    facts = Facts.of(parsed, mailbox_name, mailbox_address)
    rule = rules.first_rule(facts)
    feats = features(facts, rule)
    topic_feats = None
    if category in TOPIC_CATEGORIES:
        best = rules._topic_rule(facts, [])
        topic_feats = feats + (["rt:" + best.topic] if best is not None else [])
    return Example(feats, category, topic, writer, source, topic_feats, weight)


def corpus_messages(folder: Path):
    """(file, label, raw bytes) of one labelled corpus folder."""
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    for file, label in sorted(labels.items()):
        path = folder / file
        if path.exists():
            yield file, label, path.read_bytes()


def corpus_label(label: dict) -> tuple[str, str | None]:
    category = label["category"]
    topic = topic_id(label.get("topic")) if category in TOPIC_CATEGORIES else None
    if category in TOPIC_CATEGORIES and topic is None:
        topic = DEFAULT_TOPIC
    return category, topic


def _vocabulary(rows: list[tuple[list[str], str]]) -> list[str]:
    """Features seen with at least MIN_WRITERS distinct writers."""
    writers: dict[str, set[str]] = defaultdict(set)
    for feats, writer in rows:
        for f in feats:
            writers[f].add(writer)
    return sorted(f for f, seen in writers.items() if len(seen) >= MIN_WRITERS)


def _fit(rows: list[list[str]], labels: list[str], weights: list[float], writers: list[str], classes: list[str],
         c: float) -> Linear:
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    vocabulary = _vocabulary(list(zip(rows, writers)))
    index = {f: i for i, f in enumerate(vocabulary)}
    data, cols, ptr = [], [], [0]
    for feats in rows:
        ids = sorted({index[f] for f in feats if f in index})
        value = 1.0 / math.sqrt(len(ids) or 1)
        cols.extend(ids)
        data.extend([value] * len(ids))
        ptr.append(len(cols))
    x = csr_matrix((np.array(data), np.array(cols, dtype=np.int64), np.array(ptr)), shape=(len(rows), len(vocabulary)))
    present = sorted(set(labels))
    if len(present) == 1:  # one class only: it always wins
        return Linear(classes, [], [[] for _ in classes], [1.0 if k == present[0] else 0.0 for k in classes])
    fit = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    fit.fit(x, labels, sample_weight=np.array(weights))
    coef = fit.coef_
    intercept = fit.intercept_
    if len(fit.classes_) == 2:  # scikit-learn gives one row for two classes
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    keep = np.flatnonzero(np.abs(coef).max(axis=0) >= 0.005)
    by_class = {k: i for i, k in enumerate(fit.classes_)}
    weights_out, bias = [], []
    for k in classes:
        if k in by_class:
            weights_out.append(coef[by_class[k], keep].tolist())
            bias.append(float(intercept[by_class[k]]))
        else:
            weights_out.append([0.0] * len(keep))
            bias.append(-50.0)
    return Linear(classes, [vocabulary[i] for i in keep], weights_out, bias)


def _without_rules(e: Example) -> Example:
    rules_cue = ("r:", "rc:", "rt:")
    feats = [f for f in e.features if not f.startswith(rules_cue)] + ["rc:masque"]
    topic_feats = [f for f in e.topic_features if not f.startswith(rules_cue)] if e.topic_features is not None else None
    return Example(feats, e.category, e.topic, e.writer, e.source, topic_feats, e.weight * WITHOUT_RULES_WEIGHT)


def train(examples: list[Example], meta: dict | None = None) -> Model:
    counted = examples
    if WITHOUT_RULES_WEIGHT:
        examples = examples + [_without_rules(e) for e in examples]
    category = _fit([e.features for e in examples], [e.category for e in examples], [e.weight for e in examples],
                    [e.writer for e in examples], list(CATEGORIES), CATEGORY_C)
    if "hors_perimetre" in category.classes:
        bias = list(category.bias)
        bias[category.classes.index("hors_perimetre")] += OUT_OF_PERIMETER_PRIOR
        category.bias = tuple(bias)
    topical = [e for e in examples if e.category in TOPIC_CATEGORIES and e.topic and e.topic_features is not None]
    topic = _fit([e.topic_features for e in topical], [e.topic for e in topical], [e.weight for e in topical],
                 [e.writer for e in topical], list(topic_ids()), TOPIC_C)
    info = {"examples": len(counted), "features": FEATURES_VERSION,
            "sources": dict(sorted(_count(e.source for e in counted).items()))}
    info.update(meta or {})
    return Model(category, topic, info)


def _count(items) -> dict:
    out: dict = defaultdict(int)
    for item in items:
        out[item] += 1
    return out


# --------------------------------------------------------------------------
# Measuring: the totals of a rule set's decisions on a labelled corpus
# (tracer.mail.learning.evaluate gives the rows).


def summarise(rows: list[dict]) -> dict:
    per = {c: [0, 0] for c in CATEGORIES}
    for r in rows:
        per[r["category"]][1] += 1
        per[r["category"]][0] += r["got"] == r["category"]
    topical = [r for r in rows if r["topic_ok"] is not None]
    perimeter = {"information", "reclamation", "suggestion"}
    return {
        "rows": rows,
        "n": len(rows),
        "right": sum(r["got"] == r["category"] for r in rows),
        "per_category": per,
        "topic": [sum(r["topic_ok"] for r in topical), len(topical)],
        "lost_to_auto": [r["file"] for r in rows if r["category"] in perimeter and r["got"] == "automatique"],
        "auto_recall": per["automatique"],
    }


def table_line(name: str, s: dict) -> str:
    def pct(a, b):
        return f"{100 * a / b:.0f} % ({a}/{b})" if b else "—"

    cells = [name, pct(s["right"], s["n"])] + [pct(*s["per_category"][c]) for c in CATEGORIES]
    cells += [pct(*s["topic"]), str(len(s["lost_to_auto"]))]
    return "| " + " | ".join(cells) + " |"


TABLE_HEAD = ("| corpus | catégories | " + " | ".join(CATEGORIES) + " | thèmes | demandes prises pour automatique |\n"
              "|" + "---|" * (len(CATEGORIES) + 4))
