"""Readable French tables (rich) for the terminal."""

from __future__ import annotations

from datetime import datetime

from rich.table import Table

STATUS_FR = {"open": "en cours", "overdue": "en retard", "answered": "répondue", "excluded": "hors indicateurs"}
CATEGORY_FR = {
    "information": "information",
    "reclamation": "réclamation",
    "suggestion": "suggestion",
    "hors_perimetre": "hors périmètre",
    "automatique": "automatique",
    None: "—",
}


def short_time(iso: str | None) -> str:
    if not iso:
        return "—"
    value = datetime.fromisoformat(iso)
    return value.strftime("%d/%m/%Y %H:%M")


def cases_table(cases: list[dict]) -> Table:
    table = Table(title=f"Registre : {len(cases)} demande(s)", title_justify="left")
    for column in ("Référence", "Reçue le", "Échéance", "Statut", "Catégorie", "Service", "Expéditeur", "Objet"):
        table.add_column(column, overflow="fold")
    for case in cases:
        table.add_row(
            case["reference"],
            short_time(case["received_at"]),
            short_time(case["deadline"]),
            STATUS_FR.get(case["status"], case["status"]),
            CATEGORY_FR.get(case["category"], case["category"]) + (f" / {case['topic']}" if case.get("topic") else ""),
            case["service"] or "—",
            case["sender"] or "—",
            (case["subject"] or "")[:70],
        )
    return table
