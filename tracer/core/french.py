"""French wording of dates, periods, numbers and the register's codes: the one place.

Every text a person reads (terminal, mails, exports, pages) formats its dates
and labels here; JSON keeps ids and ISO 8601.  Times are shown in the
configured zone (Europe/Paris by default) as ``02/12/2026 à 20:16``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tracer.core import clock

MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]
WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]

STATUS = {"open": "en cours", "overdue": "en retard", "answered": "répondue", "excluded": "exclue"}
CATEGORY = {
    "information": "information",
    "reclamation": "réclamation",
    "suggestion": "suggestion",
    "hors_perimetre": "hors périmètre",
    "automatique": "automatique",
}
CHANNEL = {"email": "courriel", "paper": "courrier", "courrier": "courrier", "telephone": "téléphone",
           "guichet": "guichet", "courriel": "courriel"}
RESULT = {"conforme": "conforme", "non_conforme": "non conforme"}
OUTBOX_KIND = {"reply": "réponse", "alert": "alerte", "digest": "bilan", "ack": "accusé de réception"}
OUTBOX_STATUS = {"pending": "en attente", "failed": "refusé", "uncertain": "état incertain", "sent": "envoyé",
                 "sending": "en cours d'envoi", "cancelled": "annulé"}
THRESHOLD = {"overdue": "échéance dépassée"}
# What happened to a request (event kinds), and the web accounts' events.
EVENT = {
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
    "answered_elsewhere": "réponse hors courriel",
    "reply_failed": "réponse non remise",
    "reply_queued": "réponse en file d'envoi",
    "compte_cree": "compte créé",
    "compte_desactive": "compte désactivé",
    "compte_modifie": "compte modifié",
    "mot_de_passe_reinitialise": "mot de passe réinitialisé",
    "sample_drawn": "échantillon de contrôle tiré",
    "connexion": "connexion",
    "connexion_refusee": "connexion refusée",
    "deconnexion": "déconnexion",
    "jeton_cree": "jeton d'API créé",
}


def status(code: str | None) -> str:
    return STATUS.get(code, code or "—")


def category(code: str | None) -> str:
    return CATEGORY.get(code, code or "—")


def channel(code: str | None) -> str:
    return CHANNEL.get(code, code or "—")


def result(code: str | None) -> str:
    return RESULT.get(code, (code or "—").replace("_", " "))


def threshold(code: str | None) -> str:
    """An alert's threshold: ``before:2`` -> « J-2 ouvrés », ``overdue`` -> « échéance dépassée »."""
    if not code:
        return "—"
    if code in THRESHOLD:
        return THRESHOLD[code]
    kind, _, n = code.partition(":")
    if kind == "before" and n.isdigit():
        return f"{n} jour{'s' if int(n) > 1 else ''} ouvré{'s' if int(n) > 1 else ''} avant l'échéance"
    return code


def _aware(value, tz: ZoneInfo) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        return clock.local(value, tz)
    return None


def when(value, tz: ZoneInfo = clock.PARIS, empty: str = "—") -> str:
    """An instant (datetime or ISO text): ``02/12/2026 à 20:16`` in ``tz``."""
    shown = _aware(value, tz)
    return f"{shown:%d/%m/%Y} à {shown:%H:%M}" if shown else empty


def short(value, tz: ZoneInfo = clock.PARIS, empty: str = "—") -> str:
    """An instant in a table cell: ``02/12/2026 20:16``."""
    shown = _aware(value, tz)
    return f"{shown:%d/%m/%Y %H:%M}" if shown else empty


def day(value, tz: ZoneInfo = clock.PARIS, empty: str = "—") -> str:
    """A date, or the local date of an instant: ``02/12/2026``."""
    if value is None or value == "":
        return empty
    if isinstance(value, str) and len(value) == 10:
        value = date.fromisoformat(value)
    if isinstance(value, (str, datetime)):
        value = _aware(value, tz).date()
    return f"{value:%d/%m/%Y}"


def long_day(value, tz: ZoneInfo = clock.PARIS) -> str:
    """``30 novembre 2026`` (« 1er » for the first of the month)."""
    if isinstance(value, (str, datetime)) and not (isinstance(value, str) and len(value) == 10):
        value = _aware(value, tz).date()
    elif isinstance(value, str):
        value = date.fromisoformat(value)
    return f"{_nth(value.day)} {MONTHS[value.month - 1]} {value.year}"


def _nth(n: int) -> str:
    return "1er" if n == 1 else str(n)


def month(value) -> str:
    """``2026-07`` (or a date) -> ``juillet 2026``."""
    if isinstance(value, str):
        year, _, mon = value.partition("-")
        return f"{MONTHS[int(mon[:2]) - 1]} {int(year)}"
    return f"{MONTHS[value.month - 1]} {value.year}"


def week(value: str) -> str:
    """``2026-W40`` -> ``semaine du 28 septembre 2026``."""
    m = re.fullmatch(r"(\d{4})-W(\d{2})", value or "")
    if not m:
        return str(value)
    monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    return f"semaine du {long_day(monday)}"


def quarter(value: str) -> str:
    """``2026-Q3`` -> ``3e trimestre 2026``."""
    m = re.fullmatch(r"(\d{4})-Q([1-4])", (value or "").upper())
    if not m:
        return str(value)
    n = int(m.group(2))
    return f"{'1er' if n == 1 else f'{n}e'} trimestre {m.group(1)}"


def period(start, end_exclusive) -> str:
    """``[2026-10-01, 2027-01-01)`` -> ``du 1er octobre au 31 décembre 2026``."""
    if isinstance(start, str):
        start = date.fromisoformat(start[:10])
    if isinstance(end_exclusive, str):
        end_exclusive = date.fromisoformat(end_exclusive[:10])
    last = end_exclusive - timedelta(days=1)
    if last <= start:
        return f"le {long_day(start)}"
    if start.year != last.year:
        return f"du {long_day(start)} au {long_day(last)}"
    if start.month != last.month:
        return f"du {_nth(start.day)} {MONTHS[start.month - 1]} au {long_day(last)}"
    return f"du {_nth(start.day)} au {long_day(last)}"


def number(value, digits: int = 2) -> str:
    """``84.71`` -> ``84,71``; None -> ``—``."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}".replace(".", ",")
    return str(value)


def percent(value) -> str:
    return "—" if value is None else f"{number(float(value))} %"


def parse_day(text: str) -> date:
    """``JJ/MM/AAAA`` or ISO ``AAAA-MM-JJ`` (ValueError otherwise)."""
    return clock.parse_day(text)


def parse_instant(text: str, tz: ZoneInfo = clock.PARIS) -> datetime:
    """ISO 8601, or ``JJ/MM/AAAA`` with an optional ``HH:MM`` (``à`` allowed), read in ``tz``; aware UTC."""
    return clock.parse_instant(text, tz)
