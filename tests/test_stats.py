"""Indicators against figures computed by hand (DOMAIN.md, "Indicators")."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from mailfactory import make_mail, reply_to
from tracer.core import config
from tracer.reports import exports
from tracer.mail import ingest
from tracer.reports import stats
from tracer.services import Runtime

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 1, tzinfo=PARIS)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def rt():
    return Runtime(config.from_dict({"mailbox": [
        {"name": "qualite", "address": "pref-qualite@haute-savoie.gouv.fr", "host": "127.0.0.1", "tls": "none"},
        {"name": "accueil", "address": "prefecture@haute-savoie.gouv.fr", "host": "127.0.0.1", "tls": "none"},
    ]}))


def put(engine, rt, raw, when, mailbox="qualite", role="inbox"):
    ingest.record_batch(engine, rt, [ingest.Incoming(raw, at(when), mailbox, role, source="test")], NOW)


@pytest.fixture
def quarter(engine, rt):
    """The hand-computed quarter (see the figures in the tests)."""
    info = "Bonjour, quels documents faut-il pour un passeport ?"
    put(engine, rt, make_mail(message_id="<A@x>", body=info, cc="prefecture@haute-savoie.gouv.fr"), "2026-07-01T00:00:30+02:00")
    put(engine, rt, make_mail(message_id="<A@x>", body=info, cc="prefecture@haute-savoie.gouv.fr"), "2026-07-01T00:00:31+02:00", "accueil")
    put(engine, rt, reply_to("<A@x>"), "2026-07-03T10:00:30+02:00", role="sent")
    put(engine, rt, make_mail(message_id="<B@x>", body=info), "2026-06-30T23:59:59+02:00")  # before the period
    put(engine, rt, make_mail(message_id="<C@x>", subject="Réclamation", body="Attente inadmissible au guichet."), "2026-07-11T10:00:00+02:00")
    put(engine, rt, reply_to("<C@x>"), "2026-07-21T09:00:00+02:00", role="sent")
    put(engine, rt, make_mail(message_id="<D@x>", body=info), "2026-07-13T16:00:00+02:00")
    put(engine, rt, make_mail(message_id="<D2@x>", body="Je me permets de relancer.", in_reply_to="<D@x>"), "2026-07-20T16:00:00+02:00")
    put(engine, rt, make_mail(message_id="<E@x>", body=info), "2026-09-30T15:00:00+02:00")
    put(engine, rt, reply_to("<E@x>"), "2026-10-20T09:00:00+02:00", role="sent")
    put(engine, rt, make_mail(message_id="<F@x>", body=info), "2026-09-29T09:00:00+02:00")
    put(engine, rt, reply_to("<F@x>"), "2026-10-02T12:00:00+02:00", role="sent")
    put(engine, rt, make_mail(message_id="<G@x>", subject="Réponse automatique", headers={"Auto-Submitted": "auto-replied"}),
        "2026-08-03T10:00:00+02:00")
    put(engine, rt, make_mail(message_id="<H@x>", body=info), "2026-10-01T00:00:00+02:00")  # after the period


def compute(engine, rt, as_of, by=()):
    with Session(engine) as session:
        return stats.compute(session, rt, date(2026, 7, 1), date(2026, 10, 1), at(as_of), list(by))


def test_quarter_totals_match_the_hand_computed_figures(engine, rt, quarter):
    result = compute(engine, rt, "2026-10-15T00:00:00+02:00")
    assert result["period"] == {"from": "2026-07-01", "to": "2026-10-01", "as_of": "2026-10-15T00:00:00+02:00"}
    assert result["total"] == {
        "received": 5, "answered": 3, "on_time": 2, "late": 3, "pending": 0,
        "rate_on_time": 40.0, "mean_delay_days": 5.17, "mean_delay_working_days": 3.64,
    }


def test_as_of_decides_pending_and_answered(engine, rt, quarter):
    total = compute(engine, rt, "2026-10-03T00:00:00+02:00")["total"]
    assert (total["received"], total["answered"], total["on_time"], total["late"], total["pending"]) == (5, 3, 2, 2, 1)
    assert total["rate_on_time"] == 50.0


def test_grouping_by_category(engine, rt, quarter):
    groups = {g["key"]["category"]: g for g in compute(engine, rt, "2026-10-15T00:00:00+02:00", ["category"])["groups"]}
    assert set(groups) == {"information", "reclamation"}
    assert groups["reclamation"] | {} == {
        "key": {"category": "reclamation"}, "received": 1, "answered": 1, "on_time": 0, "late": 1, "pending": 0,
        "rate_on_time": 0.0, "mean_delay_days": 9.96, "mean_delay_working_days": 5.38,
    }
    info = groups["information"]
    assert (info["received"], info["on_time"], info["late"], info["rate_on_time"]) == (4, 2, 2, 50.0)
    assert (info["mean_delay_days"], info["mean_delay_working_days"]) == (2.77, 2.77)


def test_empty_denominators_are_null(engine, rt):
    total = compute(engine, rt, "2026-10-15T00:00:00+02:00")["total"]
    assert total == {"received": 0, "answered": 0, "on_time": 0, "late": 0, "pending": 0,
                     "rate_on_time": None, "mean_delay_days": None, "mean_delay_working_days": None}


def test_month_buckets_are_paris_months(engine, rt, quarter):
    groups = {g["key"]["month"]: g["received"] for g in compute(engine, rt, "2026-10-15T00:00:00+02:00", ["month"])["groups"]}
    assert groups == {"2026-07": 3, "2026-09": 2}  # A just after midnight Paris counts in July


def test_csv_and_xlsx_carry_the_same_numbers(engine, rt, quarter, tmp_path):
    result = compute(engine, rt, "2026-10-15T00:00:00+02:00", ["category"])
    data = exports.to_csv(result, ["category"])
    assert data.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert table[0][0] == "Catégorie" and table[-1][0] == "Total"
    assert table[-1][1:] == ["5", "3", "2", "3", "0", "40,00", "5,17", "3,64"]
    plain = list(csv.reader(io.StringIO(exports.to_csv(result, ["category"], plain=True).decode())))
    assert plain[-1][1:] == ["5", "3", "2", "3", "0", "40.0", "5.17", "3.64"]
    path = tmp_path / "stats.xlsx"
    exports.to_xlsx(result, ["category"], path, compute(engine, rt, "2026-10-15T00:00:00+02:00", ["month"]))
    book = load_workbook(path)
    sheet = book.worksheets[0]
    last = [c.value for c in sheet[sheet.max_row]]
    assert last[1:] == [5, 3, 2, 3, 0, 40.0, 5.17, 3.64]
    assert "Définitions" in book.sheetnames and "Taux mensuel" in book.sheetnames
    assert book["Taux mensuel"]._charts
    rate_cells = [row[6] for row in sheet.iter_rows(min_row=3)]
    assert all(c.fill.fgColor.rgb.endswith("F8C6C6") for c in rate_cells if isinstance(c.value, float) and c.value < 80)


def test_stats_command_json_shape(tmp_path):
    cfg = tmp_path / "t.toml"
    cfg.write_text(f'[tracer]\ndatabase_url = "sqlite:///{tmp_path / "t.db"}"\n')
    out = subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg), "stats", "--from", "2026-07-01", "--to",
                          "2026-10-01", "--as-of", "2026-10-15T00:00:00+02:00", "--by", "service", "--format", "json"],
                         capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert data["groups"] == [] and data["total"]["rate_on_time"] is None
    bad = subprocess.run([sys.executable, "-m", "tracer", "--config", str(cfg), "stats", "--from", "2026-13-01", "--to", "x"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "période invalide" in bad.stderr and "Traceback" not in bad.stderr


def test_frozen_figures_stay_published_and_differences_show(engine, rt, quarter):
    from tracer.reports import quality
    from tracer.register import requests as register

    as_of = at("2026-10-15T00:00:00+02:00")
    with Session(engine) as session, session.begin():
        published = quality.freeze(session, rt, "2026-Q3", as_of, "referent", NOW)
    with Session(engine) as session, session.begin():
        (case,) = [c for c in register.list_cases(session, rt, as_of=NOW) if c["message_ids"][0] == "<C@x>"]
        register.reclassify(session, rt, case["reference"], "hors_perimetre", "agent", NOW)
    with Session(engine) as session:
        frozen = quality.frozen_for(session, date(2026, 7, 1), date(2026, 10, 1))
        view = quality.compare(session, rt, frozen)
        with pytest.raises(Exception):
            quality.freeze(session, rt, "2026-Q3", as_of, "referent", NOW)
    assert view["published"] == published and view["published"]["total"]["received"] == 5
    assert view["differs"] and view["current"]["total"]["received"] == 4


def test_sample_is_reproducible_and_control_gives_the_conformity_rate(engine, rt, quarter):
    from tracer.reports import control_sheet, quality

    with Session(engine) as session:
        first = quality.sample(session, rt, "2026-Q3", 2, seed=7)
        again = quality.sample(session, rt, "2026-Q3", 2, seed=7)
        everything = quality.sample(session, rt, "2026-Q3", 20, seed=1)
    assert first == again and len(first) == 2
    assert {s["reference"] for s in everything} == {s["reference"] for s in everything if s["answered_at"]}
    assert len(everything) == 4  # A, C, E, F: received in Q3 and answered (E in October)
    head, rows = quality.sample_rows(everything)
    assert head[-6:] == quality.GRID and all(r[-6:] == [""] * 6 for r in rows)
    with Session(engine) as session, session.begin():
        control_sheet.draw(session, rt, "2026-Q3", 20, 1, "referent", NOW)
        quality.control(session, rt, everything[0]["reference"], "conforme", "RAS", "referent", NOW)
        quality.control(session, rt, everything[1]["reference"], "non_conforme", "pas signée", "referent", NOW)
    with Session(engine) as session:
        assert quality.conformity(session, rt, date(2026, 7, 1), date(2026, 10, 1)) == {"controlled": 2, "conforme": 1, "rate": 50.0}


def test_topics_breakdown_has_its_chart(engine, rt, quarter, tmp_path):
    result = compute(engine, rt, "2026-10-15T00:00:00+02:00", ["category", "topic"])
    path = tmp_path / "themes.xlsx"
    exports.to_xlsx(result, ["category", "topic"], path)
    book = load_workbook(path)
    rows = list(book["Thèmes"].values)
    assert rows[0] == ("Thème", "Réclamations", "Suggestions") and sum(r[1] for r in rows[1:]) == 1
    assert book["Thèmes"]._charts


def test_by_service_and_month_each_group_sums_to_the_total_and_reads_one_index_without_sorting(sqlite_url, rt):
    """--by service month over a period: every group as compute gives it per
    month alone, and on SQLite the query reads the (month, service) covering
    index in group order (no temporary B-tree, never the table)."""
    from sqlalchemy import event

    from tracer.store import db

    engine = db.open_engine(sqlite_url)
    for i, when in enumerate(["2026-07-01T00:00:30+02:00", "2026-07-31T23:59:00+02:00", "2026-08-01T00:00:10+02:00",
                              "2026-09-30T23:59:59+02:00", "2026-06-30T23:59:59+02:00", "2026-10-01T00:00:00+02:00"]):
        put(engine, rt, make_mail(message_id=f"<M{i}@x>", body="Quels documents pour un passeport ?"), when)
    put(engine, rt, reply_to("<M0@x>"), "2026-07-03T10:00:30+02:00", role="sent")
    statements = []
    event.listen(engine, "before_cursor_execute", lambda conn, cur, sql, params, *_: statements.append((sql, params)))
    by_month = compute(engine, rt, "2026-11-01T00:00:00+01:00", ["service", "month"])
    sql, params = next(s for s in statements if "count(" in s[0])
    assert [g["key"]["month"] for g in by_month["groups"]] == ["2026-07", "2026-08", "2026-09"]
    assert [g["received"] for g in by_month["groups"]] == [2, 1, 1] and by_month["total"]["received"] == 4
    assert by_month["groups"][0]["answered"] == 1 and by_month["groups"][0]["on_time"] == 1
    assert by_month["total"] == compute(engine, rt, "2026-11-01T00:00:00+01:00")["total"]
    with engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, tuple(params)))
    assert "COVERING INDEX ix_request_month_service" in plan and "TEMP B-TREE" not in plan, plan
    engine.dispose()
