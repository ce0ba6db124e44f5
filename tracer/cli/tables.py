"""Readable French tables (rich, imported when a table is printed) for the terminal."""

from __future__ import annotations

from datetime import datetime

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


def new_table(title: str):
    """A rich table titled in French (rich is only loaded by commands that print one)."""
    from rich.table import Table

    return Table(title=title, title_justify="left")


def plain(text: str):
    """Text printed as written (no rich markup: « [PREF74-…] » stays)."""
    from rich.text import Text

    return Text(text)


def cases_table(cases: list[dict]):
    table = new_table(f"Registre : {len(cases)} demande(s)")
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
