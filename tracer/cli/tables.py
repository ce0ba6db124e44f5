"""What the terminal shows: plain text and French tables that fit its width.

The one place of the CLI's rendering.  Every value printed goes through
:func:`clean`: text from outside (subjects, names, addresses, paths) is
printed as written, never read as markup, with C0/C1 controls, ESC and
bidirectional overrides removed.  Tables fit the terminal down to 80 columns:
references, dates and statuses (``fixed`` columns) never wrap or split;
other cells are shortened with « … », the widest column giving way first;
when even that is not enough, the least useful columns are left out.
"""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
import unicodedata

from tracer.core import french

STATUS_FR = french.STATUS
CATEGORY_FR = {**french.CATEGORY, None: "—"}


def status_fr(case: dict, short: bool = False) -> str:
    """A case's status in French; an answer after the deadline reads « répondue en retard »
    (« répondue tard » in a table)."""
    if case.get("status") == "answered" and case.get("answered_late"):
        return "répondue tard" if short else "répondue en retard"
    return STATUS_FR.get(case.get("status"), case.get("status"))

EVENT_FR = french.EVENT
DETAIL_FR = {
    "channel": "canal", "mailbox": "boîte", "service": "service", "category": "catégorie", "topic": "thème",
    "rules": "règles", "deadline": "échéance", "parent": "demande initiale", "message_id": "message",
    "received_at": "reçu le", "answered_at": "répondu le", "reason": "motif", "from": "de", "to": "vers",
    "child": "nouvelle demande", "messages": "messages", "result": "résultat", "notes": "notes",
    "retention_days": "conservation (jours)", "period": "période", "previous": "avant",
    "old_category": "ancienne catégorie", "new_category": "nouvelle catégorie", "old_topic": "ancien thème",
    "new_topic": "nouveau thème", "old_deadline": "ancienne échéance", "new_deadline": "nouvelle échéance",
    "old_service": "ancien service", "new_service": "nouveau service", "sent_at": "envoyé le",
    "linked_by": "rattaché par", "by": "par", "assignee": "attribuée à", "note": "note", "at": "le",
    "template": "modèle", "outbox_id": "envoi n°", "subject": "objet", "error": "erreur", "sender": "expéditeur",
    "frozen_at": "figés le", "quarter": "trimestre", "agent": "agent", "previous_assignee": "attribuée avant à",
    "old_assignee": "attribuée avant à", "new_assignee": "attribuée à", "anonymous": "anonyme",
    "reopened": "demande rouverte",
}

# Removed from every printed value: C0 controls but tab and newline, DEL, C1 controls
# (ESC and CSI/OSC openers among them), line/paragraph separators, bidi embeddings
# and overrides, zero-width characters that hide text.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b-\u200f\u061c\ufeff\ue000]")


def clean(text) -> str:
    """Any value as printable plain text (keeps newlines and tabs)."""
    if text is None:
        return ""
    return _CONTROLS.sub("", str(text))


def cell_text(text) -> str:
    """One table cell: cleaned, on one line."""
    return " ".join(clean(text).replace("\t", " ").split()) if text is not None else ""


def plain(text) -> str:
    """Kept for the callers that marked outside text: every value is plain now."""
    return cell_text(text)


def width_of(text: str) -> int:
    n = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        n += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return n


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns, ending with « … » when cut."""
    if width_of(text) <= width:
        return text
    if width <= 0:
        return ""
    out, used = [], 0
    for ch in text:
        w = 0 if unicodedata.combining(ch) else (2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + "…"


def terminal_width() -> int:
    """``COLUMNS`` if set, else the terminal's width, else 100 (output piped); never under 40."""
    return max(shutil.get_terminal_size((100, 24)).columns, 40)


class Column:
    def __init__(self, header: str, fixed: bool, min_width: int, drop: int | None, justify: str, wrap: bool):
        self.header, self.fixed, self.min_width, self.drop, self.justify = header, fixed, min_width, drop, justify
        self.wrap = wrap


class Table:
    """A French table fitted to a width.

    ``add_column(header, fixed=True)`` for references, dates, statuses, numbers
    (never cut); other columns shrink, the widest first, down to ``min_width``;
    a column with ``drop=N`` is left out when the table cannot fit otherwise
    (highest N first); a ``wrap=True`` column wraps its cells on several lines
    instead of shortening them.  ``empty`` is the sentence printed instead of an empty table.
    """

    GAP = 2

    def __init__(self, title: str | None = None, empty: str | None = None):
        self.title = title
        self.empty = empty
        self.columns: list[Column] = []
        self.rows: list[list[str]] = []

    def add_column(self, header: str, fixed: bool = False, min_width: int = 10, drop: int | None = None,
                   justify: str = "left", wrap: bool = False, **_ignored) -> None:
        self.columns.append(Column(cell_text(header), fixed, min_width, drop, justify, wrap))

    def add_row(self, *cells) -> None:
        row = [cell_text(c) if c is not None else "—" for c in cells]
        row += [""] * (len(self.columns) - len(row))
        self.rows.append(row)

    def _layout(self, width: int) -> tuple[list[int], list[int]]:
        """Visible columns and their widths.  First headers wrap (nothing lost), then
        shortenable cells give way, the widest column first; then columns are dropped."""
        shown = list(range(len(self.columns)))
        while True:
            widths, whole, floors = [], [], []
            for i in shown:
                col = self.columns[i]
                cells = max((width_of(r[i]) for r in self.rows), default=0)
                longest_word = max((width_of(w) for w in col.header.split()), default=0)
                widths.append(max(cells, width_of(col.header)))
                whole.append(max(cells, longest_word))  # every cell whole, the header wrapped
                floors.append(whole[-1] if col.fixed else min(whole[-1], col.min_width))
            room = width - self.GAP * (len(shown) - 1)
            excess = sum(widths) - room

            def shave(limits: list[int], excess: int) -> int:
                """The widest column above its limit gives a column, until none is left to give."""
                while excess > 0:
                    candidates = [k for k in range(len(shown)) if widths[k] > limits[k]]
                    if not candidates:
                        break
                    k = max(candidates, key=lambda k: (widths[k], k))
                    widths[k] -= 1
                    excess -= 1
                return excess

            for limits in (whole, floors):
                excess = shave(limits, excess)
            droppable = [i for i in shown if self.columns[i].drop is not None]
            if excess > 0 and not droppable:  # last resort: shortenable columns below their floor, down to « abc… »
                excess = shave([w if self.columns[i].fixed else min(w, 4) for i, w in zip(shown, whole)], excess)
            if excess <= 0 or not droppable:
                return shown, widths
            shown.remove(max(droppable, key=lambda i: self.columns[i].drop))

    def render(self, width: int) -> str:
        if not self.rows and self.empty:
            return self.empty
        shown, widths = self._layout(width)
        lines = []
        if self.title:
            lines += textwrap.wrap(cell_text(self.title), width, break_long_words=False, break_on_hyphens=False) or [""]
        heads = []
        for k, i in enumerate(shown):
            wrapped = textwrap.wrap(self.columns[i].header, widths[k], break_long_words=False) or [""]
            heads.append([shorten(w, widths[k]) for w in wrapped])
        for n in range(max(len(h) for h in heads) if heads else 0):
            lines.append(self._line([h[n] if n < len(h) else "" for h in heads], shown, widths))
        lines.append((" " * self.GAP).join("─" * w for w in widths))
        for row in self.rows:
            cells = []
            for k, i in enumerate(shown):
                if self.columns[i].wrap:
                    cells.append(textwrap.wrap(row[i], widths[k], break_on_hyphens=False) or [""])
                else:
                    cells.append([shorten(row[i], widths[k])])
            for n in range(max(len(c) for c in cells)):
                lines.append(self._line([c[n] if n < len(c) else "" for c in cells], shown, widths))
        return "\n".join(lines)

    def _line(self, cells: list[str], shown: list[int], widths: list[int]) -> str:
        parts = []
        for cell, i, w in zip(cells, shown, widths):
            pad = " " * (w - width_of(cell))
            parts.append(pad + cell if self.columns[i].justify == "right" else cell + pad)
        return (" " * self.GAP).join(parts).rstrip()


def new_table(title: str | None = None, empty: str | None = None) -> Table:
    return Table(title, empty)


_WHEN = re.compile(r"\d{2}/\d{2}/\d{4} à \d{2}:\d{2}")
_KEEP = "\ue000"  # a private-use character textwrap does not break at (never printed)


class Output:
    """``print`` for the commands: plain text only (no markup is ever read), cleaned,
    wrapped to the terminal width at spaces; a :class:`Table` is fitted to it."""

    def __init__(self, stream=None, width: int | None = None):
        self._stream = stream
        self.width = width or terminal_width()

    @property
    def stream(self):
        return self._stream or sys.stdout

    def render(self, obj) -> str:
        if isinstance(obj, Table):
            return obj.render(self.width)
        lines = []
        for line in clean(obj).expandtabs(4).split("\n"):
            if width_of(line) <= self.width:
                lines.append(line)
                continue
            indent = line[: len(line) - len(line.lstrip())]
            line = _WHEN.sub(lambda m: m.group(0).replace(" ", _KEEP), line)  # « 02/12/2026 à 20:16 » stays whole
            lines += [part.replace(_KEEP, " ") for part in textwrap.wrap(
                line, self.width, subsequent_indent=indent + "  " if indent else "",
                break_long_words=False, break_on_hyphens=False)] or [""]
        return "\n".join(lines)

    def print(self, *objects, end: str = "\n", **_ignored) -> None:
        """rich-like signature (``markup=``, ``highlight=``, ``soft_wrap=`` are accepted and ignored)."""
        text = "\n".join(self.render(o) for o in objects) if len(objects) != 1 else self.render(objects[0])
        self.stream.write(text + end)
        self.stream.flush()


def topic_fr(topic: str | None) -> str:
    from tracer.rules.vocabulary import topic_label

    return topic_label(topic) if topic else "—"


def event_details(data: dict, tz=None, cfg=None) -> str:
    """An event's data in French: instants as 02/12/2026 à 20:16, codes by their labels."""
    tz = tz or french.clock.PARIS
    parts = []
    for key, value in data.items():
        if value in (None, [], ""):
            continue
        if french.clock.is_instant(value):
            value = french.when(value, tz)
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif key in ("category", "old_category", "new_category"):
            value = french.category(value)
        elif key in ("topic", "old_topic", "new_topic"):
            value = topic_fr(value)
        elif key == "channel":
            value = french.channel(value)
        elif key in ("service", "old_service", "new_service", "from", "to") and cfg is not None and isinstance(value, str):
            value = service_label(cfg, value)
        elif key == "result":
            value = french.result(value)
        elif isinstance(value, bool):
            value = "oui" if value else "non"
        parts.append(f"{DETAIL_FR.get(key, key.replace('_', ' '))} : {value}")
    return " ; ".join(parts)


def short_time(iso) -> str:
    """An instant in a table cell: 02/12/2026 20:16 (Paris)."""
    return french.short(iso)


def service_label(cfg, name: str | None) -> str:
    """A service's label from the configuration (its code when it has none)."""
    if not name:
        return "—"
    for service in getattr(cfg, "services", []) or []:
        if service.name == name:
            return service.label or name
    return name


def cases_table(cases: list[dict], cfg=None, title: str | None = None) -> Table:
    table = new_table(title or f"Registre : {len(cases)} demande(s)", empty="Aucune demande.")
    table.add_column("Référence", fixed=True)
    table.add_column("Reçue le", fixed=True)
    table.add_column("Échéance", fixed=True)
    table.add_column("Statut", fixed=True)
    table.add_column("Catégorie", min_width=11, drop=2)
    table.add_column("Service", min_width=10)
    table.add_column("Agent", min_width=8, drop=4)
    table.add_column("Expéditeur", min_width=14, drop=3)
    table.add_column("Objet", min_width=14)
    for case in cases:
        category = CATEGORY_FR.get(case["category"], case["category"])
        if case.get("topic"):
            category += f" / {topic_fr(case['topic'])}"
        table.add_row(
            case["reference"],
            french.day(case["received_at"]),
            french.day(case["deadline"]),
            status_fr(case, short=True),
            category,
            service_label(cfg, case["service"]),
            case.get("assignee") or "—",
            case.get("sender_name") or case["sender"] or "—",
            case["subject"] or "(sans objet)",
        )
    return table


# (field, header, dropped first when the terminal is narrow)
TERMINAL_FIGURES = [
    ("received", "Reçues", None),
    ("answered", "Répondues", None),
    ("on_time", "À temps", None),
    ("late", "En retard", None),
    ("pending", "En attente", 1),
    ("rate_on_time", "Taux (%)", None),
    ("mean_delay_days", "Délai (jours)", None),
    ("mean_delay_working_days", "Délai (j. ouvrés)", 2),
]


def key_value(key: str, value, cfg=None) -> str:
    """A group's key as a person reads it (labels, « juillet 2026 »…)."""
    from tracer.reports import exports

    if value is None:
        return "non attribuée" if key == "assignee" else "—"
    if key == "month":
        return french.month(value)
    if key == "week":
        return french.week(value)
    if key == "quarter":
        return french.quarter(value)
    if key == "service":
        return service_label(cfg, value)
    if key == "category":
        return french.category(value).capitalize()
    if key == "channel":
        return french.channel(value).capitalize()
    return exports.label(key, value)


def stats_table(result: dict, by: list[str], cfg=None, title: str | None = None) -> Table:
    """The indicators: one row per group and the total, rates under 80 % marked « ▼ »."""
    from tracer.reports import exports
    from tracer.reports.stats import TARGET

    period = result["period"]
    tz = cfg.tz if cfg else french.clock.PARIS
    title = title or (f"Indicateurs {french.period(period['from'], period['to'])}, "
                      f"arrêtés au {french.when(period['as_of'], tz)}")
    table = new_table(title, empty="Aucune demande sur la période.")
    for key in by:
        table.add_column(exports.KEY_LABELS.get(key, key), min_width=11)
    for _, header, drop in TERMINAL_FIGURES:
        table.add_column(header, fixed=True, justify="right", drop=drop)
    for group in result["groups"] + [None]:
        figures = result["total"] if group is None else group
        keys = ["Total"] + [""] * (len(by) - 1) if group is None else [key_value(k, group["key"].get(k), cfg) for k in by]
        cells = []
        for field, _, _ in TERMINAL_FIGURES:
            value = figures.get(field)
            text = french.number(value)
            if field == "rate_on_time" and value is not None and value < TARGET:
                text += " ▼"  # under the 80 % target
            cells.append(text)
        table.add_row(*(keys if by else []), *cells)
    if not result["groups"] and not result["total"].get("received"):
        table.rows = []
    return table
