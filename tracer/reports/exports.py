"""Indicators as a person reads them: French table, CSV for French Excel, XLSX, HTML."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import datetime
from pathlib import Path

from tracer.core import clock
from tracer.core import french
from tracer.rules.vocabulary import topic_ids, topic_label
from tracer.reports.stats import TARGET

RATE_FORMAT = '0.00" %"'   # the value stays the JSON's percent (84.71), shown « 84,71 % »
DELAY_FORMAT = "0.00"
DATE_FORMAT = "dd/mm/yyyy hh:mm"
HEADER_BLUE = "000091"

FIGURES = [
    ("received", "Reçues"),
    ("answered", "Répondues"),
    ("on_time", "Dans les délais"),
    ("late", "Hors délais"),
    ("pending", "En attente"),
    ("rate_on_time", "Taux dans les délais (%)"),
    ("mean_delay_days", "Délai moyen (jours)"),
    ("mean_delay_working_days", "Délai moyen (jours ouvrés)"),
]
KEY_LABELS = {
    "service": "Service",
    "mailbox": "Boîte",
    "category": "Catégorie",
    "topic": "Thème",
    "channel": "Canal",
    "week": "Semaine",
    "month": "Mois",
    "quarter": "Trimestre",
    "assignee": "Agent",
}
VALUE_LABELS = {
    "information": "Demande d'information",
    "reclamation": "Réclamation",
    "suggestion": "Suggestion",
    "email": "Courriel",
    "paper": "Courrier",
    **{t: topic_label(t) for t in topic_ids()},
}
DEFINITIONS = [
    ("Période", "Demandes reçues du premier jour inclus (0 h, heure de Paris) au dernier jour exclu."),
    ("Périmètre", "Demandes d'information, réclamations et suggestions ; les messages hors périmètre et automatiques ne sont pas comptés ; une demande non classée compte comme demande d'information."),
    ("Reçues", "Demandes du périmètre reçues pendant la période (heure de réception par la boîte : INTERNALDATE)."),
    ("Répondues", "Parmi elles, celles qui ont reçu une première réponse de fond à la date d'arrêté des chiffres ; un accusé de réception ne compte pas."),
    ("Dans les délais", "Répondues au plus tard à l'échéance (fin du N-ième jour ouvré après le jour de réception)."),
    ("Hors délais", "Répondues après l'échéance, plus les demandes sans réponse dont l'échéance est dépassée à la date d'arrêté."),
    ("En attente", "Sans réponse, échéance non encore atteinte : exclues du taux."),
    ("Taux dans les délais", "Dans les délais / (dans les délais + hors délais), en %, arrondi à 2 décimales ; objectif national : plus de 80 %."),
    ("Délai moyen (jours)", "Moyenne de (réponse − réception) en jours calendaires, sur les demandes répondues."),
    ("Délai moyen (jours ouvrés)", "Même moyenne en ne comptant que le temps écoulé pendant les jours ouvrés (week-ends, jours fériés et fermetures exclus)."),
    ("Sans échéance", "Une demande anonyme sans adresse de réponse compte dans les reçues, répondues et délais, jamais dans le taux."),
]


def label(key: str, value, services: dict | None = None) -> str:
    """A group's key as a person reads it: labels, « juillet 2026 », « 3e trimestre 2026 »."""
    if value is None:
        return "non attribuée" if key == "assignee" else "—"
    if key in ("category", "channel", "topic"):
        return VALUE_LABELS.get(value, str(value))
    if key == "month":
        return french.month(value)
    if key == "week":
        return french.week(value)
    if key == "quarter":
        return french.quarter(value)
    if key == "service" and services:
        return services.get(value, value)
    return str(value)


def service_labels(cfg) -> dict[str, str]:
    return {s.name: (s.label or s.name) for s in (getattr(cfg, "services", None) or [])}


def local_cell(value, tz=clock.PARIS):
    """An instant (ISO text or datetime) as a spreadsheet cell: a naive local datetime."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return clock.local(value, tz).replace(tzinfo=None, microsecond=0)


def style_header(row) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    for cell in row:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor=HEADER_BLUE)
        cell.alignment = Alignment(wrap_text=True, vertical="center")


def finish_table(ws, header_row: int, last_row: int, formats: dict[int, str] | None = None, max_width: int = 60) -> None:
    """A table a référent can hand out: header frozen, filters on, number and date formats, widths that fit."""
    from openpyxl.utils import get_column_letter

    formats = formats or {}
    columns = ws.max_column
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    if last_row > header_row:
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(columns)}{last_row}"
    for col in range(1, columns + 1):
        width = 8
        for row in range(header_row, last_row + 1):
            cell = ws.cell(row=row, column=col)
            if row > header_row:
                if isinstance(cell.value, datetime):
                    cell.number_format = DATE_FORMAT
                elif col in formats and isinstance(cell.value, (int, float)):
                    cell.number_format = formats[col]
            text = cell.value
            shown = 16 if isinstance(text, datetime) else len(french.number(text) if isinstance(text, float) else str(text or ""))
            if row == header_row:
                shown = max(len(word) for word in str(text or "").split() or [""]) + 2  # a header may wrap at spaces
            width = max(width, min(shown + 2, max_width))
        ws.column_dimensions[get_column_letter(col)].width = width


def yes_no_validation(ws, column_letters: list[str], first_row: int, last_row: int) -> None:
    """oui / non drop-down lists on the grid's criteria."""
    from openpyxl.worksheet.datavalidation import DataValidation

    if last_row < first_row or not column_letters:
        return
    check = DataValidation(type="list", formula1='"oui,non"', allow_blank=True, showDropDown=False,
                           showErrorMessage=True, showInputMessage=True)
    check.error, check.errorTitle = "Répondre « oui » ou « non ».", "Valeur refusée"
    check.prompt, check.promptTitle = "oui ou non", "Critère"
    ws.add_data_validation(check)
    for letter in column_letters:
        check.add(f"{letter}{first_row}:{letter}{last_row}")


def rows(result: dict, by: list[str], services: dict | None = None) -> list[list]:
    out = []
    for group in result["groups"]:
        out.append([label(k, group["key"][k], services) for k in by] + [group[f] for f, _ in FIGURES])
    out.append((["Total"] + [""] * (len(by) - 1) if by else []) + [result["total"][f] for f, _ in FIGURES])
    return out


def headers(by: list[str]) -> list[str]:
    return [KEY_LABELS[k] for k in by] + [title for _, title in FIGURES]


def french_number(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}".replace(".", ",")
    return str(value)


# A spreadsheet reads a cell opening with one of these as a formula (CSV injection):
# «=HYPERLINK(…)» in a reply text or a topic would run when the référent opens the file.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?\d+([.,]\d+)?")


def text_cell(value):
    """A CSV cell a spreadsheet shows as the text it is: a leading « ' » before a
    formula opener (numbers, negative ones included, are left alone)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def save_workbook(book, path) -> None:
    """Save an openpyxl workbook with every text cell as text: openpyxl turns a
    string opening with « = » into a live formula; tracer's sheets hold none."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    book.save(path)


def to_csv(result: dict, by: list[str], plain: bool = False, services: dict | None = None) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="," if plain else ";", lineterminator="\r\n")
    writer.writerow(headers(by))
    for row in rows(result, by, services):
        writer.writerow([text_cell(("" if v is None else v) if plain else (french_number(v) if not isinstance(v, str) else v))
                         for v in row])
    text = buffer.getvalue()
    return text.encode("utf-8") if plain else "\ufeff".encode("utf-8") + text.encode("utf-8")


def period_title(result: dict, tz=clock.PARIS) -> str:
    period = result["period"]
    return (f"Indicateurs {french.period(period['from'], period['to'])}, "
            f"arrêtés au {french.when(period['as_of'], tz)}")


def to_xlsx(result: dict, by: list[str], path: Path, monthly: dict | None = None, services: dict | None = None,
            sheet_title: str | None = None, tz=clock.PARIS) -> None:
    from openpyxl import Workbook
    from openpyxl.chart import LineChart, Reference
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = (sheet_title or (("Par " + ", ".join(KEY_LABELS[k].lower() for k in by)) if by else "Ensemble"))[:31]
    sheet.append([period_title(result, tz)])
    sheet["A1"].font = Font(bold=True, size=12)
    sheet.append(headers(by))
    style_header(sheet[2])
    red = PatternFill("solid", fgColor="F8C6C6")
    rate_col = len(by) + 6
    for row in rows(result, by, services):
        sheet.append(row)
        cell = sheet.cell(row=sheet.max_row, column=rate_col)
        if isinstance(cell.value, (int, float)) and cell.value < TARGET:
            cell.fill = red
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)  # the total
    finish_table(sheet, 2, sheet.max_row, {rate_col: RATE_FORMAT, rate_col + 1: DELAY_FORMAT, rate_col + 2: DELAY_FORMAT})
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=sheet.max_column)  # the title over the table
    sheet.column_dimensions["A"].width = max(sheet.column_dimensions["A"].width, 14)
    if monthly and monthly["groups"]:
        chart_sheet = book.create_sheet("Taux mensuel")
        chart_sheet.append(["Mois", "Taux dans les délais (%)", "Objectif (%)"])
        style_header(chart_sheet[1])
        for group in monthly["groups"]:
            chart_sheet.append([french.month(group["key"]["month"]), group["rate_on_time"], TARGET])
        finish_table(chart_sheet, 1, chart_sheet.max_row, {2: RATE_FORMAT, 3: RATE_FORMAT})
        chart = LineChart()
        chart.title = "Taux de réponse dans les délais, par mois"
        chart.y_axis.title = "%"
        chart.x_axis.title = "Mois"
        data = Reference(chart_sheet, min_col=2, min_row=1, max_col=3, max_row=chart_sheet.max_row)
        cats = Reference(chart_sheet, min_col=1, min_row=2, max_row=chart_sheet.max_row)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(cats)
        chart_sheet.add_chart(chart, "E2")
    if by == ["category", "topic"] and result["groups"]:
        _topics_chart(book, result)
    defs = book.create_sheet("Définitions")
    defs.append(["Indicateur", "Mode de calcul"])
    style_header(defs[1])
    for name, text in DEFINITIONS:
        defs.append([name, text])
    defs.freeze_panes = "A2"
    defs.column_dimensions["A"].width = 28
    defs.column_dimensions["B"].width = 110
    save_workbook(book, path)


def control_grid_xlsx(head: list[str], rows_: list[list], title: str, path: Path, grid: list[str] | None = None) -> None:
    """``tracer sample --output grille.xlsx``: dates as dates, oui/non drop-downs on the criteria."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(head)
    style_header(sheet[1])
    for row in rows_:
        sheet.append(row)
    text_col = head.index("Texte de la réponse") + 1 if "Texte de la réponse" in head else None
    finish_table(sheet, 1, sheet.max_row, {head.index("Délai (jours)") + 1: DELAY_FORMAT} if "Délai (jours)" in head else {})
    if text_col:
        letter = get_column_letter(text_col)
        sheet.column_dimensions[letter].width = 80
        for row in sheet.iter_rows(min_row=2, min_col=text_col, max_col=text_col):
            row[0].alignment = Alignment(wrap_text=True, vertical="top")
    grid = grid if grid is not None else head[text_col:] if text_col else []
    yes_no_validation(sheet, [get_column_letter(head.index(g) + 1) for g in grid], 2, max(sheet.max_row, 2))
    save_workbook(book, path)


def control_grid_csv(head: list[str], rows_: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(head)
    for row in rows_:
        writer.writerow([f"{v:%d/%m/%Y %H:%M}" if isinstance(v, datetime) else french_number(v) if isinstance(v, float)
                         else text_cell("" if v is None else v) for v in row])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def to_html(result: dict, by: list[str], title: str, services: dict | None = None) -> str:
    head = "".join(f"<th style='border:1px solid #999;padding:4px;background:#000091;color:#fff'>{html.escape(h)}</th>" for h in headers(by))
    body = []
    for row in rows(result, by, services):
        cells = "".join(
            f"<td style='border:1px solid #999;padding:4px'>{html.escape(french_number(v) if not isinstance(v, str) else v)}</td>" for v in row
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        "<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'><title>"
        + html.escape(title)
        + "</title></head><body style='font-family:sans-serif'><h1>"
        + html.escape(title)
        + "</h1><table style='border-collapse:collapse'><thead><tr>"
        + head
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></body></html>\n"
    )


def _topics_chart(book, result: dict) -> None:
    """Complaints and suggestions by topic, as the quality committee presents them."""
    from openpyxl.chart import BarChart, Reference

    sheet = book.create_sheet("Thèmes")
    sheet.append(["Thème", "Réclamations", "Suggestions"])
    topics: dict[str, list[int]] = {}
    for group in result["groups"]:
        row = topics.setdefault(label("topic", group["key"]["topic"] or "autre"), [0, 0])
        row[0 if group["key"]["category"] == "reclamation" else 1] += group["received"]
    for topic, (complaints, suggestions) in sorted(topics.items(), key=lambda item: -sum(item[1])):
        sheet.append([topic, complaints, suggestions])
    chart = BarChart()
    chart.type = "bar"
    chart.title = "Réclamations et suggestions par thème"
    data = Reference(sheet, min_col=2, min_row=1, max_col=3, max_row=sheet.max_row)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=sheet.max_row))
    chart.height, chart.width = 9, 18
    sheet.add_chart(chart, "E2")
    sheet.column_dimensions["A"].width = 30


CASES_HEADERS = ["Référence", "Reçue le", "Échéance", "Statut", "Catégorie", "Thème", "Service", "Canal",
                 "Expéditeur", "Objet", "Attribuée à", "Réponse le"]


def _spreadsheet_safe(value) -> str:
    """A cell a spreadsheet never reads as a formula (subjects and names come from outside)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def cases_to_csv(cases: list[dict], tz, service_label=lambda name: name) -> bytes:
    """A view of the register (the web's « Exporter cette vue ») for French Excel:
    UTF-8 with BOM, semicolons, dates as shown on the pages."""
    from tracer.core import french

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CASES_HEADERS)
    for c in cases:
        status = french.status(c["status"])
        if c["status"] == "answered" and c.get("answered_late"):
            status = "répondue en retard"
        writer.writerow([_spreadsheet_safe(v) for v in (
            c["reference"], french.short(c["received_at"], tz), french.short(c["deadline"], tz, empty=""), status,
            french.category(c["category"]), topic_label(c["topic"]) or "" if c["topic"] else "", service_label(c["service"]),
            french.channel(c["channel"]), c["sender"], c["subject"], c["assignee"],
            french.short(c["answered_at"], tz, empty=""))])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")
