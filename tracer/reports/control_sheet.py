"""The quarterly control in the page (``/controle``): draw, grid, progress, results, export.

- A draw is :func:`tracer.reports.quality.sample` (the rule of ``tracer sample``:
  answered requests of the perimeter received in the quarter), for a finished
  quarter only; it is recorded as a ``sample_drawn`` event with its size, seed
  and references, so the page shows the same sample every time and the auditor
  can repeat the draw (``tracer sample --quarter Q --size N --seed S``).
- A filled grid is a ``control`` event on the request (the rule of ``tracer
  control``), accepted only for a request of the quarter's latest draw; the
  result is « conforme » when every criterion is met. The last grid counts.
"""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from tracer.core import clock
from tracer.core.errors import UserError
from tracer.register import requests as register
from tracer.reports import quality, stats
from tracer.store import bulk
from tracer.store.models import Event, Request

CRITERIA = [
    ("clair", "Clair"),
    ("complet", "Complet"),
    ("courtois", "Courtois"),
    ("signe", "Signé"),
    ("coordonnees", "Coordonnées du service"),
    ("delai", "Délai respecté"),
]
MAX_SIZE = 500


def finished(quarter: str, today: date) -> bool:
    return stats.quarter_bounds(quarter)[1] <= today


def draw(session: Session, rt, quarter: str, size: int, seed: int | None, by: str, now: datetime) -> dict:
    quarter = quarter.strip().upper()
    if not finished(quarter, clock.local(now, rt.cfg.tz).date()):
        raise UserError(f"le trimestre {quarter} n'est pas terminé : l'échantillon se tire sur un trimestre fini")
    if not 0 < size <= MAX_SIZE:
        raise UserError(f"taille de l'échantillon : entre 1 et {MAX_SIZE}")
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    items = quality.sample(session, rt, quarter, size, seed)
    if not items:
        raise UserError(f"aucune demande répondue en {quarter} : pas d'échantillon à tirer")
    register.add_event(session, None, "sample_drawn", by, now, quarter=quarter, size=size, seed=seed,
                       references=[i["reference"] for i in items])
    return latest_draw(session, quarter)


def latest_draw(session: Session, quarter: str) -> dict | None:
    bulk.flush_deferred(session)
    rows = session.execute(select(Event).where(Event.kind == "sample_drawn").order_by(Event.at.desc(), Event.id.desc())).scalars()
    for event in rows:  # few draws per quarter; the JSON column is not queried inside, for SQLite and PostgreSQL alike
        if (event.data or {}).get("quarter") == quarter.upper():
            return {**event.data, "at": clock.from_db(event.at), "by": event.actor}
    return None


def record(session: Session, rt, quarter: str, reference: str, grid: dict[str, bool], notes: str | None, by: str,
           now: datetime) -> str:
    """A filled grid for one request of the drawn sample; returns « conforme » or « non_conforme »."""
    current = latest_draw(session, quarter)
    if current is None or reference not in current["references"]:
        raise UserError(f"{reference} n'est pas dans l'échantillon tiré pour {quarter.upper()}")
    checked = {key: bool(grid.get(key)) for key, _ in CRITERIA}
    result = "conforme" if all(checked.values()) else "non_conforme"
    quality.control(session, rt, reference, result, (notes or "").strip() or None, by, now, grid=checked,
                    quarter=quarter.upper())
    return result


def sheet(session: Session, rt, quarter: str) -> dict | None:
    """The latest draw of the quarter with each request, its reply, its last grid; progress and results per criterion."""
    current = latest_draw(session, quarter)
    if current is None:
        return None
    refs = current["references"]
    requests = {r.reference: r for r in session.execute(select(Request).where(Request.reference.in_(refs))).scalars()}
    controls: dict[int, dict] = {}
    ids = [r.id for r in requests.values()]
    for event in session.execute(select(Event).where(Event.kind == "control", Event.request_id.in_(ids))
                                 .order_by(Event.at, Event.id)).scalars():
        controls[event.request_id] = {**(event.data or {}), "at": clock.iso_local(event.at, rt.cfg.tz), "by": event.actor}
    items = []
    for ref in refs:
        r = requests.get(ref)
        if r is None or r.answered_at is None:  # cannot happen for a draw of answered requests; shown, not hidden
            items.append({"reference": ref, "missing": True, "control": None})
            continue
        items.append({**quality._item(session, r, rt.cfg.tz), "missing": False, "control": controls.get(r.id)})
    done = [i for i in items if i["control"]]
    per_criterion = []
    for key, title in CRITERIA:
        graded = [i for i in done if key in (i["control"].get("grid") or {})]
        ok = sum(1 for i in graded if i["control"]["grid"][key])
        per_criterion.append({"key": key, "label": title, "checked": len(graded), "met": ok,
                              "rate": stats.round2(ok * 100, len(graded))})
    conformes = sum(1 for i in done if i["control"].get("result") == "conforme")
    return {"quarter": quarter.upper(), "size": current["size"], "seed": current["seed"], "drawn_at": current["at"],
            "drawn_by": current["by"], "items": items, "done": len(done), "total": len(items),
            "conformes": conformes, "rate": stats.round2(conformes * 100, len(done)), "criteria": per_criterion}


def to_xlsx(data: dict, path: Path, tz) -> None:
    """The filled grid: one row per request of the sample, one column per criterion, results below."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from tracer.core import french
    from tracer.reports import exports

    book = Workbook()
    ws = book.active
    ws.title = f"Contrôle {data['quarter']}"
    ws.append([f"Contrôle qualité du {french.quarter(data['quarter'])} : échantillon de {data['total']} réponse(s), graine {data['seed']}, "
               f"tiré le {french.when(data['drawn_at'], tz)} par {data['drawn_by']}"])
    ws["A1"].font = Font(bold=True, size=12)
    head = ["Référence", "Catégorie", "Service", "Reçue le", "Répondue le", "Échéance", "Délai (jours)", "Dans les délais"]
    head += [title for _, title in CRITERIA] + ["Résultat", "Observations", "Contrôlé par", "Contrôlé le"]
    ws.append(head)
    exports.style_header(ws[2])
    for i in data["items"]:
        if i["missing"]:
            ws.append([i["reference"], "demande introuvable ou sans réponse"])
            continue
        c = i["control"] or {}
        grid = c.get("grid") or {}
        ws.append([i["reference"], french.category(i["category"]), i["service"], exports.local_cell(i["received_at"], tz),
                   exports.local_cell(i["answered_at"], tz), exports.local_cell(i["deadline"], tz),
                   i["delay_days"], "oui" if i["on_time"] else "non"]
                  + [("oui" if grid[k] else "non") if k in grid else "" for k, _ in CRITERIA]
                  + [{"conforme": "Conforme", "non_conforme": "Non conforme"}.get(c.get("result"), "Non contrôlée"),
                     c.get("notes") or "", c.get("by") or "", exports.local_cell(c.get("at"), tz)])
    last = ws.max_row
    exports.finish_table(ws, 2, last, {7: exports.DELAY_FORMAT})
    exports.yes_no_validation(ws, [get_column_letter(9 + n) for n in range(len(CRITERIA))], 3, last)
    ws.append([])
    ws.append([f"{data['done']} / {data['total']} contrôlées ; {data['conformes']} conforme(s)"])
    ws.append(["Critère", "Contrôlées", "Respecté", "Taux (%)"])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for c in data["criteria"]:
        ws.append([c["label"], c["checked"], c["met"], c["rate"]])
        ws.cell(row=ws.max_row, column=4).number_format = exports.RATE_FORMAT
    exports.save_workbook(book, path)
