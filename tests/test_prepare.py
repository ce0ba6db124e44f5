"""A backlog is parsed and classified in a worker process: same result as in
process, and a worker that dies costs time, never mail."""

from __future__ import annotations

import os
import signal
from datetime import datetime, timezone

import pytest
from sqlmodel import Session, select

from corpus_classification import messages
from tracer.core import config
from tracer.mail import ingest
from tracer.mail import prepare
from tracer.store.models import Message, Request
from tracer.mail.parse import parse
from tracer.services import Runtime

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def rt():
    cfg = config.from_dict({"tracer": {"reference_prefix": "PREF74"},
                            "mailbox": [{"name": "accueil", "address": "prefecture@haute-savoie.gouv.fr",
                                         "host": "127.0.0.1", "tls": "none"}]})
    return Runtime(cfg)


def backlog(tmp_path, rt):
    """The labelled corpus as files, with each message's category classified here, in process."""
    folder = tmp_path / "mail"
    folder.mkdir()
    expected = {}
    for index, _category, _topic, _label, raw in messages():
        (folder / f"{index:03d}.eml").write_bytes(raw)
        here = rt.rules.classify(parse(raw), mailbox_name="accueil", mailbox_address="prefecture@haute-savoie.gouv.fr")
        expected[f"<corpus-{index}@exemple-mail.fr>"] = here.category
    return folder, expected


def test_backlog_prepared_in_a_worker_is_recorded_as_in_process(engine, rt, tmp_path, monkeypatch):
    folder, expected = backlog(tmp_path, rt)
    submitted = []
    real_submit = prepare.Preparer.submit
    monkeypatch.setattr(prepare.Preparer, "submit", lambda self, raws, *a: submitted.append(len(raws)) or real_submit(self, raws, *a))
    summary = ingest.import_paths(engine, rt, [str(folder)], "accueil", NOW, batch=10)
    assert summary.recorded == len(expected)
    assert sum(submitted) > len(expected) // 2  # most of it went through the worker
    with Session(engine) as session:
        got = dict(session.execute(select(Message.message_id, Request.category).join(Request, Message.request_id == Request.id)).all())
    assert got == expected


def test_a_worker_killed_mid_backlog_costs_time_not_mail(engine, rt, tmp_path, monkeypatch):
    folder, expected = backlog(tmp_path, rt)
    real_submit = prepare.Preparer.submit
    kills = []

    def submit_then_kill(self, raws, *args):
        future = real_submit(self, raws, *args)
        if future is not None and not kills:
            for process in list(self._pool._processes.values()):  # fault injection: the worker dies
                os.kill(process.pid, signal.SIGKILL)
                kills.append(process.pid)
        return future

    monkeypatch.setattr(prepare.Preparer, "submit", submit_then_kill)
    summary = ingest.import_paths(engine, rt, [str(folder)], "accueil", NOW, batch=10)
    assert kills, "the worker was never started"
    assert summary.recorded == len(expected) and summary.quarantined == 0
    with Session(engine) as session:
        got = dict(session.execute(select(Message.message_id, Request.category).join(Request, Message.request_id == Request.id)).all())
    assert got == expected


def test_an_error_in_the_worker_prepares_the_batch_here(engine, rt, tmp_path, monkeypatch, caplog):
    """A batch the worker failed on (here: a bug injected in it) is prepared in process."""
    folder, expected = backlog(tmp_path, rt)

    def submit_failing(self, raws, *args):
        return self._pool.submit(_explode) if self._pool is not None else None

    monkeypatch.setattr(prepare.Preparer, "submit", submit_failing)
    summary = ingest.import_paths(engine, rt, [str(folder)], "accueil", NOW, batch=10)
    assert summary.recorded == len(expected)
    assert "lot non préparé par le processus d'analyse (RuntimeError)" in caplog.text
    with Session(engine) as session:
        got = dict(session.execute(select(Message.message_id, Request.category).join(Request, Message.request_id == Request.id)).all())
    assert got == expected


def _explode():
    raise RuntimeError("bug injected in the worker")
