"""Readable French tables (rich, imported when a table is printed) for the terminal."""

from __future__ import annotations

from datetime import datetime

from tracer.core import clock

STATUS_FR = {"open": "en cours", "overdue": "en retard", "answered": "répondue", "excluded": "hors indicateurs"}


def status_fr(case: dict) -> str:
    """A case's status in French; an answer after the deadline reads « répondue en retard »."""
    if case.get("status") == "answered" and case.get("answered_late"):
        return "répondue en retard"
    return STATUS_FR.get(case.get("status"), case.get("status"))

CATEGORY_FR = {
    "information": "information",
    "reclamation": "réclamation",
    "suggestion": "suggestion",
    "hors_perimetre": "hors périmètre",
    "automatique": "automatique",
    None: "—",
}


EVENT_FR = {
    "received": "reçue",
    "answered": "répondue",
    "acknowledged": "accusé de réception",
    "reply_recorded": "autre réponse",
    "follow_up": "relance de l'usager",
    "linked": "réponse rattachée à la main",
    "split": "relance détachée en nouvelle demande",
    "reclassified": "reclassée",
    "transferred": "transférée",
    "control": "contrôle qualité",
    "purged": "purge (conservation)",
    "erased": "effacement (RGPD)",
    "figures_frozen": "chiffres publiés figés",
    "assigned": "attribuée",
    "unassigned": "attribution retirée",
}
DETAIL_FR = {
    "channel": "canal", "mailbox": "boîte", "service": "service", "category": "catégorie", "topic": "thème",
    "rules": "règles", "deadline": "échéance", "parent": "demande initiale", "message_id": "message",
    "received_at": "reçu le", "answered_at": "répondu le", "reason": "motif", "from": "de", "to": "vers",
    "child": "nouvelle demande", "messages": "messages", "result": "résultat", "notes": "notes",
    "retention_days": "conservation (jours)", "period": "période", "previous": "avant",
    "old_category": "ancienne catégorie", "new_category": "nouvelle catégorie", "old_topic": "ancien thème",
    "new_topic": "nouveau thème", "old_deadline": "ancienne échéance", "new_deadline": "nouvelle échéance",
    "old_service": "ancien service", "new_service": "nouveau service",
    "old_assignee": "attribuée avant à", "new_assignee": "attribuée à", "sent_at": "envoyée le", "note": "note",
    "linked_by": "rattachée par", "template": "modèle", "anonymous": "anonyme",
}


def topic_fr(topic: str | None) -> str:
    from tracer.rules.vocabulary import topic_label

    return topic_label(topic) if topic else "—"


def event_details(data: dict) -> str:
    """An event's data in French, instants as dd/mm/yyyy hh:mm (already local)."""
    parts = []
    for key, value in data.items():
        if value in (None, [], ""):
            continue
        if isinstance(value, bool):
            value = "oui" if value else "non"
        elif clock.is_instant(value):
            value = short_time(value)
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif key in ("category", "old_category", "new_category"):
            value = CATEGORY_FR.get(value, value)
        elif key in ("topic", "old_topic", "new_topic"):
            value = topic_fr(value)
        parts.append(f"{DETAIL_FR.get(key, key)} : {value}")
    return " ; ".join(parts)


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
    for column in ("Référence", "Reçue le", "Échéance", "Statut", "Catégorie", "Service", "Agent", "Expéditeur", "Objet"):
        table.add_column(column, overflow="fold")
    for case in cases:
        table.add_row(
            case["reference"],
            short_time(case["received_at"]),
            short_time(case["deadline"]),
            status_fr(case),
            CATEGORY_FR.get(case["category"], case["category"]) + (f" / {topic_fr(case['topic'])}" if case.get("topic") else ""),
            case["service"] or "—",
            case.get("assignee") or "—",
            case["sender"] or "—",
            (case["subject"] or "")[:70],
        )
    return table
