"""What pages show of a request, beyond its JSON view: the deadline badge, the tabs."""

from __future__ import annotations

from datetime import datetime

from tracer.register import requests as reg

# The tabs of « Demandes »: (slug, label, filters of list_cases given the login).
TABS = [
    ("a-traiter", "À traiter", lambda login: {"status": reg.UNANSWERED, "mine_or_unassigned": login}),
    ("suivies", "Suivies par moi", lambda login: {"status": reg.UNANSWERED, "assignee": login}),
    ("en-retard", "En retard", lambda login: {"status": "overdue"}),
    ("repondues", "Répondues", lambda login: {"status": "answered"}),
    ("toutes", "Toutes", lambda login: {"status": "all"}),
]
TAB_FILTERS = {slug: filters for slug, _label, filters in TABS}

SORTS = {"echeance": "deadline", "reception": "received", "-reception": "-received", "reference": "reference"}
SORT_FR = {"echeance": "échéance la plus proche", "reception": "reçue la plus ancienne",
           "-reception": "reçue la plus récente", "reference": "référence"}
PAGE_SIZE = 25


def deadline_badge(case: dict, calendar, now: datetime) -> dict | None:
    """The deadline's badge: working days left, green, orange at 2 or fewer, red once passed.

    None when there is no deadline; an answered request shows its answer instead."""
    if case.get("status") == "answered":
        late = case.get("answered_late")
        return {"label": "répondue en retard" if late else "répondue dans le délai",
                "kind": "warning" if late else "success"}
    if case.get("status") == "excluded" or not case.get("deadline"):
        return None
    left = calendar.working_days_left(now, datetime.fromisoformat(case["deadline"]))
    if left < 0:
        days = -left
        return {"label": f"en retard de {days} jour{'s' if days > 1 else ''} ouvré{'s' if days > 1 else ''}",
                "kind": "error"}
    if left == 0:
        return {"label": "échéance aujourd'hui", "kind": "warning"}
    label = f"{left} jour{'s' if left > 1 else ''} ouvré{'s' if left > 1 else ''}"
    return {"label": label, "kind": "warning" if left <= 2 else "success"}
