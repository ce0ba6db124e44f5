"""The référent's service layer: dashboard, charts, journal, heartbeat, control sheet, drift after a freeze."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from test_stats import NOW, at, quarter, rt  # noqa: F401  (fixtures: the hand-computed quarter)
from tracer.core.errors import UserError
from tracer.register import requests as register
from tracer.reports import charts, control_sheet, dashboard, journal, quality, stats, status
from tracer.store.models import FolderState

AS_OF = at("2026-10-15T00:00:00+02:00")
SVG = "{http://www.w3.org/2000/svg}"


def test_period_choice_defaults_to_this_quarter_and_refuses_nonsense():
    today = date(2026, 11, 20)
    assert dashboard.choose_period(None, None, None, None, today)[:3] == (date(2026, 10, 1), date(2027, 1, 1), "trimestre")
    assert dashboard.choose_period("mois", "2026-12", None, None, today)[:2] == (date(2026, 12, 1), date(2027, 1, 1))
    assert dashboard.choose_period("annee", "2025", None, None, today).label == "année 2025"
    assert dashboard.choose_period("dates", None, "2026-07-01", "2026-07-15", today)[:2] == (date(2026, 7, 1), date(2026, 7, 15))
    assert dashboard.quarter_period("2026-q1").label == "1er trimestre 2026"
    assert dashboard.previous_quarter(date(2026, 2, 3)) == "2025-Q4"
    for args in (("mois", "2026-13"), ("annee", "deux mille"), ("trimestre", "2026-Q5"), ("semaine", "1")):
        with pytest.raises(UserError):
            dashboard.choose_period(*args, None, None, today)
    with pytest.raises(UserError):
        dashboard.choose_period("dates", None, "2026-07-15", "2026-07-01", today)


def test_dashboard_reads_the_same_figures_as_stats(engine, rt, quarter):
    period = dashboard.quarter_period("2026-Q3")
    with Session(engine) as session:
        data = dashboard.dashboard(session, rt, period, AS_OF, "category")
        by_month = stats.compute(session, rt, period.start, period.end, AS_OF, ["month"])
        by_category = stats.compute(session, rt, period.start, period.end, AS_OF, ["category"])
        by_topic = stats.compute(session, rt, period.start, period.end, AS_OF, ["category", "topic"])
    assert data["stats"] == by_category
    assert data["stats"]["total"]["rate_on_time"] == 40.0 and data["stats"]["total"]["received"] == 5
    assert [r["label"] for r in data["rows"]] == ["Demande d'information", "Réclamation"]
    assert data["rate_by_month"] == [(dashboard.key_label(rt, "month", g["key"]["month"]), g["rate_on_time"])
                                     for g in by_month["groups"]]
    assert data["rate_by_month"][0][0] == "juillet 2026"
    complaints = sum(g["received"] for g in by_topic["groups"] if g["key"]["category"] == "reclamation")
    assert sum(c for _, c, _ in data["topics"]) == complaints == 1
    assert data["frozen"] is None
    with pytest.raises(UserError):
        with Session(engine) as session:
            dashboard.dashboard(session, rt, period, AS_OF, "sender")


def test_rate_chart_is_an_accessible_svg_with_the_target_line():
    svg = charts.rate_line("taux", [("juillet 2026", 84.87), ("août 2026", None), ("septembre 2026", 72.5)])
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "taux-titre taux-desc"
    assert root.find(SVG + "title").text == "Taux de réponse dans les délais, par mois"
    desc = root.find(SVG + "desc").text
    assert "Objectif 80,00 %" in desc and "juillet 2026 : 84,87 %" in desc and "août 2026 : —" in desc
    assert len(root.findall(SVG + "polyline")) == 2  # the month with no rate breaks the line
    red_points = [c for c in root.findall(SVG + "circle") if c.get("fill") == charts.RED]
    assert len(red_points) == 1  # 72,5 % is under the target
    texts = [t.text for t in root.iter(SVG + "text")]
    assert "Objectif 80,00 %" in texts and "84,87" in texts


def test_bar_charts_state_every_value_and_escape_labels():
    svg = charts.bars("delais", [("Bureau <étrangers>", 3.5), ("Mission qualité", None)], "Délai moyen par service", " j")
    root = ET.fromstring(svg)
    assert "Bureau <étrangers> : 3,50 j; Mission qualité : — j" not in root.find(SVG + "desc").text  # None has no unit
    assert root.find(SVG + "desc").text == "Bureau <étrangers> : 3,50 j; Mission qualité : —."
    grouped = ET.fromstring(charts.grouped_bars("themes", [("Rendez-vous", [4, 1])], ["Réclamations", "Suggestions"], "Par thème"))
    assert "Rendez-vous : Réclamations 4, Suggestions 1" in grouped.find(SVG + "desc").text
    assert len(grouped.findall(SVG + "rect")) == 1 + 2 + 2  # background, legend, bars


def test_journal_filters_and_exports_every_matching_event(engine, rt, quarter):
    with Session(engine) as session:
        ref = next(c["reference"] for c in register.list_cases(session, rt, as_of=AS_OF) if c["category"] == "reclamation")
        register.reclassify(session, rt, ref, "suggestion", "marie", at("2026-10-20T10:00:00+02:00"), reason="remarque")
        session.commit()
    with Session(engine) as session:
        everything = journal.events(session, rt, journal.Filters())
        mine = journal.events(session, rt, journal.Filters.parse(reference=ref.lower()))
        by_marie = journal.events(session, rt, journal.Filters.parse(actor="marie"))
        october = journal.events(session, rt, journal.Filters.parse(date_from="2026-10-20", date_to="2026-10-21"))
        small = journal.events(session, rt, journal.Filters(), page=2, size=3)
        data = journal.to_csv(session, rt, journal.Filters.parse(kind="reclassified"))
        assert "reclassified" in journal.kinds(session) and "marie" in journal.actors(session)
    assert everything["total"] > mine["total"] >= 2 and all(e["reference"] == ref for e in mine["items"])
    assert [e["kind"] for e in by_marie["items"]] == ["reclassified"]
    assert [e["kind"] for e in october["items"]] == ["reclassified"]
    assert small["page"] == 2 and len(small["items"]) == 3 and small["pages"] == (everything["total"] + 2) // 3
    assert data.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == ["N°", "Date et heure", "Référence", "Événement", "Code", "Auteur", "Détails"]
    assert len(lines) == 2 and lines[1][2] == ref and lines[1][5] == "marie" and "remarque" in lines[1][6]
    with pytest.raises(UserError):
        journal.Filters.parse(date_from="20/10/2026")


def test_heartbeat_turns_stale_after_three_poll_intervals(engine, rt):
    now = datetime(2026, 10, 1, 12, 0, tzinfo=timezone.utc)
    limit = 3 * rt.cfg.schedule.poll_seconds
    with Session(engine) as session:
        assert status.heartbeat(session, rt, now)["stale"] is True  # never polled
        session.add(FolderState(mailbox="qualite", folder="INBOX", role="inbox", last_success_at=now - timedelta(seconds=limit + 60)))
        session.add(FolderState(mailbox="qualite", folder="Sent", role="sent", last_error="refus",
                                last_error_at=now - timedelta(seconds=limit - 60)))
        session.commit()
        beat = status.heartbeat(session, rt, now)
        assert beat["stale"] is False and beat["age_seconds"] == limit - 60  # an attempt that failed is still a sign of life
        assert status.heartbeat(session, rt, now + timedelta(seconds=120))["stale"] is True
        page = status.page(session, rt, now)
    assert page["heartbeat"]["limit_seconds"] == limit and page["outbox_items"] == [] and page["quarantine_items"] == []


def test_control_sheet_draws_once_fills_grids_and_exports(engine, rt, quarter, tmp_path):
    tz = rt.cfg.tz
    with Session(engine) as session:
        with pytest.raises(UserError, match="pas terminé"):
            control_sheet.draw(session, rt, "2026-Q4", 5, 1, "referent", NOW)
        drawn = control_sheet.draw(session, rt, "2026-Q3", 5, 42, "referent", NOW)
        session.commit()
    with Session(engine) as session:
        expected = [i["reference"] for i in quality.sample(session, rt, "2026-Q3", 5, 42)]
    assert drawn["references"] == expected and drawn["seed"] == 42 and len(expected) == 4  # four answered in Q3 (as of NOW)
    with Session(engine) as session:
        with pytest.raises(UserError, match="pas dans l'échantillon"):
            control_sheet.record(session, rt, "2026-Q3", "PREF74-2026-99999", {}, None, "referent", NOW)
        all_met = {k: True for k, _ in control_sheet.CRITERIA}
        assert control_sheet.record(session, rt, "2026-Q3", expected[0], all_met, "RAS", "referent", NOW) == "conforme"
        assert control_sheet.record(session, rt, "2026-Q3", expected[1], {**all_met, "signe": False}, "", "referent", NOW) == "non_conforme"
        session.commit()
    with Session(engine) as session:
        data = control_sheet.sheet(session, rt, "2026-Q3")
        assert control_sheet.sheet(session, rt, "2026-Q2") is None
        assert quality.conformity(session, rt, date(2026, 7, 1), date(2026, 10, 1))["controlled"] == 2
    assert (data["done"], data["total"], data["conformes"], data["rate"]) == (2, 4, 1, 50.0)
    signed = next(c for c in data["criteria"] if c["key"] == "signe")
    assert (signed["checked"], signed["met"], signed["rate"]) == (2, 1, 50.0)
    assert data["items"][0]["reply_text"] and data["items"][3]["control"] is None
    path = tmp_path / "controle.xlsx"
    control_sheet.to_xlsx(data, path, tz)
    ws = load_workbook(path).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert "graine 42" in values[0][0]
    header = values[1]
    row = values[2]
    assert row[0] == expected[0] and row[header.index("Résultat")] == "Conforme" and row[header.index("Signé")] == "oui"
    assert values[3][header.index("Signé")] == "non" and values[4][header.index("Résultat")] == "Non contrôlée"
    assert ["2 / 4 contrôlées ; 1 conforme(s)"] in [[v for v in row if v] for row in values]


def test_frozen_quarter_lists_the_changes_made_after_publication(engine, rt, quarter):
    with Session(engine) as session:
        quality.freeze(session, rt, "2026-Q3", AS_OF, "referent", NOW)
        session.commit()
    with Session(engine) as session:
        published = quality.frozen_for(session, date(2026, 7, 1), date(2026, 10, 1))
        assert quality.drift(session, rt, published) == []
        ref = next(c["reference"] for c in register.list_cases(session, rt, as_of=AS_OF) if c["category"] == "reclamation")
        register.reclassify(session, rt, ref, "hors_perimetre", "marie", NOW + timedelta(days=1), reason="dossier en cours")
        session.commit()
    with Session(engine) as session:
        published = quality.frozen_for(session, date(2026, 7, 1), date(2026, 10, 1))
        changes = quality.drift(session, rt, published)
        frozen = quality.frozen_quarters(session, rt)
        assert quality.compare(session, rt, published)["differs"] is True
        shown = dashboard.transparence(session, rt, dashboard.quarter_period("2026-Q3"), AS_OF)
    assert [(c["reference"], c["kind"], c["actor"]) for c in changes] == [(ref, "reclassified", "marie")]
    assert frozen[0]["period"] == "2026-Q3" and frozen[0]["frozen_by"] == "referent" and frozen[0]["total"]["received"] == 5
    assert shown == published.figures  # the Transparence table of a frozen quarter is what was published


def test_compute_many_gives_what_compute_gives_for_each_grouping(engine, rt, quarter):
    groupings = [["service"], ["month"], ["category", "topic"], ["channel"], []]
    with Session(engine) as session:
        many = stats.compute_many(session, rt, date(2026, 7, 1), date(2026, 10, 1), AS_OF, groupings)
        one_by_one = [stats.compute(session, rt, date(2026, 7, 1), date(2026, 10, 1), AS_OF, by) for by in groupings]
        empty = stats.compute_many(session, rt, date(2025, 1, 1), date(2025, 2, 1), AS_OF, [["month"], []])
    assert many == one_by_one
    assert empty[0]["groups"] == [] and empty[1]["total"]["received"] == 0 and empty[1]["total"]["rate_on_time"] is None


def test_compute_many_narrows_a_grouping_as_compute_does(engine, rt, quarter):
    from tracer.rules.vocabulary import TOPIC_CATEGORIES

    period = dashboard.quarter_period("2026-Q3")
    with Session(engine) as session:
        topics, months = stats.compute_many(session, rt, period.start, period.end, AS_OF, [["topic"], ["month"]],
                                            [TOPIC_CATEGORIES, None])
        assert topics == stats.compute(session, rt, period.start, period.end, AS_OF, ["topic"], TOPIC_CATEGORIES)
        assert months == stats.compute(session, rt, period.start, period.end, AS_OF, ["month"])
        assert topics["total"]["received"] < months["total"]["received"]
        by_topic = dashboard.dashboard(session, rt, period, AS_OF, "topic")
    assert by_topic["stats"] == topics  # the dashboard's topics table is the command's
