"""Learning from labelled mail: the shipped corpora and the prefecture's own corrections.

Every ``reclassify`` (a category or topic changed by an agent) is a
labelled example: the request's first message with the category and topic it
ended with. ``tracer rules train`` fits the scorer on the shipped corpora
plus these corrections (tracer.rules.training) and writes it to the data
folder, where the Runtime finds it (the shipped model stays the fallback);
the daemon does so nightly when there are new corrections. A purged message
(retention) no longer teaches anything, and the model already written stays
valid: it holds weights, not messages.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select
from sqlmodel import Session

from tracer.core import clock, paths
from tracer.mail.parse import ParseError, parse
from tracer.rules import training
from tracer.rules.scorer import local_model_path, read_model
from tracer.rules.training import Example, corpus_label, corpus_messages, summarise, topic_id
from tracer.rules.vocabulary import CATEGORIES, TOPIC_CATEGORIES
from tracer.store.models import Event, Message, RawMessage, Request

CORRECTION = "reclassified"


_CORPUS_CACHE: dict = {}


def corpus_examples(rules, corpora_dir: Path, names: list[str] | None = None, cache_key=None) -> list[Example]:
    """The examples of the labelled corpora; with ``cache_key`` (the rules files as they are), kept for
    the process: the shipped corpora do not change while it runs."""
    if cache_key is None:
        return _corpus_examples(rules, corpora_dir, names)
    key = (str(Path(corpora_dir).resolve()), tuple(names) if names is not None else None, cache_key)
    if key not in _CORPUS_CACHE:
        _CORPUS_CACHE.clear()  # one set at a time: a new rules folder replaces it
        _CORPUS_CACHE[key] = _corpus_examples(rules, corpora_dir, names)
    return list(_CORPUS_CACHE[key])


def _corpus_examples(rules, corpora_dir: Path, names: list[str] | None = None) -> list[Example]:
    out: list[Example] = []
    folders = sorted(p for p in Path(corpora_dir).iterdir() if (p / "labels.json").exists())
    for folder in folders:
        if names is not None and folder.name not in names:
            continue
        for file, label, raw in corpus_messages(folder):
            if label.get("category") not in CATEGORIES:
                continue
            try:
                parsed = parse(raw)
            except ParseError:
                continue
            category, topic = corpus_label(label)
            example = training.example_of(rules, parsed, category, topic, f"{folder.name}/{file}", folder.name,
                                 mailbox_name=label.get("mailbox") or "prefecture",
                                 mailbox_address="prefecture@exemple.gouv.fr")
            if example is not None:
                out.append(example)
    return out




def _alternatives(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def evaluate(rules, folder: Path, mailbox_address: str = "prefecture@exemple.gouv.fr") -> dict:
    """Per message: the label and the decision; and the totals a report needs."""
    rows = []
    for file, label, raw in corpus_messages(Path(folder)):
        category, topic = corpus_label(label)
        try:
            decision = rules._classify(parse(raw), label.get("mailbox") or "prefecture", mailbox_address)
            got, got_topic = decision.category, decision.topic
        except ParseError:
            got, got_topic = None, None
        topic_ok = None
        if category in TOPIC_CATEGORIES:
            wanted = {topic} | {topic_id(t) for t in _alternatives(label.get("topic_alt"))}
            topic_ok = got_topic in wanted
        rows.append({"file": file, "category": category, "topic": topic, "got": got, "got_topic": got_topic,
                     "topic_ok": topic_ok, "ambiguous": bool(label.get("ambiguous"))})
    return summarise(rows)


# --------------------------------------------------------------------------
# The prefecture's corrections.


def last_correction_id(session: Session) -> int:
    return session.execute(select(func.max(Event.id)).where(Event.kind == CORRECTION)).scalars().first() or 0


def corrected_requests(session: Session) -> list[Request]:
    ids = select(Event.request_id).where(Event.kind == CORRECTION).distinct()
    return list(session.execute(select(Request).where(Request.id.in_(ids)).order_by(Request.id)).scalars())


def _first_raw(session: Session, request: Request) -> bytes | None:
    row = session.execute(
        select(RawMessage.data)
        .join(Message, Message.id == RawMessage.message_id)
        .where(Message.request_id == request.id, Message.kind == "mail", RawMessage.data.is_not(None))
        .order_by(Message.received_at, Message.id)
        .limit(1)
    ).scalars().first()
    if row is None:
        return None
    try:
        return zlib.decompress(row)
    except zlib.error:
        return row  # stored uncompressed


def correction_examples(session: Session, rt, rules) -> list[Example]:
    """One example per corrected request still holding its message (its current category and topic)."""
    out = []
    for request in corrected_requests(session):
        if request.category not in CATEGORIES:
            continue
        raw = _first_raw(session, request)
        if raw is None:  # purged, or a paper request
            continue
        try:
            parsed = parse(raw)
        except ParseError:
            continue
        topic = request.topic if request.category in TOPIC_CATEGORIES else None
        if request.category in TOPIC_CATEGORIES and not topic:
            topic = "autre"
        writer = (request.sender_addr or "").strip().lower() or f"demande:{request.id}"
        out.append(training.example_of(rules, parsed, request.category, topic, writer, "corrections",
                                       mailbox_name=request.mailbox, mailbox_address=rt.address_of(request.mailbox),
                                       weight=training.CORRECTION_WEIGHT))
    return out


def needs_training(session: Session, rt) -> bool:
    """New corrections since the local model was trained (or none trained yet while there are some)."""
    last = last_correction_id(session)
    if not last:
        return False
    model = read_model(local_model_path(rt.cfg.data_dir))
    return model is None or int(model.meta.get("last_correction", 0)) < last


def train_local(session: Session, rt, now: datetime | None = None, corpora_dir: Path | None = None) -> dict:
    """Train on the shipped corpora and the corrections, write the data folder's model; what it learnt from."""
    from tracer.rules.classify import load_rules

    now = now or clock.now()
    rules = load_rules(rt.cfg.rules_dir, model=None)
    rules_files = tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in Path(rt.cfg.rules_dir).glob("*.toml")))
    corpus = corpus_examples(rules, corpora_dir or paths.default_corpora_dir(), cache_key=(str(rt.cfg.rules_dir), rules_files))
    corrections = correction_examples(session, rt, rules)
    last = last_correction_id(session)
    model = training.train(corpus + corrections, {"trained_at": clock.from_db(now).isoformat(),
                                                  "corrections": len(corrections), "last_correction": last})
    path = local_model_path(rt.cfg.data_dir)
    model.write(path)
    return {"path": str(path), "corpus": len(corpus), "corrections": len(corrections),
            "features": len(model.category.vocabulary), "topic_features": len(model.topic.vocabulary)}


def train_if_needed(engine, rt, now: datetime | None = None) -> dict | None:
    """The nightly step: retrain when agents corrected something since the last training."""
    with Session(engine, expire_on_commit=False) as session:
        if not needs_training(session, rt):
            return None
        return train_local(session, rt, now)
